// Metric `wasserstein_exact`: W1 between n generated and n data samples under the Euclidean
// cost, by exact optimal transport (LEMON's network simplex; 2,000 × 2,000 in about 1.5 s).
//   w1 = min over couplings π of Σ π_ij ‖x_i − y_j‖
#include <fmt/format.h>

#include "kant/distances.hpp"
#include "kant/metric_rules.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

// The solver's size limit: an n × n dense cost matrix (8n² bytes) and the network simplex's
// time, which grows faster than n² (about 1.5 s at 2,000 on one core).
constexpr int64_t kMaxSamples = 2000;

class WassersteinExact : public Metric {
 public:
  struct Options {
    int64_t samples;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 1000, "samples per side").at_least(1));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("w1",
                          "W1 = min over couplings of Σ π_ij ‖x_i − y_j‖ between generated and "
                          "data samples (exact optimal transport)")};
  }
  static MetricRequirements requirements() {
    return {{{fmt::format("at most {} samples per side (exact transport on an n × n cost matrix: "
                          "about 1.5 s and {} MB at {})",
                          rules::thousands(kMaxSamples), 8 * kMaxSamples * kMaxSamples / 1000000,
                          rules::thousands(kMaxSamples)),
              [](const Params& p, CellView&) -> std::string {
                const int64_t samples = options_from<Options>(p).samples;
                if (samples <= kMaxSamples) return "";
                return fmt::format("samples is {}", rules::thousands(samples));
              }}}};
  }

  explicit WassersteinExact(const Options& o) : samples_(o.samples) {}
  std::vector<std::string> value_names() const override { return {"w1"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    return {
        {"w1", wasserstein1_exact(ctx.generate(samples_), ctx.dataset.sample(samples_, ctx.rng))}};
  }

 private:
  int64_t samples_;
};

}  // namespace

KANT_COMPONENT(WassersteinExact, "wasserstein_exact", "1.0.0",
               "W1 between generated and data samples by exact optimal transport (network simplex)")
