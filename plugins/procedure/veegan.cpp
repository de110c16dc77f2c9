// Procedure `veegan` (Srivastava et al. 2017, VEEGAN, eq. 8, as in the authors' notebook
// VEEGAN_2D_RING.ipynb): a reconstructor F: (x, ε) → z beside the generator, and a joint
// discriminator D(z, x) that estimates log q(z, x)/p(z, x) between generator pairs (z, G(z))
// (label 1) and reconstructor pairs (F(x), x) (label 0):
//   discriminator            L_D  = E[softplus(−D(z, G(z)))] + E[softplus(D(F(x), x))]
//   generator+reconstructor  L_GF = E[D(z, G(z))] + λ·E‖z − F(G(z))‖²
// ε ~ N(0, I) of `reconstructor_noise` dimensions is appended to F's input (the notebook: 1).
// Data are flattened: the critic is a vector network (e.g. mlp) on [x, z].
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"
#include "steps.hpp"

namespace {
using namespace kant;
using procedures::finite;

class Veegan : public Procedure {
 public:
  explicit Veegan(const Params& p)
      : lambda_(static_cast<float>(p.real("reconstruction_weight"))), eps_dim_(p.integer("reconstructor_noise")) {}

  std::vector<std::string> network_names() const override { return {"generator", "reconstructor", "critic"}; }
  bool uses_objective() const override { return false; }  // its loss is its own (above)

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    const int64_t d = shape_numel(data);
    return {{"generator", Role::generator, {noise_dim}, data},
            {"reconstructor", Role::encoder, {d + eps_dim_}, {noise_dim}},
            {"critic", Role::critic, {d + noise_dim}, {1}}};
  }

  void set_up(TrainingContext& ctx) override {
    if (ctx.train.simultaneous)
      throw Error("veegan alternates critic and generator steps: train.updates: simultaneous is not supported");
    generator_ = &procedures::network(ctx, "generator");
    reconstructor_ = &procedures::network(ctx, "reconstructor");
    critic_ = &procedures::network(ctx, "critic");
    generator_optimizer_ = &ctx.optimizer("generator");
    reconstructor_optimizer_ = &ctx.optimizer("reconstructor");
    critic_optimizer_ = &ctx.optimizer("critic");
    generator_params_ = generator_->parameters();
    reconstructor_params_ = reconstructor_->parameters();
    critic_params_ = critic_->parameters();
  }

