// Report figures (see write_figures in report.hpp): the experiment's own plots, training and
// metric curves as mean ± std bands over seeds, and generated samples over the data.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "kant/error.hpp"
#include "kant/hash.hpp"
#include "report/report.hpp"
#include "report/svg_plot.hpp"
#include "store/atomic_file.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxCurvePoints = 600;  // per line: enough for the eye, small files
constexpr size_t kMaxScatterPoints = 1000;

// A file name stem from a label: unsafe characters become '_'; a long label is cut and keeps a
// hash of the whole, so that names stay unique and well inside the 255-byte limit.
std::string file_stem(const std::string& s) {
  constexpr size_t kLongest = 100;
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  if (out.size() > kLongest) out = fmt::format("{}-{:016x}", out.substr(0, kLongest), fnv1a64(s.data(), s.size()));
  return out;
}

void save(const fs::path& file, const std::string& svg) {
  fs::create_directories(file.parent_path());
  write_file_atomically(file, svg);
}

// Cells grouped by row label, in table order; failed cells have nothing to plot.
std::vector<std::pair<std::string, std::vector<const CellSummary*>>> groups_of(
    const std::vector<CellSummary>& cells, const std::vector<std::string>& rows) {
  std::vector<std::pair<std::string, std::vector<const CellSummary*>>> groups;
  for (const CellSummary& c : cells) {
    if (c.status == "failed") continue;
    const std::string label = cell_row_label(c, rows);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == label; });
    if (it == groups.end()) groups.push_back({label, {&c}});
    else it->second.push_back(&c);
  }
  return groups;
}

// Mean ± std over the cells of a group, step by step (shorter, diverged runs drop out). A
// non-finite value is left out of its step's mean and drawn as a mark at that step.
svg::Series band(const std::string& label, const std::vector<std::vector<double>>& xs,
                 const std::vector<std::vector<double>>& ys) {
  svg::Series s;
  s.label = label;
  size_t longest = 0;
  for (const auto& y : ys) longest = std::max(longest, y.size());
  const size_t stride = std::max<size_t>(1, longest / kMaxCurvePoints);
  for (size_t i = 0; i < longest; i += stride) {
    std::vector<double> v;
    double x = std::numeric_limits<double>::quiet_NaN();
    for (size_t k = 0; k < ys.size(); ++k)
      if (i < ys[k].size() && i < xs[k].size()) {
        x = xs[k][i];
        if (std::isfinite(ys[k][i])) {
          v.push_back(ys[k][i]);
        } else {
          s.dropped_x.push_back(x);
          s.dropped_y.push_back(ys[k][i]);
        }
      }
    if (v.empty()) continue;
    double m = 0, ss = 0;
    for (double y : v) m += y;
    m /= static_cast<double>(v.size());
    for (double y : v) ss += (y - m) * (y - m);
    const double sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
    s.x.push_back(x);
    s.y.push_back(m);
    s.lo.push_back(m - sd);
    s.hi.push_back(m + sd);
  }
  return s;
}

// `f` drawn from `lines`; nullopt (and the reason in `problems`) when it cannot be written.
std::optional<Figure> plot_figure(Figure f, const std::vector<svg::Series>& lines, const svg::PlotOptions& o,
                                  std::vector<std::string>& problems) {
  try {
    save(f.file, svg::plot(lines, o));
  } catch (const Error& e) {
    problems.push_back(e.what());
    return std::nullopt;
  }
  return f;
}

// One figure of a dataset's mean ± std per group; nullopt when no cell has it.
std::optional<Figure> curve_figure(const std::vector<std::pair<std::string, std::vector<const CellSummary*>>>& groups,
                                   const std::string& y_path, const std::string& title, const std::string& section,
                                   const fs::path& out_dir, std::vector<std::string>& problems, bool log_y = false) {
  const std::string x_path = y_path.substr(0, y_path.rfind('/') + 1) + "step";
  std::vector<svg::Series> lines;
  bool any_nonzero = false;
  for (const auto& [label, members] : groups) {
    std::vector<std::vector<double>> xs, ys;
    for (const CellSummary* c : members) {
      try {
        ys.push_back(read_cell_dataset(c->path, y_path));
        xs.push_back(read_cell_dataset(c->path, x_path));
      } catch (const Error& e) {
        continue;  // this cell has no such series (e.g. a metric it does not compute)
      }
      for (double y : ys.back()) any_nonzero = any_nonzero || y != 0;
    }
    if (!ys.empty()) lines.push_back(band(label, xs, ys));
  }
  if (lines.empty() || !any_nonzero) return std::nullopt;
  svg::PlotOptions o;
  o.title = title;
  o.x_label = "generator step";
  o.y_label = y_path.substr(y_path.rfind('/') + 1);
  o.log_y = log_y;
  return plot_figure({section, title, out_dir / (file_stem(y_path) + ".svg")}, lines, o, problems);
}

