// Tidy export of stored cells (kant export): one row per (cell, final value), or per (cell,
// series, step), with one column per grid axis, as CSV or JSON lines — what pandas, R or a
// spreadsheet read without walking HDF5 groups. See docs/pandas.md.
#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <ostream>
#include <set>

#include "kant/error.hpp"
#include "report/report.hpp"

namespace kant {
namespace {

// CSV: a field with a comma, a quote or a line break is quoted, its quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += static_cast<char>(c);
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20)
      out += fmt::format("\\u{:04x}", c);
    else
      out += static_cast<char>(c);
  }
  return out + "\"";
}

// Whether a label is a JSON number as it stands ("0", "1.0e-4", "-2"), so it can go unquoted.
bool json_number(const std::string& s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size() && !s.empty();
}

// Shortest text that reads back as the same double; nan, inf and -inf for the others (pandas
// reads all three in CSV; JSON has no such numbers, so JSON lines write NaN, Infinity and
// -Infinity as Python's json module and pandas read them).
std::string number_text(double v, ExportFormat format) {
  if (std::isfinite(v)) return fmt::format("{}", v);
  if (format == ExportFormat::jsonl)
    return std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

class Writer {
 public:
  Writer(std::ostream& out, ExportFormat format, std::vector<std::string> columns)
      : out_(out), format_(format), columns_(std::move(columns)) {
    if (format_ == ExportFormat::csv) {
      std::vector<std::string> h;
      for (const std::string& c : columns_) h.push_back(csv_field(c));
      out_ << fmt::format("{}\n", fmt::join(h, ","));
    }
  }
  // fields: one per column, each text and whether it is a number
  void row(const std::vector<std::pair<std::string, bool>>& fields) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < fields.size(); ++i) {
      const auto& [text, numeric] = fields[i];
      if (format_ == ExportFormat::csv)
        parts.push_back(csv_field(text));
      else
        parts.push_back(json_string(columns_[i]) + ": " + (numeric ? text : json_string(text)));
    }
    if (format_ == ExportFormat::csv)
      out_ << fmt::format("{}\n", fmt::join(parts, ","));
    else
      out_ << fmt::format("{{{}}}\n", fmt::join(parts, ", "));
  }

 private:
  std::ostream& out_;
  ExportFormat format_;
  std::vector<std::string> columns_;
};

}  // namespace

size_t write_export(std::ostream& out, const std::vector<CellSummary>& cells,
                    const std::vector<std::string>& axes, ExportFormat format, bool series) {
  // fixed columns first; an axis of the same name is suffixed so that no column is lost
  const std::vector<std::string> fixed{"experiment", "cell_id", "status"};
  const std::vector<std::string> tail = series ? std::vector<std::string>{"series", "step", "value"}
                                               : std::vector<std::string>{"metric", "value"};
  std::set<std::string> taken(fixed.begin(), fixed.end());
  taken.insert(tail.begin(), tail.end());
  std::vector<std::string> columns = fixed;
  for (const std::string& a : axes) columns.push_back(taken.count(a) ? a + "_axis" : a);
  columns.insert(columns.end(), tail.begin(), tail.end());
  Writer w(out, format, columns);
  size_t rows = 0;
  for (const CellSummary& c : cells) {
    std::vector<std::pair<std::string, bool>> head{
        {c.experiment, false}, {c.cell_id, false}, {to_string(c.status), false}};
    for (const std::string& a : axes) {
      const std::string label = cell_label(c, a);
      head.emplace_back(label, format == ExportFormat::jsonl && json_number(label));
    }
    if (!series) {
      for (const auto& [name, v] : c.final_metrics) {
        auto fields = head;
        fields.emplace_back(name, false);
        fields.emplace_back(number_text(v, format), true);
        w.row(fields);
        ++rows;
      }
      continue;
    }
    for (const StoredSeries& s : read_cell_series(c.path))
      for (size_t i = 0; i < s.step.size() && i < s.value.size(); ++i) {
        auto fields = head;
        fields.emplace_back(s.name, false);
        fields.emplace_back(std::to_string(s.step[i]), true);
        fields.emplace_back(number_text(s.value[i], format), true);
        w.row(fields);
        ++rows;
      }
  }
  return rows;
}

}  // namespace kant
