// Report figures (see write_figures in report.hpp): the experiment's own plots, training and
// metric curves as mean ± std bands over seeds, and generated samples over the data.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <tuple>

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
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  if (out.size() > kLongest)
    out = fmt::format("{}-{:016x}", out.substr(0, kLongest), fnv1a64(s.data(), s.size()));
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
    if (c.status == CellStatus::failed) continue;
    const std::string label = cell_row_label(c, rows);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == label; });
    if (it == groups.end())
      groups.push_back({label, {&c}});
    else
      it->second.push_back(&c);
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

using Groups = std::vector<std::pair<std::string, std::vector<const CellSummary*>>>;

// The mean ± std line of a dataset per group; empty when no cell has it or it is zero throughout.
std::vector<svg::Series> curve_lines(const Groups& groups, const std::string& y_path) {
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
  if (!any_nonzero) lines.clear();
  return lines;
}

// The cells of each panel of a split (report.figures), failed ones left out: panel r·C + c holds
// the cells with the r-th value on the rows axis and the c-th on the columns axis.
struct Panels {
  FigureSplit split;
  std::vector<std::string> rows{""}, columns{""};
  std::vector<std::vector<const CellSummary*>> cells;

  Panels(const std::vector<CellSummary>& all, const FigureSplit& s) : split(s) {
    auto values = [&](const std::string& axis) {
      std::vector<std::string> v;
      for (const CellSummary& c : all) {
        const std::string label = axis.empty() ? "" : cell_label(c, axis);
        if (c.status != CellStatus::failed && std::find(v.begin(), v.end(), label) == v.end())
          v.push_back(label);
      }
      if (v.empty()) v.push_back("");
      return v;
    };
    rows = values(split.rows);
    columns = values(split.columns);
    cells.resize(rows.size() * columns.size());
    for (const CellSummary& c : all) {
      if (c.status == CellStatus::failed) continue;
      const auto r =
          std::find(rows.begin(), rows.end(), split.rows.empty() ? "" : cell_label(c, split.rows));
      const auto k = std::find(columns.begin(), columns.end(),
                               split.columns.empty() ? "" : cell_label(c, split.columns));
      cells[static_cast<size_t>(r - rows.begin()) * columns.size() +
            static_cast<size_t>(k - columns.begin())]
          .push_back(&c);
    }
  }
  // "columns axis = value" for panel c of row r (the row's own title says the rows value)
  std::string title(size_t r, size_t c) const {
    std::vector<std::string> parts;
    if (!split.rows.empty() && split.columns.empty()) parts.push_back(split.rows + " = " + rows[r]);
    if (!split.columns.empty()) parts.push_back(split.columns + " = " + columns[c]);
    return fmt::format("{}", fmt::join(parts, ", "));
  }
  std::vector<std::string> row_titles() const {
    std::vector<std::string> t;
    if (!split.rows.empty() && !split.columns.empty())
      for (const std::string& r : rows) t.push_back(split.rows + " = " + r);
    return t;
  }
  // "rows_x_columns", or the one axis given
  std::string axes_text() const {
    if (split.rows.empty()) return split.columns;
    return split.columns.empty() ? split.rows : split.rows + "_x_" + split.columns;
  }
  std::string file_suffix() const { return "_by_" + file_stem(axes_text()); }
};

constexpr double kPanelScale = 0.6;

std::optional<Figure> save_figure(const std::string& section, const std::string& title,
                                  const fs::path& file, const std::string& svg,
                                  std::vector<std::string>& problems) {
  try {
    save(file, svg);
  } catch (const Error& e) {
    problems.push_back(e.what());
    return std::nullopt;
  }
  return Figure{section, title, file};
}

// One figure of a dataset's mean ± std per group; with a split, one panel per (row, column)
// value, each with its groups' lines. nullopt when no cell has it.
std::optional<Figure> curve_figure(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                                   const std::string& y_path, const std::string& title,
                                   const std::string& section, const fs::path& out_dir,
                                   std::vector<std::string>& problems, bool log_y = false) {
  svg::PlotOptions o;
  o.title = title;
  o.x_label = "generator step";
  o.y_label = y_path.substr(y_path.rfind('/') + 1);
  o.log_y = log_y;
  if (!spec.figures.any()) {
    std::vector<svg::Series> lines = curve_lines(groups_of(cells, spec.rows), y_path);
    if (lines.empty()) return std::nullopt;
    return save_figure(section, title, out_dir / (file_stem(y_path) + ".svg"), svg::plot(lines, o),
                       problems);
  }
  const Panels panels(cells, spec.figures);
  std::vector<std::string> docs;
  bool any = false;
  for (size_t r = 0; r < panels.rows.size(); ++r)
    for (size_t c = 0; c < panels.columns.size(); ++c) {
      std::vector<CellSummary> members;
      for (const CellSummary* cell : panels.cells[r * panels.columns.size() + c])
        members.push_back(*cell);
      std::vector<svg::Series> lines = curve_lines(groups_of(members, spec.rows), y_path);
      any = any || !lines.empty();
      svg::PlotOptions po = o;
      po.title = panels.title(r, c);
      po.clip_id = fmt::format("p{}", docs.size());
      docs.push_back(lines.empty() && members.empty() ? "" : svg::plot(lines, po));
    }
  if (!any) return std::nullopt;
  return save_figure(
      section, title, out_dir / (file_stem(y_path) + panels.file_suffix() + ".svg"),
      svg::small_multiples(docs, panels.columns.size(), kPanelScale, title, panels.row_titles()),
      problems);
}

