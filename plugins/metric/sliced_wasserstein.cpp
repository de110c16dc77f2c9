// Metric `sliced_wasserstein`: SW_p between generated and data samples (Rabin et al. 2011;
// Deshpande et al. 2018): the mean over random unit directions θ of W_p(θ·x, θ·y)ᵖ, to the 1/p.
#include "kant/distances.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class SlicedWasserstein : public Metric {
 public:
  explicit SlicedWasserstein(const Params& p)
      : samples_(p.integer("samples")), projections_(p.integer("projections")), p_(p.real("p")) {}
  std::vector<std::string> value_names() const override { return {"sw"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    Tensor fake = ctx.generate(samples_);
    Tensor real = ctx.dataset.sample(samples_, ctx.rng);
    return {{"sw", sliced_wasserstein(fake, real, projections_, p_, ctx.rng)}};
  }

 private:
  int64_t samples_, projections_;
  double p_;
};

}  // namespace

KANT_PLUGIN("sliced_wasserstein", "1.0.0") {
  registrar.add(
      {"sliced_wasserstein",
       "1.0.0",
       "sliced Wasserstein distance SW_p over random projections",
       {param::integer("samples", 2000, "samples per side").at_least(1),
        param::integer("projections", 128, "random directions").at_least(1),
        param::real("p", 2.0, "order p of W_p").at_least(1)},
       MetricFactory([](const Params& p) { return std::make_unique<SlicedWasserstein>(p); }),
       {stored::value("sw",
                      "SW_p: (mean over random unit directions θ of W_p(θ·x, θ·y)ᵖ)^(1/p) "
                      "between generated and data samples")}});
}
