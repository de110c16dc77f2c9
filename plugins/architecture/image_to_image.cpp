// Architecture `image_to_image`: a generator that takes an image instead of noise and returns an
// image f times larger on each side (f = 1, 2, 4 or 8, read from the network's shapes): the
// generators of super-resolution (SRGAN, Ledig et al. 2017), image translation (CycleGAN's
// residual generator, Zhu et al. 2017, after Johnson et al. 2016) and LAPGAN's levels (Denton et
// al. 2015), scaled to small images.
//
//   x [C_in, H, W] → conv3×3 → act                                            (stem, `width` maps)
//     → B residual blocks  h ← h + norm(conv3×3(act(norm(conv3×3(h)))))      (at H × W)
//     → log₂ f stages      h ← act(norm(conv3×3(up₂(h))))    (nearest ×2, as Odena et al. 2016
//                                                             against checkerboard artefacts)
//     → conv3×3 to C_out → output activation (tanh for images in [−1, 1]; none for residuals)
//
// Every convolution is 3×3 with stride 1 and padding 1, so H and W may be any size (7, 14, 28).
// Conditioning on a label y (one-hot [N, K], condition.hpp): concat puts y as K constant maps
// beside every convolution's input; batch_norm makes every normalisation a conditional batch
// norm. Parameters: stem.*, block<i>.conv1/.norm1/.conv2/.norm2, up<j>.conv/.norm, out.*.
#include <fmt/format.h>

#include "blocks.hpp"
#include "condition.hpp"
#include "kant/error.hpp"
#include "kant/layers.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

using Norm = conditioning::MaybeConditionalNorm<blocks::Norm>;

struct ResidualBlock {
  Conv2d conv1, conv2;
  Norm norm1, norm2;
};

struct UpStage {
  Conv2d conv;
  Norm norm;
};

class ImageToImage : public conditioning::LabelledNetwork {
 public:
  struct Options {
    int64_t width, blocks;
    std::string normalization, activation, output_activation, init;
    float negative_slope;
    conditioning::Options cond;
    static void declare(Declare<Options>& d) {
      d(&Options::width, param::integer("width", 64, "feature maps of every layer").at_least(1));
      d(&Options::blocks,
        param::integer("blocks", 2, "residual blocks at the input's resolution").at_least(0));
      d(&Options::normalization,
        param::choice("normalization", "batch", {"batch", "layer", "none"},
                      "normalisation after each convolution but the stem and the last"));
      d(&Options::activation,
        param::choice("activation", "relu", {"relu", "leaky_relu", "elu", "tanh"},
                      "hidden activation"));
      d(&Options::negative_slope,
        param::real("negative_slope", 0.2, "slope for x < 0 of leaky_relu").at_least(0));
      d(&Options::output_activation,
        param::choice("output_activation", "tanh", {"tanh", "none"},
                      "tanh: an image in [−1, 1]; none: an unbounded image (a LAPGAN band-pass "
                      "residual)"));
      d(&Options::init,
        param::choice("init", "pytorch", init_kinds(), "weight initialiser (layers.hpp)"));
      d.nested(&Options::cond);
      d.check([](const Options& o) {
        return conditioning::batch_norm_misfit(o.cond, o.normalization, {"batch"});
      });
    }
  };

