// Metric `gradient_norms`: statistics of the critic's input-gradient norm ‖∇ₓD(x)‖₂ (per
// sample, over all non-batch dimensions) on real samples, generated samples, and random
// interpolates x̂ = εx + (1−ε)x̃ with ε ~ U[0, 1) per sample (where WGAN-GP penalises it).
//   {real, fake, interpolates}_{mean, std, max}
// A 1-Lipschitz critic has all of them ≤ 1; gradients vanishing or exploding show here first.
//   activation_grad_<layer>  ‖∂L_D/∂h_layer‖ over a real and a generated batch, h_layer the
//                            hidden blocks the architecture records, L_D the cell's critic
//                            loss without penalty — the WGAN-GP paper's Figure 1b (vanishing or
//                            exploding through deep clipped critics)
//   activation_grad_log10_ratio  with `layer_ratio: true`: log10 ‖∂L_D/∂h_1‖ / ‖∂L_D/∂h_L‖, the
//                            first recorded block's norm over the last's: > 0 when the gradient
//                            grows as it propagates back to the input (exploding), < 0 when it
//                            shrinks (vanishing) — the figure's shape as one number
//   activation_grad_trend    +1 exploding (ratio > 1, more than tenfold), −1 vanishing (< −1),
//                            0 within a factor of 10 (Figure 1b: +1 for c = 0.1, −1 for c = 0.01
//                            and 0.001, 0 under the gradient penalty)
// `layers` restricts activation_grad_<layer> to the named blocks (checked at validate time).
// At the end, a histogram of every critic weight matrix (arrays weight_histogram.<name> with
// weight_edges.<name>; WGAN-GP Figure 1c: clipping piles weights up at ±c).
// With a packed critic each sample's norm is that of its share of the pack's gradient.
#include <algorithm>
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "kant/input_gradient.hpp"
#include "kant/metric_rules.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

// The names of a comma-separated list ("hidden1, hidden3").
std::vector<std::string> names_of(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(start, comma - start);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (!name.empty()) out.push_back(name);
    start = comma + 1;
  }
  return out;
}

// The hidden blocks a critic records on one forward pass (two whole packs of zeros).
std::vector<std::string> recorded_blocks(Network& critic, const Shape& sample_shape) {
  Shape shape{2 * critic.pack()};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  NoGradGuard no_grad;
  critic.set_recording(true);
  critic.forward(Tensor::zeros(shape));
  std::vector<std::string> names;
  for (const auto& [name, h] : critic.recorded()) names.push_back(name);
  critic.set_recording(false);
  return names;
}

class GradientNorms : public Metric {
 public:
  struct Options {
    int64_t samples, bins;
    std::string layers;
    bool layer_ratio;
    static void declare(Declare<Options>& d) {
      d(&Options::samples, param::integer("samples", 512, "samples of each kind").at_least(1));
      d(&Options::bins,
        param::integer("bins", 50, "bins of the final weight histograms").at_least(1));
      d(&Options::layers, param::string("layers", "",
                                        "comma-separated hidden blocks of the critic whose "
                                        "activation_grad_<layer> is reported, e.g. \"hidden1, "
                                        "hidden3\" (empty: every block the critic records)")
                              .added_later());
      d(&Options::layer_ratio,
        param::boolean("layer_ratio", false,
                       "also report activation_grad_log10_ratio (log10 of the "
                       "first block's norm over the last's) and its trend (±1, 0)")
            .added_later());
    }
  };
  static std::vector<StoredValue> stored() {
    return {stored::value("real_<stat>",
                          "mean, std or max of ‖∇ₓD(x)‖₂ over real samples (real_mean, "
                          "real_std, real_max)"),
            stored::value("fake_<stat>", "the same over generated samples"),
            stored::value("interpolates_<stat>",
                          "the same over random interpolates εx + (1 − ε)x̃ "
                          "(where WGAN-GP penalises)"),
            stored::value("activation_grad_<layer>",
                          "‖∂L_D/∂h‖ for each hidden block h the critic "
                          "records, L_D the critic loss without penalty "
                          "(WGAN-GP Figure 1b)"),
            stored::array("weight_histogram.<parameter>",
                          "[bins] counts of each critic weight "
                          "matrix's entries at the end (WGAN-GP Figure"
                          " 1c)"),
            stored::array("weight_edges.<parameter>", "[bins + 1] the histogram's bin edges"),
            stored::value("activation_grad_log10_ratio",
                          "with layer_ratio: log10 of the first recorded "
                          "block's ‖∂L_D/∂h‖ over the last's (> 0 exploding,"
                          " < 0 vanishing)"),
            stored::value("activation_grad_trend",
                          "with layer_ratio: +1 exploding (ratio > 1), −1 "
                          "vanishing (ratio < −1), 0 within a factor of 10")};
  }
  static MetricRequirements requirements() {
    return {{rules::needs_critic(),
             {"each of `layers` a hidden block the critic records (its activation_grad_<layer>)",
              [](const Params& p, CellView& cell) -> std::string {
                const std::vector<std::string> wanted = names_of(options_from<Options>(p).layers);
                if (wanted.empty() || !cell.critic()) return "";
                const std::vector<std::string> blocks =
                    recorded_blocks(*cell.critic(), cell.dataset().sample_shape());
                for (const std::string& w : wanted)
                  if (std::find(blocks.begin(), blocks.end(), w) == blocks.end())
                    return fmt::format(
                        "the critic records no block '{}' (it records: {})", w,
                        blocks.empty() ? "none" : fmt::format("{}", fmt::join(blocks, ", ")));
                return "";
              }}}};
  }

