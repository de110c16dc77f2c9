// Architecture `mlp`: fully connected network (flattened input → hidden layers → output).
//
// Hidden layer i computes h_{i+1} = act(norm(h_i W_iᵀ + b_i)); the last layer uses the output
// activation and no normalisation. With maxout (Goodfellow et al. 2013) a hidden layer has
// width·k units and keeps the max of each run of k — PacGAN's critic is 3 × 200 units × 5
// pieces (Lin et al. 2018). group_sort sorts consecutive groups of units (Anil et al. 2019).
// Parameters are named layers.<i>.weight [out, in] and layers.<i>.bias [out]; normalisation
// layers.<i>.norm.*.
//
// Conditioning on a label y (one-hot [N, K], condition.hpp): concat feeds [h_i, y] to every
// linear layer (the input's too); batch_norm (generator) makes every hidden normalisation a
// conditional batch norm; projection (critic) adds yᵀVφ(x) and auxiliary (critic) K class
// logits, φ(x) being the last hidden layer's output (the flattened input without hidden layers).
// minibatch_kernels B (critic): minibatch discrimination (minibatch.hpp) appends B features
// o(x) to φ(x) before the last layer. normalization: virtual_batch (generator): virtual batch
// norm against a reference batch of `reference_batch` inputs (virtual_batch.hpp).
#include <fmt/format.h>

#include <cmath>

#include "blocks.hpp"
#include "condition.hpp"
#include "kant/error.hpp"
#include "kant/plugin.hpp"
#include "minibatch.hpp"
#include "virtual_batch.hpp"

namespace {
using namespace kant;

class Mlp : public conditioning::LabelledNetwork {
 public:
  struct Options {
    std::vector<int64_t> hidden;
    int64_t depth, width;
    std::string activation;
    float negative_slope;
    int64_t group_size, maxout_pieces;
    std::string normalization, output_activation, init;
    float init_std;
    bool hidden_bias;
    conditioning::Options cond;
    minibatch::Options minibatch;
    virtual_batch::Options virtual_batch;
    static void declare(Declare<Options>& d) {
      using blocks::Activation;
      d(&Options::hidden,
        param::integers("hidden", {512, 512, 512},
                        "widths of the hidden layers (may be empty: an affine map)")
            .at_least(1));
      d(&Options::depth,
        param::integer("depth", 0,
                       "number of hidden layers of `width` units; overrides `hidden` when > 0")
            .at_least(0));
      d(&Options::width, param::integer("width", 512, "hidden width when `depth` > 0").at_least(1));
      d(&Options::activation, param::choice("activation", "relu", Activation::names(),
                                            "activation after each hidden layer"));
      d(&Options::negative_slope,
        param::real("negative_slope", 0.2, "slope for x < 0 of leaky_relu").at_least(0));
      d(&Options::group_size,
        param::integer("group_size", 2, "group size of group_sort (2: MaxMin)").at_least(1));
      d(&Options::maxout_pieces,
        param::integer("maxout_pieces", 1,
                       "maxout pieces per hidden unit (1: no maxout; PacGAN's critic: 5)")
            .at_least(1));
      d(&Options::normalization,
        param::choice("normalization", "none", {"none", "batch", "layer", "virtual_batch"},
                      "normalisation after each hidden linear layer (virtual_batch: the "
                      "generator's virtual batch norm, Salimans et al. 2016)"));
      d(&Options::output_activation, param::choice("output_activation", "none", Activation::names(),
                                                   "activation of the output layer"));
      d(&Options::init,
        param::choice("init", "uniform_fan_in",
                      {"uniform_fan_in", "he_normal", "xavier_uniform", "normal"},
                      "weight initialisation: PyTorch's default U(±1/√fan_in), He "
                      "normal, Xavier uniform, or N(0, init_std²) (the last three with "
                      "zero bias)"));
      d(&Options::init_std,
        param::real("init_std", 0.02, "standard deviation of the `normal` initialisation")
            .at_least(0, true)
            .added_later());
      d(&Options::hidden_bias,
        param::boolean("hidden_bias", true,
                       "biases in the hidden layers (false: PacGAN's generator, Linear without "
                       "bias before batch norm)")
            .added_later());
      d.nested(&Options::cond);
      d.nested(&Options::minibatch);
      d.nested(&Options::virtual_batch);
      d.check([](const Options& o) {
        return conditioning::batch_norm_misfit(o.cond, o.normalization, {"none", "batch"});
      });
    }
  };
  Mlp(const Options& o, const NetworkSpec& spec)
      : LabelledNetwork(o.cond, spec, "mlp"),
        activation_(o.activation, o.negative_slope, o.group_size),
        output_activation_(o.output_activation, o.negative_slope),
        pieces_(o.maxout_pieces),
        norm_(o.normalization),
        output_shape_(spec.output_shape) {
    const int64_t label_width = cond_.concat() ? classes_ : 0;  // y beside each layer's input
    std::vector<int64_t> widths{shape_numel(spec.input_shape)};
    if (o.depth > 0)
      widths.insert(widths.end(), static_cast<size_t>(o.depth), o.width);
    else
      for (int64_t h : o.hidden) widths.push_back(h);
    widths.push_back(shape_numel(spec.output_shape));
    if (activation_.name() == "group_sort")
      for (size_t i = 1; i + 1 < widths.size(); ++i)
        if (widths[i] % o.group_size != 0)
          throw Error(fmt::format("mlp: hidden width {} is not a multiple of group_size {}",
                                  widths[i], o.group_size));
    const std::string& init = o.init;
    const bool hidden_bias = o.hidden_bias;
    if (norm_ == "virtual_batch") use_reference(o.virtual_batch, spec);
    for (size_t i = 0; i + 1 < widths.size(); ++i) {
      const bool hidden = i + 2 < widths.size();
      const int64_t in = widths[i] + label_width + (hidden ? 0 : o.minibatch.kernels),
                    out = hidden ? widths[i + 1] * pieces_ : widths[i + 1];
      Tensor w, b;
      if (init == "normal") {  // N(0, std²), zero bias (DCGAN, PacGAN: std 0.02)
        w = spec.init_rng->normal_tensor({out, in}, 0.0f, o.init_std);
        b = Tensor::zeros({out});
      } else if (init == "uniform_fan_in") {  // PyTorch's nn.Linear default: U(±1/√fan_in)
        const float bound = 1.0f / std::sqrt(static_cast<float>(in));
        w = spec.init_rng->uniform_tensor({out, in}, -bound, bound);
        b = spec.init_rng->uniform_tensor({out}, -bound, bound);
      } else if (init == "he_normal") {  // He et al. 2015: N(0, 2/fan_in), zero bias
        w = spec.init_rng->normal_tensor({out, in}, 0.0f, std::sqrt(2.0f / static_cast<float>(in)));
        b = Tensor::zeros({out});
      } else {  // xavier_uniform, Glorot & Bengio 2010: U(±√(6/(fan_in+fan_out))), zero bias
        const float bound = std::sqrt(6.0f / static_cast<float>(in + out));
        w = spec.init_rng->uniform_tensor({out, in}, -bound, bound);
        b = Tensor::zeros({out});
      }
      const size_t weight = register_parameter(fmt::format("layers.{}.weight", i), w);
      const bool bias = !hidden || hidden_bias;  // a bias before batch norm is redundant
      layers_.push_back(
          {weight, bias ? register_parameter(fmt::format("layers.{}.bias", i), b) : 0, in, bias});
      if (hidden) {
        const std::string name = fmt::format("layers.{}.norm", i);
        if (cond_.batch_norm())
          norms_.emplace_back(conditioning::ConditionalBatchNorm(*this, name, out, classes_));
        else
          norms_.emplace_back(blocks::Norm(*this, norm_, name, Shape{out}, *spec.init_rng, false,
                                           reference_.rows()));
      }
    }
    const Init head_init{init == "uniform_fan_in" ? "pytorch" : init, 1.0f, o.init_std};
    if (cond_.projection() || cond_.auxiliary())
      head_ = conditioning::CriticHead(*this, cond_, widths[widths.size() - 2], classes_, head_init,
                                       *spec.init_rng);
    if (o.minibatch.on())
      minibatch_ = minibatch::Layer(*this, o.minibatch, widths[widths.size() - 2], head_init,
                                    *spec.init_rng);
  }

