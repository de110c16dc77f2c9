// Metric `gradient_norms`: statistics of the critic's input-gradient norm ‖∇ₓD(x)‖₂ (per
// sample, over all non-batch dimensions) on real samples, generated samples, and random
// interpolates x̂ = εx + (1−ε)x̃ with ε ~ U[0, 1) per sample (where WGAN-GP penalises it).
//   {real, fake, interpolates}_{mean, std, max}
// A 1-Lipschitz critic has all of them ≤ 1; gradients vanishing or exploding show here first.
//   activation_grad_<layer>  ‖∂L_D/∂h_layer‖ over a real and a generated batch, h_layer the
//                            hidden blocks the architecture records, L_D the cell's critic
//                            loss without penalty — the WGAN-GP paper's Figure 1b (vanishing or
//                            exploding through deep clipped critics)
// At the end, a histogram of every critic weight matrix (arrays weight_histogram.<name> with
// weight_edges.<name>; WGAN-GP Figure 1c: clipping piles weights up at ±c).
// With a packed critic each sample's norm is that of its share of the pack's gradient.
#include <algorithm>
#include <cmath>

#include "kant/input_gradient.hpp"
#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class GradientNorms : public Metric {
 public:
  GradientNorms(int64_t samples, int64_t bins) : samples_(samples), bins_(bins) {}
  std::vector<std::string> value_names() const override {
    std::vector<std::string> names{"activation_grad_<layer>"};  // each block the critic records
    for (const char* where : {"real", "fake", "interpolates"})
      for (const char* stat : {"mean", "std", "max"}) names.push_back(std::string(where) + "_" + stat);
    return names;
  }

  std::map<std::string, double> compute(MetricContext& ctx) override {
    const int64_t m = critic_of(ctx, "gradient_norms").pack();
    const int64_t samples = (samples_ + m - 1) / m * m;  // whole packs
    Tensor real = ctx.dataset.sample(samples, ctx.rng);
    Tensor fake = ctx.generate(samples);
    Tensor mixed;
    {
      NoGradGuard no_grad;
      mixed = penalties::random_interpolates(real, fake, ctx.rng);
    }
    std::map<std::string, double> out = activation_gradients(ctx, real, fake);
    for (auto [where, x] : {std::pair<const char*, Tensor>{"real", real}, {"fake", fake}, {"interpolates", mixed}}) {
      const std::vector<double> norms = row_norms(penalties::input_gradient(critic_of(ctx, "gradient_norms"), x), samples);
      double sum = 0, sum_sq = 0, max = 0;
      for (double n : norms) {
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

  std::map<std::string, Tensor> final_arrays(MetricContext& ctx) override {
    std::map<std::string, Tensor> out;
    for (const auto& [name, w] : critic_of(ctx, "gradient_norms").named_parameters()) {
      if (w.dim() < 2) continue;
      const auto [lo, hi] = std::minmax_element(w.data(), w.data() + w.numel());
      const double width = (*hi > *lo ? *hi - *lo : 1.0) / static_cast<double>(bins_);
      Tensor counts = Tensor::zeros({bins_}), edges = Tensor::empty({bins_ + 1});
      for (int64_t b = 0; b <= bins_; ++b) edges.data()[b] = static_cast<float>(*lo + width * static_cast<double>(b));
      for (int64_t i = 0; i < w.numel(); ++i) {
        const auto b = static_cast<int64_t>((w.data()[i] - *lo) / width);
        counts.data()[std::min(b, bins_ - 1)] += 1;
      }
      out["weight_histogram." + name] = counts;
      out["weight_edges." + name] = edges;
    }
    return out;
  }

 private:
  // ‖∂L_D/∂h‖ for every recorded hidden block h, over both passes.
  static std::map<std::string, double> activation_gradients(MetricContext& ctx, const Tensor& real,
                                                            const Tensor& fake) {
    critic_of(ctx, "gradient_norms").set_recording(true);
    Tensor d_real = critic_of(ctx, "gradient_norms").forward(real), d_fake = critic_of(ctx, "gradient_norms").forward(fake);
    std::vector<Module::NamedTensor> hidden = critic_of(ctx, "gradient_norms").recorded();
    critic_of(ctx, "gradient_norms").set_recording(false);
    std::map<std::string, double> out;
    if (hidden.empty()) return out;
    Tensor loss = ctx.objective ? ctx.objective->critic_loss(d_real, d_fake) : sub(mean(d_fake), mean(d_real));
    std::vector<Tensor> activations;
    for (const auto& [name, h] : hidden) activations.push_back(h);
    const std::vector<Tensor> grads = grad({loss}, activations);
    for (size_t k = 0; k < hidden.size(); ++k) out["activation_grad_" + hidden[k].first] += squared_norm(grads[k]);
    for (auto& [name, v] : out) v = std::sqrt(v);
    return out;
  }

  int64_t samples_, bins_;
};

}  // namespace

KANT_PLUGIN("gradient_norms", "1.0.0") {
  registrar.add({"gradient_norms", "1.0.0",
                 "mean, std and max of ‖∇ₓD‖₂ on real, generated and interpolated samples; per-layer "
                 "critic-loss gradient norms; weight histograms",
                 {param::integer("samples", 512, "samples of each kind").at_least(1),
                  param::integer("bins", 50, "bins of the final weight histograms").at_least(1)},
                 MetricFactory([](const Params& p) {
                   return std::make_unique<GradientNorms>(p.integer("samples"), p.integer("bins"));
                 }),
       {
        stored::value("real_<stat>", "mean, std or max of ‖∇ₓD(x)‖₂ over real samples (real_mean, "
                                     "real_std, real_max)"),
        stored::value("fake_<stat>", "the same over generated samples"),
        stored::value("interpolates_<stat>", "the same over random interpolates εx + (1 − ε)x̃ "
                                             "(where WGAN-GP penalises)"),
        stored::value("activation_grad_<layer>", "‖∂L_D/∂h‖ for each hidden block h the critic "
                                                 "records, L_D the critic loss without penalty "
                                                 "(WGAN-GP Figure 1b)"),
        stored::array("weight_histogram.<parameter>", "[bins] counts of each critic weight "
                                                      "matrix's entries at the end (WGAN-GP Figure"
                                                      " 1c)"),
        stored::array("weight_edges.<parameter>", "[bins + 1] the histogram's bin edges")}});
}
