// Shared by the architectures: how a network takes a class label y (one-hot rows [N, K]) —
// its `condition` option, y concatenated to a layer's input, conditional batch normalisation,
// the projection discriminator's inner product, AC-GAN's auxiliary classifier head, and the
// entry points of a network that takes labels (LabelledNetwork), which also put virtual batch
// normalisation's reference batch before every batch (virtual_batch.hpp).
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kant/components.hpp"
#include "kant/error.hpp"
#include "kant/layers.hpp"
#include "kant/options.hpp"
#include "virtual_batch.hpp"

namespace kant::conditioning {

/// The `condition` option every architecture declares; the label count comes from the data
/// set (NetworkSpec::classes), or from `classes` where given (then it must match).
///   none        unconditional
///   concat      y concatenated to the input and to every hidden layer's input (as K
///               constant feature maps beside image features; Mirza & Osindero 2014,
///               Kang et al. 2017)
///   batch_norm  generator: every normalisation a conditional batch norm (Dumoulin et al.
///               2017; de Vries et al. 2017)
///   projection  critic: D(x, y) = ψ(φ(x)) + yᵀVφ(x) (Miyato & Koyama 2018)
///   auxiliary   critic: an auxiliary head of K class logits on φ(x), whose cross-entropy both
///               networks minimise (AC-GAN, Odena et al. 2017); D(x) itself takes no label
struct Options {
  std::string condition;
  int64_t classes = 0;
  static void declare(Declare<Options>& d) {
    d(&Options::condition,
      param::choice("condition", "none",
                    {"none", "concat", "batch_norm", "projection", "auxiliary"},
                    "how the network takes the class label y: none; concat (one-hot y beside the "
                    "input and every hidden layer's input); batch_norm (generator: conditional "
                    "batch norm, per-class γ and β); projection (critic: + yᵀVφ(x), Miyato & "
                    "Koyama 2018); auxiliary (critic: AC-GAN's class head, Odena et al. 2017)")
          .added_later());
    d(&Options::classes,
      param::integer("classes", 0,
                     "label classes; 0: the data set's (any other value must equal it)")
          .at_least(0)
          .added_later());
  }
  bool any() const { return condition != "none"; }
  bool concat() const { return condition == "concat"; }
  bool batch_norm() const { return condition == "batch_norm"; }
  bool projection() const { return condition == "projection"; }
  bool auxiliary() const { return condition == "auxiliary"; }
};

/// The conditions a role takes: a generator none, concat, batch_norm; a critic none, concat,
/// projection, auxiliary. "" when `o` fits `role`, else why not.
inline std::string misfit(const Options& o, Role role) {
  if (role == Role::generator && (o.projection() || o.auxiliary()))
    return fmt::format("condition: {} is a critic's; a generator takes none, concat or batch_norm",
                       o.condition);
  if (role != Role::generator && o.batch_norm())
    return "condition: batch_norm is a generator's; a critic takes none, concat, projection or "
           "auxiliary";
  return "";
}

/// condition: batch_norm makes a network's normalisations conditional batch norms: "" when its
/// `normalization` is one of `fitting`, else why not (for the architecture's options check).
inline std::string batch_norm_misfit(const Options& o, const std::string& normalization,
                                     const std::vector<std::string>& fitting) {
  if (!o.batch_norm() || std::find(fitting.begin(), fitting.end(), normalization) != fitting.end())
    return "";
  return fmt::format(
      "condition: batch_norm makes the normalisations conditional batch norms, which "
      "normalization: {} contradicts (use {})",
      normalization, fmt::join(fitting, " or "));
}

/// The label count a conditional network is built for: the data set's, checked against an
/// explicit `classes`; 0 for an unconditional one.
inline int64_t classes_for(const Options& o, const NetworkSpec& spec, const char* architecture) {
  if (!o.any()) return 0;
  if (std::string why = misfit(o, spec.role); !why.empty())
    throw Error(fmt::format("{}: {}", architecture, why));
  if (spec.classes == 0)
    throw Error(fmt::format("{}: condition: {} needs labels, and the data set has none",
                            architecture, o.condition));
  if (o.classes != 0 && o.classes != spec.classes)
    throw Error(fmt::format("{}: classes: {} differs from the data set's {} label classes",
                            architecture, o.classes, spec.classes));
  return spec.classes;
}

/// h with the one-hot labels y [N, K] beside it: concatenated to a vector [N, C], or as K
/// constant maps [N, K, H, W] after the channels of a feature map [N, C, H, W]. h itself when
/// y is undefined (unconditional).
inline Tensor with_label(const Tensor& h, const Tensor& y) {
  if (!y.defined()) return h;
  if (h.dim() == 2) return concat({h, y}, 1);
  const int64_t n = h.size(0), k = y.size(1);
  return concat({h, broadcast_to(reshape(y, {n, k, 1, 1}), {n, k, h.size(2), h.size(3)})}, 1);
}

/// y's rows checked against a batch of n samples and K classes.
inline void check_labels(const Tensor& y, int64_t n, int64_t classes, const char* architecture) {
  if (y.dim() != 2 || y.size(0) != n || y.size(1) != classes)
    throw TensorError(fmt::format("{}: labels {} for a batch of {} with {} classes", architecture,
                                  shape_str(y.shape()), n, classes));
}

/// Conditional batch norm (Dumoulin et al. 2017; de Vries et al. 2017) over axis 1:
///   out = γ_y ⊙ (x − μ_B) / √(σ²_B + ε) + β_y,   γ_y = yΓ, β_y = yB
/// with per-class scales Γ = <name>.gamma [K, C] (init 1) and shifts B = <name>.beta [K, C]
/// (init 0); the normalisation itself is batch_norm with γ = 1, β = 0 and running statistics
/// <name>.running_mean, .running_var (evaluation mode uses them, as BatchNorm).
class ConditionalBatchNorm {
 public:
  ConditionalBatchNorm() = default;
  ConditionalBatchNorm(Module& owner, const std::string& name, int64_t channels, int64_t classes,
                       float momentum = 0.1f, float eps = 1e-5f)
      : owner_(&owner), channels_(channels), momentum_(momentum), eps_(eps) {
    gamma_ = owner.register_parameter(name + ".gamma", Tensor::ones({classes, channels}));
    beta_ = owner.register_parameter(name + ".beta", Tensor::zeros({classes, channels}));
    running_mean_ = owner.register_buffer(name + ".running_mean", Tensor::zeros({channels}));
    running_var_ = owner.register_buffer(name + ".running_var", Tensor::ones({channels}));
    one_ = Tensor::ones({channels});
    zero_ = Tensor::zeros({channels});
  }
  Tensor operator()(const Tensor& x, const Tensor& y) {
    Tensor normalised = batch_norm(x, one_, zero_, running_mean_, running_var_, owner_->training(),
                                   momentum_, eps_);
    Shape per_class{x.size(0), channels_};
    for (int64_t a = 2; a < x.dim(); ++a) per_class.push_back(1);
    Tensor gamma = reshape(matmul(y, owner_->use(gamma_)), per_class);
    Tensor beta = reshape(matmul(y, owner_->use(beta_)), per_class);
    return add(mul(normalised, gamma), beta);
  }

