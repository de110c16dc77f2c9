// Metric `generator_cost`: the cell's objective's generator cost as a function of D(G(z)), the
// discriminator's probability on a generated sample (Goodfellow 2016, "NIPS 2016 Tutorial",
// Fig. 16: minimax, non-saturating and maximum-likelihood costs). For D on a grid over
// (0, 1), the critic's raw output is v = σ⁻¹(D) = log(D/(1 − D)) and the cost J(D) is the
// objective's generator loss at a batch of one sample with that output; its slope dJ/dv says how
// much a generated sample the discriminator rejects (D → 0) moves the generator:
//   minimax            J = log(1 − D)       dJ/dv = −D            (vanishes as D → 0)
//   non-saturating     J = −log D           dJ/dv = −(1 − D)
//   maximum_likelihood J = −½ D/(1 − D)     dJ/dv = −½ D/(1 − D)  (vanishes as D → 0)
// Values: cost and logit_slope (dJ/dv) at D = `at`. Arrays: d, cost, logit_slope over the grid.
// The curve is the objective's alone: no network is read (objectives on σ(v) only).
#include <fmt/format.h>

#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GeneratorCost : public Metric {
 public:
  struct Options {
    int64_t resolution;
    double at;
    static void declare(Declare<Options>& d) {
      d(&Options::resolution,
        param::integer("resolution", 199, "grid points over (0, 1)").range(2, 100000));
      d(&Options::at,
        param::real("at", 0.01, "the D(G(z)) in (0, 1) of the cost and logit_slope values")
            .at_least(0, true)
            .at_most(0.999999));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("cost", "J at D(G(z)) = at: the objective's generator loss there"),
            stored::value("logit_slope",
                          "dJ/dv at D(G(z)) = at, v = σ⁻¹(D): the push a rejected sample gives"),
            stored::array("d", "[G] D(G(z)) over (0, 1)"), stored::array("cost", "[G] J(D)"),
            stored::array("logit_slope", "[G] dJ/dv")};
  }

  explicit GeneratorCost(const Options& o) : resolution_(o.resolution), at_(o.at) {}
  std::vector<std::string> value_names() const override { return {"cost", "logit_slope"}; }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    const auto [cost, slope] = at(ctx, at_);
    return {{"cost", cost}, {"logit_slope", slope}};
  }

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    std::vector<float> d, cost, slope;
    for (int64_t i = 0; i < resolution_; ++i) {
      const double p = double(i + 1) / double(resolution_ + 1);
      const auto [j, s] = at(ctx, p);
      d.push_back(float(p)), cost.push_back(float(j)), slope.push_back(float(s));
    }
    return {{"d", Tensor::from({resolution_}, d)},
            {"cost", Tensor::from({resolution_}, cost)},
            {"logit_slope", Tensor::from({resolution_}, slope)}};
  }

 private:
  // J and dJ/dv at D(G(z)) = p
  static std::pair<double, double> at(MetricContext& ctx, double p) {
    if (!ctx.objective) throw Error("generator_cost needs the cell's objective");
    if (ctx.objective->generator_needs_real())
      throw Error("generator_cost: the objective's generator loss reads D(x) on real data");
    Tensor v = Tensor::from({1, 1}, {float(std::log(p / (1 - p)))}).set_requires_grad();
    Tensor j = ctx.objective->generator_loss(Tensor(), v);
    const Tensor slope = grad({j}, {v})[0];
    return {j.item(), slope.item()};
  }

  int64_t resolution_;
  double at_;
};

}  // namespace

KANT_COMPONENT(GeneratorCost, "generator_cost", "1.0.0",
               "the objective's generator cost J and its slope dJ/dv as functions of D(G(z)) "
               "(Goodfellow 2016, Fig. 16)")
