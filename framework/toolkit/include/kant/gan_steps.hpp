// The GAN's iteration (see plugins/procedure/gan.cpp for its formulas) and its settings, for
// the procedures built on it: `gan` itself, `critic_only` (a critic trained against a frozen or
// fixed generator), and procedures outside the tree.
#pragma once
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/procedure_steps.hpp"

namespace kant::procedures {

/// How the GAN steps its two networks; the names and defaults of the `train` keys that held
/// them before procedures owned their settings.
struct GanSettings {
  int64_t n_critic, n_generator;
  std::string updates, order;
  bool wgan_critic_schedule;
  int64_t unrolled_steps;
  Real unrolled_lr;  // may follow a schedule

  bool simultaneous() const { return updates == "simultaneous" || order == "simultaneous"; }
  bool generator_first() const { return order == "generator_first"; }

  static void declare(Declare<GanSettings>& d) {
    d(&GanSettings::n_critic, n_critic_param());
    d(&GanSettings::n_generator, n_generator_param());
    d(&GanSettings::updates,
      param::choice("updates", "alternating", {"alternating", "simultaneous"},
                    "alternating: n_critic critic steps, then a generator step on the updated "
                    "critic; simultaneous: both gradients at the same point, applied together"));
    d(&GanSettings::order, order_param(true));
    d(&GanSettings::wgan_critic_schedule,
      param::boolean("wgan_critic_schedule", false,
                     "WGAN's schedule: 100 critic steps for the first 25 generator steps and "
                     "every 500th (Arjovsky et al. 2017, reference code)"));
    d(&GanSettings::unrolled_steps,
      param::integer("unrolled_steps", 0,
                     "critic SGD steps the generator loss is "
                     "differentiated through (Metz et al. 2017; 0: none)")
          .at_least(0));
    d(&GanSettings::unrolled_lr,
      param::real("unrolled_lr", 1e-4, "step size of the unrolled critic steps").at_least(0));
    d.check([](const GanSettings& s) -> std::string {
      if (s.order == "generator_first" && s.updates == "simultaneous")
        return "order: generator_first contradicts updates: simultaneous";
      if (s.simultaneous() &&
          (s.n_critic != 1 || s.n_generator != 1 || s.wgan_critic_schedule || s.unrolled_steps > 0))
        return "simultaneous updates take one critic and one generator step at a time: "
               "n_critic and n_generator must be 1, without wgan_critic_schedule or "
               "unrolled_steps";
      return "";
    });
  }
};

/// What a GAN step records, each loss declared once.
struct GanLosses {
  double loss_critic = 0, penalty = 0, divergence_estimate = 0, loss_generator = 0;
  static void declare(DeclareLosses<GanLosses>& d) {
    d(&GanLosses::loss_critic, "loss_critic",
      "the critic loss L_D(D(x), D(G(z))) of the last critic step of each generator step, "
      "without penalty");
    d(&GanLosses::penalty, "penalty", "the Lipschitz penalty of that step (0 without one)");
    d(&GanLosses::divergence_estimate, "divergence_estimate",
      "the objective's divergence estimate at that step (W₁ for wasserstein, JSD for the GAN "
      "losses)");
    d(&GanLosses::loss_generator, "loss_generator", "the generator loss L_G(D(G(z)))");
  }
};

/// A generator against a critic, stepped as GanSettings say. Subclasses may replace step()
/// and reuse the critic and generator steps.
class Gan : public WithLosses<GanLosses> {
 public:
  struct Options {
    GanSettings settings;
    static void declare(Declare<Options>& d) { d.nested(&Options::settings); }
  };
  explicit Gan(const GanSettings& settings) : settings_(settings) {}
  explicit Gan(const Options& o) : Gan(o.settings) {}

  std::vector<std::string> network_names() const override { return {"generator", "critic"}; }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    return {{"generator", Role::generator, {noise_dim}, data}, {"critic", Role::critic, data, {1}}};
  }

  void set_up(TrainingContext& ctx) override {
    generator_ = &network(ctx, "generator");
    critic_ = &network(ctx, "critic");
    generator_optimizer_ = &ctx.optimizer("generator");
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    critic_params_ = critic_->parameters();
  }

  StepOutcome step(TrainingContext& ctx, int64_t step) override {
    StepOutcome out;
    bool ok =
        settings_.simultaneous() ? simultaneous_step(ctx, out) : alternating_step(ctx, step, out);
    if (ok) out.losses = loss_values(latest_);
    return out;
  }

 protected:
  bool alternating_step(TrainingContext& ctx, int64_t step, StepOutcome& out) {
    const bool schedule = settings_.wgan_critic_schedule && (step <= 25 || step % 500 == 0);
    const int64_t n_critic = schedule ? 100 : settings_.n_critic;
    return alternate(
        settings_.generator_first(), n_critic, settings_.n_generator,
        [&] { return critic_step(ctx, out); }, [&] { return generator_step(ctx, out); });
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
    latest_.loss_critic = loss.item();
    latest_.penalty = penalty.defined() ? penalty.item() : 0.0;
    latest_.divergence_estimate = ctx.objective->divergence_estimate(d_real, d_fake);
    if (!finite(out, "the critic loss", latest_.loss_critic) ||
        !finite(out, "the Lipschitz penalty", latest_.penalty))
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
    latest_.loss_generator = loss.item();
    if (!finite(out, "the generator loss", latest_.loss_generator)) return false;
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
    latest_.loss_generator = loss.item();
    if (!finite(out, "the generator loss", latest_.loss_generator)) return false;
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
    if (settings_.unrolled_steps > 0) {
      auto substitute = [&](const std::string& name, const Tensor& w) {
        for (size_t i = 0; i < params.size(); ++i)
          if (params[i].impl() == w.impl())
            return ctx.lipschitz_transform ? ctx.lipschitz_transform(name, theta[i]) : theta[i];
        return w;
      };
      critic_->set_parameter_transform(substitute);
      for (int64_t k = 0; k < settings_.unrolled_steps; ++k) {
        Tensor loss = ctx.objective->critic_loss(
            critic_->forward(ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng)),
            critic_->forward(fake));
        std::vector<Tensor> g = grad({loss}, theta, {}, /*create_graph=*/true);
        const auto lr = static_cast<float>(settings_.unrolled_lr());
        for (size_t i = 0; i < theta.size(); ++i) theta[i] = sub(theta[i], g[i] * lr);
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
  GanSettings settings_;
};

}  // namespace kant::procedures
