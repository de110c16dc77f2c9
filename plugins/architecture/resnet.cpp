// Architecture `resnet`: small residual generator and critic in the style of the WGAN-GP and
// SNGAN CIFAR-10 networks (Gulrajani et al. 2017, Appendix F; Miyato et al. 2018, Table 4),
// for [C, S, S] images.
//
// Generator: z → Linear → [W, S/2^d, S/2^d] → d up-blocks → norm → ReLU → conv3×3 → tanh.
//   up-block:   norm → ReLU → nearest ×2 → conv3×3 → norm → ReLU → conv3×3, plus the
//               shortcut nearest ×2 → conv1×1.
// Critic: d blocks, the first `downsample` of them halving the resolution (2×2 average pool),
//   then ReLU → sum over the spatial axes → Linear → 1.
//   block 1:    conv3×3 → ReLU → conv3×3 (→ pool), shortcut conv1×1 (→ pool)
//   block i>1:  ReLU → conv3×3 → norm → ReLU → conv3×3 (→ pool), shortcut as block 1, or the
//               identity when the block neither pools nor changes channels
//   (a 1×1 convolution and average pooling commute, so the shortcut's order is immaterial)
// blocks_per_stage B > 1 (deep variant; WGAN-GP's 101-layer ResNet, Gulrajani et al. 2017 §5 /
//   Figure 2, scaled down): each up- or down-block is followed by B − 1 residual blocks at
//   constant resolution and width with the identity shortcut, h + branch(h):
//   generator  branch = norm → ReLU → conv3×3 → norm → ReLU → conv3×3  (named upI.resJ)
//   critic     branch = ReLU → conv3×3 → norm → ReLU → conv3×3        (named downI.resJ)
//   so a network has depth·B blocks, 2·depth·B + 2 weight layers. B = 1 is the network above.
// Conditioning on a label y (one-hot [N, K], condition.hpp): concat puts y beside z and, as K
// constant maps, beside the input of every convolution (shortcuts included; an identity
// shortcut stays the identity) and beside the critic's pooled features; batch_norm
// (generator) makes every batch norm conditional (SNGAN's generator); projection and
// auxiliary (critic) act on φ(x) = Σ_spatial ReLU(h), the features before the Linear (SNGAN's
// projection discriminator). normalization: virtual_batch (generator): virtual batch norm
// against a reference batch of `reference_batch` noise vectors (virtual_batch.hpp).
#include <fmt/format.h>

#include "blocks.hpp"
#include "condition.hpp"
#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

Tensor up2(const Tensor& x) { return resize(x, 2 * x.size(2), 2 * x.size(3), Resize::nearest); }
Tensor pool2(const Tensor& x) { return avg_pool2d(x, Pool2dOptions::square(2, 2)); }

using Norm = conditioning::MaybeConditionalNorm<blocks::Norm>;

struct UpBlock {
  Norm norm1, norm2;
  Conv2d conv1, conv2, shortcut;
};

// A residual block at constant resolution and width: h + conv2(act(norm2(conv1(act(norm1 h))))),
// norm1 in the generator only (the critic's block starts with a bare ReLU).
struct ConstantBlock {
  Norm norm1, norm2;
  Conv2d conv1, conv2;
};

struct DownBlock {
  Conv2d conv1, conv2, shortcut;
  bool first = false, pool = false, has_shortcut = false;  // first: no ReLU before conv1
  Shape input;                                             // per sample
};