  explicit GradientNorms(const Options& o)
      : samples_(o.samples),
        bins_(o.bins),
        layers_(names_of(o.layers)),
        layer_ratio_(o.layer_ratio) {}
  std::vector<std::string> value_names() const override {
    std::vector<std::string> names{"activation_grad_<layer>"};  // each block the critic records
    if (layer_ratio_)
      names.insert(names.end(), {"activation_grad_log10_ratio", "activation_grad_trend"});
    for (const char* where : {"real", "fake", "interpolates"})
      for (const char* stat : {"mean", "std", "max"})
        names.push_back(std::string(where) + "_" + stat);
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
    for (auto [where, x] :
         {std::pair<const char*, Tensor>{"real", real}, {"fake", fake}, {"interpolates", mixed}}) {
      const std::vector<double> norms =
          row_norms(penalties::input_gradient(critic_of(ctx, "gradient_norms"), x), samples);
      double sum = 0, sum_sq = 0, max = 0;
      for (double n : norms) {
        sum += n;
        sum_sq += n * n;
        max = std::max(max, n);
      }
      const double mean = sum / static_cast<double>(samples);
      out[std::string(where) + "_mean"] = mean;
      out[std::string(where) + "_std"] =
          std::sqrt(std::max(0.0, sum_sq / static_cast<double>(samples) - mean * mean));
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
      for (int64_t b = 0; b <= bins_; ++b)
        edges.data()[b] = static_cast<float>(*lo + width * static_cast<double>(b));
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
  std::map<std::string, double> activation_gradients(MetricContext& ctx, const Tensor& real,
                                                     const Tensor& fake) const {
    Network& critic = critic_of(ctx, "gradient_norms");
    critic.set_recording(true);
    Tensor d_real = critic.forward(real), d_fake = critic.forward(fake);
    std::vector<Module::NamedTensor> hidden = critic.recorded();
    critic.set_recording(false);
    if (!layers_.empty())
      hidden.erase(std::remove_if(hidden.begin(), hidden.end(),
                                  [&](const Module::NamedTensor& h) {
                                    return std::find(layers_.begin(), layers_.end(), h.first) ==
                                           layers_.end();
                                  }),
                   hidden.end());
    std::map<std::string, double> out;
    if (hidden.empty()) return out;
    Tensor loss = ctx.objective ? ctx.objective->critic_loss(d_real, d_fake)
                                : sub(mean(d_fake), mean(d_real));
    std::vector<Tensor> activations;
    for (const auto& [name, h] : hidden) activations.push_back(h);
    const std::vector<Tensor> grads = grad({loss}, activations);
    for (size_t k = 0; k < hidden.size(); ++k)
      out["activation_grad_" + hidden[k].first] += squared_norm(grads[k]);
    for (auto& [name, v] : out) v = std::sqrt(v);
    if (layer_ratio_) {  // the first and the last block in forward order
      const double r = std::log10(out["activation_grad_" + hidden.front().first] /
                                  out["activation_grad_" + hidden.back().first]);
      out["activation_grad_log10_ratio"] = r;
      out["activation_grad_trend"] = std::isnan(r) ? r : r > 1 ? 1.0 : r < -1 ? -1.0 : 0.0;
    }
    return out;
  }

  int64_t samples_, bins_;
  std::vector<std::string> layers_;  // empty: every recorded block
  bool layer_ratio_;
};

}  // namespace

KANT_COMPONENT(GradientNorms, "gradient_norms", "1.0.0",
               "mean, std and max of ‖∇ₓD‖₂ on real, generated and interpolated samples; "
               "per-layer critic-loss gradient norms; weight histograms")