 private:
  const Module* owner_ = nullptr;
  int64_t channels_ = 0;
  size_t gamma_ = 0, beta_ = 0;
  Tensor running_mean_, running_var_, one_, zero_;
  float momentum_ = 0.1f, eps_ = 1e-5f;
};

/// A block's normalisation: the architecture's own (blocks::Norm) or, with condition:
/// batch_norm, a conditional batch norm over the same channels.
template <typename Norm>
class MaybeConditionalNorm {
 public:
  MaybeConditionalNorm() = default;
  MaybeConditionalNorm(Norm plain) : plain_(std::move(plain)) {}
  MaybeConditionalNorm(ConditionalBatchNorm c)
      : conditional_(std::move(c)), is_conditional_(true) {}
  Tensor operator()(const Tensor& x, const Tensor& y) {
    return is_conditional_ ? conditional_(x, y) : plain_(x);
  }

 private:
  Norm plain_;
  ConditionalBatchNorm conditional_;
  bool is_conditional_ = false;
};

/// The critic's label terms on its features φ(x) [N, F]: the projection yᵀVφ(x) with
/// V = projection.weight [K, F] (N(0, 0.02²)... initialised as the network's layers), and AC-GAN's
/// head auxiliary.weight [K, F], auxiliary.bias [K] (logits = φ(x)Wᵀ + b).
class CriticHead {
 public:
  CriticHead() = default;
  CriticHead(Module& owner, const Options& o, int64_t features, int64_t classes, const Init& init,
             Rng& rng)
      : owner_(&owner) {
    if (o.projection())
      projection_ =
          owner.register_parameter("projection.weight", initialise({classes, features}, init, rng));
    if (o.auxiliary()) auxiliary_ = Linear(owner, "auxiliary", features, classes, true, init, rng);
    projection_on_ = o.projection();
  }
  /// score + yᵀVφ (projection), or the score alone.
  Tensor score(const Tensor& score, const Tensor& features, const Tensor& y) const {
    if (!projection_on_) return score;
    return add(score, sum(mul(features, matmul(y, owner_->use(projection_))), {1}, true));
  }
  /// The auxiliary classifier's logits [N, K].
  Tensor logits(const Tensor& features) const { return auxiliary_(features); }

