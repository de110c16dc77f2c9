// Procedure `veegan` (Srivastava et al. 2017, VEEGAN, eq. 8, as in the authors' notebook
// VEEGAN_2D_RING.ipynb): a reconstructor F: (x, ε) → z beside the generator, and a joint
// discriminator D(z, x) that estimates log q(z, x)/p(z, x) between generator pairs (z, G(z))
// (label 1) and reconstructor pairs (F(x), x) (label 0):
//   discriminator            L_D  = E[softplus(−D(z, G(z)))] + E[softplus(D(F(x), x))]
//   generator+reconstructor  L_GF = E[D(z, G(z))] + λ·E‖z − F(G(z))‖²
// ε ~ N(0, I) of `reconstructor_noise` dimensions is appended to F's input (the notebook: 1).
// Data are flattened: the critic is a vector network (e.g. mlp) on [x, z].
#include "kant/joint_steps.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"

namespace {
using namespace kant;

struct VeeganLosses {
  double loss_critic = 0, penalty = 0, loss_generator = 0, reconstruction = 0;
  static void declare(DeclareLosses<VeeganLosses>& d) {
    d(&VeeganLosses::loss_critic, "loss_critic",
      "L_D = E softplus(−D(z, G(z))) + E softplus(D(F(x), x)) of the last critic step");
    d(&VeeganLosses::penalty, "penalty", "the Lipschitz penalty of that step (0 without one)");
    d(&VeeganLosses::loss_generator, "loss_generator",
      "L_GF = E D(z, G(z)) + λ E‖z − F(G(z))‖², minimised by generator and reconstructor");
    d(&VeeganLosses::reconstruction, "reconstruction",
      "E‖z − F(G(z))‖², the reconstruction of the noise");
  }
};

class Veegan : public procedures::JointCritic<VeeganLosses> {
 public:
  struct Options {
    Real reconstruction_weight;  // may follow a schedule
    int64_t reconstructor_noise;
    procedures::Alternation alternation;
    static void declare(Declare<Options>& d) {
      d(&Options::reconstruction_weight,
        param::real("reconstruction_weight", 1.0, "λ, the weight of the ℓ2 reconstruction of z")
            .at_least(0));
      d(&Options::reconstructor_noise, param::integer("reconstructor_noise", 1,
                                                      "dimensions of ε ~ N(0, I) appended to the "
                                                      "reconstructor's input (the notebook: 1)")
                                           .at_least(0));
      d.nested(&Options::alternation);
    }
  };
  explicit Veegan(const Options& o)
      : JointCritic("discriminator", "reconstructor", o.alternation),
        lambda_(o.reconstruction_weight),
        eps_dim_(o.reconstructor_noise) {}

  bool uses_objective() const override { return false; }  // its loss is its own (above)

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    const int64_t d = shape_numel(data);
    return {{"generator", Role::generator, {noise_dim}, data},
            {"reconstructor", Role::encoder, {d + eps_dim_}, {noise_dim}},
            {"critic", Role::critic, {d + noise_dim}, {1}}};
  }

 private:
  // F(x, ε)
  Tensor reconstruct(TrainingContext& ctx, const Tensor& x) {
    Tensor flat = reshape(x, {x.size(0), -1});
    if (eps_dim_ == 0) return inverse_network_->forward(flat);
    return inverse_network_->forward(
        concat({flat, ctx.noise_rng.normal_tensor({x.size(0), eps_dim_})}, 1));
  }

  // the reconstructor pair (x, F(x)) and the generator pair (G(z), z) of a fresh batch
  std::pair<Tensor, Tensor> critic_pairs(TrainingContext& ctx) override {
    Tensor z = ctx.noise(ctx.noise_rng, ctx.train.batch_size);
    Tensor x = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor generated = losses::pair(generator_->forward(z), z);
    return {losses::pair(x, reconstruct(ctx, x)), generated};
  }

  Tensor critic_loss(TrainingContext&, const Tensor& reconstructed,
                     const Tensor& generated) override {
    return losses::veegan_discriminator_loss(critic_->forward(generated),
                                             critic_->forward(reconstructed));
  }

  Tensor generator_loss(TrainingContext& ctx) override {
    Tensor z = ctx.noise(ctx.noise_rng, ctx.train.batch_size);
    Tensor x = generator_->forward(z);
    Tensor z_back = reconstruct(ctx, x);
    Tensor loss = losses::veegan_generator_loss(critic_->forward(losses::pair(x, z)), z, z_back,
                                                static_cast<float>(lambda_()));
    NoGradGuard no_grad;
    latest_.reconstruction = losses::mean_squared_distance(z, z_back).item();
    return loss;
  }

  Real lambda_;
  int64_t eps_dim_;
};

}  // namespace

KANT_COMPONENT(Veegan, "veegan", "1.0.0",
               "VEEGAN (Srivastava et al. 2017): reconstructor F and joint discriminator D(z, x); "
               "L_D = E[softplus(−D(z, G(z)))] + E[softplus(D(F(x), x))], "
               "L_GF = E[D(z, G(z))] + λ·E‖z − F(G(z))‖²")
