// Architecture `dcgan` (Radford et al. 2016) for 1- or 3-channel images of 28, 32 or 64 px,
// with the WGAN-GP paper's variants (Gulrajani et al. 2017, Appendix / Figure 2): no
// normalisation, constant filter counts, tanh everywhere, gated multiplicative nonlinearities
// (activation: gated — each layer before an activation has 2C outputs [a, b] and the block
// gives tanh(a) ⊙ σ(b), as PixelCNN, van den Oord et al. 2016; ops.hpp gated_tanh; the
// normalisation acts on the 2C pre-activations). (Its "MLP generator" variant is the `mlp`
// architecture with hidden [512, 512, 512, 512].)
//
// Generator: z → Linear → [C₀, 4, 4] → norm → act → (ConvT 4×4 stride 2 pad 1 → norm → act)…
//            → ConvT 4×4 stride 2 pad 1 to the image channels → tanh. For 28 px the 8×8 map is
//            cropped to 7×7 (as the WGAN-GP MNIST code).
// Critic:    x → Conv 4×4 stride 2 pad 1 → act → (Conv 4×4 stride 2 pad 1 → norm → act)…
//            → flatten → Linear → 1. No normalisation by default: a gradient penalty is per
//            sample, which batch norm breaks (WGAN-GP §4); layer norm is the paper's substitute.
// Conditioning on a label y (one-hot [N, K], condition.hpp): concat puts y beside z and, as K
// constant maps, beside the input of every convolution (and y beside the critic's flattened
// features before its Linear); batch_norm (generator) makes every batch norm conditional;
// projection and auxiliary (critic) act on φ(x), the flattened features before the Linear.
// minibatch_kernels B (critic): minibatch discrimination (minibatch.hpp) appends B features o(x)
// to φ(x) before the Linear. normalization: virtual_batch (generator): virtual batch norm against
// a reference batch of `reference_batch` noise vectors (virtual_batch.hpp).
#include <fmt/format.h>

#include "blocks.hpp"
#include "condition.hpp"
#include "kant/error.hpp"
#include "kant/layers.hpp"
#include "kant/plugin.hpp"
#include "minibatch.hpp"
#include "virtual_batch.hpp"