class ResNet : public conditioning::LabelledNetwork {
 public:
  struct Options {
    int64_t width, depth, downsample, blocks_per_stage;
    std::string normalization, init;
    conditioning::Options cond;
    virtual_batch::Options virtual_batch;
    static void declare(Declare<Options>& d) {
      d(&Options::width, param::integer("width", 128, "channels of every block").at_least(1));
      d(&Options::depth,
        param::integer("depth", 3, "residual blocks (generator: each doubles the resolution)")
            .range(1, 6));
      d(&Options::blocks_per_stage,
        param::integer("blocks_per_stage", 1,
                       "residual blocks per resolution: each up/down block is followed by "
                       "blocks_per_stage − 1 constant-resolution blocks with identity shortcuts "
                       "(the deep variant: depth·blocks_per_stage blocks in all)")
            .range(1, 32)
            .added_later());
      d(&Options::downsample,
        param::integer("downsample", 2,
                       "critic: how many of the first blocks halve the resolution (2×2 average "
                       "pooling)")
            .at_least(0));
      d(&Options::normalization,
        param::choice(
            "normalization", "default", {"default", "batch", "layer", "virtual_batch", "none"},
            "per-block normalisation; default: batch for the generator, none for the critic; "
            "virtual_batch: the generator's virtual batch norm (Salimans et al. 2016)"));
      d(&Options::init,
        param::choice("init", "pytorch", init_kinds(), "weight initialiser (layers.hpp)"));
      d.nested(&Options::cond);
      d.nested(&Options::virtual_batch);
      d.check([](const Options& o) {
        return conditioning::batch_norm_misfit(o.cond, o.normalization, {"default", "batch"});
      });
    }
  };
  ResNet(const Options& o, const NetworkSpec& spec)
      : LabelledNetwork(o.cond, spec, "resnet"), generator_(spec.role == Role::generator) {
    const int64_t k = cond_.concat() ? classes_ : 0;  // label maps beside each conv's input
    const Shape& image = generator_ ? spec.output_shape : spec.input_shape;
    if (image.size() != 3 || image[1] != image[2])
      throw Error(
          fmt::format("resnet: images must be [C, S, S]; the data set gives {}", shape_str(image)));
    const int64_t c = image[0], size = image[1], width = o.width, depth = o.depth;
    const int64_t extra = o.blocks_per_stage - 1;  // constant-resolution blocks after each
    width_ = width;
    norm_ = o.normalization;
    if (norm_ == "default") norm_ = generator_ ? "batch" : "none";
    Rng& rng = *spec.init_rng;
    const Init init{o.init, 1.0f, 0.02f};
    const Conv2dOptions same = Conv2dOptions::square(1, 1), point{};
    if (norm_ == "virtual_batch") use_reference(o.virtual_batch, spec);
    // a block's normalisation: conditional batch norm with condition: batch_norm
    auto norm = [&](const std::string& name, const Shape& per_sample) -> Norm {
      if (cond_.batch_norm())
        return conditioning::ConditionalBatchNorm(*this, name, per_sample[0], classes_);
      return blocks::Norm(*this, norm_, name, per_sample, rng, false, reference_.rows());
    };
    // the `extra` constant-resolution blocks after block `name`, at side × side
    auto constant_blocks = [&](const std::string& name, int64_t side) {
      std::vector<ConstantBlock> blocks(extra);
      for (int64_t j = 0; j < extra; ++j) {
        const std::string at = fmt::format("{}.res{}", name, j + 1);
        ConstantBlock& b = blocks[j];
        if (generator_) b.norm1 = norm(at + ".norm1", {width, side, side});
        b.conv1 = Conv2d(*this, at + ".conv1", width + k, width, 3, same, true, init, rng);
        b.norm2 = norm(at + (generator_ ? ".norm2" : ".norm"), {width, side, side});
        b.conv2 = Conv2d(*this, at + ".conv2", width + k, width, 3, same, true, init, rng);
      }
      return blocks;
    };
    if (generator_) {
      if (size % (int64_t{1} << depth) != 0 || (size >> depth) < 2)
        throw Error(
            fmt::format("resnet: a generator of depth {} doubles {} times, which cannot "
                        "reach {} px from a start of at least 2 px",
                        depth, depth, size));
      start_ = size >> depth;
      fc_ = Linear(*this, "fc", shape_numel(spec.input_shape) + k, width * start_ * start_, true,
                   init, rng);
      int64_t side = start_;
      for (int64_t i = 0; i < depth; ++i) {
        const std::string name = fmt::format("up{}", i + 1);
        UpBlock b;
        b.norm1 = norm(name + ".norm1", {width, side, side});
        side *= 2;
        b.conv1 = Conv2d(*this, name + ".conv1", width + k, width, 3, same, true, init, rng);
        b.norm2 = norm(name + ".norm2", {width, side, side});
        b.conv2 = Conv2d(*this, name + ".conv2", width + k, width, 3, same, true, init, rng);
        b.shortcut = Conv2d(*this, name + ".shortcut", width + k, width, 1, point, true, init, rng);
        up_.push_back(std::move(b));
        up_extra_.push_back(constant_blocks(name, side));
      }
      out_norm_ = norm("out.norm", {width, size, size});
      out_ = Conv2d(*this, "out.conv", width + k, c, 3, same, true, init, rng);
    } else {
      int64_t channels = c, side = size;
      const int64_t pools = o.downsample;
      if (pools > depth || (size >> pools) < 1 || size % (int64_t{1} << pools) != 0)
        throw Error(
            fmt::format("resnet: cannot halve {} px {} times in {} blocks", size, pools, depth));
      for (int64_t i = 0; i < depth; ++i) {
        const std::string name = fmt::format("down{}", i + 1);
        DownBlock b;
        b.first = i == 0;
        b.pool = i < pools;
        b.input = {channels, side, side};
        b.has_shortcut = b.pool || channels != width;
        b.conv1 = Conv2d(*this, name + ".conv1", channels + k, width, 3, same, true, init, rng);
        b.conv2 = Conv2d(*this, name + ".conv2", width + k, width, 3, same, true, init, rng);
        if (b.has_shortcut)
          b.shortcut =
              Conv2d(*this, name + ".shortcut", channels + k, width, 1, point, true, init, rng);
        down_norms_.push_back(norm(name + ".norm", Shape{width, side, side}));
        down_.push_back(std::move(b));
        channels = width;
        if (i < pools) side /= 2;
        down_extra_.push_back(constant_blocks(name, side));
      }
      fc_ = Linear(*this, "fc", width + k, shape_numel(spec.output_shape), true, init, rng);
      if (cond_.projection() || cond_.auxiliary())
        head_ = conditioning::CriticHead(*this, cond_, width, classes_, init, rng);
    }
  }

