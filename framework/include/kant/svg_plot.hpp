// Small SVG plots written by our own code (no plotting dependency): line plots with nice
// ticks, optional log y-axis and equal aspect (for phase planes), a legend; scatter plots.
#pragma once
#include <string>
#include <vector>

namespace kant::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;
  bool markers = false;  ///< draw points instead of a line
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  bool equal_aspect = false;  ///< same scale on both axes (phase planes, 2-D samples)
  int width = 680, height = 400;  ///< including the legend on the right
};

/// A complete SVG document.
std::string plot(const std::vector<Series>& series, const PlotOptions& options);

/// "1e-05", "0.25", "1500": tick labels.
std::string tick_label(double v);

}  // namespace kant::svg
