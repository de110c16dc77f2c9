// Metric `critic_estimate`: what the trained critic says about the distance between the data
// and the generator, on `samples` fresh points of each side:
//   estimate            the cell's objective's divergence estimate with the trained critic
//                       (minimax / non-saturating: JSD ≈ (log 4 − L_D)/2, ≤ log 2 at the optimal
//                       discriminator, Goodfellow et al. 2014, Thm 1; wasserstein:
//                       E D(x) − E D(G(z)), W₁ at the optimal 1-Lipschitz critic, Arjovsky et
//                       al. 2017, Thm 3)
//   generator_gradient  ‖∇_θ L_G‖, the norm of the generator's parameter gradient under the
//                       objective's generator loss: what the generator learns from this critic
//                       (WGAN Example 1: 0 under the minimax GAN at disjoint supports, 1 under W)
//   accuracy            the share of samples the critic's raw output v classifies by its sign
//                       (v > 0 real, v < 0 generated): a discriminator's accuracy with
//                       D = σ(v) (Arjovsky & Bottou 2017, §2.2); for a WGAN critic the sign has
//                       no meaning (v is defined up to a constant)
// With `track_w1: true` also
//   w1                  the exact W₁ between the samples (network simplex, as wasserstein_exact)
//   w1_correlation      Pearson's correlation between estimate and w1 over this cell's
//                       evaluations so far after training began (step ≥ 1: at step 0 the critic
//                       is untrained and its output is no estimate of anything) — WGAN Figs. 3–4:
//                       the critic's estimate tracks sample quality; NaN before the third one
#include <fmt/format.h>

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

// The exact solver's limit (as wasserstein_exact: an n × n cost matrix).
constexpr int64_t kMaxTrackedSamples = 2000;

/// Pearson's r of paired values (NaN for fewer than 3 pairs or a constant side).
double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  if (n < 3) return std::numeric_limits<double>::quiet_NaN();
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i] / double(n), mb += b[i] / double(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

class CriticEstimate : public Metric {
 public:
  struct Options {
    int64_t samples;
    bool track_w1;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 1000, "samples per side").at_least(1));
      d(&Options::track_w1,
        param::boolean("track_w1", false,
                       "also the exact W₁ of the samples and its correlation with the estimate "
                       "over the evaluations (samples ≤ 2,000)"));
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("estimate",
                          "the objective's divergence estimate with the trained critic on fresh "
                          "samples (JSD for minimax/non-saturating, E D(x) − E D(G(z)) for "
                          "wasserstein)"),
            stored::value("generator_gradient",
                          "‖∇_θ L_G‖: the norm of the generator's parameter gradient under the "
                          "objective's generator loss against this critic"),
            stored::value("accuracy",
                          "share of samples classified right by the sign of the critic's output "
                          "(v > 0: real); a discriminator's accuracy with D = σ(v)"),
            stored::value("w1", "with track_w1: exact W₁ between the generated and data samples"),
            stored::value("w1_correlation",
                          "with track_w1: Pearson's r between estimate and w1 over the "
                          "evaluations so far at steps ≥ 1 (a trained critic)")};
  }
  static MetricRequirements requirements() {
    return {{rules::needs_critic(),
             rules::generator_makes_samples(),
             {"an unpacked critic (one score per sample)",
              [](const Params&, CellView& cell) -> std::string {
                Network* c = cell.critic();
                return !c || c->pack() == 1 ? "" : fmt::format("the critic packs {}", c->pack());
              }},
             {fmt::format("with track_w1, at most {} samples per side (exact transport)",
                          rules::thousands(kMaxTrackedSamples)),
              [](const Params& p, CellView&) -> std::string {
                const Options o = options_from<Options>(p);
                if (!o.track_w1 || o.samples <= kMaxTrackedSamples) return "";
                return fmt::format("samples is {}", rules::thousands(o.samples));
              }}},
            {{"w1_correlation",
              "fewer than three evaluations at steps ≥ 1 so far, or a constant series"}}};
  }

  explicit CriticEstimate(const Options& o) : samples_(o.samples), track_w1_(o.track_w1) {}
  std::vector<std::string> value_names() const override {
    std::vector<std::string> names{"estimate", "generator_gradient", "accuracy"};
    if (track_w1_) names.insert(names.end(), {"w1", "w1_correlation"});
    return names;
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    Network& critic = critic_of(ctx, "critic_estimate");
    if (!ctx.objective) throw Error("critic_estimate needs the cell's objective");
    if (!ctx.noise) throw Error("critic_estimate needs the generator's noise");
    const Tensor real = ctx.dataset.sample(samples_, ctx.rng);
    const Tensor fake = ctx.generate(samples_);
    std::map<std::string, double> out;
    {
      NoGradGuard no_grad;
      const Tensor d_real = critic.forward(real), d_fake = critic.forward(fake);
      out["estimate"] = ctx.objective->divergence_estimate(d_real, d_fake);
      int64_t right = 0;
      for (int64_t i = 0; i < d_real.numel(); ++i) right += d_real.data()[i] > 0;
      for (int64_t i = 0; i < d_fake.numel(); ++i) right += d_fake.data()[i] < 0;
      out["accuracy"] = double(right) / double(d_real.numel() + d_fake.numel());
    }
    const std::vector<Tensor> params = ctx.generator.parameters();
    const Tensor loss = ctx.objective->generator_loss(
        critic.forward(real), critic.forward(ctx.generator.forward(ctx.noise(samples_))));
    double squared = 0;
    for (const Tensor& g : grad({loss}, params)) squared += squared_norm(g);
    out["generator_gradient"] = std::sqrt(squared);
    if (track_w1_) {
      out["w1"] = wasserstein1_exact(fake, real);
      if (ctx.step >= 1) {  // the critic has trained
        estimates_.push_back(out["estimate"]);
        w1s_.push_back(out["w1"]);
      }
      out["w1_correlation"] = pearson(estimates_, w1s_);
    }
    return out;
  }

  // the tracked pairs, bit for bit
  ComponentState state() const override {
    ComponentState s;
    for (auto [name, values] : {std::pair{"estimates", &estimates_}, {"w1", &w1s_}}) {
      std::vector<uint64_t>& words = s.words[name];
      for (double v : *values) words.push_back(std::bit_cast<uint64_t>(v));
    }
    return s;
  }
  void load_state(const ComponentState& s) override {
    for (auto [name, values] : {std::pair{"estimates", &estimates_}, {"w1", &w1s_}}) {
      values->clear();
      if (auto it = s.words.find(name); it != s.words.end())
        for (uint64_t w : it->second) values->push_back(std::bit_cast<double>(w));
    }
  }

 private:
  int64_t samples_;
  bool track_w1_;
  std::vector<double> estimates_, w1s_;
};

}  // namespace

KANT_COMPONENT(CriticEstimate, "critic_estimate", "1.0.0",
               "the trained critic's divergence estimate, the generator's gradient under the "
               "objective, the discriminator's accuracy, and optionally the estimate's "
               "correlation with the exact W₁ (WGAN Example 1, Figs. 3–4)")