  bool batch_independent() const override {
    return norm_ != "batch" && !cond_.batch_norm() && minibatch_.width() == 0;
  }

  /// ∏_i ‖W_i‖₂ · Lip(act)^hidden · Lip(output act); maxout is 1-Lipschitz in ‖·‖₂ (each
  /// output moves by at most the largest move among its pieces).
  std::optional<double> lipschitz_upper_bound(const OperatorNorm& norm) override {
    if (norm_ != "none" || label_classes() > 0 || minibatch_.width() > 0) return std::nullopt;
    double bound = output_activation_.lipschitz();
    for (size_t i = 0; i < layers_.size(); ++i) {
      const size_t w = layers_[i].weight;
      bound *=
          norm({fmt::format("layers.{}.weight", i), {layers_[i].in}, [this, w](const Tensor& v) {
                  return linear(v, use(w), Tensor());
                }});
      if (i + 1 < layers_.size()) bound *= activation_.lipschitz();
    }
    return bound;
  }

 private:
  // The output and φ(x), the last hidden layer's output; y (one-hot, or undefined) goes beside
  // every layer's input with concat, into the norms with batch_norm, into the projection.
  std::pair<Tensor, Tensor> run(const Tensor& x, const Tensor& y) override {
    const int64_t n = x.size(0);
    const Tensor beside = cond_.concat() ? y : Tensor();
    Tensor h = reshape(x, {n, -1}), features;
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (i + 1 == layers_.size()) h = minibatch_(features = h);
      h = linear(conditioning::with_label(h, beside), use(layers_[i].weight),
                 layers_[i].has_bias ? use(layers_[i].bias) : Tensor());
      if (i + 1 == layers_.size()) {
        h = output_activation_(h);
        break;
      }
      h = norms_[i](h, y);
      if (pieces_ > 1) h = maxout(h, pieces_);
      h = record_block("hidden", i + 1, activation_(h));
    }
    Shape out{n};
    out.insert(out.end(), output_shape_.begin(), output_shape_.end());
    h = reshape(h, out);
    if (cond_.projection()) h = head_.score(h, features, y);
    return {h, features};
  }

  struct Layer {
    size_t weight, bias;  // parameter indices, read through use()
    int64_t in;
    bool has_bias;
  };

  blocks::Activation activation_, output_activation_;
  int64_t pieces_;
  std::string norm_;
  Shape output_shape_;
  std::vector<Layer> layers_;
  std::vector<conditioning::MaybeConditionalNorm<blocks::Norm>> norms_;
  minibatch::Layer minibatch_;
};

}  // namespace

KANT_COMPONENT(Mlp, "mlp", "1.2.0",
               "fully connected network: flattened input → hidden layers → output")
