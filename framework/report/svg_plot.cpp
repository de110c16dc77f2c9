// SVG line and scatter plots (see svg_plot.hpp).
#include "report/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "kant/error.hpp"

namespace kant::svg {
namespace {

// Tableau 10, the matplotlib default cycle.
const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Ticks at multiples of 1, 2 or 5 × 10^k covering [lo, hi] with about `target` of them
// (none for an empty, non-finite or unresolvable range).
std::vector<double> nice_ticks(double lo, double hi, int target) {
  constexpr size_t kMaxTicks = 100;
  double span = hi - lo;
  double raw = span / std::max(1, target);
  if (!std::isfinite(raw) || !(raw > 0)) return {};
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9 && ticks.size() < kMaxTicks;
       t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

// A range too narrow to draw (one value, or values equal to double precision) is widened
// around its centre, by ½ or by a millionth of its magnitude, whichever is larger.
void widen(double& lo, double& hi) {
  const double scale = std::max({1.0, std::abs(lo), std::abs(hi)});
  if (hi - lo > 1e-12 * scale) return;
  const double half = std::max(0.5, 1e-6 * scale);
  lo -= half;
  hi += half;
}

}  // namespace

std::string tick_label(double v) {
  if (v == 0) return "0";
  double a = std::abs(v);
  if (a >= 1e5 || a < 1e-3) return fmt::format("{:.0e}", v);
  std::string s = fmt::format("{:.4g}", v);
  return s;
}

namespace {

// Non-finite values: a grey × for NaN, a grey triangle at the edge for ±Inf.
constexpr const char* kNonFiniteColor = "#757575";
constexpr double kEdgeInset = 5;  // px between a non-finite mark and the plot's edge

enum class NonFinite { nan, pos_inf, neg_inf };

NonFinite kind_of(double v) {
  return std::isnan(v) ? NonFinite::nan : v > 0 ? NonFinite::pos_inf : NonFinite::neg_inf;
}

std::string nonfinite_mark(NonFinite kind, double x, double y) {
  if (kind == NonFinite::nan)
    return fmt::format(
        "<path d=\"M{0:.1f} {1:.1f}l6 6M{0:.1f} {2:.1f}l6 -6\" stroke=\"{3}\" "
        "stroke-width=\"1.3\"/>\n",
        x - 3, y - 3, y + 3, kNonFiniteColor);
  const double d = kind == NonFinite::pos_inf ? -4 : 4;  // the tip points off the plot
  return fmt::format("<path d=\"M{:.1f} {:.1f}l-4 {:.1f}h8z\" fill=\"{}\"/>\n", x, y + d, -2 * d,
                     kNonFiniteColor);
}

// Hatch patterns for non-finite cells of colour maps and images, drawn on `base`.
std::string hatch_defs() {
  std::string out = "<defs>";
  for (auto [id, base] : {std::pair{"nan", "#ffffff"}, std::pair{"posinf", "#fde725"},
                          std::pair{"neginf", "#440154"}})
    out += fmt::format(
        "<pattern id=\"hatch-{}\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" "
        "patternTransform=\"rotate(45)\"><rect width=\"4\" height=\"4\" fill=\"{}\"/>"
        "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"{}\" stroke-width=\"1.6\"/></pattern>",
        id, base, kNonFiniteColor);
  return out + "</defs>\n";
}

const char* hatch_of(NonFinite kind) {
  return kind == NonFinite::nan       ? "url(#hatch-nan)"
         : kind == NonFinite::pos_inf ? "url(#hatch-posinf)"
                                      : "url(#hatch-neginf)";
}

const char* kind_label(NonFinite kind) {
  return kind == NonFinite::nan ? "NaN" : kind == NonFinite::pos_inf ? "+Inf" : "−Inf";
}

}  // namespace

std::string plot(const std::vector<Series>& series, const PlotOptions& o) {
  // points with a non-finite coordinate, by kind (drawn as marks and counted in the legend)
  size_t counts[3] = {0, 0, 0};
  auto count = [&](double x, double y) {
    const double bad = !std::isfinite(y) ? y : x;
    ++counts[static_cast<int>(kind_of(bad))];
  };
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) count(s.x[i], s.y[i]);
    for (size_t i = 0; i < s.dropped_x.size() && i < s.dropped_y.size(); ++i)
      count(s.dropped_x[i], s.dropped_y[i]);
  }
  std::vector<std::string> labels;
  for (const Series& s : series) labels.push_back(s.label);
  std::vector<NonFinite> legend_marks;
  for (NonFinite k : {NonFinite::nan, NonFinite::pos_inf, NonFinite::neg_inf})
    if (counts[static_cast<int>(k)]) {
      legend_marks.push_back(k);
      labels.push_back(fmt::format("{} ({})", kind_label(k), counts[static_cast<int>(k)]));
    }
  // legend in a right margin sized to the longest label
  size_t longest = 0;
  for (const std::string& l : labels) longest = std::max(longest, l.size());
  if (!o.legend) labels.clear();
  const double legend =
      labels.empty() ? 0 : 30 + 6.2 * static_cast<double>(std::min<size_t>(longest, 40));
  const double left = 64, right = 16 + legend, top = 32, bottom = 48;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  auto ty = [&](double y) { return o.log_y ? std::log10(y) : y; };
  auto include_x = [&](double x) {
    if (!std::isfinite(x)) return;
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
  };
  auto include = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y) || (o.log_y && y <= 0)) return;
    include_x(x);
    y0 = std::min(y0, ty(y));
    y1 = std::max(y1, ty(y));
  };
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      include(s.x[i], s.y[i]);
      if (s.lo.size() == s.x.size() && s.hi.size() == s.x.size()) {
        include(s.x[i], s.lo[i]);
        include(s.x[i], s.hi[i]);
      }
    }
    for (double x : s.dropped_x) include_x(x);  // the marks stay inside the x range
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  widen(x0, x1);
  widen(y0, y1);
  const double pad_x = (x1 - x0) * 0.04, pad_y = (y1 - y0) * 0.04;
  x0 -= pad_x, x1 += pad_x, y0 -= pad_y, y1 += pad_y;
  if (o.limits.size() == 4 &&
      std::all_of(o.limits.begin(), o.limits.end(), [](double v) { return std::isfinite(v); }) &&
      o.limits[0] < o.limits[1] && o.limits[2] < o.limits[3] && (!o.log_y || o.limits[2] > 0)) {
    x0 = o.limits[0], x1 = o.limits[1], y0 = ty(o.limits[2]), y1 = ty(o.limits[3]);
  }
  double pw = o.width - left - right, ph = o.height - top - bottom;
  if (o.equal_aspect) {  // widen the narrower range so one unit is as long on both axes
    double sx = (x1 - x0) / pw, sy = (y1 - y0) / ph;
    if (sx > sy) {
      double c = (y0 + y1) / 2, h = sx * ph / 2;
      y0 = c - h, y1 = c + h;
    } else {
      double c = (x0 + x1) / 2, h = sy * pw / 2;
      x0 = c - h, x1 = c + h;
    }
  }
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + (1 - (ty(y) - y0) / (y1 - y0)) * ph; };
  // where a non-finite coordinate is drawn: +Inf at the far edge, −Inf and NaN at the near one
  auto mark_x = [&](double x) {
    return std::isfinite(x) ? px(x) : x > 0 ? left + pw - kEdgeInset : left + kEdgeInset;
  };
  auto mark_y = [&](double y) {
    return std::isfinite(y) && (!o.log_y || y > 0) ? py(y)
           : y > 0                                 ? top + kEdgeInset
                                                   : top + ph - kEdgeInset;
  };

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      o.width, o.height, o.width, o.height);
  out += fmt::format("<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
                     o.width / 2, escape(o.title));
  // grid and ticks
  for (double t : nice_ticks(x0, x1, 6)) {
    double x = px(t);
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#eee\"/>\n",
                       x, top, x, top + ph);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x,
                       top + ph + 14, tick_label(t));
  }
  for (double t : nice_ticks(y0, y1, 6)) {
    double y = top + (1 - (t - y0) / (y1 - y0)) * ph;
    out += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n",
                       left, y, left + pw, y);
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 4,
                       y + 4, tick_label(o.log_y ? std::pow(10.0, t) : t));
  }
  out += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left,
      top, pw, ph);
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2,
                     o.height - 8, escape(o.x_label));
  out += fmt::format(
      "<text transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      top + ph / 2, escape(o.y_label));
  // data, clipped to the plot area
  out += fmt::format(
      "<clipPath id=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>\n<g "
      "clip-path=\"url(#{})\">\n",
      escape(o.clip_id), left, top, pw, ph, escape(o.clip_id));
  auto color_of = [&](size_t k) {
    return series[k].color.empty() ? std::string(kColors[k % 10]) : series[k].color;
  };
  auto drawable = [&](double y) { return std::isfinite(y) && (!o.log_y || y > 0); };
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    if (s.lo.size() != s.x.size() || s.hi.size() != s.x.size()) continue;
    std::string poly;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && drawable(s.hi[i]))
        poly += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.hi[i]));
    for (size_t i = s.x.size(); i-- > 0;)
      if (std::isfinite(s.x[i]) && drawable(s.lo[i]))
        poly += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.lo[i]));
    if (!poly.empty())
      out += fmt::format(
          "<polygon fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\" points=\"{}\"/>\n",
          color_of(k), poly);
  }
  std::string marks;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const std::string color = color_of(k);
    std::string pts;
    if (s.segments) {  // pairs of finite points, each its own thin segment
      for (size_t i = 0; i + 1 < s.x.size() && i + 1 < s.y.size(); i += 2)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && std::isfinite(s.x[i + 1]) &&
            std::isfinite(s.y[i + 1]))
          out += fmt::format(
              "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
              "stroke-width=\"0.8\" stroke-opacity=\"0.7\"/>\n",
              px(s.x[i]), py(s.y[i]), px(s.x[i + 1]), py(s.y[i + 1]), color);
      continue;
    }
    auto flush = [&] {  // a line is broken where a point is non-finite
      if (!s.markers && !pts.empty())
        out += fmt::format(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.4\"{} points=\"{}\"/>\n", color,
            s.dashed ? " stroke-dasharray=\"5 3\"" : "", pts);
      pts.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      const double x = s.x[i], y = s.y[i];
      if (!std::isfinite(x) || !std::isfinite(y)) {
        flush();
        marks += nonfinite_mark(kind_of(std::isfinite(y) ? x : y), mark_x(x), mark_y(y));
        continue;
      }
      if (o.log_y && y <= 0) continue;
      if (s.markers)
        out += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"1.6\" fill=\"{}\" fill-opacity=\"0.6\"/>\n",
            px(x), py(y), color);
      else
        pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    }
    flush();
    for (size_t i = 0; i < s.dropped_x.size() && i < s.dropped_y.size(); ++i) {
      const double x = s.dropped_x[i], y = s.dropped_y[i];
      marks += nonfinite_mark(kind_of(std::isfinite(y) ? x : y), mark_x(x), mark_y(y));
    }
  }
  out += marks;
  out += "</g>\n";
  // legend: the series, then one entry per kind of non-finite mark drawn
  for (size_t k = 0; k < labels.size(); ++k) {
    double y = top + 12 + 14 * static_cast<double>(k);
    double x = left + pw + 12;
    if (k < series.size())
      out += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n",
                         x, y - 9, color_of(k));
    else
      out += nonfinite_mark(legend_marks[k - series.size()], x + 5, y - 4);
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\">{}</text>\n", x + 14, y, escape(labels[k]));
  }
  out += "</svg>\n";
  return out;
}