namespace {
using namespace kant;

using blocks::Norm;

class Dcgan : public conditioning::LabelledNetwork {
 public:
  struct Options {
    int64_t width;
    bool constant_width;
    std::string normalization, activation;
    float negative_slope;
    std::string init;
    conditioning::Options cond;
    minibatch::Options minibatch;
    virtual_batch::Options virtual_batch;
    static void declare(Declare<Options>& d) {
      std::vector<std::string> inits = init_kinds();
      inits.push_back("dcgan");
      d(&Options::width,
        param::integer("width", 64, "channels of the image-side stage; doubled per stage")
            .at_least(1));
      d(&Options::constant_width,
        param::boolean(
            "constant_width", false,
            "same channel count at every stage (WGAN-GP's 'constant number of filters')"));
      d(&Options::normalization,
        param::choice("normalization", "default",
                      {"default", "batch", "layer", "virtual_batch", "none"},
                      "per-block normalisation; default: batch for the generator, none for the "
                      "critic (WGAN-GP: no batch norm with a gradient penalty); virtual_batch: "
                      "the generator's virtual batch norm (Salimans et al. 2016)"));
      d(&Options::activation,
        param::choice("activation", "default",
                      {"default", "relu", "leaky_relu", "elu", "tanh", "gated"},
                      "hidden activation; default: ReLU for the generator, leaky ReLU for the "
                      "critic; tanh everywhere and gated (tanh(a)·σ(b) of a doubled "
                      "pre-activation [a, b], PixelCNN's unit) are WGAN-GP variants"));
      d(&Options::negative_slope,
        param::real("negative_slope", 0.2, "slope for x < 0 of leaky_relu").at_least(0));
      d(&Options::init,
        param::choice("init", "pytorch", inits,
                      "weight initialiser (layers.hpp); dcgan: N(0, 0.02²) weights and batch-norm "
                      "γ ~ N(1, 0.02²), as Radford et al."));
      d.nested(&Options::cond);
      d.nested(&Options::minibatch);
      d.nested(&Options::virtual_batch);
      d.check([](const Options& o) {
        return conditioning::batch_norm_misfit(o.cond, o.normalization, {"default", "batch"});
      });
    }
  };
  Dcgan(const Options& o, const NetworkSpec& spec)
      : LabelledNetwork(o.cond, spec, "dcgan"), generator_(spec.role == Role::generator) {
    const int64_t k = cond_.concat() ? classes_ : 0;  // label maps beside each layer's input
    const Shape& image = generator_ ? spec.output_shape : spec.input_shape;
    if (image.size() != 3 || image[1] != image[2] ||
        (image[1] != 28 && image[1] != 32 && image[1] != 64))
      throw Error(
          fmt::format("dcgan: images must be [C, S, S] with S in 28, 32, 64; the data set "
                      "gives {}",
                      shape_str(image)));
    channels_ = image[0];
    size_ = image[1];
    norm_ = o.normalization;
    if (norm_ == "default") norm_ = generator_ ? "batch" : "none";
    std::string activation = o.activation;
    if (activation == "default") activation = generator_ ? "relu" : "leaky_relu";
    slope_ = o.negative_slope;
    act_ = blocks::Activation(activation, slope_);
    const std::string& init_kind = o.init;
    const bool dcgan_init = init_kind == "dcgan";
    Init init = dcgan_init ? Init{"normal", 1.0f, 0.02f}
                           : Init{init_kind, init_gain(activation, slope_), 0.02f};
    if (init_kind == "pytorch") init.gain = 1.0f;
    const int64_t stages = size_ == 64 ? 4 : 3;  // stride-2 stages between 4×4 and the image
    Rng& rng = *spec.init_rng;
    // channel count at stage i (0 = image side): width·2^i, or width throughout
    auto ch = [&](int64_t i) { return o.constant_width ? o.width : o.width << i; };
    const int64_t e = act_.widening();  // pre-activation channels per channel (gated: 2)
    const bool conv_bias = norm_ == "none";
    if (norm_ == "virtual_batch") use_reference(o.virtual_batch, spec);
    const Conv2dOptions down = Conv2dOptions::square(2, 1);
    // a block's normalisation: conditional batch norm with condition: batch_norm
    auto norm = [&](const std::string& kind, const std::string& name,
                    const Shape& per_sample) -> conditioning::MaybeConditionalNorm<Norm> {
      if (cond_.batch_norm())
        return conditioning::ConditionalBatchNorm(*this, name, per_sample[0], classes_);
      return Norm(*this, kind, name, per_sample, rng, dcgan_init, reference_.rows());
    };
    if (generator_) {
      const int64_t c0 = ch(stages - 1);
      fc_ = Linear(*this, "fc", shape_numel(spec.input_shape) + k, e * c0 * 16, true, init, rng);
      first_norm_ = norm(norm_, "fc_norm", {e * c0, 4, 4});
      int64_t side = 4;
      for (int64_t i = stages - 1; i >= 1; --i) {
        side = side * 2 == 8 && size_ == 28 ? 7 : side * 2;
        const std::string name = fmt::format("up{}", stages - i);
        up_.push_back(ConvTranspose2d(*this, name + ".conv", ch(i) + k, e * ch(i - 1), 4, down,
                                      conv_bias, init, rng));
        up_norm_.push_back(norm(norm_, name + ".norm", {e * ch(i - 1), side, side}));
      }
      out_t_ = ConvTranspose2d(*this, "out", ch(0) + k, channels_, 4, down, true, init, rng);
    } else {
      int64_t side = size_;
      for (int64_t i = 0; i < stages; ++i) {
        down_inputs_.push_back({i == 0 ? channels_ : ch(i - 1), side, side});
        side = (side + 2 - 4) / 2 + 1;
        const std::string name = fmt::format("down{}", i + 1);
        down_.push_back(Conv2d(*this, name + ".conv", (i == 0 ? channels_ : ch(i - 1)) + k,
                               e * ch(i), 4, down, i == 0 || conv_bias, init, rng));
        // DCGAN: no normalisation on the critic's first layer
        down_norm_.push_back(
            norm(i == 0 ? "none" : norm_, name + ".norm", {e * ch(i), side, side}));
      }
      const int64_t features = ch(stages - 1) * side * side;
      fc_ = Linear(*this, "fc", features + k + o.minibatch.kernels, shape_numel(spec.output_shape),
                   true, init, rng);
      if (cond_.projection() || cond_.auxiliary())
        head_ = conditioning::CriticHead(*this, cond_, features, classes_, init, rng);
      if (o.minibatch.on()) minibatch_ = minibatch::Layer(*this, o.minibatch, features, init, rng);
    }
  }