// Generated samples over the data (2-D) or a grid of generated images, per group (lowest seed).
void sample_figures(const std::vector<std::pair<std::string, std::vector<const CellSummary*>>>& groups,
                    const fs::path& out_dir, std::vector<Figure>& figures, std::vector<std::string>& problems) {
  for (const auto& [label, members] : groups) {
    const CellSummary* c = members.front();
    Shape shape;
    std::vector<double> gen;
    try {
      gen = read_cell_dataset(c->path, "samples/generated", &shape);
    } catch (const Error&) {
      continue;  // no samples stored
    }
    const std::string title = fmt::format("{} (seed {})", label, cell_label(*c, "seed"));
    const fs::path file = out_dir / fmt::format("samples_{}.svg", file_stem(label));
    try {
      if (shape.size() == 2 && shape[1] == 2) {
        Shape real_shape;
        std::vector<double> real = read_cell_dataset(c->path, "samples/real", &real_shape);
        auto scatter = [](const std::vector<double>& d, const std::string& name, const std::string& color) {
          svg::Series s;
          s.label = name;
          s.markers = true;
          s.color = color;
          const size_t n = d.size() / 2, stride = std::max<size_t>(1, n / kMaxScatterPoints);
          for (size_t i = 0; i < n; i += stride) {
            s.x.push_back(d[2 * i]);
            s.y.push_back(d[2 * i + 1]);
          }
          return s;
        };
        svg::PlotOptions o;
        o.title = title;
        o.x_label = "x₁";
        o.y_label = "x₂";
        o.equal_aspect = true;
        save(file, svg::plot({scatter(real, "data", "#9e9e9e"), scatter(gen, "generated", "#d62728")}, o));
      } else if (shape.size() == 3 || (shape.size() == 4 && (shape[1] == 1 || shape[1] == 3))) {
        const size_t channels = shape.size() == 4 ? static_cast<size_t>(shape[1]) : 1;
        const size_t h = static_cast<size_t>(shape[shape.size() - 2]), w = static_cast<size_t>(shape.back());
        const size_t count = std::min<size_t>(static_cast<size_t>(shape[0]), 64);
        save(file, svg::image_grid(gen, count, channels, h, w, 8, title));
      } else {
        continue;  // no generic picture of this shape
      }
      figures.push_back({"samples", title, file});
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
}

// The critic's value surface with contours and the data on top, per group (lowest seed).
void surface_figures(const std::vector<std::pair<std::string, std::vector<const CellSummary*>>>& groups,
                     const fs::path& out_dir, std::vector<Figure>& figures, std::vector<std::string>& problems) {
  for (const auto& [label, members] : groups) {
    const CellSummary* c = members.front();
    std::vector<double> x, y, v, real;
    Shape real_shape;
    try {
      v = read_cell_dataset(c->path, "arrays/critic_surface/values");
      x = read_cell_dataset(c->path, "arrays/critic_surface/x");
      y = read_cell_dataset(c->path, "arrays/critic_surface/y");
    } catch (const Error&) {
      continue;  // the cell has no critic_surface metric
    }
    try {
      real = read_cell_dataset(c->path, "samples/real", &real_shape);
    } catch (const Error&) {
    }
    svg::Series points;
    for (size_t i = 0; i + 1 < real.size() && i / 2 < kMaxScatterPoints / 2; i += 2) {
      points.x.push_back(real[i]);
      points.y.push_back(real[i + 1]);
    }
    const std::string title = fmt::format("critic value surface — {} (seed {})", label, cell_label(*c, "seed"));
    const fs::path file = out_dir / fmt::format("surface_{}.svg", file_stem(label));
    try {
      save(file, svg::contour(x, y, v, 10, points, title));
      figures.push_back({"critic value surfaces", title, file});
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
}

// The critic loss's gradient norm at each hidden block at the end of training (gradient_norms'
// activation_grad_hidden<k>), block index on x, mean ± std over seeds per group, log scale:
// the WGAN-GP paper's Figure 1b. Nothing when no cell recorded blocks.
std::optional<Figure> layer_figure(const std::vector<std::pair<std::string, std::vector<const CellSummary*>>>& groups,
                                   const fs::path& out_dir, std::vector<std::string>& problems) {
  const std::string prefix = "gradient_norms.activation_grad_hidden";
  std::vector<svg::Series> lines;
  for (const auto& [label, members] : groups) {
    std::vector<std::vector<double>> xs, ys;
    for (const CellSummary* c : members) {
      if (c->status != "complete") continue;
      std::vector<double> x, y;
      for (int k = 1; c->final_metrics.count(prefix + std::to_string(k)); ++k) {
        x.push_back(k);
        y.push_back(c->final_metrics.at(prefix + std::to_string(k)));
      }
      if (!y.empty()) xs.push_back(std::move(x)), ys.push_back(std::move(y));
    }
    if (!ys.empty()) lines.push_back(band(label, xs, ys));
  }
  if (lines.empty()) return std::nullopt;
  svg::PlotOptions o;
  o.title = "‖∂L_D/∂h_k‖ at the end of training, per hidden block of the critic";
  o.x_label = "critic hidden block k (1: next to the input)";
  o.y_label = "gradient norm";
  o.log_y = true;
  return plot_figure({"gradient norms", o.title, out_dir / "gradient_norms_per_layer.svg"}, lines, o, problems);
}

}  // namespace

std::vector<Figure> write_figures(const std::vector<CellSummary>& cells, const ReportSpec& spec_in,
                                  const std::vector<std::string>& axes, const fs::path& out_dir,
                                  std::vector<std::string>& problems) {
  ReportSpec spec = spec_in;
  if (spec.rows.empty()) spec.rows = {axes.empty() ? "seed" : axes.front()};
  std::vector<Figure> figures;
  const auto groups = groups_of(cells, spec.rows);
  sample_figures(groups, out_dir, figures, problems);
  surface_figures(groups, out_dir, figures, problems);
  if (auto f = layer_figure(groups, out_dir, problems)) figures.push_back(*f);
  for (const char* series : {"loss_critic", "loss_generator", "penalty", "divergence_estimate"})
    if (auto f = curve_figure(groups, std::string("series/") + series, series, "training curves", out_dir, problems))
      figures.push_back(*f);
  // the report's values, and the gradient norms (on a log axis) whenever a cell has them
  std::vector<std::string> curves = spec.values;
  for (const char* where : {"real", "fake", "interpolates"})
    curves.push_back(std::string("gradient_norms.") + where + "_mean");
  std::set<std::string> done;
  for (const std::string& value : curves) {
    const size_t dot = value.find('.');
    if (dot == std::string::npos || !done.insert(value).second) continue;
    const std::string path = "metrics/" + value.substr(0, dot) + "/" + value.substr(dot + 1);
    const bool log_y = value.rfind("gradient_norms.", 0) == 0;
    if (auto f = curve_figure(groups, path, value, log_y ? "gradient norms" : "metrics", out_dir, problems, log_y))
      figures.push_back(*f);
  }

  for (const PlotSpec& p : spec.plots) {
    std::vector<std::string> panels;
    for (const CellSummary& c : cells) {
      std::string v = p.panels.empty() ? "" : cell_label(c, p.panels);
      if (std::find(panels.begin(), panels.end(), v) == panels.end()) panels.push_back(v);
    }
    for (const std::string& panel : panels) {
      std::vector<svg::Series> series;
      for (const CellSummary& c : cells) {
        if ((!p.panels.empty() && cell_label(c, p.panels) != panel) || c.status == "failed") continue;
        svg::Series s;
        s.label = p.lines.empty() ? c.cell_id : cell_label(c, p.lines);
        const std::string seed = cell_label(c, "seed");
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
      const fs::path file = out_dir / ((panel.empty() ? p.name : p.name + "_" + file_stem(panel)) + ".svg");
      try {
        save(file, svg::plot(series, o));
        figures.push_back({"plots", o.title, file});
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  return figures;
}

}  // namespace kant
