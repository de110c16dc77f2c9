// Tables over stored cells (see report.hpp) and the results-folder manifest.
#include "kant/report.hpp"

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/svg_plot.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_of(const ConfigNode& n, const char* key) {
  if (n.is_scalar()) return {n.scalar};
  if (n.is_sequence()) {
    std::vector<std::string> out;
    for (const ConfigNode& i : n.items) {
      if (!i.is_scalar()) throw ConfigError(i.mark, fmt::format("report '{}' must list names", key));
      out.push_back(i.scalar);
    }
    return out;
  }
  throw ConfigError(n.mark, fmt::format("report '{}' must be a name or a list of names", key));
}

std::string scalar_of(const ConfigNode& n, const char* key) {
  if (!n.is_scalar()) throw ConfigError(n.mark, fmt::format("report '{}' must be a name", key));
  return n.scalar;
}

PlotSpec parse_plot(const ConfigNode& n, size_t index) {
  if (!n.is_map()) throw ConfigError(n.mark, "a plot must be a map {y: dataset, lines: axis, ...}");
  PlotSpec p;
  p.name = fmt::format("plot{}", index + 1);
  const std::vector<std::string> keys{"name", "x", "y", "panels", "lines", "log_y", "equal_aspect", "title"};
  for (const ConfigEntry& e : n.entries) {
    if (e.key == "log_y" || e.key == "equal_aspect") {
      bool v = e.value.is_scalar() && e.value.scalar == "true";
      if (!e.value.is_scalar() || (!v && e.value.scalar != "false"))
        throw ConfigError(e.value.mark, fmt::format("plot '{}' must be true or false", e.key));
      (e.key == "log_y" ? p.log_y : p.equal_aspect) = v;
    } else if (std::find(keys.begin(), keys.end(), e.key) != keys.end()) {
      std::string v = scalar_of(e.value, e.key.c_str());
      if (e.key == "name") p.name = v;
      else if (e.key == "x") p.x = v;
      else if (e.key == "y") p.y = v;
      else if (e.key == "panels") p.panels = v;
      else if (e.key == "lines") p.lines = v;
      else p.title = v;
    } else {
      throw ConfigError(e.key_mark, fmt::format("unknown plot key '{}'{}; expected one of: {}", e.key,
                                                did_you_mean(e.key, keys), fmt::join(keys, ", ")));
    }
  }
  if (p.y.empty()) throw ConfigError(n.mark, "a plot needs 'y': a dataset path such as series/loss_critic");
  if (p.name.find_first_of("/\\ ") != std::string::npos)
    throw ConfigError(n.mark, fmt::format("plot name '{}' must be a plain file name", p.name));
  return p;
}

}  // namespace

ReportSpec parse_report_spec(const ConfigNode& report) {
  ReportSpec spec;
  if (report.type == ConfigNode::Type::null) return spec;
  if (!report.is_map()) throw ConfigError(report.mark, "'report' must be a map (rows, columns, values, plots)");
  const std::vector<std::string> keys{"rows", "columns", "values", "plots", "format", "tolerance"};
  for (const ConfigEntry& e : report.entries) {
    if (e.key == "rows") {
      spec.rows = names_of(e.value, "rows");
    } else if (e.key == "columns") {
      spec.columns = scalar_of(e.value, "columns");
    } else if (e.key == "values") {
      spec.values = names_of(e.value, "values");
    } else if (e.key == "plots") {
      if (!e.value.is_sequence()) throw ConfigError(e.value.mark, "report 'plots' must be a list");
      for (size_t i = 0; i < e.value.items.size(); ++i) spec.plots.push_back(parse_plot(e.value.items[i], i));
    } else if (e.key == "format" || e.key == "tolerance") {
      continue;  // read by later report stages
    } else {
      throw ConfigError(e.key_mark, fmt::format("unknown report key '{}'{}; expected one of: {}", e.key,
                                                did_you_mean(e.key, keys), fmt::join(keys, ", ")));
    }
  }
  return spec;
}