 private:
  const Module* owner_ = nullptr;
  size_t projection_ = 0;
  bool projection_on_ = false;
  Linear auxiliary_;
};

/// The Network side every conditional architecture shares: `condition` and the label count,
/// the critic's head, and the entry points, each a call of the architecture's run(x, y), which
/// returns the output and φ(x) (the critic's features before its last Linear) for one-hot labels
/// y (undefined: none). forward() refuses a network that needs labels; with `auxiliary`, the
/// score takes no label and forward_auxiliary() adds the head's logits. With a virtual batch
/// reference (use_reference()), every call runs [reference; x] and returns the rows of x.
class LabelledNetwork : public Network {
 public:
  LabelledNetwork(const Options& o, const NetworkSpec& spec, const char* architecture)
      : cond_(o), classes_(classes_for(o, spec, architecture)), architecture_(architecture) {}

  Tensor forward(const Tensor& x) override {
    if (label_classes() > 0)
      throw Error(fmt::format("{}: condition: {} needs each sample's label", architecture_,
                              cond_.condition));
    return call(x, Tensor()).first;
  }
  int64_t label_classes() const override { return cond_.auxiliary() ? 0 : classes_; }
  Tensor forward_conditional(const Tensor& x, const Tensor& y) override {
    if (label_classes() == 0) return Network::forward_conditional(x, y);
    check_labels(y, x.size(0), classes_, architecture_);
    return call(x, y).first;
  }
  int64_t auxiliary_classes() const override { return cond_.auxiliary() ? classes_ : 0; }
  std::pair<Tensor, Tensor> forward_auxiliary(const Tensor& x) override {
    if (!cond_.auxiliary()) return Network::forward_auxiliary(x);
    auto [score, features] = call(x, Tensor());
    return {score, head_.logits(features)};
  }

 protected:
  virtual std::pair<Tensor, Tensor> run(const Tensor& x, const Tensor& y) = 0;

  /// Virtual batch normalisation: a reference batch of R = o.rows inputs (a generator's only).
  void use_reference(const virtual_batch::Options& o, const NetworkSpec& spec) {
    if (spec.role != Role::generator)
      throw Error(
          fmt::format("{}: normalization: virtual_batch is a generator's (its reference "
                      "batch is a batch of noise)",
                      architecture_));
    reference_ = virtual_batch::Reference(*this, o, spec.input_shape, label_classes());
  }

  Options cond_;
  int64_t classes_;
  CriticHead head_;  ///< built by a critic with condition projection or auxiliary
  virtual_batch::Reference reference_;

 private:
  std::pair<Tensor, Tensor> call(const Tensor& x, const Tensor& y) {
    if (reference_.rows() == 0) return run(x, y);
    auto [xs, ys] = reference_.prepend(x, y);
    auto [out, features] = run(xs, ys);
    return {reference_.strip(out), reference_.strip(features)};
  }

  const char* architecture_;
};

}  // namespace kant::conditioning
