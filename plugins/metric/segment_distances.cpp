// Metric `segment_distances`: the exact distances of WGAN's Example 1 (Arjovsky, Chintala &
// Bottou 2017, §2) between the data P₀ = (a, Z) and the generator's P_θ = (θ, Z), Z ~ U[0, 1]
// (data set `segment`, generator `segment` under uniform noise). Both are read from samples:
// every data sample must lie on x = a and every generated one on x = θ (else an error). Then
//   w1              W₁(P₀, P_θ) = |θ − a| (moving every point horizontally is optimal)
//   js              JSD(P₀, P_θ) = log 2 if θ ≠ a, else 0 (disjoint supports)
//   kl_is_infinite  1 when KL(P_θ ‖ P₀) = KL(P₀ ‖ P_θ) = +∞ (θ ≠ a), else 0 (KL = 0)
//   total_variation δ(P₀, P_θ) = 1 if θ ≠ a, else 0
//   theta           θ − a, the generator's offset
#include <fmt/format.h>

#include <cmath>

#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

// The common abscissa of a batch of points on a vertical segment; an Error naming `what` when
// two differ.
double abscissa(const Tensor& points, const char* what) {
  const double x = points.data()[0];
  for (int64_t i = 0; i < points.size(0); ++i)
    if (points.data()[2 * i] != points.data()[0])
      throw Error(
          fmt::format("segment_distances: the {} samples are not on one vertical line "
                      "(x = {} and x = {}); use the segment data set and generator",
                      what, points.data()[0], points.data()[2 * i]));
  return x;
}

class SegmentDistances : public Metric {
 public:
  struct Options {
    int64_t samples;
    static void declare(Declare<Options>& d) {
      d(&Options::samples,
        param::integer("samples", 256, "samples per side checked to lie on their segment")
            .at_least(1));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("w1", "W₁(P₀, P_θ) = |θ − a|"),
            stored::value("js", "JSD(P₀, P_θ) = log 2 for θ ≠ a, 0 for θ = a"),
            stored::value("kl_is_infinite", "1 when KL(P_θ ‖ P₀) = +∞ (θ ≠ a), 0 when KL = 0"),
            stored::value("total_variation", "δ(P₀, P_θ) = 1 for θ ≠ a, 0 for θ = a"),
            stored::value("theta", "θ − a, the generated segment's offset from the data's")};
  }
  static MetricRequirements requirements() {
    return {{rules::data_shape({2}, "points in the plane (the segment data set)"),
             {"uniform generator noise (generator.noise: uniform), so that (z₁ + 1)/2 ~ U[0, 1]",
              [](const Params&, CellView& cell) -> std::string {
                return cell.noise_kind() == "uniform"
                           ? ""
                           : fmt::format("generator.noise is {}", cell.noise_kind());
              }}}};
  }

  explicit SegmentDistances(const Options& o) : samples_(o.samples) {}
  std::vector<std::string> value_names() const override {
    return {"w1", "js", "kl_is_infinite", "total_variation", "theta"};
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (ctx.dataset.sample_shape() != Shape{2})
      throw Error("segment_distances needs points in the plane (the segment data set)");
    const double a = abscissa(ctx.dataset.sample(samples_, ctx.rng), "data");
    const double theta = abscissa(ctx.generate(samples_), "generated");
    const bool apart = theta != a;
    return {{"w1", std::abs(theta - a)},
            {"js", apart ? std::log(2.0) : 0.0},
            {"kl_is_infinite", apart ? 1.0 : 0.0},
            {"total_variation", apart ? 1.0 : 0.0},
            {"theta", theta - a}};
  }

 private:
  int64_t samples_;
};

}  // namespace

KANT_COMPONENT(SegmentDistances, "segment_distances", "1.0.0",
               "W₁, JS, KL and total variation between two vertical segments in closed form "
               "(WGAN Example 1, Arjovsky et al. 2017)")