void write_manifest(const fs::path& dir, const std::string& name, const std::vector<std::string>& axes,
                    const ConfigNode& report,
                    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& cells) {
  ConfigNode m = ConfigNode::make_map();
  m.set("experiment", ConfigNode::make_scalar(name));
  ConfigNode ax = ConfigNode::make_sequence();
  for (const std::string& a : axes) ax.items.push_back(ConfigNode::make_scalar(a));
  m.set("axes", ax);
  if (report.type != ConfigNode::Type::null) m.set("report", report);
  ConfigNode list = ConfigNode::make_sequence();
  for (const auto& [id, labels] : cells) {
    ConfigNode c = ConfigNode::make_map();
    c.set("id", ConfigNode::make_scalar(id));
    for (const auto& [k, v] : labels) {
      ConfigNode s = ConfigNode::make_scalar(v);
      s.quoted = true;
      c.set(k, s);
    }
    list.items.push_back(c);
  }
  m.set("cells", list);
  fs::create_directories(dir);
  const fs::path tmp = dir / fmt::format(".cells.yaml.tmp.{}", ::getpid());
  {
    std::ofstream out(tmp);
    out << "# Cells of the latest expansion of this experiment (written by kant run).\n"
        << emit_yaml(m, false);
    if (!out) throw Error(fmt::format("cannot write {}", tmp.string()));
  }
  fs::rename(tmp, dir / "cells.yaml");
}

Manifest read_manifest(const fs::path& dir) {
  const fs::path file = dir / "cells.yaml";
  if (!fs::exists(file))
    throw InputError(fmt::format("{}: no cells.yaml here: not a results folder written by kant run", dir.string()));
  ConfigNode m = load_yaml_file(file);
  Manifest out;
  if (const ConfigNode* n = m.find("experiment")) out.name = n->scalar;
  if (const ConfigNode* a = m.find("axes"))
    for (const ConfigNode& i : a->items) out.axes.push_back(i.scalar);
  if (const ConfigNode* r = m.find("report")) out.report = *r;
  if (const ConfigNode* c = m.find("cells"))
    for (const ConfigNode& i : c->items)
      if (const ConfigNode* id = i.find("id")) out.cell_ids.push_back(id->scalar);
  return out;
}

