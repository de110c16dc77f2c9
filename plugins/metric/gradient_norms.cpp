// Metric `gradient_norms`: statistics of the critic's input-gradient norm ‖∇ₓD(x)‖₂ (per
// sample, over all non-batch dimensions) on real samples, generated samples, and random
// interpolates x̂ = εx + (1−ε)x̃ with ε ~ U[0, 1) per sample (where WGAN-GP penalises it).
//   {real, fake, interpolates}_{mean, std, max}
// A 1-Lipschitz critic has all of them ≤ 1; gradients vanishing or exploding show here first.
// With a packed critic each sample's norm is that of its share of the pack's gradient.
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GradientNorms : public Metric {
 public:
  explicit GradientNorms(int64_t samples) : samples_(samples) {}
  std::vector<std::string> value_names() const override {
    std::vector<std::string> names;
    for (const char* where : {"real", "fake", "interpolates"})
      for (const char* stat : {"mean", "std", "max"}) names.push_back(std::string(where) + "_" + stat);
    return names;
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    const int64_t m = ctx.critic.pack();
    const int64_t samples = (samples_ + m - 1) / m * m;  // whole packs
    Tensor real = ctx.dataset.sample(samples, ctx.rng);
    Tensor fake = ctx.generate(samples);
    Shape eps_shape(real.shape().size(), 1);
    eps_shape[0] = samples;
    Tensor eps = ctx.rng.uniform_tensor(eps_shape);
    Tensor mixed;
    {
      NoGradGuard no_grad;
      mixed = add(mul(eps, real), mul(1.0f - eps, fake));
    }
    std::map<std::string, double> out;
    for (auto [where, x] : {std::pair<const char*, Tensor>{"real", real}, {"fake", fake}, {"interpolates", mixed}}) {
      Tensor v = x.detach().set_requires_grad();
      Tensor g = grad({sum(ctx.critic.forward(v))}, {v})[0];
      const int64_t per = g.numel() / samples;
      double sum = 0, sum_sq = 0, max = 0;
      for (int64_t i = 0; i < samples; ++i) {
        double s = 0;
        for (int64_t j = 0; j < per; ++j) s += double(g.data()[i * per + j]) * g.data()[i * per + j];
        const double n = std::sqrt(s);
        sum += n;
        sum_sq += n * n;
        max = std::max(max, n);
      }
      const double mean = sum / static_cast<double>(samples);
      out[std::string(where) + "_mean"] = mean;
      out[std::string(where) + "_std"] = std::sqrt(std::max(0.0, sum_sq / static_cast<double>(samples) - mean * mean));
      out[std::string(where) + "_max"] = max;
    }
    return out;
  }

 private:
  int64_t samples_;
};

}  // namespace

KANT_PLUGIN("gradient_norms", "1.0.0") {
  registrar.add({"gradient_norms", "1.0.0",
                 "mean, std and max of ‖∇ₓD‖₂ on real, generated and interpolated samples",
                 {param::integer("samples", 512, "samples of each kind").at_least(1)},
                 MetricFactory([](const Params& p) { return std::make_unique<GradientNorms>(p.integer("samples")); })});
}
