// Procedure `ali` (Dumoulin et al. 2017, Adversarially Learned Inference; Donahue et al. 2017,
// BiGAN): an encoder E: x → z beside the generator G: z → x, and a joint critic D(x, z) on the
// concatenated pair that tells data pairs (x, E(x)) from generated pairs (G(z), z):
//   critic            L_D  = L_obj(D(x, E(x)), D(G(z), z)) + penalty
//   generator+encoder L_GE = L_obj(D(G(z), z), D(x, E(x)))   (the critic's loss, labels swapped)
// where L_obj is the cell's objective's critic loss (with `nonsaturating` or `minimax`, the
// swapped loss is the papers' −log D(G(z), z) − log(1 − D(x, E(x)))). With `stochastic`, E
// outputs a mean and a log-variance and E(x) = μ + σ·ε (ALI); otherwise it is deterministic
// (BiGAN). Data are flattened: the critic is a vector network (e.g. mlp) on [x, z].
#include "kant/joint_steps.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"

namespace {
using namespace kant;

struct AliLosses {
  double loss_critic = 0, penalty = 0, divergence_estimate = 0, loss_generator = 0;
  static void declare(DeclareLosses<AliLosses>& d) {
    d(&AliLosses::loss_critic, "loss_critic",
      "L_D = L(D(x, E(x)), D(G(z), z)) of the last critic step, without penalty");
    d(&AliLosses::penalty, "penalty", "the Lipschitz penalty of that step (0 without one)");
    d(&AliLosses::divergence_estimate, "divergence_estimate",
      "the objective's divergence estimate at that step");
    d(&AliLosses::loss_generator, "loss_generator",
      "L_GE: the critic loss with the labels swapped, minimised by generator and encoder");
  }
};

class Ali : public procedures::JointCritic<AliLosses> {
 public:
  struct Options {
    bool stochastic;
    procedures::Alternation alternation;
    static void declare(Declare<Options>& d) {
      d(&Options::stochastic, param::boolean("stochastic", false,
                                             "encoder outputs mean and log-variance, E(x) = μ + σε "
                                             "(ALI); false: deterministic E(x) (BiGAN)"));
      d.nested(&Options::alternation);
    }
  };
  explicit Ali(const Options& o)
      : JointCritic("critic", "encoder", o.alternation), stochastic_(o.stochastic) {}

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    const int64_t d = shape_numel(data);
    return {{"generator", Role::generator, {noise_dim}, data},
            {"encoder", Role::encoder, data, {stochastic_ ? 2 * noise_dim : noise_dim}},
            {"critic", Role::critic, {d + noise_dim}, {1}}};
  }

 private:
  // E(x): the code, sampled by reparameterisation when the encoder is stochastic
  Tensor encode(TrainingContext& ctx, const Tensor& x) {
    Tensor h = inverse_network_->forward(x);
    if (!stochastic_) return h;
    const int64_t d = h.size(1) / 2;
    Tensor mu = slice(h, 1, 0, d), log_var = slice(h, 1, d, 2 * d);
    return add(mu, mul(exp(log_var * 0.5f), ctx.noise_rng.normal_tensor(mu.shape())));
  }

  // the data pair (x, E(x)) and the generated pair (G(z), z) of a fresh batch
  std::pair<Tensor, Tensor> critic_pairs(TrainingContext& ctx) override {
    Tensor x = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor z = ctx.noise(ctx.noise_rng, ctx.train.batch_size);
    return {losses::pair(x, encode(ctx, x)), losses::pair(generator_->forward(z), z)};
  }

  Tensor critic_loss(TrainingContext& ctx, const Tensor& real, const Tensor& fake) override {
    Tensor d_real = critic_->forward(real), d_fake = critic_->forward(fake);
    latest_.divergence_estimate = ctx.objective->divergence_estimate(d_real, d_fake);
    return ctx.targets_rng ? ctx.objective->noisy_critic_loss(d_real, d_fake, *ctx.targets_rng)
                           : ctx.objective->critic_loss(d_real, d_fake);
  }

  Tensor generator_loss(TrainingContext& ctx) override {
    auto [real, fake] = critic_pairs(ctx);
    return ctx.objective->critic_loss(critic_->forward(fake), critic_->forward(real));  // swapped
  }

  bool stochastic_;
};

}  // namespace

KANT_COMPONENT(
    Ali, "ali", "1.0.0",
    "ALI / BiGAN (Dumoulin et al. 2017; Donahue et al. 2017): encoder E and a joint critic "
    "D(x, z); L_D = L(D(x, E(x)), D(G(z), z)), L_GE = L with the labels swapped")
