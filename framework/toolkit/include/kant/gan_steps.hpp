// The GAN's iteration (see gan.cpp for its formulas), shared by the procedures built on it:
// `gan` itself and `critic_only` (a critic trained against a frozen or fixed generator).
#pragma once
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "steps.hpp"

namespace kant::procedures {

class Gan : public Procedure {
 public:
  std::vector<std::string> network_names() const override { return {"generator", "critic"}; }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    return {{"generator", Role::generator, {noise_dim}, data}, {"critic", Role::critic, data, {1}}};
  }

  void set_up(TrainingContext& ctx) override {
    generator_ = &procedures::network(ctx, "generator");
    critic_ = &procedures::network(ctx, "critic");
    generator_optimizer_ = &ctx.optimizer("generator");
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    critic_params_ = critic_->parameters();
  }

  std::vector<std::string> loss_names() const override {
    return {"loss_critic", "penalty", "divergence_estimate", "loss_generator"};
  }

  StepOutcome step(TrainingContext& ctx, int64_t step) override {
    StepOutcome out;
    bool ok =
        ctx.train.simultaneous ? simultaneous_step(ctx, out) : alternating_step(ctx, step, out);
    if (ok)
      out.losses = {{"loss_critic", critic_loss_},
                    {"penalty", penalty_},
                    {"divergence_estimate", estimate_},
                    {"loss_generator", generator_loss_}};
    return out;
  }

  // the latest losses carry over into the next iteration's record
  ComponentState state() const override {
    ComponentState s;
    procedures::put(s, "loss_critic", critic_loss_);
    procedures::put(s, "penalty", penalty_);
    procedures::put(s, "divergence_estimate", estimate_);
    procedures::put(s, "loss_generator", generator_loss_);
    return s;
  }
  void load_state(const ComponentState& s) override {
    critic_loss_ = procedures::get(s, "loss_critic");
    penalty_ = procedures::get(s, "penalty");
    estimate_ = procedures::get(s, "divergence_estimate");
    generator_loss_ = procedures::get(s, "loss_generator");
  }

 protected:
  bool alternating_step(TrainingContext& ctx, int64_t step, StepOutcome& out) {
    const bool schedule = ctx.train.wgan_critic_schedule && (step <= 25 || step % 500 == 0);
    const int64_t n_critic = schedule ? 100 : ctx.train.n_critic;
    return procedures::alternate(
        ctx.train, n_critic, [&] { return critic_step(ctx, out); },
        [&] { return generator_step(ctx, out); });
  }

  // D(real) and D(fake); one forward pass over both when the critic treats rows independently
  // (one GEMM per layer, forward and backward).
  std::pair<Tensor, Tensor> critic_on(const Tensor& real, const Tensor& fake) {
    if (!critic_->batch_independent() || real.shape() != fake.shape())
      return {critic_->forward(real), critic_->forward(fake)};
    const int64_t n = real.size(0);
    Tensor d = critic_->forward(concat({real, fake}, 0));
    return {slice(d, 0, 0, n), slice(d, 0, n, 2 * n)};
  }