std::string image_grid(const std::vector<double>& data, size_t count, size_t channels, size_t h,
                       size_t w, size_t columns, const std::string& title) {
  if (channels == 0 || h == 0 || w == 0 || columns == 0 || data.size() / (channels * h * w) < count)
    throw Error(fmt::format("image grid: {} values cannot hold {} images of {}×{}×{}", data.size(),
                            count, channels, h, w));
  const size_t scale = std::max<size_t>(1, 48 / std::max<size_t>(h, 1)), gap = 2;
  const size_t cell = w * scale + gap, rows = (count + columns - 1) / columns;
  size_t bad = 0;
  for (size_t i = 0; i < count * channels * h * w; ++i) bad += !std::isfinite(data[i]);
  const size_t head = bad ? 40 : 24;
  const size_t width = std::max<size_t>(columns * cell + gap, bad ? 240 : 0),
               height = rows * (h * scale + gap) + gap + head;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "shape-rendering=\"crispEdges\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"16\" text-anchor=\"middle\">{}</text>\n",
      width, height, width / 2, escape(title));
  if (bad) {
    out += hatch_defs();
    out += fmt::format(
        "<rect x=\"4\" y=\"24\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"18\" y=\"33\" "
        "font-size=\"11\">"
        "NaN or ±Inf pixels ({})</text>\n",
        hatch_of(NonFinite::nan), bad);
  }
  auto level = [](double v) {
    return static_cast<int>(std::lround(std::clamp((v + 1) / 2, 0.0, 1.0) * 255));
  };
  for (size_t k = 0; k < count; ++k) {
    const size_t x0 = gap + (k % columns) * cell,
                 y0 = head + gap + (k / columns) * (h * scale + gap);
    const double* img = data.data() + k * channels * h * w;
    for (size_t i = 0; i < h; ++i)
      for (size_t j = 0; j < w; ++j) {
        bool finite = true;
        for (size_t c = 0; c < channels && c < 3; ++c)
          finite = finite && std::isfinite(img[c * h * w + i * w + j]);
        if (!finite) {
          out +=
              fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                          x0 + j * scale, y0 + i * scale, scale, scale, hatch_of(NonFinite::nan));
          continue;
        }
        int r = level(img[i * w + j]), g = r, b = r;
        if (channels == 3) {
          g = level(img[h * w + i * w + j]);
          b = level(img[2 * h * w + i * w + j]);
        }
        out += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#{:02x}{:02x}{:02x}\"/>",
            x0 + j * scale, y0 + i * scale, scale, scale, r, g, b);
      }
    out += "\n";
  }
  return out + "</svg>\n";
}

