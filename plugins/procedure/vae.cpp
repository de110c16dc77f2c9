// Procedure `vae` (Kingma & Welling 2014, Auto-Encoding Variational Bayes): an encoder q(z|x) =
// N(μ(x), diag σ²(x)) (its output is [μ, log σ²]) and the generator as the decoder p(x|z),
// trained on the negative evidence lower bound with z = μ + σ·ε (reparameterisation):
//   L = E_x[ −E_q log p(x|z) + β·KL(q(z|x) ‖ N(0, I)) ]      (β = 1: the ELBO; Higgins et al. 2017)
// with a Gaussian (observation std s) or Bernoulli likelihood (kant/procedure_losses.hpp).
// Samples come from the decoder on z ~ N(0, I), so every metric applies unchanged.
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/plugin.hpp"
#include "kant/procedure_losses.hpp"
#include "kant/procedure_steps.hpp"

namespace {
using namespace kant;
using procedures::finite;

class Vae : public Procedure {
 public:
  struct Options {
    Real beta;  // may follow a schedule (KL annealing)
    std::string likelihood;
    float observation_std;
    static void declare(Declare<Options>& d) {
      d(&Options::beta,
        param::real("beta", 1.0,
                    "β, the weight of the KL term (1: the ELBO; β-VAE, Higgins et al. 2017)")
            .at_least(0));
      d(&Options::likelihood,
        param::choice("likelihood", "gaussian", {"gaussian", "bernoulli"},
                      "p(x|z): N(x̂, s²) or Bernoulli with p = (x̂ + 1)/2 for data in [−1, 1]"));
      d(&Options::observation_std,
        param::real("observation_std", 1.0, "s, the Gaussian likelihood's standard deviation")
            .at_least(0, true));
    }
  };
  struct Losses {
    double loss = 0, reconstruction = 0, kl = 0;
    static void declare(DeclareLosses<Losses>& d) {
      d(&Losses::loss, "loss",
        "the negative ELBO −E log p(x|z) + β KL(q(z|x) ‖ N(0, I)) per sample");
      d(&Losses::reconstruction, "reconstruction", "−E log p(x|z), the reconstruction term");
      d(&Losses::kl, "kl", "KL(q(z|x) ‖ N(0, I)), the prior term (before β)");
    }
  };
  explicit Vae(const Options& o)
      : beta_(o.beta), likelihood_(o.likelihood), observation_std_(o.observation_std) {}

  std::vector<std::string> network_names() const override { return {"generator", "encoder"}; }
  bool uses_objective() const override { return false; }
  bool uses_lipschitz() const override { return false; }

  std::vector<NetworkRequest> networks(const Shape& data, int64_t noise_dim) const override {
    return {{"generator", Role::generator, {noise_dim}, data},
            {"encoder", Role::encoder, data, {2 * noise_dim}}};
  }

  void set_up(TrainingContext& ctx) override {
    decoder_ = &procedures::network(ctx, "generator");
    encoder_ = &procedures::network(ctx, "encoder");
    decoder_optimizer_ = &ctx.optimizer("generator");
    encoder_optimizer_ = &ctx.optimizer("encoder");
    decoder_params_ = decoder_->parameters();
    encoder_params_ = encoder_->parameters();
  }

  std::vector<std::string> loss_names() const override { return loss_names_of<Losses>(); }

  StepOutcome step(TrainingContext& ctx, int64_t) override {
    StepOutcome out;
    Tensor x = ctx.dataset.sample(ctx.train.batch_size, ctx.data_rng);
    Tensor h = encoder_->forward(x);
    const int64_t d = h.size(1) / 2;
    Tensor mu = slice(h, 1, 0, d), log_var = slice(h, 1, d, 2 * d);
    Tensor z = add(mu, mul(exp(log_var * 0.5f), ctx.noise_rng.normal_tensor(mu.shape())));
    Tensor reconstruction =
        losses::vae_reconstruction(x, decoder_->forward(z), likelihood_, observation_std_);
    Tensor kl = losses::vae_kl(mu, log_var);
    Tensor loss = add(reconstruction, kl * static_cast<float>(beta_()));
    std::vector<Tensor> params = decoder_params_;
    params.insert(params.end(), encoder_params_.begin(), encoder_params_.end());
    std::vector<Tensor> grads = grad({loss}, params);
    const double value = loss.item();
    if (!finite(out, "the negative ELBO", value)) return out;
    const auto split = grads.begin() + static_cast<std::ptrdiff_t>(decoder_params_.size());
    decoder_optimizer_->step(decoder_params_, std::vector<Tensor>(grads.begin(), split));
    encoder_optimizer_->step(encoder_params_, std::vector<Tensor>(split, grads.end()));
    out.losses = loss_values(Losses{value, reconstruction.item(), kl.item()});
    return out;
  }

 private:
  Real beta_;
  std::string likelihood_;
  float observation_std_;
  Network *decoder_ = nullptr, *encoder_ = nullptr;
  Optimizer *decoder_optimizer_ = nullptr, *encoder_optimizer_ = nullptr;
  std::vector<Tensor> decoder_params_, encoder_params_;
};

}  // namespace

KANT_COMPONENT(
    Vae, "vae", "1.0.0",
    "variational autoencoder (Kingma & Welling 2014): encoder [μ, log σ²], decoder = the "
    "generator, L = −E log p(x|z) + β·KL(q(z|x) ‖ N(0, I)), z = μ + σε")
