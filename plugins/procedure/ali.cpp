// Procedure `ali` (Dumoulin et al. 2017, Adversarially Learned Inference; Donahue et al. 2017,
// BiGAN): an encoder E: x → z beside the generator G: z → x, and a joint critic D(x, z) on the
// concatenated pair that tells data pairs (x, E(x)) from generated pairs (G(z), z):
//   critic            L_D  = L_obj(D(x, E(x)), D(G(z), z)) + penalty
//   generator+encoder L_GE = L_obj(D(G(z), z), D(x, E(x)))   (the critic's loss, labels swapped)
// where L_obj is the cell's objective's critic loss (with `nonsaturating` or `minimax`, the
// swapped loss is the papers' −log D(G(z), z) − log(1 − D(x, E(x)))). With `stochastic`, E
// outputs a mean and a log-variance and E(x) = μ + σ·ε (ALI); otherwise it is deterministic
// (BiGAN). Data are flattened: the critic is a vector network (e.g. mlp) on [x, z].
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"
#include "steps.hpp"

namespace {
using namespace kant;
using procedures::finite;

class Ali : public Procedure {
 public:
  explicit Ali(const Params& p) : stochastic_(p.boolean("stochastic")) {}

  std::vector<std::string> network_names() const override { return {"generator", "encoder", "critic"}; }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    const int64_t d = shape_numel(data);
    return {{"generator", Role::generator, {noise_dim}, data},
            {"encoder", Role::encoder, data, {stochastic_ ? 2 * noise_dim : noise_dim}},
            {"critic", Role::critic, {d + noise_dim}, {1}}};
  }

  void set_up(TrainingContext& ctx) override {
    if (ctx.train.simultaneous)
      throw Error("ali alternates critic and generator steps: train.updates: simultaneous is not supported");
    generator_ = &procedures::network(ctx, "generator");
    encoder_ = &procedures::network(ctx, "encoder");
    critic_ = &procedures::network(ctx, "critic");
    generator_optimizer_ = &ctx.optimizer("generator");
    encoder_optimizer_ = &ctx.optimizer("encoder");
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    encoder_params_ = encoder_->parameters();
    critic_params_ = critic_->parameters();
  }

  std::vector<std::string> loss_names() const override {
    return {"loss_critic", "penalty", "divergence_estimate", "loss_generator"};
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    if (!procedures::alternate(ctx.train, ctx.train.n_critic, [&] { return critic_step(ctx, out); },
                               [&] { return generator_step(ctx, out); }))
      return out;
    out.losses = {{"loss_critic", critic_loss_}, {"penalty", penalty_},
                  {"divergence_estimate", estimate_}, {"loss_generator", generator_loss_}};
    return out;
  }

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

 private:
  // E(x): the code, sampled by reparameterisation when the encoder is stochastic
  Tensor encode(TrainingContext& ctx, const Tensor& x) {
    Tensor h = encoder_->forward(x);
    if (!stochastic_) return h;
    const int64_t d = h.size(1) / 2;
    Tensor mu = slice(h, 1, 0, d), log_var = slice(h, 1, d, 2 * d);
    return add(mu, mul(exp(log_var * 0.5f), ctx.noise_rng.normal_tensor(mu.shape())));
  }

  // the data pair (x, E(x)) and the generated pair (G(z), z) of a fresh batch
  std::pair<Tensor, Tensor> pairs(TrainingContext& ctx) {
    Tensor x = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor z = ctx.noise(ctx.noise_rng, ctx.train.batch_size);
    return {losses::pair(x, encode(ctx, x)), losses::pair(generator_->forward(z), z)};
  }

  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor real, fake;
    {
      NoGradGuard no_grad;
      std::tie(real, fake) = pairs(ctx);
    }
    Tensor d_real = critic_->forward(real), d_fake = critic_->forward(fake);
    Tensor loss = ctx.objective->critic_loss(d_real, d_fake);
    Tensor penalty = ctx.lipschitz.penalty(CriticBatch{*critic_, real, fake, ctx.penalty_rng});
    std::vector<Tensor> grads = grad({penalty.defined() ? add(loss, penalty) : loss}, critic_params_);
    critic_loss_ = loss.item();
    penalty_ = penalty.defined() ? penalty.item() : 0.0;
    estimate_ = ctx.objective->divergence_estimate(d_real, d_fake);
    if (!finite(out, "the critic loss", critic_loss_) || !finite(out, "the Lipschitz penalty", penalty_))
      return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    auto [real, fake] = pairs(ctx);
    Tensor loss = ctx.objective->critic_loss(critic_->forward(fake), critic_->forward(real));  // swapped
    std::vector<Tensor> params = generator_params_;
    params.insert(params.end(), encoder_params_.begin(), encoder_params_.end());
    std::vector<Tensor> grads = grad({loss}, params);
    generator_loss_ = loss.item();
    if (!finite(out, "the generator and encoder loss", generator_loss_)) return false;
    const auto split = grads.begin() + static_cast<std::ptrdiff_t>(generator_params_.size());
    generator_optimizer_->step(generator_params_, std::vector<Tensor>(grads.begin(), split));
    encoder_optimizer_->step(encoder_params_, std::vector<Tensor>(split, grads.end()));
    return true;
  }

  bool stochastic_;
  Network *generator_ = nullptr, *encoder_ = nullptr, *critic_ = nullptr;
  Optimizer *generator_optimizer_ = nullptr, *encoder_optimizer_ = nullptr, *critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, encoder_params_, critic_params_;
  double critic_loss_ = 0, penalty_ = 0, estimate_ = 0, generator_loss_ = 0;
};

}  // namespace

KANT_PLUGIN("ali", "1.0.0") {
  registrar.add({"ali", "1.0.0",
                 "ALI / BiGAN (Dumoulin et al. 2017; Donahue et al. 2017): encoder E and a joint critic "
                 "D(x, z); L_D = L(D(x, E(x)), D(G(z), z)), L_GE = L with the labels swapped",
                 {param::boolean("stochastic", false,
                                 "encoder outputs mean and log-variance, E(x) = μ + σε (ALI); false: "
                                 "deterministic E(x) (BiGAN)")},
                 ProcedureFactory([](const Params& p) { return std::make_unique<Ali>(p); }),
       {
        stored::series("loss_critic", "L_D = L(D(x, E(x)), D(G(z), z)) of the last critic step, "
                                      "without penalty"),
        stored::series("penalty", "the Lipschitz penalty of that step (0 without one)"),
        stored::series("divergence_estimate", "the objective's divergence estimate at that step"),
        stored::series("loss_generator", "L_GE: the critic loss with the labels swapped, minimised"
                                         " by generator and encoder")}});
}
