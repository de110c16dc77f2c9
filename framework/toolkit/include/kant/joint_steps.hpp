// The iteration shared by the procedures with a joint critic (ALI/BiGAN and VEEGAN; see
// plugins/procedure/ali.cpp and veegan.cpp for their losses): a generator G: z → x, an inverse
// network that maps x back to z (ALI's encoder, VEEGAN's reconstructor) and a critic on
// concatenated pairs [x, z]. Alternating updates: the critic tells a data-side pair (x, inverse(x))
// from a generator-side pair (G(z), z); then one gradient of the procedure's loss updates G and the
// inverse network.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/procedure_steps.hpp"

namespace kant::procedures {

/// L, the procedure's declared losses (DeclareLosses), has at least loss_critic, penalty and
/// loss_generator; a subclass records any others in latest_. Options: alternation.
template <typename L>
class JointCritic : public WithLosses<L> {
 public:
  std::vector<std::string> network_names() const override {
    return {"generator", inverse_, "critic"};
  }

  void set_up(TrainingContext& ctx) override {
    generator_ = &network(ctx, "generator");
    inverse_network_ = &network(ctx, inverse_);
    critic_ = &network(ctx, "critic");
    generator_optimizer_ = &ctx.optimizer("generator");
    inverse_optimizer_ = &ctx.optimizer(inverse_);
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    inverse_params_ = inverse_network_->parameters();
    critic_params_ = critic_->parameters();
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    if (alternate(
            alternation_.generator_first(), alternation_.n_critic, alternation_.n_generator,
            [&] { return critic_step(ctx, out); }, [&] { return generator_step(ctx, out); }))
      out.losses = loss_values(latest_);
    return out;
  }

 protected:
  /// `critic` is what its papers call the critic, `inverse` the network that maps x to z.
  JointCritic(std::string critic, std::string inverse, const Alternation& alternation)
      : critic_word_(std::move(critic)), inverse_(std::move(inverse)), alternation_(alternation) {}

  /// The pairs the critic tells apart on a fresh batch: (data side, generator side).
  virtual std::pair<Tensor, Tensor> critic_pairs(TrainingContext& ctx) = 0;
  /// The critic's loss on them, its forward passes included.
  virtual Tensor critic_loss(TrainingContext& ctx, const Tensor& data_side,
                             const Tensor& generator_side) = 0;
  /// The loss that G and the inverse network minimise, on a fresh batch.
  virtual Tensor generator_loss(TrainingContext& ctx) = 0;

  Network *generator_ = nullptr, *inverse_network_ = nullptr, *critic_ = nullptr;
  using WithLosses<L>::latest_;

 private:
  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor data_side, generator_side;
    {
      NoGradGuard no_grad;
      std::tie(data_side, generator_side) = critic_pairs(ctx);
    }
    Tensor loss = critic_loss(ctx, data_side, generator_side);
    Tensor penalty =
        ctx.lipschitz.penalty(CriticBatch{*critic_, data_side, generator_side, ctx.penalty_rng});
    std::vector<Tensor> grads =
        grad({penalty.defined() ? add(loss, penalty) : loss}, critic_params_);
    const double critic_loss = latest_.loss_critic = loss.item();
    const double penalty_value = latest_.penalty = penalty.defined() ? penalty.item() : 0.0;
    if (!finite(out, "the " + critic_word_ + " loss", critic_loss) ||
        !finite(out, "the Lipschitz penalty", penalty_value))
      return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    Tensor loss = generator_loss(ctx);
    std::vector<Tensor> params = generator_params_;
    params.insert(params.end(), inverse_params_.begin(), inverse_params_.end());
    std::vector<Tensor> grads = grad({loss}, params);
    const double generator_loss = latest_.loss_generator = loss.item();
    if (!finite(out, "the generator and " + inverse_ + " loss", generator_loss)) return false;
    const auto split = grads.begin() + static_cast<std::ptrdiff_t>(generator_params_.size());
    generator_optimizer_->step(generator_params_, std::vector<Tensor>(grads.begin(), split));
    inverse_optimizer_->step(inverse_params_, std::vector<Tensor>(split, grads.end()));
    return true;
  }

  std::string critic_word_, inverse_;
  Alternation alternation_;
  Optimizer *generator_optimizer_ = nullptr, *inverse_optimizer_ = nullptr,
            *critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, inverse_params_, critic_params_;
};

}  // namespace kant::procedures