svg::Series scatter(const double* d, size_t n, const std::string& name, const std::string& color) {
  svg::Series s;
  s.label = name;
  s.markers = true;
  s.color = color;
  const size_t stride = std::max<size_t>(1, n / kMaxScatterPoints);
  for (size_t i = 0; i < n; i += stride) {
    s.x.push_back(d[2 * i]);
    s.y.push_back(d[2 * i + 1]);
  }
  return s;
}

// Samples of one shape as a picture: generated over the data (2-D points), or the first images
// in a grid; "" for shapes without a generic picture. `each` is the shape of one sample.
std::string samples_svg(const std::vector<double>& gen, size_t offset, size_t n, const Shape& each,
                        const std::vector<double>& real, const std::string& title,
                        svg::PlotOptions o, size_t max_images, size_t columns) {
  if (each == Shape{2}) {
    o.title = title;
    o.x_label = "x₁";
    o.y_label = "x₂";
    o.equal_aspect = true;
    return svg::plot({scatter(real.data(), real.size() / 2, "data", "#9e9e9e"),
                      scatter(gen.data() + offset, n, "generated", "#d62728")},
                     o);
  }
  if (each.size() == 2 || (each.size() == 3 && (each[0] == 1 || each[0] == 3))) {
    const size_t channels = each.size() == 3 ? static_cast<size_t>(each[0]) : 1;
    const size_t h = static_cast<size_t>(each[each.size() - 2]),
                 w = static_cast<size_t>(each.back());
    const std::vector<double> images(
        gen.begin() + static_cast<std::ptrdiff_t>(offset),
        gen.begin() + static_cast<std::ptrdiff_t>(offset + n * channels * h * w));
    return svg::image_grid(images, std::min(n, max_images), channels, h, w, columns, title);
  }
  return "";
}

// One cell's final samples as a picture ("" when it stored none or has no picture of them).
std::string cell_samples_svg(const CellSummary& c, const std::string& title,
                             const svg::PlotOptions& o) {
  Shape shape;
  std::vector<double> gen, real;
  try {
    gen = read_cell_dataset(c.path, "samples/generated", &shape);
  } catch (const Error&) {
    return "";  // no samples stored
  }
  if (shape.empty()) return "";
  const Shape each(shape.begin() + 1, shape.end());
  if (each == Shape{2}) real = read_cell_dataset(c.path, "samples/real");
  return samples_svg(gen, 0, static_cast<size_t>(shape[0]), each, real, title, o, 64, 8);
}

// One cell's critic value surface with contours and the data on top ("" without one).
// A conditional generator's samples by class, one row per class (conditional_accuracy's
// class_grid [K, m, C, H, W]); "" when the cell stored none.
std::string cell_class_grid_svg(const CellSummary& c, const std::string& title) {
  Shape shape;
  std::vector<double> grid;
  try {
    grid = read_cell_dataset(c.path, "arrays/conditional_accuracy/class_grid", &shape);
  } catch (const Error&) {
    return "";
  }
  if (shape.size() != 5 || (shape[2] != 1 && shape[2] != 3)) return "";
  const auto [k, m] = std::pair{static_cast<size_t>(shape[0]), static_cast<size_t>(shape[1])};
  return svg::image_grid(grid, k * m, static_cast<size_t>(shape[2]), static_cast<size_t>(shape[3]),
                         static_cast<size_t>(shape[4]), m, title + " — one row per class");
}

// A super-resolution generator's inputs, outputs and true images in three rows (metric
// super_resolution's comparison [3, m, C, H, W]); "" when the cell stored none.
std::string cell_super_resolution_svg(const CellSummary& c, const std::string& title) {
  Shape shape;
  std::vector<double> grid;
  try {
    grid = read_cell_dataset(c.path, "arrays/super_resolution/comparison", &shape);
  } catch (const Error&) {
    return "";
  }
  if (shape.size() != 5 || shape[0] != 3 || (shape[2] != 1 && shape[2] != 3)) return "";
  const auto m = static_cast<size_t>(shape[1]);
  return svg::image_grid(grid, 3 * m, static_cast<size_t>(shape[2]), static_cast<size_t>(shape[3]),
                         static_cast<size_t>(shape[4]), m, title + " — input, output, truth");
}

