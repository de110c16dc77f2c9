// Objective `hinge` (Lim & Ye 2017; Miyato et al. 2018):
//   critic    L_D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]
//   generator L_G = −E[D(G(z))]
//   estimate  E[D(x)] − E[D(G(z))]
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Hinge : public Objective {
 public:
  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return add(mean(relu(1.0f - d_real)), mean(relu(1.0f + d_fake)));
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override { return neg(mean(d_fake)); }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return mean(d_real).item() - mean(d_fake).item();
  }
};

}  // namespace

KANT_COMPONENT(Hinge, "hinge", "1.0.0",
               "hinge: L_D = E[max(0, 1−D(x))] + E[max(0, 1+D(G(z)))], L_G = −E[D(G(z))] "
               "(Lim & Ye 2017)")
