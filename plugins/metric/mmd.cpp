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
  struct Options {
    int64_t samples;
    std::vector<double> bandwidths;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 1000, "samples per side").at_least(2));
      d(&Options::bandwidths,
        param::reals("bandwidths", {0.05, 0.1, 0.2, 0.5, 1.0, 2.0}, "RBF bandwidths σ")
            .at_least(0, true));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("mmd2",
                          "unbiased MMD² with the sum of RBF kernels (may be slightly "
                          "negative; 0 in expectation for equal distributions)")};
  }

  explicit Mmd(const Options& o) : o_(o) {}
  std::vector<std::string> value_names() const override { return {"mmd2"}; }
  std::map<std::string, double> compute(MetricContext& ctx) override {
    Tensor fake = ctx.generate(o_.samples);
    Tensor real = ctx.dataset.sample(o_.samples, ctx.rng);
    return {{"mmd2", mmd2_unbiased(fake, real, o_.bandwidths)}};
  }

 private:
  Options o_;
};

}  // namespace

KANT_COMPONENT(Mmd, "mmd", "1.0.0", "unbiased MMD² with a sum of RBF kernels")
