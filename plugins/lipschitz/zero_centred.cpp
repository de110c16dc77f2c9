// Lipschitz methods `r1` and `r2` (Mescheder, Geiger & Nowozin 2018, "Which training methods
// for GANs do actually converge?"): zero-centred gradient penalties
//   R1 = (γ/2) · E_x[‖∇D(x)‖²]   on real data
//   R2 = (γ/2) · E_x̃[‖∇D(x̃)‖²]  on generated data
#include "kant/input_gradient.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class ZeroCentred : public LipschitzMethod {
 public:
  ZeroCentred(double gamma, bool on_real)
      : half_gamma_(static_cast<float>(gamma / 2)), on_real_(on_real) {}
  Tensor penalty(const CriticBatch& b) override {
    return mean(penalties::squared_grad_norms(b.critic, on_real_ ? b.real : b.fake)) * half_gamma_;
  }

 private:
  float half_gamma_;
  bool on_real_;
};

}  // namespace

KANT_PLUGIN("zero_centred", "1.0.0") {
  for (bool real : {true, false})
    registrar.add({real ? "r1" : "r2",
                   "1.0.0",
                   real ? "R1: (γ/2)·E_x[‖∇D(x)‖²] on real data (Mescheder et al. 2018)"
                        : "R2: (γ/2)·E[‖∇D(x̃)‖²] on generated data (Mescheder et al. 2018)",
                   {param::real("gamma", 10.0, "regularisation weight γ").at_least(0)},
                   LipschitzFactory([real](const Params& p) {
                     return std::make_unique<ZeroCentred>(p.real("gamma"), real);
                   })});
}