std::string cell_surface_svg(const CellSummary& c, const std::string& title) {
  std::vector<double> x, y, v, real;
  try {
    v = read_cell_dataset(c.path, "arrays/critic_surface/values");
    x = read_cell_dataset(c.path, "arrays/critic_surface/x");
    y = read_cell_dataset(c.path, "arrays/critic_surface/y");
  } catch (const Error&) {
    return "";  // the cell has no critic_surface metric
  }
  try {
    real = read_cell_dataset(c.path, "samples/real");
  } catch (const Error&) {
  }
  svg::Series points;
  for (size_t i = 0; i + 1 < real.size() && i / 2 < kMaxScatterPoints / 2; i += 2) {
    points.x.push_back(real[i]);
    points.y.push_back(real[i + 1]);
  }
  return svg::contour(x, y, v, 10, points, title);
}

// One cell's optimal transport plan (arrays/gaussian_wasserstein/plan_from, plan_to: [k, 2], the
// moves' ends) as segments from each data point to the generated point its mass goes to, ""
// without one.
std::string cell_transport_svg(const CellSummary& c, const std::string& title) {
  std::vector<double> from, to;
  try {
    from = read_cell_dataset(c.path, "arrays/gaussian_wasserstein/plan_from");
    to = read_cell_dataset(c.path, "arrays/gaussian_wasserstein/plan_to");
  } catch (const Error&) {
    return "";
  }
  if (from.size() != to.size() || from.size() % 2) return "";
  svg::Series moves;
  moves.label = "transport plan γ";
  moves.segments = true;
  moves.color = "#7f7f7f";
  for (size_t i = 0; i + 1 < from.size(); i += 2) {
    moves.x.insert(moves.x.end(), {from[i], to[i]});
    moves.y.insert(moves.y.end(), {from[i + 1], to[i + 1]});
  }
  svg::PlotOptions o;
  o.title = title;
  o.x_label = "x₁";
  o.y_label = "x₂";
  o.equal_aspect = true;
  return svg::plot({moves, scatter(from.data(), from.size() / 2, "data", "#1f77b4"),
                    scatter(to.data(), to.size() / 2, "generated", "#d62728")},
                   o);
}

// One cell's memorisation check as a picture: the generated images closest to a training image
// (top row) above those training images (arrays/<metric>/closest_pairs of sample_quality), ""
// without one.
std::string cell_closest_svg(const CellSummary& c, const std::string& title) {
  for (const auto& [name, record] : c.metrics) {
    Shape shape;
    std::vector<double> pairs;
    try {
      pairs = read_cell_dataset(c.path, "arrays/" + name + "/closest_pairs", &shape);
    } catch (const Error&) {
      continue;
    }
    if (shape.size() != 4 || shape[0] < 2) continue;
    const auto n = static_cast<size_t>(shape[0]);
    return svg::image_grid(pairs, n, static_cast<size_t>(shape[1]), static_cast<size_t>(shape[2]),
                           static_cast<size_t>(shape[3]), n / 2, title);
  }
  return "";
}

// A translating cell's images (arrays/<metric>/a_to_b and b_to_a of the translation metric, each
// [3, m, C, H, W]): rows a, G(a), F(G(a)), then b, F(b), G(F(b)); "" without them.
std::string cell_translation_svg(const CellSummary& c, const std::string& title) {
  for (const auto& [name, record] : c.metrics) {
    Shape shape, other;
    std::vector<double> rows;
    try {
      rows = read_cell_dataset(c.path, "arrays/" + name + "/a_to_b", &shape);
      const std::vector<double> back =
          read_cell_dataset(c.path, "arrays/" + name + "/b_to_a", &other);
      rows.insert(rows.end(), back.begin(), back.end());
    } catch (const Error&) {
      continue;
    }
    if (shape.size() != 5 || shape != other || shape[0] != 3 || (shape[2] != 1 && shape[2] != 3))
      continue;
    const auto m = static_cast<size_t>(shape[1]);
    return svg::image_grid(rows, 6 * m, static_cast<size_t>(shape[2]),
                           static_cast<size_t>(shape[3]), static_cast<size_t>(shape[4]), m, title);
  }
  return "";
}

// Samples along paths in the latent space, `dataset` [P, K, …] (kant latent interpolate's paths
// between codes, kant latent search's paths of z), one row per path, or the path points over the
// data (2-D); "" when the cell stored none.
std::string cell_latent_paths_svg(const CellSummary& c, const std::string& dataset,
                                  const std::string& title) {
  Shape shape;
  std::vector<double> paths, real;
  try {
    paths = read_cell_dataset(c.path, dataset, &shape);
  } catch (const Error&) {
    return "";
  }
  if (shape.size() < 3) return "";
  const Shape each(shape.begin() + 2, shape.end());
  const auto count = static_cast<size_t>(shape[0] * shape[1]);
  if (each == Shape{2}) try {
      real = read_cell_dataset(c.path, "samples/real");
    } catch (const Error&) {
    }
  return samples_svg(paths, 0, count, each, real, title, {}, count, static_cast<size_t>(shape[1]));
}