  /// Critic without normalisation: ∏ ‖conv_i‖ · ‖fc‖ · Lip(act)^stages.
  std::optional<double> lipschitz_upper_bound(const OperatorNorm& norm) override {
    if (generator_ || norm_ != "none" || label_classes() > 0 || minibatch_.width() > 0)
      return std::nullopt;
    double bound = norm(fc_.as_operator("fc"));
    for (size_t i = 0; i < down_.size(); ++i)
      bound *= act_.lipschitz() *
               norm(down_[i].as_operator(fmt::format("down{}.conv", i + 1), down_inputs_[i]));
    return bound;
  }

  bool batch_independent() const override {
    return norm_ != "batch" && !(generator_ && cond_.batch_norm()) && minibatch_.width() == 0;
  }

 private:
  // The output and, for the critic, φ(x) (flattened features); y: one-hot or undefined.
  std::pair<Tensor, Tensor> run(const Tensor& x, const Tensor& y) override {
    using conditioning::with_label;
    const int64_t n = x.size(0);
    const Tensor beside = cond_.concat() ? y : Tensor();
    if (generator_) {
      Tensor h = fc_(with_label(reshape(x, {n, -1}), beside));
      h = act_(first_norm_(reshape(h, {n, -1, 4, 4}), y));  // [n, e·C₀, 4, 4] → [n, C₀, 4, 4]
      for (size_t i = 0; i < up_.size(); ++i) {
        h = up_[i](with_label(h, beside));
        if (size_ == 28 && i == 0) h = crop(h, {0, 0, 0, 0}, {n, h.size(1), 7, 7});
        h = act_(up_norm_[i](h, y));
      }
      return {kant::tanh(out_t_(with_label(h, beside))), Tensor()};
    }
    Tensor h = x;
    for (size_t i = 0; i < down_.size(); ++i)
      h = record_block("down", i + 1, act_(down_norm_[i](down_[i](with_label(h, beside)), y)));
    Tensor features = flatten(h);
    Tensor score = fc_(with_label(minibatch_(features), beside));
    if (cond_.projection()) score = head_.score(score, features, y);
    return {score, features};
  }

  bool generator_;
  int64_t channels_ = 1, size_ = 32;
  std::string norm_;
  blocks::Activation act_;
  float slope_ = 0.2f;
  Linear fc_;
  conditioning::MaybeConditionalNorm<Norm> first_norm_;
  std::vector<ConvTranspose2d> up_;
  std::vector<conditioning::MaybeConditionalNorm<Norm>> up_norm_;
  ConvTranspose2d out_t_;
  std::vector<Conv2d> down_;
  std::vector<Shape> down_inputs_;  // per-sample input shape of each down_ conv
  std::vector<conditioning::MaybeConditionalNorm<Norm>> down_norm_;
  minibatch::Layer minibatch_;
};

}  // namespace

KANT_COMPONENT(
    Dcgan, "dcgan", "1.2.0",
    "DCGAN generator/critic for 1- or 3-channel 28/32/64 px images (Radford et al. 2016), "
    "with the WGAN-GP paper's variants (Gulrajani et al. 2017)")