  // The critic's loss and penalty at (real, fake) and their gradient in its parameters;
  // false on a non-finite value (nothing is applied then).
  bool critic_gradient(TrainingContext& ctx, const Tensor& real, const Tensor& fake,
                       const Tensor& d_real, const Tensor& d_fake, std::vector<Tensor>& grads,
                       StepOutcome& out) {
    Tensor loss = ctx.objective->critic_loss(d_real, d_fake);
    Tensor penalty = ctx.lipschitz.penalty(CriticBatch{*critic_, real, fake, ctx.penalty_rng});
    std::vector<Tensor> g = grad({penalty.defined() ? add(loss, penalty) : loss}, critic_params_);
    critic_loss_ = loss.item();
    penalty_ = penalty.defined() ? penalty.item() : 0.0;
    estimate_ = ctx.objective->divergence_estimate(d_real, d_fake);
    if (!finite(out, "the critic loss", critic_loss_) ||
        !finite(out, "the Lipschitz penalty", penalty_))
      return false;
    grads = std::move(g);
    return true;
  }

  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor real = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = generator_->forward(ctx.noise(ctx.noise_rng, ctx.train.batch_size));
    }
    auto [d_real, d_fake] = critic_on(real, fake);
    std::vector<Tensor> grads;
    if (!critic_gradient(ctx, real, fake, d_real, d_fake, grads, out)) return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    Tensor fake = generator_->forward(ctx.noise(ctx.noise_rng, ctx.train.batch_size));
    Tensor real = ctx.objective->generator_needs_real()
                      ? ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng)
                      : Tensor();
    Tensor loss = unrolled_generator_loss(ctx, fake, real);
    std::vector<Tensor> grads = grad({loss}, generator_params_);
    generator_loss_ = loss.item();
    if (!finite(out, "the generator loss", generator_loss_)) return false;
    generator_optimizer_->step(generator_params_, grads);
    return true;
  }

  bool simultaneous_step(TrainingContext& ctx, StepOutcome& out) {
    // both gradients at the same (θ, ψ), then both updates
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor real = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor fake = generator_->forward(ctx.noise(ctx.noise_rng, ctx.train.batch_size));
    Tensor d_real = critic_->forward(real);
    Tensor d_fake = critic_->forward(fake);
    // d_fake serves both losses: the critic's gradient stops at the critic's parameters
    std::vector<Tensor> critic_grads;
    if (!critic_gradient(ctx, real, fake.detach(), d_real, d_fake, critic_grads, out)) return false;
    Tensor loss = ctx.objective->generator_loss(
        ctx.objective->generator_needs_real() ? d_real : Tensor(), d_fake);
    std::vector<Tensor> generator_grads = grad({loss}, generator_params_);
    generator_loss_ = loss.item();
    if (!finite(out, "the generator loss", generator_loss_)) return false;
    critic_optimizer_->step(critic_params_, critic_grads);
    ctx.lipschitz.after_critic_step(*critic_);
    generator_optimizer_->step(generator_params_, generator_grads);
    return true;
  }

  // The generator's loss on `fake`; with unrolling, against the critic after k differentiable
  // SGD steps on the same fake batch (so that it sees how the critic would react).
  Tensor unrolled_generator_loss(TrainingContext& ctx, const Tensor& fake, const Tensor& real) {
    const std::vector<Tensor>& params = critic_params_;
    std::vector<Tensor> theta = params;  // the unrolled critic's weights: alive until the loss
    if (ctx.train.unrolled_steps > 0) {
      auto substitute = [&](const std::string& name, const Tensor& w) {
        for (size_t i = 0; i < params.size(); ++i)
          if (params[i].impl() == w.impl())
            return ctx.lipschitz_transform ? ctx.lipschitz_transform(name, theta[i]) : theta[i];
        return w;
      };
      critic_->set_parameter_transform(substitute);
      for (int64_t k = 0; k < ctx.train.unrolled_steps; ++k) {
        Tensor loss = ctx.objective->critic_loss(
            critic_->forward(ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng)),
            critic_->forward(fake));
        std::vector<Tensor> g = grad({loss}, theta, {}, /*create_graph=*/true);
        for (size_t i = 0; i < theta.size(); ++i)
          theta[i] = sub(theta[i], g[i] * static_cast<float>(ctx.train.unrolled_lr));
      }
    }
    Tensor d_real = ctx.objective->generator_needs_real() ? critic_->forward(real) : Tensor();
    Tensor loss = ctx.objective->generator_loss(d_real, critic_->forward(fake));
    critic_->set_parameter_transform(ctx.lipschitz_transform);
    return loss;
  }

  Network* generator_ = nullptr;
  Network* critic_ = nullptr;
  Optimizer* generator_optimizer_ = nullptr;
  Optimizer* critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, critic_params_;
  double critic_loss_ = 0, penalty_ = 0, estimate_ = 0, generator_loss_ = 0;
};

}  // namespace kant::procedures