  bool batch_independent() const override {
    return norm_ != "batch" && !(generator_ && cond_.batch_norm());
  }

  /// Critic without normalisation: L ≤ ∏_blocks (‖shortcut‖ + ‖conv1‖·‖pool∘conv2‖) · ‖fc∘Σ‖,
  /// with ReLU 1-Lipschitz, the shortcut's pooling folded into its operator (an identity
  /// shortcut has norm 1), and the spatial sum folded into the last linear map; each
  /// constant-resolution block adds a factor 1 + ‖conv1‖·‖conv2‖.
  std::optional<double> lipschitz_upper_bound(const OperatorNorm& norm) override {
    if (generator_ || norm_ != "none" || label_classes() > 0) return std::nullopt;
    double bound = 1;
    int64_t side = 0;
    for (size_t i = 0; i < down_.size(); ++i) {
      const DownBlock& b = down_[i];
      const std::string name = fmt::format("down{}", i + 1);
      side = b.input[1];
      const LinearOperator c2 = b.conv2.as_operator(name + ".conv2", {width_, side, side});
      const bool pool = b.pool;
      double skip = 1;
      if (b.has_shortcut) {
        const LinearOperator s = b.shortcut.as_operator(name + ".shortcut", b.input);
        skip = norm({s.name, b.input,
                     [s, pool](const Tensor& v) { return pool ? pool2(s.apply(v)) : s.apply(v); }});
      }
      bound *= skip + norm(b.conv1.as_operator(name + ".conv1", b.input)) *
                          norm({c2.name, c2.input_shape, [c2, pool](const Tensor& v) {
                                  return pool ? pool2(c2.apply(v)) : c2.apply(v);
                                }});
      if (pool) side /= 2;
      for (size_t j = 0; j < down_extra_[i].size(); ++j) {
        const ConstantBlock& e = down_extra_[i][j];
        const std::string at = fmt::format("{}.res{}", name, j + 1);
        const Shape in{width_, side, side};
        bound *= 1 + norm(e.conv1.as_operator(at + ".conv1", in)) *
                         norm(e.conv2.as_operator(at + ".conv2", in));
      }
    }
    const LinearOperator fc = fc_.as_operator("fc");
    return bound * norm({"fc", {width_, side, side}, [fc](const Tensor& v) {
                           return fc.apply(sum(v, {2, 3}));
                         }});
  }