// Samples of truncated codes (kant latent truncate: arrays/latent_truncate/samples [T, n, …]),
// one row per threshold ψ (images), or the last ψ's samples over the data (2-D).
std::string cell_truncation_svg(const CellSummary& c, const std::string& title) {
  Shape shape;
  std::vector<double> samples, psis, real;
  try {
    samples = read_cell_dataset(c.path, "arrays/latent_truncate/samples", &shape);
    psis = read_cell_dataset(c.path, "arrays/latent_truncate/thresholds");
  } catch (const Error&) {
    return "";
  }
  if (shape.size() < 3 || psis.empty()) return "";
  const Shape each(shape.begin() + 2, shape.end());
  const auto rows = static_cast<size_t>(shape[0]), n = static_cast<size_t>(shape[1]);
  std::vector<std::string> shown;
  for (double p : psis) shown.push_back(fmt::format("{:g}", p));
  const std::string full = fmt::format("{}, ψ = {} (one row each)", title, fmt::join(shown, ", "));
  if (each == Shape{2}) {
    try {
      real = read_cell_dataset(c.path, "samples/real");
    } catch (const Error&) {
    }
    return samples_svg(samples, (rows - 1) * n * 2, n, each, real,
                       fmt::format("{}, ψ = {}", title, shown.back()), {}, n, 1);
  }
  const size_t columns = std::min<size_t>(n, 16), per = samples.size() / (rows * n);
  std::vector<double> grid;
  for (size_t t = 0; t < rows; ++t)
    grid.insert(grid.end(), samples.begin() + static_cast<std::ptrdiff_t>(t * n * per),
                samples.begin() + static_cast<std::ptrdiff_t>((t * n + columns) * per));
  return samples_svg(grid, 0, rows * columns, each, {}, full, {}, rows * columns, columns);
}

// Code arithmetic (kant latent arithmetic): the samples of each class's mean code, then those of
// the result and of codes near it, one row each; "" when the cell stored none.
std::string cell_arithmetic_svg(const CellSummary& c, const std::string& title) {
  Shape shape;
  std::vector<double> means, result, classes, signs;
  try {
    means = read_cell_dataset(c.path, "arrays/latent_arithmetic/class_samples", &shape);
    result = read_cell_dataset(c.path, "arrays/latent_arithmetic/result_samples");
    classes = read_cell_dataset(c.path, "arrays/latent_arithmetic/classes");
    signs = read_cell_dataset(c.path, "arrays/latent_arithmetic/signs");
  } catch (const Error&) {
    return "";
  }
  const Shape each(shape.begin() + 1, shape.end());
  const size_t per = means.size() / classes.size(), near = result.size() / per;
  std::string expression;
  for (size_t k = 0; k < classes.size(); ++k)
    expression += fmt::format("{}{:g}", signs[k] > 0 ? (k ? " + " : "") : " − ", classes[k]);
  std::vector<double> grid;
  for (size_t k = 0; k < classes.size(); ++k) {  // each mean's sample, then blanks to the row end
    grid.insert(grid.end(), means.begin() + static_cast<std::ptrdiff_t>(k * per),
                means.begin() + static_cast<std::ptrdiff_t>((k + 1) * per));
    grid.insert(grid.end(), (near - 1) * per, -1.0);
  }
  grid.insert(grid.end(), result.begin(), result.end());
  return samples_svg(grid, 0, (classes.size() + 1) * near, each, {},
                     fmt::format("{}: {} (means, then result)", title, expression), {},
                     (classes.size() + 1) * near, near);
}

// Inversion (kant latent invert): the data samples (top row) above G(z*) of the codes found, or
// both over each other (2-D), with the mean reconstruction MSE; "" when the cell stored none.
std::string cell_inversion_svg(const CellSummary& c, const std::string& title) {
  Shape shape;
  std::vector<double> targets, found;
  try {
    targets = read_cell_dataset(c.path, "arrays/latent_invert/targets", &shape);
    found = read_cell_dataset(c.path, "arrays/latent_invert/reconstructions");
  } catch (const Error&) {
    return "";
  }
  if (shape.size() < 2 || targets.size() != found.size()) return "";
  const Shape each(shape.begin() + 1, shape.end());
  const auto n = static_cast<size_t>(shape[0]);
  auto mse = c.final_metrics.find("latent_invert.mse_mean");
  const std::string full =
      mse == c.final_metrics.end() ? title : fmt::format("{}, mean MSE {:.4g}", title, mse->second);
  if (each == Shape{2}) return samples_svg(found, 0, n, each, targets, full, {}, n, 1);
  const size_t shown = std::min<size_t>(n, 12), per = targets.size() / n;
  std::vector<double> both(targets.begin(),
                           targets.begin() + static_cast<std::ptrdiff_t>(shown * per));
  both.insert(both.end(), found.begin(), found.begin() + static_cast<std::ptrdiff_t>(shown * per));
  return samples_svg(both, 0, 2 * shown, each, {}, full, {}, 2 * shown, shown);
}

