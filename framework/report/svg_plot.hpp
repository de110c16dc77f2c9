// Small SVG plots written by our own code (no plotting dependency): line plots with nice
// ticks, optional log y-axis and equal aspect (for phase planes), a legend; scatter plots.
// NaN and ±Inf are never used as coordinates or colour indices: they are drawn as grey marks
// (× for NaN, ▲/▼ for ±Inf at the plot's edge) or hatched cells, with a legend entry.
#pragma once
#include <string>
#include <vector>

namespace kant::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  ///< optional band (e.g. mean ± std), drawn shaded under the line
  /// points left out of the line (e.g. a seed's NaN dropped from a band's mean): drawn as
  /// non-finite marks at x, with y's kind (NaN, +Inf, −Inf) choosing the mark
  std::vector<double> dropped_x, dropped_y;
  bool markers = false;  ///< draw points instead of a line
  /// draw segments between consecutive pairs of points (x[2k], y[2k]) – (x[2k+1], y[2k+1])
  /// instead of one line (e.g. the moves of a transport plan)
  bool segments = false;
  bool dashed = false;  ///< a dashed line (a running cell's curve, up to its current step)
  std::string color;    ///< "" : the next colour of the cycle
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  bool equal_aspect = false;      ///< same scale on both axes (phase planes, 2-D samples)
  int width = 680, height = 400;  ///< including the legend on the right
  bool legend = true;             ///< false: no legend (small multiples share one)
  std::vector<double> limits;     ///< {x_min, x_max, y_min, y_max}: fixed axes (empty: the data's)
  std::string clip_id = "area";   ///< id of the plot area's clip path: unique within a document
};

/// A complete SVG document.
std::string plot(const std::vector<Series>& series, const PlotOptions& options);

/// A grid of images (values in [−1, 1], grey or RGB), `count` images of [channels, h, w]
/// each, row-major in `data`, as one SVG document with `columns` images per row. Non-finite
/// pixels are hatched and counted under the title. Throws Error if `data` is too short.
std::string image_grid(const std::vector<double>& data, size_t count, size_t channels, size_t h,
                       size_t w, size_t columns, const std::string& title);

/// A scalar field values[i][j] at (x[j], y[i]) as a colour map with `levels` contour lines
/// (marching squares), and optional points (e.g. data samples) on top. The colour scale spans
/// the finite values; NaN and ±Inf cells are hatched (legend beside the colour bar) and no
/// contour crosses them. Throws Error if the grid is malformed (fewer than 2 points per axis,
/// non-finite or unordered axes, values.size() ≠ x.size() · y.size()).
std::string contour(const std::vector<double>& x, const std::vector<double>& y,
                    const std::vector<double>& values, int levels, const Series& points,
                    const std::string& title);

/// Small multiples: SVG documents of this file's functions laid out `columns` to a row, each
/// scaled by `scale`, under `title`; row_titles[i] (if given) heads row i, an empty document
/// leaves its place blank. Every panel keeps its own ids, so give plots distinct clip ids.
std::string small_multiples(const std::vector<std::string>& panels, size_t columns, double scale,
                            const std::string& title,
                            const std::vector<std::string>& row_titles = {});

/// "1e-05", "0.25", "1500": tick labels.
std::string tick_label(double v);

}  // namespace kant::svg
