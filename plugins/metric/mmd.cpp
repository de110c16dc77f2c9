// Metric `mmd`: unbiased squared maximum mean discrepancy (Gretton et al. 2012) between
// generated and data samples with a sum of RBF kernels Σ_σ exp(−‖x−y‖²/(2σ²)).
//   mmd2 — may be slightly negative: the estimator is unbiased, and its mean is 0 when the
//   distributions are equal.
#include "kant/distances.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Mmd : public Metric {
 public:
  explicit Mmd(const Params& p)
      : samples_(p.integer("samples")), bandwidths_(p.reals("bandwidths")) {}
  std::vector<std::string> value_names() const override { return {"mmd2"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    Tensor fake = ctx.generate(samples_);
    Tensor real = ctx.dataset.sample(samples_, ctx.rng);
    return {{"mmd2", mmd2_unbiased(fake, real, bandwidths_)}};
  }

 private:
  int64_t samples_;
  std::vector<double> bandwidths_;
};

}  // namespace

KANT_PLUGIN("mmd", "1.0.0") {
  registrar.add({"mmd",
                 "1.0.0",
                 "unbiased MMD² with a sum of RBF kernels",
                 {param::integer("samples", 1000, "samples per side").at_least(2),
                  param::reals("bandwidths", {0.05, 0.1, 0.2, 0.5, 1.0, 2.0}, "RBF bandwidths σ")
                      .at_least(0, true)},
                 MetricFactory([](const Params& p) { return std::make_unique<Mmd>(p); }),
                 {stored::value("mmd2",
                                "unbiased MMD² with the sum of RBF kernels (may be slightly "
                                "negative; 0 in expectation for equal distributions)")}});
}
