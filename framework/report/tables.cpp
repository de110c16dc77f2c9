// Report tables: the report/reference blocks, aggregation over seeds, and the Markdown / CSV /
// LaTeX / HTML renderings (see report.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "kant/error.hpp"
#include "report/report.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

constexpr char kSep = '\x1f';

std::vector<std::string> names_of(const ConfigNode& n, const char* key) {
  if (n.is_scalar()) return {n.scalar};
  if (n.is_sequence()) {
    std::vector<std::string> out;
    for (const ConfigNode& i : n.items) {
      if (!i.is_scalar())
        throw ConfigError(i.mark, fmt::format("report '{}' must list names", key));
      out.push_back(i.scalar);
    }
    return out;
  }
  throw ConfigError(n.mark, fmt::format("report '{}' must be a name or a list of names", key));
}

std::string scalar_of(const ConfigNode& n, const char* key) {
  if (!n.is_scalar()) throw ConfigError(n.mark, fmt::format("'{}' must be a single value", key));
  return n.scalar;
}

double number_of(const ConfigNode& n, const std::string& what) {
  double v = 0;
  const std::string& s = n.scalar;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!n.is_scalar() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
    throw ConfigError(n.mark, fmt::format("{} must be a number, got {}", what, flow_text(n)));
  return v;
}

PlotSpec parse_plot(const ConfigNode& n, size_t index) {
  if (!n.is_map()) throw ConfigError(n.mark, "a plot must be a map {y: dataset, lines: axis, ...}");
  PlotSpec p;
  p.name = fmt::format("plot{}", index + 1);
  const std::vector<std::string> keys{"name",         "x",     "y",       "panels",
                                      "lines",        "rows",  "columns", "log_y",
                                      "equal_aspect", "title", "over"};
  for (const ConfigEntry& e : n.entries) {
    if (e.key == "log_y" || e.key == "equal_aspect") {
      bool v = e.value.is_scalar() && e.value.scalar == "true";
      if (!e.value.is_scalar() || (!v && e.value.scalar != "false"))
        throw ConfigError(e.value.mark, fmt::format("plot '{}' must be true or false", e.key));
      (e.key == "log_y" ? p.log_y : p.equal_aspect) = v;
    } else if (e.key == "y" && e.value.is_sequence()) {  // several final values (plots `over`)
      for (const ConfigNode& item : e.value.items) p.ys.push_back(scalar_of(item, "y"));
      if (p.ys.empty()) throw ConfigError(e.value.mark, "plot 'y' lists no value");
      p.y = p.ys.front();
    } else if (std::find(keys.begin(), keys.end(), e.key) != keys.end()) {
      std::string v = scalar_of(e.value, e.key.c_str());
      if (e.key == "name")
        p.name = v;
      else if (e.key == "x")
        p.x = v;
      else if (e.key == "y")
        p.y = v;
      else if (e.key == "over")
        p.over = v;
      else if (e.key == "panels")
        p.panels = v;
      else if (e.key == "lines")
        p.lines = v;
      else if (e.key == "rows")
        p.rows = v;
      else if (e.key == "columns")
        p.columns = v;
      else
        p.title = v;
    } else {
      throw ConfigError(e.key_mark,
                        fmt::format("unknown plot key '{}'{}; expected one of: {}", e.key,
                                    did_you_mean(e.key, keys), fmt::join(keys, ", ")));
    }
  }
  if (p.y.empty())
    throw ConfigError(n.mark, "a plot needs 'y': a dataset path such as series/loss_critic");
  if (!p.over.empty() && !p.x.empty())
    throw ConfigError(n.mark, "a plot 'over' a grid axis takes its x from the axis: drop 'x'");
  if (p.ys.empty()) p.ys.push_back(p.y);
  if (p.ys.size() > 1 && p.over.empty())
    throw ConfigError(n.mark, "a list of values as 'y' needs a plot 'over' a grid axis");
  for (const std::string& y : p.ys)
    if (!p.over.empty() && (y.find('/') != std::string::npos || y.find('.') == std::string::npos))
      throw ConfigError(n.mark, fmt::format("a plot 'over' a grid axis needs 'y' as a final value "
                                            "metric.value (or a list of them), not {}",
                                            y));
  if (p.name.empty() || p.name.find_first_of("/\\ ") != std::string::npos)
    throw ConfigError(n.mark, fmt::format("plot name '{}' must be a plain file name", p.name));
  return p;
}