namespace {

// The number in attribute `name="…"` of a document's first <svg> tag (0 when absent).
double svg_attribute(const std::string& doc, const char* name) {
  const size_t open = doc.find("<svg");
  const size_t close = doc.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return 0;
  const std::string key = std::string(" ") + name + "=\"";
  const size_t at = doc.find(key, open);
  if (at == std::string::npos || at > close) return 0;
  return std::atof(doc.c_str() + at + key.size());
}

}  // namespace

std::string small_multiples(const std::vector<std::string>& panels, size_t columns, double scale,
                            const std::string& title, const std::vector<std::string>& row_titles) {
  columns = std::max<size_t>(1, std::min(columns, std::max<size_t>(1, panels.size())));
  double cell_w = 0, cell_h = 0;
  for (const std::string& p : panels) {
    cell_w = std::max(cell_w, svg_attribute(p, "width") * scale);
    cell_h = std::max(cell_h, svg_attribute(p, "height") * scale);
  }
  const size_t rows = (panels.size() + columns - 1) / columns;
  const double gap = 6, head = 28, row_head = row_titles.empty() ? 0 : 18;
  const double width = std::max(240.0, gap + static_cast<double>(columns) * (cell_w + gap));
  const double height = head + static_cast<double>(rows) * (row_head + cell_h + gap) + gap;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 "
      "{:.0f} {:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n"
      "<text x=\"{:.0f}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
      width, height, width, height, width / 2, escape(title));
  for (size_t r = 0; r < rows; ++r) {
    const double y = head + static_cast<double>(r) * (row_head + cell_h + gap);
    if (r < row_titles.size())
      out += fmt::format(
          "<text x=\"{:.0f}\" y=\"{:.0f}\" font-size=\"12\" font-weight=\"bold\">{}</text>\n", gap,
          y + 13, escape(row_titles[r]));
    for (size_t c = 0; c < columns && r * columns + c < panels.size(); ++c) {
      const std::string& p = panels[r * columns + c];
      if (p.empty()) continue;
      out += fmt::format("<g transform=\"translate({:.1f} {:.1f}) scale({})\">\n{}</g>\n",
                         gap + static_cast<double>(c) * (cell_w + gap), y + row_head, scale, p);
    }
  }
  return out + "</svg>\n";
}