  std::vector<std::string> loss_names() const override {
    return {"loss_critic", "penalty", "loss_generator", "reconstruction"};
  }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    if (!procedures::alternate(ctx.train, ctx.train.n_critic, [&] { return critic_step(ctx, out); },
                               [&] { return generator_step(ctx, out); }))
      return out;
    out.losses = {{"loss_critic", critic_loss_}, {"penalty", penalty_},
                  {"loss_generator", generator_loss_}, {"reconstruction", reconstruction_}};
    return out;
  }

  ComponentState state() const override {
    ComponentState s;
    procedures::put(s, "loss_critic", critic_loss_);
    procedures::put(s, "penalty", penalty_);
    procedures::put(s, "loss_generator", generator_loss_);
    procedures::put(s, "reconstruction", reconstruction_);
    return s;
  }
  void load_state(const ComponentState& s) override {
    critic_loss_ = procedures::get(s, "loss_critic");
    penalty_ = procedures::get(s, "penalty");
    generator_loss_ = procedures::get(s, "loss_generator");
    reconstruction_ = procedures::get(s, "reconstruction");
  }

 private:
  // F(x, ε)
  Tensor reconstruct(TrainingContext& ctx, const Tensor& x) {
    Tensor flat = reshape(x, {x.size(0), -1});
    if (eps_dim_ == 0) return reconstructor_->forward(flat);
    return reconstructor_->forward(concat({flat, ctx.noise_rng.normal_tensor({x.size(0), eps_dim_})}, 1));
  }

  bool critic_step(TrainingContext& ctx, StepOutcome& out) {
    ctx.lipschitz.before_critic_step(*critic_);
    Tensor generated, reconstructed;
    {
      NoGradGuard no_grad;
      Tensor z = ctx.noise(ctx.noise_rng, ctx.train.batch_size);
      Tensor x = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
      generated = losses::pair(generator_->forward(z), z);
      reconstructed = losses::pair(x, reconstruct(ctx, x));
    }
    Tensor loss = losses::veegan_discriminator_loss(critic_->forward(generated), critic_->forward(reconstructed));
    Tensor penalty = ctx.lipschitz.penalty(CriticBatch{*critic_, reconstructed, generated, ctx.penalty_rng});
    std::vector<Tensor> grads = grad({penalty.defined() ? add(loss, penalty) : loss}, critic_params_);
    critic_loss_ = loss.item();
    penalty_ = penalty.defined() ? penalty.item() : 0.0;
    if (!finite(out, "the discriminator loss", critic_loss_) || !finite(out, "the Lipschitz penalty", penalty_))
      return false;
    critic_optimizer_->step(critic_params_, grads);
    ctx.lipschitz.after_critic_step(*critic_);
    return true;
  }

  bool generator_step(TrainingContext& ctx, StepOutcome& out) {
    Tensor z = ctx.noise(ctx.noise_rng, ctx.train.batch_size);
    Tensor x = generator_->forward(z);
    Tensor z_back = reconstruct(ctx, x);
    Tensor loss = losses::veegan_generator_loss(critic_->forward(losses::pair(x, z)), z, z_back, lambda_);
    std::vector<Tensor> params = generator_params_;
    params.insert(params.end(), reconstructor_params_.begin(), reconstructor_params_.end());
    std::vector<Tensor> grads = grad({loss}, params);
    generator_loss_ = loss.item();
    {
      NoGradGuard no_grad;
      reconstruction_ = losses::mean_squared_distance(z, z_back).item();
    }
    if (!finite(out, "the generator and reconstructor loss", generator_loss_)) return false;
    const auto split = grads.begin() + static_cast<std::ptrdiff_t>(generator_params_.size());
    generator_optimizer_->step(generator_params_, std::vector<Tensor>(grads.begin(), split));
    reconstructor_optimizer_->step(reconstructor_params_, std::vector<Tensor>(split, grads.end()));
    return true;
  }

  float lambda_;
  int64_t eps_dim_;
  Network *generator_ = nullptr, *reconstructor_ = nullptr, *critic_ = nullptr;
  Optimizer *generator_optimizer_ = nullptr, *reconstructor_optimizer_ = nullptr, *critic_optimizer_ = nullptr;
  std::vector<Tensor> generator_params_, reconstructor_params_, critic_params_;
  double critic_loss_ = 0, penalty_ = 0, generator_loss_ = 0, reconstruction_ = 0;
};

}  // namespace

KANT_PLUGIN("veegan", "1.0.0") {
  registrar.add({"veegan", "1.0.0",
                 "VEEGAN (Srivastava et al. 2017): reconstructor F and joint discriminator D(z, x); "
                 "L_D = E[softplus(−D(z, G(z)))] + E[softplus(D(F(x), x))], "
                 "L_GF = E[D(z, G(z))] + λ·E‖z − F(G(z))‖²",
                 {param::real("reconstruction_weight", 1.0, "λ, the weight of the ℓ2 reconstruction of z").at_least(0),
                  param::integer("reconstructor_noise", 1, "dimensions of ε ~ N(0, I) appended to the "
                                                           "reconstructor's input (the notebook: 1)")
                      .at_least(0)},
                 ProcedureFactory([](const Params& p) { return std::make_unique<Veegan>(p); }),
       {
        stored::series("loss_critic", "L_D = E softplus(−D(z, G(z))) + E softplus(D(F(x), x)) of "
                                      "the last critic step"),
        stored::series("penalty", "the Lipschitz penalty of that step (0 without one)"),
        stored::series("loss_generator", "L_GF = E D(z, G(z)) + λ E‖z − F(G(z))‖², minimised by "
                                         "generator and reconstructor"),
        stored::series("reconstruction", "E‖z − F(G(z))‖², the reconstruction of the noise")}});
}
