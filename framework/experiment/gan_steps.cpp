// The GAN's critic, generator and simultaneous steps (see gan_steps.hpp).
#include "experiment/gan_steps.hpp"

#include <cmath>

#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"

namespace kant {

bool GanSteps::step(int64_t step) {
  if (s_.train.simultaneous) return simultaneous_step();
  const int64_t n_critic = critic_steps(step);
  for (int64_t k = 0; k < n_critic; ++k)
    if (!critic_step()) return false;
  return generator_step();
}

int64_t GanSteps::critic_steps(int64_t step) const {
  if (s_.train.wgan_critic_schedule && (step <= 25 || step % 500 == 0)) return 100;
  return s_.train.n_critic;
}

bool GanSteps::finite(double value, const char* what) {
  if (std::isfinite(value)) return true;
  diverged_ = fmt::format("{} became {}", what, value);
  return false;
}

std::pair<Tensor, Tensor> GanSteps::critic_on(const Tensor& real, const Tensor& fake) {
  Network& critic = *s_.critic;
  if (!critic.batch_independent() || real.shape() != fake.shape())
    return {critic.forward(real), critic.forward(fake)};
  const int64_t n = real.size(0);
  Tensor d = critic.forward(concat({real, fake}, 0));
  return {slice(d, 0, 0, n), slice(d, 0, n, 2 * n)};
}

bool GanSteps::critic_gradient(const Tensor& real, const Tensor& fake, const Tensor& d_real,
                               const Tensor& d_fake, std::vector<Tensor>& grads) {
  Tensor loss = s_.objective->critic_loss(d_real, d_fake);
  Tensor penalty = s_.lipschitz->penalty(CriticBatch{*s_.critic, real, fake, s_.penalty_rng});
  std::vector<Tensor> g = grad({penalty.defined() ? add(loss, penalty) : loss}, s_.critic_params);
  losses_.critic = loss.item();
  losses_.penalty = penalty.defined() ? penalty.item() : 0.0;
  losses_.divergence_estimate = s_.objective->divergence_estimate(d_real, d_fake);
  if (!finite(losses_.critic, "the critic loss") || !finite(losses_.penalty, "the Lipschitz penalty"))
    return false;
  grads = std::move(g);
  return true;
}

bool GanSteps::critic_step() {
  s_.lipschitz->before_critic_step(*s_.critic);
  Tensor real = s_.dataset->sample(s_.train.batch_size, s_.data_rng);
  Tensor fake;
  {
    NoGradGuard no_grad;
    fake = s_.generator->forward(s_.noise(s_.noise_rng, s_.train.batch_size));
  }
  auto [d_real, d_fake] = critic_on(real, fake);
  std::vector<Tensor> grads;
  if (!critic_gradient(real, fake, d_real, d_fake, grads)) return false;
  s_.critic_optimizer->step(s_.critic_params, grads);
  s_.lipschitz->after_critic_step(*s_.critic);
  return true;
}

bool GanSteps::generator_step() {
  Tensor fake = s_.generator->forward(s_.noise(s_.noise_rng, s_.train.batch_size));
  Tensor real = s_.objective->generator_needs_real()
                    ? s_.dataset->sample(s_.train.batch_size, s_.data_rng)
                    : Tensor();
  Tensor loss = generator_loss(fake, real);
  std::vector<Tensor> grads = grad({loss}, s_.generator_params);
  losses_.generator = loss.item();
  if (!finite(losses_.generator, "the generator loss")) return false;
  s_.generator_optimizer->step(s_.generator_params, grads);
  return true;
}

bool GanSteps::simultaneous_step() {
  // both gradients at the same (θ, ψ), then both updates
  s_.lipschitz->before_critic_step(*s_.critic);
  Tensor real = s_.dataset->sample(s_.train.batch_size, s_.data_rng);
  Tensor fake = s_.generator->forward(s_.noise(s_.noise_rng, s_.train.batch_size));
  Tensor d_real = s_.critic->forward(real);
  Tensor d_fake = s_.critic->forward(fake);
  // d_fake serves both losses: the critic's gradient stops at the critic's parameters
  std::vector<Tensor> critic_grads;
  if (!critic_gradient(real, fake.detach(), d_real, d_fake, critic_grads)) return false;
  Tensor loss = s_.objective->generator_loss(
      s_.objective->generator_needs_real() ? d_real : Tensor(), d_fake);
  std::vector<Tensor> generator_grads = grad({loss}, s_.generator_params);
  losses_.generator = loss.item();
  if (!finite(losses_.generator, "the generator loss")) return false;
  s_.critic_optimizer->step(s_.critic_params, critic_grads);
  s_.lipschitz->after_critic_step(*s_.critic);
  s_.generator_optimizer->step(s_.generator_params, generator_grads);
  return true;
}

Tensor GanSteps::generator_loss(const Tensor& fake, const Tensor& real) {
  Network& critic = *s_.critic;
  const std::vector<Tensor>& params = s_.critic_params;
  std::vector<Tensor> theta = params;  // the unrolled critic's weights: alive until the loss
  if (s_.train.unrolled_steps > 0) {
    auto substitute = [&](const std::string& name, const Tensor& w) {
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i].impl() == w.impl())
          return s_.lipschitz_transform ? s_.lipschitz_transform(name, theta[i]) : theta[i];
      return w;
    };
    critic.set_parameter_transform(substitute);
    for (int64_t k = 0; k < s_.train.unrolled_steps; ++k) {
      Tensor loss = s_.objective->critic_loss(
          critic.forward(s_.dataset->sample(s_.train.batch_size, s_.data_rng)), critic.forward(fake));
      std::vector<Tensor> g = grad({loss}, theta, {}, /*create_graph=*/true);
      for (size_t i = 0; i < theta.size(); ++i)
        theta[i] = sub(theta[i], g[i] * static_cast<float>(s_.train.unrolled_lr));
    }
  }
  Tensor d_real = s_.objective->generator_needs_real() ? critic.forward(real) : Tensor();
  Tensor loss = s_.objective->generator_loss(d_real, critic.forward(fake));
  critic.set_parameter_transform(s_.lipschitz_transform);
  return loss;
}

}  // namespace kant
