// Objective `relativistic` (relativistic average GAN, Jolicoeur-Martineau 2019), with
//   C_r = D(x) − E[D(G(z))],  C_f = D(G(z)) − E[D(x)]:
// standard (RaSGAN):
//   L_D = E[softplus(−C_r)] + E[softplus(C_f)]     (−log σ(C_r) − log(1 − σ(C_f)))
//   L_G = E[softplus(−C_f)] + E[softplus(C_r)]
// hinge (RaHinge):
//   L_D = E[max(0, 1 − C_r)] + E[max(0, 1 + C_f)]
//   L_G = E[max(0, 1 − C_f)] + E[max(0, 1 + C_r)]
//   estimate  −L_D
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Relativistic : public Objective {
 public:
  struct Options {
    std::string variant;
    static void declare(Declare<Options>& d) {
      d(&Options::variant, param::choice("variant", "standard", {"standard", "hinge"},
                                         "standard: logistic losses (RaSGAN); hinge: RaHinge"));
    }
  };
  explicit Relativistic(const Options& o) : hinge_(o.variant == "hinge") {}

  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return loss(sub(d_real, mean(d_fake)), sub(d_fake, mean(d_real)));
  }
  Tensor generator_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return loss(sub(d_fake, mean(d_real)), sub(d_real, mean(d_fake)));
  }
  bool generator_needs_real() const override { return true; }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return -critic_loss(d_real, d_fake).item();
  }

 private:
  // loss for "should look real" scores `up` and "should look fake" scores `down`
  Tensor loss(const Tensor& up, const Tensor& down) const {
    if (hinge_) return add(mean(relu(1.0f - up)), mean(relu(1.0f + down)));
    return add(mean(softplus(neg(up))), mean(softplus(down)));
  }
  bool hinge_;
};

}  // namespace

KANT_COMPONENT(Relativistic, "relativistic", "1.0.0",
               "relativistic average GAN on C_r = D(x) − E[D(G(z))], C_f = D(G(z)) − E[D(x)], "
               "standard or hinge (Jolicoeur-Martineau 2019)")