std::vector<CellSummary> load_cells(const fs::path& dir, std::vector<std::string>& problems) {
  Manifest m = read_manifest(dir);
  std::vector<CellSummary> cells;
  for (const std::string& id : m.cell_ids) {
    const fs::path file = cell_path(dir, id);
    if (!fs::exists(file)) {
      problems.push_back(fmt::format("{}: missing (not run yet?)", file.string()));
      continue;
    }
    try {
      cells.push_back(read_cell_summary(file));
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return cells;
}

namespace {

std::string label_of(const CellSummary& c, const std::string& axis) {
  for (const auto& [k, v] : c.labels)
    if (k == axis) return v;
  return "";
}

std::string row_label(const CellSummary& c, const std::vector<std::string>& axes) {
  std::vector<std::string> parts;
  for (const std::string& a : axes) parts.push_back(label_of(c, a));
  return fmt::format("{}", fmt::join(parts, " / "));
}

std::string number(double x) {
  if (!std::isfinite(x)) return fmt::format("{}", x);
  double a = std::abs(x);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.3e}", x);
  if (a >= 100) return fmt::format("{:.1f}", x);
  return fmt::format("{:.3f}", x);
}

struct Stats {
  double mean = NAN, std = NAN;
  size_t n = 0;
};

Stats stats(const std::vector<double>& v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

}  // namespace

std::string render_table(const std::vector<CellSummary>& cells, const ReportSpec& spec_in,
                         const std::vector<std::string>& axes, TableFormat format) {
  ReportSpec spec = spec_in;
  if (spec.rows.empty()) spec.rows = {axes.empty() ? "seed" : axes.front()};
  if (spec.values.empty()) {
    std::set<std::string> names;
    for (const CellSummary& c : cells)
      for (const auto& [k, v] : c.final_metrics) names.insert(k);
    spec.values.assign(names.begin(), names.end());
  }
  std::vector<std::string> row_labels, col_labels;
  auto add_unique = [](std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  };
  for (const CellSummary& c : cells) {
    add_unique(row_labels, row_label(c, spec.rows));
    add_unique(col_labels, spec.columns.empty() ? "" : label_of(c, spec.columns));
  }
  std::vector<std::string> header{fmt::format("{}", fmt::join(spec.rows, " / "))};
  for (const std::string& col : col_labels)
    for (const std::string& v : spec.values)
      header.push_back(col.empty() ? v : fmt::format("{}={} {}", spec.columns, col, v));
  header.insert(header.end(), {"n", "diverged", "failed"});

  std::vector<std::vector<std::string>> rows;
  for (const std::string& r : row_labels) {
    std::vector<std::string> row{r};
    size_t n = 0, diverged = 0, failed = 0;
    for (const std::string& col : col_labels) {
      std::vector<const CellSummary*> group;
      for (const CellSummary& c : cells)
        if (row_label(c, spec.rows) == r && (spec.columns.empty() || label_of(c, spec.columns) == col))
          group.push_back(&c);
      for (const std::string& v : spec.values) {
        std::vector<double> xs;
        for (const CellSummary* c : group) {
          if (c->status != "complete") continue;
          auto it = c->final_metrics.find(v);
          if (it != c->final_metrics.end()) xs.push_back(it->second);
        }
        Stats s = stats(xs);
        if (format == TableFormat::csv) {
          row.push_back(s.n ? fmt::format("{},{}", s.mean, s.std) : ",");
        } else {
          row.push_back(s.n ? fmt::format("{} ± {}", number(s.mean), number(s.std)) : "—");
        }
      }
      for (const CellSummary* c : group) {
        ++n;
        diverged += c->status == "diverged";
        failed += c->status == "failed";
      }
    }
    row.insert(row.end(), {std::to_string(n - diverged - failed), std::to_string(diverged),
                           std::to_string(failed)});
    rows.push_back(row);
  }

  std::string out;
  if (format == TableFormat::csv) {
    std::vector<std::string> h{header.front()};
    for (size_t i = 1; i + 3 < header.size(); ++i) {
      h.push_back(header[i] + " mean");
      h.push_back(header[i] + " std");
    }
    h.insert(h.end(), {"n", "diverged", "failed"});
    out += fmt::format("{}\n", fmt::join(h, ","));
    for (const auto& row : rows) out += fmt::format("{}\n", fmt::join(row, ","));
    return out;
  }
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  auto display_width = [](const std::string& s) {
    size_t w = 0;
    for (unsigned char ch : s) w += (ch & 0xC0) != 0x80;  // count UTF-8 code points
    return w;
  };
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  auto line = [&](const std::vector<std::string>& cells_) {
    std::string l = "|";
    for (size_t i = 0; i < cells_.size(); ++i)
      l += " " + cells_[i] + std::string(width[i] - display_width(cells_[i]), ' ') + " |";
    return l + "\n";
  };
  out += line(header);
  std::string sep = "|";
  for (size_t w : width) sep += std::string(w + 2, '-') + "|";
  out += sep + "\n";
  for (const auto& row : rows) out += line(row);
  return out;
}

std::vector<fs::path> write_plots(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                                  const fs::path& out_dir, std::vector<std::string>& problems) {
  std::vector<fs::path> files;
  for (const PlotSpec& p : spec.plots) {
    std::vector<std::string> panels;
    for (const CellSummary& c : cells) {
      std::string v = p.panels.empty() ? "" : label_of(c, p.panels);
      if (std::find(panels.begin(), panels.end(), v) == panels.end()) panels.push_back(v);
    }
    for (const std::string& panel : panels) {
      std::vector<svg::Series> series;
      for (const CellSummary& c : cells) {
        if (!p.panels.empty() && label_of(c, p.panels) != panel) continue;
        if (c.status == "failed") continue;
        svg::Series s;
        s.label = p.lines.empty() ? c.cell_id : label_of(c, p.lines);
        const std::string seed = label_of(c, "seed");
        if (!seed.empty() && p.lines != "seed") s.label += " (seed " + seed + ")";
        const std::string x_path = !p.x.empty() ? p.x : p.y.substr(0, p.y.rfind('/') + 1) + "step";
        try {
          s.y = read_cell_dataset(c.path, p.y);
          s.x = read_cell_dataset(c.path, x_path);
        } catch (const Error& e) {
          problems.push_back(fmt::format("plot {}: {}", p.name, e.what()));
          continue;
        }
        series.push_back(std::move(s));
      }
      svg::PlotOptions o;
      o.title = p.title.empty() ? p.y : p.title;
      if (!panel.empty()) o.title += fmt::format(" — {} = {}", p.panels, panel);
      o.x_label = p.x.empty() ? "step" : p.x;
      o.y_label = p.y;
      o.log_y = p.log_y;
      o.equal_aspect = p.equal_aspect;
      fs::create_directories(out_dir);
      std::string stem = p.name;
      if (!panel.empty()) {
        stem += "_";
        for (char ch : panel) stem += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ? ch : '_';
      }
      const fs::path file = out_dir / (stem + ".svg");
      std::ofstream(file) << svg::plot(series, o);
      files.push_back(file);
    }
  }
  return files;
}

}  // namespace kant
