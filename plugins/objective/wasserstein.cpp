// Objective `wasserstein` (Arjovsky, Chintala & Bottou 2017):
//   critic    L_D = E_z[D(G(z))] − E_x[D(x)]
//   generator L_G = −E_z[D(G(z))]
//   estimate  W₁ ≈ E_x[D(x)] − E_z[D(G(z))]  (a lower bound when D is 1-Lipschitz)
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Wasserstein : public Objective {
 public:
  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return sub(mean(d_fake), mean(d_real));
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override { return neg(mean(d_fake)); }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return mean(d_real).item() - mean(d_fake).item();
  }
};

}  // namespace

KANT_COMPONENT(Wasserstein, "wasserstein", "1.0.0",
               "WGAN: L_D = E[D(G(z))] − E[D(x)], L_G = −E[D(G(z))] (Arjovsky et al. 2017)")