// values: row → {value → n} or row → column → {value → n}
void parse_reference_values(const ConfigNode& values, ReferenceSpec& ref) {
  if (!values.is_map())
    throw ConfigError(values.mark, "reference 'values' must map row labels to numbers");
  for (const ConfigEntry& row : values.entries) {
    if (!row.value.is_map())
      throw ConfigError(row.value.mark,
                        fmt::format("reference values for '{}' must be a map", row.key));
    for (const ConfigEntry& e : row.value.entries) {
      if (e.value.is_map()) {  // a column level
        for (const ConfigEntry& v : e.value.entries)
          ref.values[row.key + kSep + e.key + kSep + v.key] =
              number_of(v.value, fmt::format("reference {} / {} / {}", row.key, e.key, v.key));
      } else {
        ref.values[row.key + kSep + kSep + e.key] =
            number_of(e.value, fmt::format("reference {} / {}", row.key, e.key));
      }
    }
  }
}

ReferenceSpec parse_reference(const ConfigNode& reference) {
  ReferenceSpec ref;
  if (reference.type == ConfigNode::Type::null) return ref;
  if (!reference.is_map())
    throw ConfigError(reference.mark, "'reference' must be a map {source, tolerance, values}");
  const std::vector<std::string> keys{"source", "tolerance", "relative_tolerance", "values"};
  for (const ConfigEntry& e : reference.entries) {
    if (e.key == "source") {
      ref.source = scalar_of(e.value, "reference.source");
    } else if (e.key == "relative_tolerance") {
      ref.relative = number_of(e.value, "reference.relative_tolerance");
    } else if (e.key == "tolerance") {
      if (e.value.is_map()) {
        for (const ConfigEntry& t : e.value.entries)
          ref.tolerances[t.key] = number_of(t.value, "reference tolerance of " + t.key);
      } else {
        ref.tolerance = number_of(e.value, "reference.tolerance");
      }
    } else if (e.key == "values") {
      parse_reference_values(e.value, ref);
    } else {
      throw ConfigError(e.key_mark,
                        fmt::format("unknown reference key '{}'{}; expected one of: {}", e.key,
                                    did_you_mean(e.key, keys), fmt::join(keys, ", ")));
    }
  }
  return ref;
}

std::string number(double x) {
  if (!std::isfinite(x)) return fmt::format("{}", x);
  double a = std::abs(x);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.3e}", x);
  if (a >= 100) return fmt::format("{:.1f}", x);
  return fmt::format("{:.3f}", x);
}

// "m ± s", "m ± s (k/n)" when seeds were dropped as non-finite, "nan (0/n)" (or "+inf",
// "−inf", "non-finite" for a mix) when none is finite, "—" when no cell has the value.
// A failed metric's cells read "failed [k]" (note k of the table says why), never a number.
std::string mean_text(const Stat& s) {
  if (s.n == 0) return "—";
  const std::string failed = s.failed ? fmt::format(", failed {}", s.note) : "";
  if (s.failed == s.n) return "failed " + s.note;
  const size_t present = s.n - s.failed;
  if (s.finite == 0) {
    const char* kind = s.nan == present       ? "nan"
                       : s.pos_inf == present ? "+inf"
                       : s.neg_inf == present ? "−inf"
                                              : "non-finite";
    return fmt::format("{} (0/{}{})", kind, s.n, failed);
  }
  std::string text = fmt::format("{} ± {}", number(s.mean), number(s.std));
  if (s.finite < s.n) text += fmt::format(" ({}/{}{})", s.finite, s.n, failed);
  return text;
}

// The metric a table value belongs to: "mode_coverage.modes" → "mode_coverage" (a failed
// metric with no value at all is listed under its name alone).
std::string metric_of(const std::string& value) { return value.substr(0, value.find('.')); }

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string("&%$#_{}").find(c) != std::string::npos) out += '\\';
    if (c == '~' || c == '^' || c == '\\') {
      out += c == '~'   ? "\\textasciitilde{}"
             : c == '^' ? "\\textasciicircum{}"
                        : "\\textbackslash{}";
      continue;
    }
    out += c;
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char ch : s) w += (ch & 0xC0) != 0x80;  // UTF-8 code points
  return w;
}

}  // namespace

