// Objective `minimax`: the original, saturating GAN game (Goodfellow et al. 2014).
//   critic    L_D = −E[log σ(D(x))] − E[log(1 − σ(D(G(z))))]
//   generator L_G = E[log(1 − σ(D(G(z))))] = −E[softplus(D(G(z)))]
#include "gan_losses.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Minimax : public Objective {
 public:
  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return gan::critic_loss(d_real, d_fake);
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override {
    return neg(mean(softplus(d_fake)));
  }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return gan::jsd_estimate(d_real, d_fake);
  }
};

}  // namespace

KANT_COMPONENT(Minimax, "minimax", "1.0.0",
               "saturating GAN: L_D = −E[log σ(D(x))] − E[log(1−σ(D(G(z))))], "
               "L_G = E[log(1−σ(D(G(z))))] (Goodfellow et al. 2014); estimate: JSD")