namespace {

// Viridis, sampled at 6 points and interpolated linearly; t must be finite.
std::string colormap(double t) {
  static const double stops[6][3] = {{68, 1, 84},    {65, 68, 135},  {42, 120, 142},
                                     {34, 168, 132}, {122, 209, 81}, {253, 231, 37}};
  if (!std::isfinite(t)) throw Error("colour map: a non-finite value cannot choose a colour");
  t = std::clamp(t, 0.0, 1.0) * 5;
  const int k = std::min(4, static_cast<int>(t));
  const double f = t - k;
  int rgb[3];
  for (int c = 0; c < 3; ++c)
    rgb[c] = static_cast<int>(std::lround(stops[k][c] * (1 - f) + stops[k + 1][c] * f));
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

// A grid axis must have two or more finite, strictly increasing coordinates.
void check_axis(const std::vector<double>& a, const char* name) {
  bool ok = a.size() >= 2;
  for (size_t i = 0; ok && i < a.size(); ++i)
    ok = std::isfinite(a[i]) && (i == 0 || a[i] > a[i - 1]);
  if (!ok)
    throw Error(
        fmt::format("contour: the {} axis must have 2 or more finite, increasing points", name));
}

}  // namespace

std::string contour(const std::vector<double>& x, const std::vector<double>& y,
                    const std::vector<double>& v, int levels, const Series& points,
                    const std::string& title) {
  check_axis(x, "x");
  check_axis(y, "y");
  const size_t nx = x.size(), ny = y.size();
  if (v.size() != nx * ny)
    throw Error(fmt::format("contour: {} values for a {}×{} grid", v.size(), ny, nx));
  const double left = 50, top = 30, size = 420, bar = 70;
  // the colour scale spans the finite values; non-finite cells are hatched and counted
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  size_t counts[3] = {0, 0, 0};
  for (double val : v) {
    if (std::isfinite(val)) {
      lo = std::min(lo, val);
      hi = std::max(hi, val);
    } else {
      ++counts[static_cast<int>(kind_of(val))];
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (!(hi > lo)) hi = lo + std::max(1.0, 1e-6 * std::abs(lo));  // a constant field
  const bool any_bad = counts[0] + counts[1] + counts[2] > 0;
  const double width = left + size + bar + 20, height = top + size + 40 + (any_bad ? 36 : 0);
  auto px = [&](double xv) { return left + (xv - x.front()) / (x.back() - x.front()) * size; };
  auto py = [&](double yv) { return top + (1 - (yv - y.front()) / (y.back() - y.front())) * size; };
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"18\" "
      "text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
      width, height, left + size / 2, escape(title));
  if (any_bad) out += hatch_defs();
  // colour cells centred on the grid points
  const double cw = size / static_cast<double>(nx - 1), ch = size / static_cast<double>(ny - 1);
  out += "<g shape-rendering=\"crispEdges\">\n";
  for (size_t i = 0; i < ny; ++i)
    for (size_t j = 0; j < nx; ++j) {
      const double val = v[i * nx + j];
      const std::string fill =
          std::isfinite(val) ? colormap((val - lo) / (hi - lo)) : hatch_of(kind_of(val));
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>",
          px(x[j]) - cw / 2, py(y[i]) - ch / 2, cw + 0.5, ch + 0.5, fill);
    }
  out += "\n</g>\n";
  // marching squares: each level crosses a cell's edges where the corner values straddle it;
  // a cell with a non-finite corner has no contour
  std::string path;
  for (int l = 1; l <= levels; ++l) {
    const double level = lo + (hi - lo) * l / (levels + 1);
    for (size_t i = 0; i + 1 < ny; ++i)
      for (size_t j = 0; j + 1 < nx; ++j) {
        const double c[4] = {v[i * nx + j], v[i * nx + j + 1], v[(i + 1) * nx + j + 1],
                             v[(i + 1) * nx + j]};
        if (!std::all_of(c, c + 4, [](double a) { return std::isfinite(a); })) continue;
        const double cx[4] = {x[j], x[j + 1], x[j + 1], x[j]},
                     cy[4] = {y[i], y[i], y[i + 1], y[i + 1]};
        std::vector<std::pair<double, double>> hits;
        for (int e = 0; e < 4; ++e) {
          const double a = c[e], b = c[(e + 1) % 4];
          if ((a < level) == (b < level)) continue;
          const double t = (level - a) / (b - a);
          hits.emplace_back(cx[e] + t * (cx[(e + 1) % 4] - cx[e]),
                            cy[e] + t * (cy[(e + 1) % 4] - cy[e]));
        }
        for (size_t h = 0; h + 1 < hits.size(); h += 2)
          path += fmt::format("M{:.1f} {:.1f}L{:.1f} {:.1f}", px(hits[h].first), py(hits[h].second),
                              px(hits[h + 1].first), py(hits[h + 1].second));
      }
  }
  out += fmt::format(
      "<path d=\"{}\" stroke=\"white\" stroke-width=\"0.8\" fill=\"none\" "
      "stroke-opacity=\"0.8\"/>\n",
      path);
  for (size_t i = 0; i < points.x.size() && i < points.y.size(); ++i)
    if (std::isfinite(points.x[i]) && std::isfinite(points.y[i]))
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"1.3\" fill=\"#ff5252\"/>",
                         px(points.x[i]), py(points.y[i]));
  out += fmt::format(
      "\n<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
      left, top, size, size);
  for (double t : nice_ticks(x.front(), x.back(), 5))
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(t),
                       top + size + 14, tick_label(t));
  for (double t : nice_ticks(y.front(), y.back(), 5))
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 4,
                       py(t) + 4, tick_label(t));
  // colour bar, and the hatches of non-finite cells below it
  for (int k = 0; k < 50; ++k)
    out += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"14\" height=\"{:.1f}\" fill=\"{}\"/>",
                       left + size + 16, top + size * (49 - k) / 50.0, size / 50.0 + 0.5,
                       colormap(k / 49.0));
  out += fmt::format("\n<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\">{}</text>\n",
                     left + size + 34, top + 8, tick_label(hi), left + size + 34, top + size,
                     tick_label(lo));
  double legend_y = top + size + 8;
  for (NonFinite k : {NonFinite::nan, NonFinite::pos_inf, NonFinite::neg_inf}) {
    const size_t n = counts[static_cast<int>(k)];
    if (!n) continue;
    out += fmt::format(
        "<rect x=\"{}\" y=\"{:.1f}\" width=\"10\" height=\"10\" fill=\"{}\" stroke=\"#333\" "
        "stroke-width=\"0.5\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\">{} ({})</text>\n",
        left + size + 4, legend_y, hatch_of(k), left + size + 17, legend_y + 9, kind_label(k), n);
    legend_y += 12;
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">D(x)</text>\n</svg>\n",
                     left + size + 23, top - 6);
  return out;
}

}  // namespace kant::svg
