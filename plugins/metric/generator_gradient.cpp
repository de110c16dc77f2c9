// Metric `generator_gradient`: the norm of the generator's parameter gradient under the two
// classic generator costs, with D(x) = σ(v(x)) read from the critic's raw output v
// (Arjovsky & Bottou 2017, Figures 2 and 3):
//   minimax        ‖∇_θ E_z[log(1 − D(G(z)))]‖ = ‖∇_θ E[−softplus(v)]‖ — vanishes as the
//                  critic grows confident (D(G(z)) → 0)
//   nonsaturating  ‖∇_θ E_z[−log D(G(z))]‖ = ‖∇_θ E[softplus(−v)]‖ — the −log D trick
// With `baseline_step: s`, the first evaluation at a step ≥ s is the baseline and every one
// from then on also gives minimax_log10_change = log10(minimax / minimax at the baseline) (and
// nonsaturating_log10_change): the paper's decay "by orders of magnitude" after the generator
// is frozen at s, as one number (NaN before the baseline).
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/error.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GeneratorGradient : public Metric {
 public:
  struct Options {
    int64_t samples, baseline_step;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 256, "noise samples").at_least(1));
      d(&Options::baseline_step, param::integer("baseline_step", 0,
                                                "the first evaluation at or after this step is the "
                                                "baseline of the *_log10_change values (0: none)")
                                     .at_least(0)
                                     .added_later());
    }
  };
  static std::vector<StoredValue> stored() {
    return {
        stored::value("minimax",
                      "‖∇_θ E_z[log(1 − D(G(z)))]‖ with D = σ(critic output): vanishes "
                      "as the critic grows confident"),
        stored::value("nonsaturating", "‖∇_θ E_z[−log D(G(z))]‖: the −log D cost's gradient norm"),
        stored::value("minimax_log10_change",
                      "with baseline_step: log10(minimax / minimax at the "
                      "baseline evaluation)"),
        stored::value("nonsaturating_log10_change",
                      "with baseline_step: log10(nonsaturating / "
                      "nonsaturating at the baseline evaluation)")};
  }
  static MetricRequirements requirements() {
    return {{rules::needs_critic(), rules::generator_makes_samples()},
            {{"minimax_log10_change",
              "the baseline evaluation has not happened yet (steps before baseline_step)"},
             {"nonsaturating_log10_change", "the baseline evaluation has not happened yet"}}};
  }

  explicit GeneratorGradient(const Options& o)
      : samples_(o.samples), baseline_step_(o.baseline_step) {}
  std::vector<std::string> value_names() const override {
    std::vector<std::string> names{"minimax", "nonsaturating"};
    if (baseline_step_ > 0)
      names.insert(names.end(), {"minimax_log10_change", "nonsaturating_log10_change"});
    return names;
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    if (!ctx.noise) throw Error("generator_gradient needs the generator's noise");
    const int64_t m = critic_of(ctx, "generator_gradient").pack();
    const std::vector<Tensor> params = ctx.generator.parameters();
    Tensor v = critic_of(ctx, "generator_gradient")
                   .forward(ctx.generator.forward(ctx.noise((samples_ + m - 1) / m * m)));
    std::map<std::string, double> out{
        {"minimax", norm(grad({mean(neg(softplus(v)))}, params, {}, true))},
        {"nonsaturating", norm(grad({mean(softplus(neg(v)))}, params))}};
    if (baseline_step_ > 0) {
      if (!has_baseline_ && ctx.step >= baseline_step_) {
        baseline_ = {out["minimax"], out["nonsaturating"]};
        has_baseline_ = true;
      }
      const double nan = std::numeric_limits<double>::quiet_NaN();
      out["minimax_log10_change"] = has_baseline_ ? std::log10(out["minimax"] / baseline_[0]) : nan;
      out["nonsaturating_log10_change"] =
          has_baseline_ ? std::log10(out["nonsaturating"] / baseline_[1]) : nan;
    }
    return out;
  }

  // the baseline, bit for bit
  ComponentState state() const override {
    ComponentState s;
    if (has_baseline_)
      s.words["baseline"] = {std::bit_cast<uint64_t>(baseline_[0]),
                             std::bit_cast<uint64_t>(baseline_[1])};
    return s;
  }
  void load_state(const ComponentState& s) override {
    auto it = s.words.find("baseline");
    has_baseline_ = it != s.words.end() && it->second.size() == 2;
    if (has_baseline_)
      baseline_ = {std::bit_cast<double>(it->second[0]), std::bit_cast<double>(it->second[1])};
  }

 private:
  static double norm(const std::vector<Tensor>& grads) {
    double s = 0;
    for (const Tensor& g : grads) s += squared_norm(g);
    return std::sqrt(s);
  }
  int64_t samples_, baseline_step_;
  bool has_baseline_ = false;
  std::array<double, 2> baseline_{};
};

}  // namespace

KANT_COMPONENT(GeneratorGradient, "generator_gradient", "1.0.0",
               "norm of the generator's gradient under the minimax and the −log D costs "
               "(Arjovsky & Bottou 2017)")
