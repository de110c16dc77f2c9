// Lipschitz methods `r1` and `r2` (Mescheder, Geiger & Nowozin 2018, "Which training methods
// for GANs do actually converge?"): zero-centred gradient penalties
//   R1 = (γ/2) · E_x[‖∇D(x)‖²]   on real data
//   R2 = (γ/2) · E_x̃[‖∇D(x̃)‖²]  on generated data
#include "kant/input_gradient.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

struct Options {
  Real gamma;  // may follow a schedule
  static void declare(Declare<Options>& d) {
    d(&Options::gamma, param::real("gamma", 10.0, "regularisation weight γ").at_least(0));
  }
};

template <bool OnReal>
Tensor zero_centred(const Options& o, const CriticBatch& b) {
  const auto half_gamma = static_cast<float>(o.gamma() / 2);
  return mean(penalties::squared_grad_norms(b.critic, OnReal ? b.real : b.fake)) * half_gamma;
}

constexpr const char* kVersion = "1.0.0";

}  // namespace

KANT_PLUGIN("zero_centred", kVersion) {
  registrar.add(component(&zero_centred<true>, "r1", kVersion,
                          "R1: (γ/2)·E_x[‖∇D(x)‖²] on real data (Mescheder et al. 2018)"));
  registrar.add(component(&zero_centred<false>, "r2", kVersion,
                          "R2: (γ/2)·E[‖∇D(x̃)‖²] on generated data (Mescheder et al. 2018)"));
}
