// Metric `critic_surface`: the critic's values D(x) on a regular grid over the data's 2-D
// bounding box (for value-surface and contour plots, as in the WGAN-GP paper's Figure 1).
// Stored at the end as arrays/critic_surface/{x [G], y [G], values [G, G]} (row i is y_i);
// its scalars are the range of D over the grid.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class CriticSurface : public Metric {
 public:
  struct Options {
    int64_t resolution;
    double margin;
    std::vector<double> range;
    static void declare(Declare<Options>& d) {
      d(&Options::resolution,
        param::integer("resolution", 64, "grid points per axis").range(2, 1024));
      d(&Options::margin, param::real("margin", 0.25,
                                      "the grid extends the data's bounding box by this "
                                      "fraction of its size on each side")
                              .at_least(0));
      d(&Options::range,
        param::reals("range", {}, "[x_min, x_max, y_min, y_max] instead of the data's box"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("min", "smallest critic value D(x) over the grid"),
            stored::value("max", "largest critic value D(x) over the grid"),
            stored::array("x", "[G] grid abscissae"), stored::array("y", "[G] grid ordinates"),
            stored::array("values", "[G, G] D(x_j, y_i) at row i, column j (the value surface)")};
  }
  static MetricRequirements requirements() {
    return {{rules::needs_critic(),
             rules::data_shape({2}, "2-D data"),
             {"`range` empty or [x_min, x_max, y_min, y_max] with min < max",
              [](const Params& p, CellView&) -> std::string {
                const std::vector<double> r = options_from<Options>(p).range;
                if (r.empty() || (r.size() == 4 && r[0] < r[1] && r[2] < r[3])) return "";
                return fmt::format("range is [{}]", fmt::join(r, ", "));
              }}}};
  }

  explicit CriticSurface(const Options& o)
      : resolution_(o.resolution), margin_(o.margin), range_(o.range) {
    if (!range_.empty() && (range_.size() != 4 || range_[0] >= range_[1] || range_[2] >= range_[3]))
      throw Error("critic_surface: range must be [x_min, x_max, y_min, y_max] with min < max");
  }
  std::vector<std::string> value_names() const override { return {"min", "max"}; }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    Tensor v = grid_values(ctx);
    auto [lo, hi] = std::minmax_element(v.data(), v.data() + v.numel());
    return {{"min", *lo}, {"max", *hi}};
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    Tensor values = grid_values(ctx);
    return {{"x", axis_x_}, {"y", axis_y_}, {"values", values}};
  }

 private:
  Tensor grid_values(MetricContext& ctx) {
    if (ctx.dataset.sample_shape() != Shape{2})
      throw Error(fmt::format("critic_surface needs 2-D data, the dataset's samples have shape {}",
                              shape_str(ctx.dataset.sample_shape())));
    if (!axis_x_.defined()) set_axes(ctx);
    const int64_t g = resolution_, m = critic_of(ctx, "critic_surface").pack();
    // a packed critic sees each grid point m times over: D(x, …, x)
    Tensor points = Tensor::empty({g * g * m, 2});
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < g; ++j)
        for (int64_t k = 0; k < m; ++k) {
          points.data()[2 * ((i * g + j) * m + k)] = axis_x_.data()[j];
          points.data()[2 * ((i * g + j) * m + k) + 1] = axis_y_.data()[i];
        }
    NoGradGuard no_grad;
    Tensor d = critic_of(ctx, "critic_surface").forward(points);
    return Tensor::from({g, g}, d.to_vector());
  }

  // The grid spans the data's bounding box (from 2000 samples) widened by `margin` on each side.
  void set_axes(MetricContext& ctx) {
    double b[4];
    if (range_.size() == 4) {
      std::copy(range_.begin(), range_.end(), b);
    } else {
      Tensor x = ctx.dataset.sample(2000, ctx.rng);
      b[0] = b[2] = 1e300;
      b[1] = b[3] = -1e300;
      for (int64_t i = 0; i < x.size(0); ++i) {
        b[0] = std::min<double>(b[0], x.data()[2 * i]);
        b[1] = std::max<double>(b[1], x.data()[2 * i]);
        b[2] = std::min<double>(b[2], x.data()[2 * i + 1]);
        b[3] = std::max<double>(b[3], x.data()[2 * i + 1]);
      }
      for (int k : {0, 2}) {
        double pad = std::max(1e-3, (b[k + 1] - b[k]) * margin_);
        b[k] -= pad;
        b[k + 1] += pad;
      }
    }
    axis_x_ = Tensor::empty({resolution_});
    axis_y_ = Tensor::empty({resolution_});
    for (int64_t j = 0; j < resolution_; ++j) {
      const double t = static_cast<double>(j) / static_cast<double>(resolution_ - 1);
      axis_x_.data()[j] = static_cast<float>(b[0] + t * (b[1] - b[0]));
      axis_y_.data()[j] = static_cast<float>(b[2] + t * (b[3] - b[2]));
    }
  }

  int64_t resolution_;
  double margin_;
  std::vector<double> range_;
  Tensor axis_x_, axis_y_;
};

}  // namespace

KANT_COMPONENT(CriticSurface, "critic_surface", "1.0.0",
               "critic values D(x) on a grid over the 2-D data (value surfaces; WGAN-GP paper, "
               "Fig. 1)")