Stat finite_stats(const std::vector<double>& values) {
  Stat s;
  s.n = values.size();
  std::vector<double> v;
  for (double x : values) {
    if (std::isfinite(x))
      v.push_back(x);
    else if (std::isnan(x))
      ++s.nan;
    else if (x > 0)
      ++s.pos_inf;
    else
      ++s.neg_inf;
  }
  s.finite = v.size();
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

std::string Stat::dropped_str() const { return finite == n ? "" : fmt::format("{}/{}", finite, n); }

std::string cell_label(const CellSummary& c, const std::string& axis) {
  for (const auto& [k, v] : c.labels)
    if (k == axis) return v;
  return "";
}

std::string cell_row_label(const CellSummary& c, const std::vector<std::string>& axes) {
  std::vector<std::string> parts;
  for (const std::string& a : axes) parts.push_back(cell_label(c, a));
  return fmt::format("{}", fmt::join(parts, " / "));
}

ReportSpec parse_report_spec(const ConfigNode& report, const ConfigNode& reference) {
  ReportSpec spec;
  spec.reference = parse_reference(reference);
  if (report.type == ConfigNode::Type::null) return spec;
  if (!report.is_map())
    throw ConfigError(report.mark,
                      "'report' must be a map (rows, columns, values, plots, figures)");
  const std::vector<std::string> keys{"rows", "columns", "values", "plots", "figures"};
  for (const ConfigEntry& e : report.entries) {
    if (e.key == "rows") {
      spec.rows = names_of(e.value, "rows");
    } else if (e.key == "columns") {
      spec.columns = scalar_of(e.value, "report.columns");
    } else if (e.key == "values") {
      spec.values = names_of(e.value, "values");
    } else if (e.key == "figures") {
      if (!e.value.is_map())
        throw ConfigError(e.value.mark,
                          "report 'figures' must be a map {rows: axis, columns: axis}");
      for (const ConfigEntry& f : e.value.entries) {
        if (f.key == "rows")
          spec.figures.rows = scalar_of(f.value, "report.figures.rows");
        else if (f.key == "columns")
          spec.figures.columns = scalar_of(f.value, "report.figures.columns");
        else
          throw ConfigError(
              f.key_mark, fmt::format("unknown report.figures key '{}'{}; expected rows or columns",
                                      f.key, did_you_mean(f.key, {"rows", "columns"})));
      }
    } else if (e.key == "plots") {
      if (!e.value.is_sequence()) throw ConfigError(e.value.mark, "report 'plots' must be a list");
      for (size_t i = 0; i < e.value.items.size(); ++i)
        spec.plots.push_back(parse_plot(e.value.items[i], i));
    } else {
      throw ConfigError(e.key_mark,
                        fmt::format("unknown report key '{}'{}; expected one of: {}", e.key,
                                    did_you_mean(e.key, keys), fmt::join(keys, ", ")));
    }
  }
  return spec;
}

double Table::tolerance(const std::string& value) const {
  auto it = ref.tolerances.find(value);
  return it != ref.tolerances.end() ? it->second : ref.tolerance;
}

bool Table::agrees(const std::string& value, double ours, double paper) const {
  const bool absolute = ref.tolerances.count(value) || ref.relative == 0;
  return std::abs(ours - paper) <= (absolute ? tolerance(value) : ref.relative * std::abs(paper));
}

bool Table::has_reference() const {
  return std::any_of(reference.begin(), reference.end(),
                     [](const auto& r) { return r.has_value(); });
}

Table build_table(const std::vector<CellSummary>& cells, const ReportSpec& spec_in,
                  const std::vector<std::string>& axes) {
  ReportSpec spec = spec_in;
  if (spec.rows.empty()) spec.rows = {axes.empty() ? "seed" : axes.front()};
  Table t;
  t.ref = spec.reference;
  t.row_header = fmt::format("{}", fmt::join(spec.rows, " / "));
  t.column_axis = spec.columns;
  t.values = spec.values;
  // every value when the report names none; else those named, then those kant evaluate added
  std::set<std::string> names;
  for (const CellSummary& c : cells) {
    for (const auto& [k, v] : c.final_metrics) {
      auto r = c.metrics.find(metric_of(k));
      if (spec.values.empty() || (r != c.metrics.end() && r->second.source == "evaluate"))
        names.insert(k);
    }
  }
  for (const CellSummary& c : cells)  // metrics that failed everywhere have no value: their name
    for (const auto& [m, r] : c.metrics)
      if (r.status == "failed" && (spec.values.empty() || r.source == "evaluate") &&
          std::none_of(names.begin(), names.end(),
                       [&](const std::string& n) { return metric_of(n) == m; }) &&
          std::none_of(t.values.begin(), t.values.end(),
                       [&](const std::string& n) { return metric_of(n) == m; }))
        names.insert(m);
  for (const std::string& n : names)
    if (std::find(t.values.begin(), t.values.end(), n) == t.values.end()) t.values.push_back(n);
  std::map<std::string, size_t> note_of;  // metric \x1f error → index into t.notes
  std::vector<std::vector<std::string>> note_cells;
  // the note of a metric's failure in a cell (one note per metric and reason, listing its cells)
  auto note_failure = [&](const CellSummary& cell, const std::string& metric,
                          const MetricRecord& rec) {
    auto [it, added] = note_of.try_emplace(metric + kSep + rec.error, note_of.size());
    if (added) {
      t.notes.push_back(metric + kSep + rec.error);
      note_cells.emplace_back();
    }
    std::vector<std::string> labels;
    for (const auto& [k, l] : cell.labels) labels.push_back(k + "=" + l);
    const std::string where = fmt::format("{} (step {})", fmt::join(labels, " "), rec.failed_step);
    auto& list = note_cells[it->second];
    if (std::find(list.begin(), list.end(), where) == list.end()) list.push_back(where);
    return it->second;
  };
  auto add_unique = [](std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  };
  for (const CellSummary& c : cells) {
    add_unique(t.rows, cell_row_label(c, spec.rows));
    add_unique(t.columns, spec.columns.empty() ? "" : cell_label(c, spec.columns));
  }
  if (t.columns.empty()) t.columns.push_back("");
  t.stats.resize(t.rows.size() * t.columns.size() * t.values.size());
  t.reference.resize(t.stats.size());
  t.counted.assign(t.rows.size() * t.columns.size(), 0);
  t.complete.assign(t.rows.size(), 0);
  t.diverged.assign(t.rows.size(), 0);
  t.failed.assign(t.rows.size(), 0);
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (size_t c = 0; c < t.columns.size(); ++c) {
      std::vector<const CellSummary*> group;
      for (const CellSummary& cell : cells)
        if (cell_row_label(cell, spec.rows) == t.rows[r] &&
            (spec.columns.empty() || cell_label(cell, spec.columns) == t.columns[c]))
          group.push_back(&cell);
      for (const CellSummary* cell : group) {
        t.counted[r * t.columns.size() + c] += cell->status == CellStatus::complete;
        t.complete[r] += cell->status == CellStatus::complete;
        t.diverged[r] += cell->status == CellStatus::diverged;
        t.failed[r] += cell->status == CellStatus::failed;
      }
      for (size_t v = 0; v < t.values.size(); ++v) {
        std::vector<double> xs;
        size_t failed = 0;
        std::set<size_t> notes;
        for (const CellSummary* cell : group) {
          if (cell->status != CellStatus::complete) continue;
          const std::string metric = metric_of(t.values[v]);
          if (auto rec = cell->metrics.find(metric);
              rec != cell->metrics.end() && rec->second.status == "failed") {
            ++failed;
            notes.insert(note_failure(*cell, metric, rec->second));
            continue;
          }
          auto it = cell->final_metrics.find(t.values[v]);
          if (it != cell->final_metrics.end()) xs.push_back(it->second);
        }
        Stat& s = t.stats[t.index(r, c, v)] = finite_stats(xs);
        s.n += failed;
        s.failed = failed;
        std::vector<std::string> ids;
        for (size_t k : notes) ids.push_back(std::to_string(k + 1));
        if (!ids.empty()) s.note = fmt::format("[{}]", fmt::join(ids, ","));
        auto ref = t.ref.values.find(t.rows[r] + kSep + t.columns[c] + kSep + t.values[v]);
        if (ref != t.ref.values.end()) t.reference[t.index(r, c, v)] = ref->second;
      }
    }
  // metrics that failed but have no column (the report block names other values): noted all the
  // same
  for (const CellSummary& cell : cells)
    if (cell.status == CellStatus::complete)
      for (const auto& [metric, rec] : cell.metrics)
        if (rec.status == "failed") note_failure(cell, metric, rec);
  for (size_t k = 0; k < t.notes.size(); ++k) {
    const size_t sep = t.notes[k].find(kSep);
    t.notes[k] = fmt::format("[{}] {} failed in {}: {}", k + 1, t.notes[k].substr(0, sep),
                             fmt::join(note_cells[k], ", "), t.notes[k].substr(sep + 1));
  }
  return t;
}

std::string failure_notes(const Table& t) {
  std::string out;
  for (const std::string& n : t.notes) out += n + "\n";
  return out;
}

std::string Table::n_text(size_t r) const {
  auto first = counted.begin() + static_cast<std::ptrdiff_t>(r * columns.size());
  auto [lo, hi] = std::minmax_element(first, first + static_cast<std::ptrdiff_t>(columns.size()));
  return *lo == *hi ? std::to_string(*lo) : fmt::format("{}–{}", *lo, *hi);
}

std::string reference_summary(const Table& t) {
  size_t total = 0, within = 0;
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (size_t c = 0; c < t.columns.size(); ++c)
      for (size_t v = 0; v < t.values.size(); ++v) {
        const auto& ref = t.reference[t.index(r, c, v)];
        const Stat& s = t.stats[t.index(r, c, v)];
        if (!ref) continue;
        ++total;
        within += s.finite > 0 && t.agrees(t.values[v], s.mean, *ref);
      }
  if (total == 0) return "";
  std::string tol = !t.ref.tolerances.empty() ? "tolerances as the experiment states"
                    : t.ref.relative > 0      ? fmt::format("{:g} % relative", 100 * t.ref.relative)
                                              : fmt::format("tolerance {}", t.ref.tolerance);
  return fmt::format("{} of {} published numbers reproduced within {} ({})", within, total, tol,
                     t.ref.source.empty() ? "reference" : t.ref.source);
}

std::string render_table(const Table& t, TableFormat format) {
  // columns: [row] then per column label and value: ours [, paper, Δ], then n / diverged / failed
  struct Col {
    std::string header;
    size_t c, v;
    int kind;  // 0 ours, 1 paper, 2 difference
  };
  std::vector<Col> cols;
  for (size_t c = 0; c < t.columns.size(); ++c)
    for (size_t v = 0; v < t.values.size(); ++v) {
      std::string name = t.columns[c].empty()
                             ? t.values[v]
                             : fmt::format("{}={} {}", t.column_axis, t.columns[c], t.values[v]);
      bool referenced = false;
      for (size_t r = 0; r < t.rows.size(); ++r)
        referenced = referenced || t.reference[t.index(r, c, v)].has_value();
      cols.push_back({name, c, v, 0});
      if (referenced) {
        cols.push_back({name + " (paper)", c, v, 1});
        cols.push_back({name + " (Δ)", c, v, 2});
      }
    }
  auto cell_text = [&](size_t r, const Col& col, bool csv) -> std::vector<std::string> {
    const Stat& s = t.stats[t.index(r, col.c, col.v)];
    const auto& ref = t.reference[t.index(r, col.c, col.v)];
    if (col.kind == 0) {
      if (csv) {
        const std::string failed = s.failed ? fmt::format(" ({} failed {})", s.failed, s.note) : "";
        if (!s.finite) return {"", "", s.n ? fmt::format("0/{}{}", s.n, failed) : ""};
        return {fmt::format("{}", s.mean), fmt::format("{}", s.std),
                fmt::format("{}/{}{}", s.finite, s.n, failed)};
      }
      return {mean_text(s)};
    }
    if (col.kind == 1)
      return {ref ? (csv ? fmt::format("{}", *ref) : number(*ref)) : (csv ? "" : "—")};
    if (!ref || !s.finite) return {csv ? "" : "—"};
    const double d = s.mean - *ref;
    if (csv) return {fmt::format("{}", d)};
    const bool ok = t.agrees(t.values[col.v], s.mean, *ref);
    return {fmt::format("{}{}{}", d >= 0 ? "+" : "", number(d), ok ? "" : " ✗")};
  };
  std::vector<std::string> header{t.row_header};
  for (const Col& col : cols) header.push_back(col.header);
  header.insert(header.end(), {"n", "diverged", "failed"});
  const bool csv = format == TableFormat::csv;
  std::vector<std::vector<std::string>> body;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<std::string> row{t.rows[r]};
    for (const Col& col : cols)
      for (std::string& s : cell_text(r, col, csv)) row.push_back(std::move(s));
    row.insert(row.end(),
               {t.n_text(r), std::to_string(t.diverged[r]), std::to_string(t.failed[r])});
    body.push_back(std::move(row));
  }

  std::string out;
  switch (format) {
    case TableFormat::csv: {
      std::vector<std::string> h{t.row_header};
      for (const Col& col : cols) {
        if (col.kind == 0) {
          h.push_back(col.header + " mean");
          h.push_back(col.header + " std");
          h.push_back(col.header + " finite");
        } else {
          h.push_back(col.header);
        }
      }
      h.insert(h.end(), {"n", "diverged", "failed"});
      auto quote = [](const std::string& s) {
        return s.find_first_of(",\"") == std::string::npos ? s : fmt::format("\"{}\"", s);
      };
      std::vector<std::string> q;
      for (const auto& x : h) q.push_back(quote(x));
      out += fmt::format("{}\n", fmt::join(q, ","));
      for (const auto& row : body) {
        q.clear();
        for (const auto& x : row) q.push_back(quote(x));
        out += fmt::format("{}\n", fmt::join(q, ","));
      }
      return out;
    }
    case TableFormat::latex: {
      out += fmt::format(
          "% generated by kant report; needs "
          "\\usepackage{{booktabs}}\n\\begin{{tabular}}{{l{}}}\n\\toprule\n",
          std::string(header.size() - 1, 'r'));
      std::vector<std::string> h;
      for (const auto& x : header) h.push_back(latex_escape(x));
      out += fmt::format("{} \\\\\n\\midrule\n", fmt::join(h, " & "));
      for (const auto& row : body) {
        std::vector<std::string> cells;
        for (const auto& x : row) {
          std::string e = latex_escape(x);
          size_t pm = e.find("±");
          if (pm != std::string::npos) e.replace(pm, std::string("±").size(), "$\\pm$");
          size_t cross = e.find("✗");
          if (cross != std::string::npos) e.replace(cross, std::string("✗").size(), "$\\times$");
          size_t dash = e.find("—");
          if (dash != std::string::npos) e.replace(dash, std::string("—").size(), "---");
          size_t minus = e.find("−");
          if (minus != std::string::npos) e.replace(minus, std::string("−").size(), "$-$");
          cells.push_back(e);
        }
        out += fmt::format("{} \\\\\n", fmt::join(cells, " & "));
      }
      out += "\\bottomrule\n\\end{tabular}\n";
      return out;
    }
    case TableFormat::html: {
      out += "<table class=\"results\">\n<thead><tr>";
      for (const auto& x : header) out += fmt::format("<th>{}</th>", html_escape(x));
      out += "</tr></thead>\n<tbody>\n";
      for (const auto& row : body) {
        out += "<tr>";
        for (size_t i = 0; i < row.size(); ++i) {
          const bool miss = row[i].find("✗") != std::string::npos;
          const char* tag = i == 0 ? "th" : "td";
          out += fmt::format("<{}{}>{}</{}>", tag, miss ? " class=\"miss\"" : "",
                             html_escape(row[i]), tag);
        }
        out += "</tr>\n";
      }
      out += "</tbody>\n</table>\n";
      return out;
    }
    case TableFormat::markdown: {
      std::vector<size_t> width(header.size());
      for (size_t i = 0; i < header.size(); ++i) width[i] = display_width(header[i]);
      for (const auto& row : body)
        for (size_t i = 0; i < row.size(); ++i)
          width[i] = std::max(width[i], display_width(row[i]));
      auto line = [&](const std::vector<std::string>& cells) {
        std::string l = "|";
        for (size_t i = 0; i < cells.size(); ++i)
          l += " " + cells[i] + std::string(width[i] - display_width(cells[i]), ' ') + " |";
        return l + "\n";
      };
      out += line(header);
      std::string sep = "|";
      for (size_t w : width) sep += std::string(w + 2, '-') + "|";
      out += sep + "\n";
      for (const auto& row : body) out += line(row);
      return out;
    }
  }
  return out;
}

}  // namespace kant