 private:
  // The output and, for the critic, φ(x) = Σ_spatial ReLU(h); y: one-hot or undefined.
  std::pair<Tensor, Tensor> run(const Tensor& x, const Tensor& y) override {
    using conditioning::with_label;
    const int64_t n = x.size(0);
    const Tensor beside = cond_.concat() ? y : Tensor();
    if (generator_) {
      Tensor h = reshape(fc_(with_label(reshape(x, {n, -1}), beside)), {n, -1, start_, start_});
      for (size_t i = 0; i < up_.size(); ++i) {
        UpBlock& b = up_[i];
        Tensor branch = b.conv1(with_label(up2(relu(b.norm1(h, y))), beside));
        branch = b.conv2(with_label(relu(b.norm2(branch, y)), beside));
        h = add(b.shortcut(with_label(up2(h), beside)), branch);
        for (ConstantBlock& e : up_extra_[i]) {
          Tensor r = e.conv1(with_label(relu(e.norm1(h, y)), beside));
          h = add(h, e.conv2(with_label(relu(e.norm2(r, y)), beside)));
        }
      }
      return {kant::tanh(out_(with_label(relu(out_norm_(h, y)), beside))), Tensor()};
    }
    Tensor h = x;
    for (size_t i = 0; i < down_.size(); ++i) {
      const DownBlock& b = down_[i];
      Tensor branch = b.conv1(with_label(b.first ? h : relu(h), beside));
      branch = b.conv2(with_label(relu(down_norms_[i](branch, y)), beside));
      if (b.pool) branch = pool2(branch);
      Tensor skip = h;
      if (b.has_shortcut) {
        Tensor s = b.shortcut(with_label(h, beside));
        skip = b.pool ? pool2(s) : s;
      }
      h = add(skip, branch);
      for (ConstantBlock& e : down_extra_[i]) {
        Tensor r = e.conv1(with_label(relu(h), beside));
        h = add(h, e.conv2(with_label(relu(e.norm2(r, y)), beside)));
      }
      h = record_block("down", i + 1, h);
    }
    Tensor features = sum(relu(h), {2, 3});
    Tensor score = fc_(with_label(features, beside));
    if (cond_.projection()) score = head_.score(score, features, y);
    return {score, features};
  }

  bool generator_;
  std::string norm_;
  int64_t width_ = 0;
  int64_t start_ = 4;
  Linear fc_;
  std::vector<UpBlock> up_;
  Norm out_norm_;
  Conv2d out_;
  std::vector<DownBlock> down_;
  std::vector<Norm> down_norms_;
  std::vector<std::vector<ConstantBlock>> up_extra_,
      down_extra_;  // per stage, blocks_per_stage − 1
};

}  // namespace

KANT_COMPONENT(ResNet, "resnet", "1.2.0",
               "residual generator/critic for [C, S, S] images (WGAN-GP / SNGAN CIFAR style)")
