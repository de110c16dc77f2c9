// Metric `sliced_wasserstein`: SW_p between generated and data samples (Rabin et al. 2011;
// Deshpande et al. 2018): the mean over random unit directions θ of W_p(θ·x, θ·y)ᵖ, to the 1/p.
#include "kant/distances.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class SlicedWasserstein : public Metric {
 public:
  struct Options {
    int64_t samples, projections;
    double p;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 2000, "samples per side").at_least(1));
      d(&Options::projections, param::integer("projections", 128, "random directions").at_least(1));
      d(&Options::p, param::real("p", 2.0, "order p of W_p").at_least(1));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("sw",
                          "SW_p: (mean over random unit directions θ of W_p(θ·x, θ·y)ᵖ)^(1/p) "
                          "between generated and data samples")};
  }

  explicit SlicedWasserstein(const Options& o) : o_(o) {}
  std::vector<std::string> value_names() const override { return {"sw"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    Tensor fake = ctx.generate(o_.samples);
    Tensor real = ctx.dataset.sample(o_.samples, ctx.rng);
    return {{"sw", sliced_wasserstein(fake, real, o_.projections, o_.p, ctx.rng)}};
  }

 private:
  Options o_;
};

}  // namespace

KANT_COMPONENT(SlicedWasserstein, "sliced_wasserstein", "1.0.0",
               "sliced Wasserstein distance SW_p over random projections")
