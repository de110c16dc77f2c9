// Objective `f_gan` (Nowozin, Cseke & Tomioka 2016): variational divergence minimisation.
//   F(θ, ω) = E_P[g_f(V(x))] − E_Q[f*(g_f(V(x̃)))]       (a lower bound on D_f(P‖Q))
//   critic    L_D = −F
//   generator L_G = −E_Q[f*(g_f(V(x̃)))]   (saddle: minimise F)
//          or L_G = −E_Q[g_f(V(x̃))]        (the paper's "trick", Section 3.2)
//   estimate  F
// The divergences and their conjugates are in f_divergences.hpp.
#include <fmt/format.h>

#include "kant/f_divergences.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class FGan : public Objective {
 public:
  struct Options {
    std::string divergence, generator;
    static void declare(Declare<Options>& d) {
      std::vector<std::string> names;
      for (const auto& f : fgan::divergences()) names.push_back(f.name);
      d(&Options::divergence, param::choice("divergence", "kl", names,
                                            "the f-divergence (Nowozin et al. 2016, Table 2)"));
      d(&Options::generator,
        param::choice("generator", "saddle", {"saddle", "trick"},
                      "saddle: minimise −E_Q[f*(g_f(V))]; trick: maximise E_Q[g_f(V)]"));
    }
  };
  explicit FGan(const Options& o) : d_(*fgan::find(o.divergence)), trick_(o.generator == "trick") {}

  Tensor critic_loss(const Tensor& d_real, const Tensor& d_fake) override {
    return sub(mean(d_.conjugate_of_activation(d_fake)), mean(d_.activation_t(d_real)));
  }
  Tensor generator_loss(const Tensor&, const Tensor& d_fake) override {
    return trick_ ? neg(mean(d_.activation_t(d_fake)))
                  : neg(mean(d_.conjugate_of_activation(d_fake)));
  }
  double divergence_estimate(const Tensor& d_real, const Tensor& d_fake) override {
    return -critic_loss(d_real, d_fake).item();
  }

 private:
  const fgan::Divergence& d_;
  bool trick_;
};

}  // namespace

KANT_COMPONENT(FGan, "f_gan", "1.0.0",
               "f-GAN: L_D = E_Q[f*(g_f(V))] − E_P[g_f(V)], estimate of D_f (Nowozin et al. 2016; "
               "jensen_shannon estimates 2·JSD)")
