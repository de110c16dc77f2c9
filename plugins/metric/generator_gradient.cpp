// Metric `generator_gradient`: the norm of the generator's parameter gradient under the two
// classic generator costs, with D(x) = σ(v(x)) read from the critic's raw output v
// (Arjovsky & Bottou 2017, Figures 2 and 3):
//   minimax        ‖∇_θ E_z[log(1 − D(G(z)))]‖ = ‖∇_θ E[−softplus(v)]‖ — vanishes as the
//                  critic grows confident (D(G(z)) → 0)
//   nonsaturating  ‖∇_θ E_z[−log D(G(z))]‖ = ‖∇_θ E[softplus(−v)]‖ — the −log D trick
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GeneratorGradient : public Metric {
 public:
  explicit GeneratorGradient(int64_t samples) : samples_(samples) {}
  std::vector<std::string> value_names() const override { return {"minimax", "nonsaturating"}; }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (!ctx.noise) throw Error("generator_gradient needs the generator's noise");
    const int64_t m = critic_of(ctx, "generator_gradient").pack();
    const std::vector<Tensor> params = ctx.generator.parameters();
    Tensor v = critic_of(ctx, "generator_gradient").forward(ctx.generator.forward(ctx.noise((samples_ + m - 1) / m * m)));
    return {{"minimax", norm(grad({mean(neg(softplus(v)))}, params, {}, true))},
            {"nonsaturating", norm(grad({mean(softplus(neg(v)))}, params))}};
  }

 private:
  static double norm(const std::vector<Tensor>& grads) {
    double s = 0;
    for (const Tensor& g : grads) s += squared_norm(g);
    return std::sqrt(s);
  }
  int64_t samples_;
};

}  // namespace

KANT_PLUGIN("generator_gradient", "1.0.0") {
  registrar.add({"generator_gradient", "1.0.0",
                 "norm of the generator's gradient under the minimax and the −log D costs "
                 "(Arjovsky & Bottou 2017)",
                 {param::integer("samples", 256, "noise samples").at_least(1)},
                 MetricFactory([](const Params& p) { return std::make_unique<GeneratorGradient>(p.integer("samples")); }),
       {
        stored::value("minimax", "‖∇_θ E_z[log(1 − D(G(z)))]‖ with D = σ(critic output): vanishes "
                                 "as the critic grows confident"),
        stored::value("nonsaturating", "‖∇_θ E_z[−log D(G(z))]‖: the −log D cost's gradient norm")}});
}