// A LAPGAN's samples at every level of its pyramid (arrays/lapgan/levels [L, n, C, S, S], each
// level resized to the data's size), one row per level, coarse to fine: the same samples in each
// column; "" when the cell stored none.
std::string cell_pyramid_svg(const CellSummary& c, const std::string& title) {
  Shape shape;
  std::vector<double> levels, sizes;
  try {
    levels = read_cell_dataset(c.path, "arrays/lapgan/levels", &shape);
    sizes = read_cell_dataset(c.path, "arrays/lapgan/sizes");
  } catch (const Error&) {
    return "";
  }
  if (shape.size() != 5 || (shape[2] != 1 && shape[2] != 3) || sizes.size() != size_t(shape[0]))
    return "";
  std::vector<std::string> shown;
  for (double s : sizes) shown.push_back(fmt::format("{:g}", s));
  const auto [l, n] = std::pair{static_cast<size_t>(shape[0]), static_cast<size_t>(shape[1])};
  return svg::image_grid(
      levels, l * n, static_cast<size_t>(shape[2]), static_cast<size_t>(shape[3]),
      static_cast<size_t>(shape[4]), n,
      fmt::format("{} — one row per level: {} px", title, fmt::join(shown, ", ")));
}

// Generated samples (over the data, 2-D) or a grid of generated images, and the critic's value
// surface, per group (lowest seed); with a split, one figure of each with a panel per
// (row, column) value (its first cell).
void sample_figures(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                    const fs::path& out_dir, std::vector<Figure>& figures,
                    std::vector<std::string>& problems) {
  using MakeSvg = std::string (*)(const CellSummary&, const std::string&);
  const std::vector<std::tuple<const char*, const char*, MakeSvg>> kinds{
      {"samples", "samples",
       [](const CellSummary& c, const std::string& t) { return cell_samples_svg(c, t, {}); }},
      {"critic value surfaces", "surface",
       [](const CellSummary& c, const std::string& t) { return cell_surface_svg(c, t); }},
      {"LAPGAN pyramid levels, coarse to fine", "pyramid",
       [](const CellSummary& c, const std::string& t) { return cell_pyramid_svg(c, t); }},
      {"samples by class", "class_grid",
       [](const CellSummary& c, const std::string& t) { return cell_class_grid_svg(c, t); }},
      {"super-resolution: input, output and true image", "super_resolution",
       [](const CellSummary& c, const std::string& t) { return cell_super_resolution_svg(c, t); }},
      {"translations (cyclegan): rows a, G(a), F(G(a)), then b, F(b), G(F(b))", "translation",
       [](const CellSummary& c, const std::string& t) { return cell_translation_svg(c, t); }},
      {"memorisation: generated images closest to a training image", "closest",
       [](const CellSummary& c, const std::string& t) { return cell_closest_svg(c, t); }},
      {"latent paths (kant latent interpolate)", "latent_paths",
       [](const CellSummary& c, const std::string& t) {
         return cell_latent_paths_svg(c, "arrays/latent_interpolate/samples", t);
       }},
      {"latent search (kant latent search): each code's path, start to end", "latent_search",
       [](const CellSummary& c, const std::string& t) {
         return cell_latent_paths_svg(c, "arrays/latent_search/samples", t);
       }},
      {"code arithmetic (kant latent arithmetic)", "arithmetic",
       [](const CellSummary& c, const std::string& t) { return cell_arithmetic_svg(c, t); }},
      {"truncated codes (kant latent truncate)", "truncation",
       [](const CellSummary& c, const std::string& t) { return cell_truncation_svg(c, t); }},
      {"inversion (kant latent invert): data, and G of the codes found", "inversion",
       [](const CellSummary& c, const std::string& t) { return cell_inversion_svg(c, t); }},
      {"optimal transport plans", "transport",
       [](const CellSummary& c, const std::string& t) { return cell_transport_svg(c, t); }}};
  for (const auto& [section, stem, make] : kinds) {
    try {
      if (!spec.figures.any()) {
        for (const auto& [label, members] : groups_of(cells, spec.rows)) {
          const CellSummary* c = members.front();
          std::string title = fmt::format("{} (seed {})", label, cell_label(*c, "seed"));
          if (std::string(stem) == "surface") title = "critic value surface — " + title;
          if (std::string(stem) == "transport") title = "exact W1 transport plan — " + title;
          if (std::string(stem) == "closest")
            title = "generated (top), nearest training — " + title;
          const std::string doc = make(*c, title);
          if (doc.empty()) continue;
          if (auto f = save_figure(section, title,
                                   out_dir / fmt::format("{}_{}.svg", stem, file_stem(label)), doc,
                                   problems))
            figures.push_back(*f);
        }
        continue;
      }
      const Panels panels(cells, spec.figures);
      std::vector<std::string> docs;
      bool any = false;
      for (size_t r = 0; r < panels.rows.size(); ++r)
        for (size_t c = 0; c < panels.columns.size(); ++c) {
          const auto& members = panels.cells[r * panels.columns.size() + c];
          docs.push_back(members.empty() ? ""
                                         : make(*members.front(),
                                                fmt::format("{} (seed {})", panels.title(r, c),
                                                            cell_label(*members.front(), "seed"))));
          any = any || !docs.back().empty();
        }
      if (!any) continue;
      const std::string title = std::string(section) + " by " + panels.axes_text();
      if (auto f = save_figure(
              section, title, out_dir / (std::string(stem) + panels.file_suffix() + ".svg"),
              svg::small_multiples(docs, panels.columns.size(), 0.5, title, panels.row_titles()),
              problems))
        figures.push_back(*f);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
}

constexpr size_t kMaxTimePanels =
    8;  // snapshots shown per cell: evenly spaced, first and last included

// Which of k snapshots to show: all of them, or kMaxTimePanels evenly spaced.
std::vector<size_t> shown_snapshots(size_t k) {
  std::vector<size_t> out;
  if (k <= kMaxTimePanels) {
    for (size_t i = 0; i < k; ++i) out.push_back(i);
    return out;
  }
  for (size_t i = 0; i < kMaxTimePanels; ++i) {
    const size_t j = (i * (k - 1) + (kMaxTimePanels - 1) / 2) / (kMaxTimePanels - 1);
    if (out.empty() || out.back() != j) out.push_back(j);
  }
  return out;
}

// Samples during training (train.sample_every) as small multiples over time, per group (lowest
// seed): generated samples over the data (2-D) or image grids, one panel per stored step, and
// for 2-D data the critic's value surface at the same steps beneath — how a run spreads over the
// modes or collapses onto a few.
void snapshot_figures(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                      const fs::path& out_dir, std::vector<Figure>& figures,
                      std::vector<std::string>& problems) {
  for (const auto& [label, members] : groups_of(cells, spec.rows)) {
    const CellSummary* c = members.front();
    Shape shape;
    std::vector<double> gen, steps, real;
    try {
      steps = read_cell_dataset(c->path, "snapshots/step");
      gen = read_cell_dataset(c->path, "snapshots/generated", &shape);
    } catch (const Error&) {
      continue;  // the cell stored no samples during training
    }
    try {
      if (shape.size() < 3 || static_cast<size_t>(shape[0]) != steps.size())
        throw Error(fmt::format("{}: snapshots/generated has shape {} for {} steps",
                                c->path.string(), shape_str(shape), steps.size()));
      const Shape each(shape.begin() + 2, shape.end());
      const size_t n = static_cast<size_t>(shape[1]),
                   per = n * static_cast<size_t>(shape_numel(each));
      svg::PlotOptions o;
      o.legend = false;
      o.width = 340;
      o.height = 340;
      if (each == Shape{2}) {
        real = read_cell_dataset(c->path, "samples/real");
        // one frame for every panel: the data's box, widened to hold the samples but at most
        // twice the data's size on each side (a run flying off is still seen leaving)
        double b[4] = {1e300, -1e300, 1e300, -1e300};
        for (size_t i = 0; i + 1 < real.size(); i += 2)
          for (int k : {0, 1})
            b[2 * k] = std::min(b[2 * k], real[i + k]),
                  b[2 * k + 1] = std::max(b[2 * k + 1], real[i + k]);
        double lim[4] = {b[0], b[1], b[2], b[3]};
        for (size_t i = 0; i + 1 < gen.size(); i += 2)
          for (int k : {0, 1})
            if (std::isfinite(gen[i + k])) {
              const double span = b[2 * k + 1] - b[2 * k];
              lim[2 * k] = std::max(std::min(lim[2 * k], gen[i + k]), b[2 * k] - 2 * span);
              lim[2 * k + 1] =
                  std::min(std::max(lim[2 * k + 1], gen[i + k]), b[2 * k + 1] + 2 * span);
            }
        if (lim[0] < lim[1] && lim[2] < lim[3]) {
          const double px = 0.05 * (lim[1] - lim[0]), py = 0.05 * (lim[3] - lim[2]);
          o.limits = {lim[0] - px, lim[1] + px, lim[2] - py, lim[3] + py};
        }
      }
      std::vector<size_t> shown = shown_snapshots(steps.size());
      std::vector<std::string> docs;
      for (size_t i : shown) {
        o.clip_id = fmt::format("t{}", docs.size());
        docs.push_back(samples_svg(gen, i * per, n, each, real,
                                   fmt::format("step {:.0f}", steps[i]), o, 16, 4));
      }
      if (docs.empty() || docs.front().empty()) continue;  // no generic picture of this shape
      std::vector<std::string> row_titles{"generated samples"};
      Shape surface_shape;
      std::vector<double> v, x, y;
      try {
        v = read_cell_dataset(c->path, "snapshots/critic_surface", &surface_shape);
        x = read_cell_dataset(c->path, "snapshots/surface_x");
        y = read_cell_dataset(c->path, "snapshots/surface_y");
      } catch (const Error&) {
      }
      if (!v.empty()) {
        const size_t g = x.size() * y.size();
        svg::Series points;
        for (size_t i = 0; i + 1 < real.size() && i / 2 < kMaxScatterPoints / 4; i += 2) {
          points.x.push_back(real[i]);
          points.y.push_back(real[i + 1]);
        }
        for (size_t i : shown) {
          if ((i + 1) * g > v.size()) break;
          docs.push_back(svg::contour(
              x, y,
              std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(i * g),
                                  v.begin() + static_cast<std::ptrdiff_t>((i + 1) * g)),
              8, points, fmt::format("step {:.0f}", steps[i])));
        }
        row_titles.push_back("critic value surface");
      }
      const std::string title =
          fmt::format("{} (seed {}) over training", label, cell_label(*c, "seed"));
      const double scale = each == Shape{2} ? 0.55 : 1.0;
      std::string doc;
      if (row_titles.size() == 1) {
        doc = svg::small_multiples(docs, shown.size(), scale, title, row_titles);
      } else {  // two rows of different panel sizes: samples, then surfaces scaled to the same
                // width
        std::vector<std::string> top(docs.begin(),
                                     docs.begin() + static_cast<std::ptrdiff_t>(shown.size()));
        std::vector<std::string> bottom(docs.begin() + static_cast<std::ptrdiff_t>(shown.size()),
                                        docs.end());
        doc = svg::small_multiples(
            {svg::small_multiples(top, shown.size(), scale, row_titles[0]),
             svg::small_multiples(bottom, shown.size(), scale * 340 / 560, row_titles[1])},
            1, 1.0, title);
      }
      if (auto f = save_figure("samples over time", title,
                               out_dir / fmt::format("over_time_{}.svg", file_stem(label)), doc,
                               problems))
        figures.push_back(*f);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
}

// The critic loss's gradient norm at each hidden block at the end of training (gradient_norms'
// activation_grad_hidden<k>), block index on x, mean ± std over seeds per group, log scale:
// the WGAN-GP paper's Figure 1b. Nothing when no cell recorded blocks.
std::optional<Figure> layer_figure(
    const std::vector<std::pair<std::string, std::vector<const CellSummary*>>>& groups,
    const fs::path& out_dir, std::vector<std::string>& problems) {
  const std::string prefix = "gradient_norms.activation_grad_hidden";
  std::vector<svg::Series> lines;
  for (const auto& [label, members] : groups) {
    std::vector<std::vector<double>> xs, ys;
    for (const CellSummary* c : members) {
      if (c->status != CellStatus::complete) continue;
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
  return save_figure("gradient norms", o.title, out_dir / "gradient_norms_per_layer.svg",
                     svg::plot(lines, o), problems);
}

}  // namespace

std::vector<Figure> write_figures(const std::vector<CellSummary>& cells, const ReportSpec& spec_in,
                                  const std::vector<std::string>& axes, const fs::path& out_dir,
                                  std::vector<std::string>& problems) {
  ReportSpec spec = spec_in;
  if (spec.rows.empty()) spec.rows = {axes.empty() ? "seed" : axes.front()};
  std::vector<Figure> figures;
  sample_figures(cells, spec, out_dir, figures, problems);
  snapshot_figures(cells, spec, out_dir, figures, problems);
  if (auto f = layer_figure(groups_of(cells, spec.rows), out_dir, problems)) figures.push_back(*f);
  for (const char* series : {"loss_critic", "loss_generator", "penalty", "divergence_estimate"})
    if (auto f = curve_figure(cells, spec, std::string("series/") + series, series,
                              "training curves", out_dir, problems))
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
    if (auto f = curve_figure(cells, spec, path, value, log_y ? "gradient norms" : "metrics",
                              out_dir, problems, log_y))
      figures.push_back(*f);
  }

  for (const PlotSpec& p : spec.plots) {
    std::vector<std::string> panels;
    for (const CellSummary& c : cells) {
      std::string v = p.panels.empty() ? "" : cell_label(c, p.panels);
      if (std::find(panels.begin(), panels.end(), v) == panels.end()) panels.push_back(v);
    }
    // one plot of the cells `keep` selects: a line per cell, or with `over` a line per `lines`
    // value (and seed) through the cells' final values at their labels on that axis
    auto plot_of = [&](const std::function<bool(const CellSummary&)>& keep, svg::PlotOptions o) {
      std::vector<svg::Series> series;
      if (!p.over.empty()) {
        for (const CellSummary& c : cells) {
          if (!keep(c) || c.status != CellStatus::complete) continue;
          std::string line_label = p.lines.empty() ? "" : cell_label(c, p.lines);
          const std::string seed = cell_label(c, "seed");
          if (!seed.empty() && p.lines != "seed") line_label += " (seed " + seed + ")";
          const std::string at = cell_label(c, p.over);
          double x = 0;
          const auto [end, ec] = std::from_chars(at.data(), at.data() + at.size(), x);
          if (ec != std::errc() || end != at.data() + at.size()) {
            problems.push_back(fmt::format("plot {}: the label '{}' on axis {} is not a number",
                                           p.name, at, p.over));
            continue;
          }
          for (const std::string& y : p.ys) {
            const auto v = c.final_metrics.find(y);
            if (v == c.final_metrics.end()) continue;
            std::string label = p.ys.size() > 1 || line_label.empty() ? y : "";
            if (!line_label.empty()) label += (label.empty() ? "" : ", ") + line_label;
            auto line = std::find_if(series.begin(), series.end(),
                                     [&](const svg::Series& s) { return s.label == label; });
            if (line == series.end()) {
              series.push_back({});
              series.back().label = label;
              line = series.end() - 1;
            }
            line->x.push_back(x);
            line->y.push_back(v->second);
          }
        }
        for (svg::Series& s : series) {  // sorted by x
          std::vector<size_t> order(s.x.size());
          for (size_t i = 0; i < order.size(); ++i) order[i] = i;
          std::sort(order.begin(), order.end(),
                    [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
          std::vector<double> x, y;
          for (size_t i : order) x.push_back(s.x[i]), y.push_back(s.y[i]);
          s.x = std::move(x), s.y = std::move(y);
        }
        return svg::plot(series, o);
      }
      for (const CellSummary& c : cells) {
        if (!keep(c) || c.status == CellStatus::failed) continue;
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
      return svg::plot(series, o);
    };
    for (const std::string& panel : panels) {
      auto in_panel = [&](const CellSummary& c) {
        return p.panels.empty() || cell_label(c, p.panels) == panel;
      };
      svg::PlotOptions o;
      o.title = p.title.empty() ? p.y : p.title;
      if (!panel.empty()) o.title += fmt::format(" — {} = {}", p.panels, panel);
      o.x_label = !p.over.empty() ? p.over : p.x.empty() ? "step" : p.x;
      o.y_label = p.ys.size() > 1 ? "value" : p.y;
      o.log_y = p.log_y;
      o.equal_aspect = p.equal_aspect;
      const fs::path file =
          out_dir / ((panel.empty() ? p.name : p.name + "_" + file_stem(panel)) + ".svg");
      try {
        if (p.rows.empty() && p.columns.empty()) {
          save(file, plot_of(in_panel, o));
        } else {  // small multiples: a panel per (rows value, columns value)
          std::vector<CellSummary> members;
          for (const CellSummary& c : cells)
            if (in_panel(c)) members.push_back(c);
          const Panels grid(members, {p.rows, p.columns});
          std::vector<std::string> docs;
          for (size_t r = 0; r < grid.rows.size(); ++r)
            for (size_t c = 0; c < grid.columns.size(); ++c) {
              const auto& chosen = grid.cells[r * grid.columns.size() + c];
              svg::PlotOptions po = o;
              po.title = grid.title(r, c);
              po.clip_id = fmt::format("p{}", docs.size());
              docs.push_back(chosen.empty()
                                 ? ""
                                 : plot_of(
                                       [&](const CellSummary& x) {
                                         return std::any_of(chosen.begin(), chosen.end(),
                                                            [&](const CellSummary* m) {
                                                              return m->cell_id == x.cell_id;
                                                            });
                                       },
                                       po));
            }
          save(file, svg::small_multiples(docs, grid.columns.size(), kPanelScale, o.title,
                                          grid.row_titles()));
        }
        figures.push_back({"plots", o.title, file});
      } catch (const Error& e) {
        problems.push_back(e.what());
      }
    }
  }
  return figures;
}

std::string samples_picture(const std::vector<double>& generated, const Shape& shape,
                            const std::vector<double>& real, const std::string& title) {
  if (shape.empty()) return "";
  const Shape each(shape.begin() + 1, shape.end());
  return samples_svg(generated, 0, static_cast<size_t>(shape[0]), each, real, title, {}, 64, 8);
}

}  // namespace kant
