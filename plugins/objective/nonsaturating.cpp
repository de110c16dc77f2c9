// Objective `nonsaturating`: the GAN with the −log D generator loss (Goodfellow et al. 2014).
//   critic    L_D = −E[log σ(D(x))] − E[log(1 − σ(D(G(z))))]
//   generator L_G = −E[log σ(D(G(z)))] = E[softplus(−D(G(z)))]
// One-sided label smoothing (real_target α) and noisy labels (flip p), Salimans et al. 2016:
// the critic's targets in gan_losses.hpp; α = 1, p = 0 (the defaults) leave L_D as above.
#include "gan_losses.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class NonSaturating : public Objective {
 public:
  struct Options {
    gan::Targets targets;
    static void declare(Declare<Options>& d) { d.nested(&Options::targets); }
  };
  explicit NonSaturating(const Options& o) : targets_(o.targets) {}

  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return gan::critic_loss(d_real, d_fake, targets_, nullptr);
  }
  Tensor noisy_critic_loss(const Tensor& d_real, const Tensor& d_fake, Rng& rng) override {
    return gan::critic_loss(d_real, d_fake, targets_, &rng);
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override {
    return mean(softplus(neg(d_fake)));
  }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return gan::jsd_estimate(d_real, d_fake);
  }

 private:
  gan::Targets targets_;
};

}  // namespace

KANT_COMPONENT(NonSaturating, "nonsaturating", "1.1.0",
               "non-saturating GAN: L_D as minimax, L_G = −E[log σ(D(G(z)))] "
               "(Goodfellow et al. 2014); estimate: JSD; one-sided label smoothing and noisy "
               "labels (Salimans et al. 2016)")
