// Objective `maximum_likelihood`: the GAN whose generator cost makes its expected gradient that
// of maximum likelihood when the discriminator is optimal (Goodfellow 2016, "NIPS 2016
// Tutorial: Generative Adversarial Networks", §3.2.3 and Fig. 16; Goodfellow 2014, "On
// distinguishability criteria for estimating generative models"):
//   critic    L_D = −E[log σ(v(x))] − E[log(1 − σ(v(G(z))))]   (v: the critic's raw output)
//   generator J = −½ E_z exp(σ⁻¹(D(G(z)))) = −½ E_z exp(v(G(z)))
// σ⁻¹(D) = v, so at D* = p_r/(p_r + p_g) the generator's weight exp(v) = p_r/p_g.
#include "gan_losses.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class MaximumLikelihood : public Objective {
 public:
  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return gan::critic_loss(d_real, d_fake);
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override {
    return mean(exp(d_fake)) * -0.5f;
  }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return gan::jsd_estimate(d_real, d_fake);
  }
};

}  // namespace

KANT_COMPONENT(MaximumLikelihood, "maximum_likelihood", "1.0.0",
               "GAN with the maximum-likelihood generator cost J = −½ E exp(σ⁻¹(D(G(z)))) "
               "(Goodfellow 2016, Fig. 16); L_D as minimax; estimate: JSD")