  ImageToImage(const Options& o, const NetworkSpec& spec)
      : LabelledNetwork(o.cond, spec, "image_to_image"),
        norm_(o.normalization),
        act_(o.activation, o.negative_slope),
        tanh_out_(o.output_activation == "tanh") {
    if (spec.role != Role::generator)
      throw Error(
          "image_to_image: a generator's architecture (an image in, an image out); a critic or "
          "an encoder takes dcgan, resnet or mlp");
    const Shape& in = spec.input_shape;
    const Shape& out = spec.output_shape;
    if (in.size() != 3 || out.size() != 3)
      throw Error(fmt::format(
          "image_to_image: maps an image [C, H, W] to an image; its input is {} and its output {} "
          "(a generator of noise takes dcgan, resnet or mlp)",
          shape_str(in), shape_str(out)));
    int64_t factor = 1;
    while (factor <= 8 && (in[1] * factor != out[1] || in[2] * factor != out[2])) factor *= 2;
    if (factor > 8)
      throw Error(fmt::format(
          "image_to_image: the output {} is not the input {} enlarged by 1, 2, 4 or 8 on each "
          "side",
          shape_str(out), shape_str(in)));
    const int64_t k = cond_.concat() ? classes_ : 0;  // label maps beside each conv's input
    const int64_t w = o.width;
    Rng& rng = *spec.init_rng;
    const Init init{o.init, init_gain(o.activation, o.negative_slope), 0.02f};
    const Conv2dOptions same = Conv2dOptions::square(1, 1);
    const bool bias = norm_ == "none";  // a normalisation's β replaces the bias
    auto norm = [&](const std::string& name, const Shape& per_sample) -> Norm {
      if (cond_.batch_norm())
        return conditioning::ConditionalBatchNorm(*this, name, per_sample[0], classes_);
      return blocks::Norm(*this, norm_, name, per_sample, rng);
    };
    int64_t h = in[1], wd = in[2];
    stem_ = Conv2d(*this, "stem", in[0] + k, w, 3, same, true, init, rng);
    for (int64_t b = 1; b <= o.blocks; ++b) {
      const std::string name = fmt::format("block{}", b);
      ResidualBlock r;
      r.conv1 = Conv2d(*this, name + ".conv1", w + k, w, 3, same, bias, init, rng);
      r.norm1 = norm(name + ".norm1", {w, h, wd});
      r.conv2 = Conv2d(*this, name + ".conv2", w + k, w, 3, same, bias, init, rng);
      r.norm2 = norm(name + ".norm2", {w, h, wd});
      blocks_.push_back(std::move(r));
    }
    for (int64_t j = 1; j < factor; j *= 2) {
      h *= 2, wd *= 2;
      const std::string name = fmt::format("up{}", up_.size() + 1);
      up_.push_back({Conv2d(*this, name + ".conv", w + k, w, 3, same, bias, init, rng),
                     norm(name + ".norm", {w, h, wd})});
    }
    out_ = Conv2d(*this, "out", w + k, out[0], 3, same, true, init, rng);
  }

  bool batch_independent() const override { return norm_ != "batch" && !cond_.batch_norm(); }

 private:
  std::pair<Tensor, Tensor> run(const Tensor& x, const Tensor& y) override {
    using conditioning::with_label;
    const Tensor beside = cond_.concat() ? y : Tensor();
    Tensor h = act_(stem_(with_label(x, beside)));
    for (ResidualBlock& b : blocks_) {
      Tensor branch = act_(b.norm1(b.conv1(with_label(h, beside)), y));
      h = add(h, b.norm2(b.conv2(with_label(branch, beside)), y));
    }
    for (UpStage& u : up_) {
      Tensor up = resize(h, 2 * h.size(2), 2 * h.size(3), Resize::nearest);
      h = act_(u.norm(u.conv(with_label(up, beside)), y));
    }
    Tensor image = out_(with_label(h, beside));
    return {tanh_out_ ? kant::tanh(image) : image, Tensor()};
  }

  std::string norm_;
  blocks::Activation act_;
  bool tanh_out_;
  Conv2d stem_, out_;
  std::vector<ResidualBlock> blocks_;
  std::vector<UpStage> up_;
};

}  // namespace

KANT_COMPONENT(ImageToImage, "image_to_image", "1.0.0",
               "generator from an image [C, H, W] to an image f× larger (f = 1, 2, 4, 8): conv "
               "stem, residual blocks, nearest-upsampling stages (SRGAN, CycleGAN, LAPGAN levels)")
