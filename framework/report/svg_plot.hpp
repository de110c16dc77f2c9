// Small SVG plots written by our own code (no plotting dependency): line plots with nice
// ticks, optional log y-axis and equal aspect (for phase planes), a legend; scatter plots.
#pragma once
#include <string>
#include <vector>

namespace kant::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  ///< optional band (e.g. mean ± std), drawn shaded under the line
  bool markers = false;        ///< draw points instead of a line
  std::string color;           ///< "" : the next colour of the cycle
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  bool equal_aspect = false;  ///< same scale on both axes (phase planes, 2-D samples)
  int width = 680, height = 400;  ///< including the legend on the right
};

/// A complete SVG document.
std::string plot(const std::vector<Series>& series, const PlotOptions& options);

/// A grid of images (values in [−1, 1], grey or RGB), `count` images of [channels, h, w]
/// each, row-major in `data`, as one SVG document with `columns` images per row.
std::string image_grid(const std::vector<double>& data, size_t count, size_t channels, size_t h,
                       size_t w, size_t columns, const std::string& title);

/// A scalar field values[i][j] at (x[j], y[i]) as a colour map with `levels` contour lines
/// (marching squares), and optional points (e.g. data samples) on top.
std::string contour(const std::vector<double>& x, const std::vector<double>& y,
                    const std::vector<double>& values, int levels, const Series& points,
                    const std::string& title);

/// "1e-05", "0.25", "1500": tick labels.
std::string tick_label(double v);

}  // namespace kant::svg
