// Lipschitz method `weight_clipping` (WGAN, Arjovsky et al. 2017, Algorithm 1):
// after each critic step every critic parameter is clamped to [−c, c].
#include <algorithm>

#include "kant/plugin.hpp"

namespace {
using namespace kant;

class WeightClipping : public LipschitzMethod {
 public:
  explicit WeightClipping(double c) : c_(static_cast<float>(c)) {}
  void after_critic_step(Network& critic) override {
    for (const auto& [name, t] : critic.named_parameters()) {
      Tensor p = t;
      float* d = p.data();
      for (int64_t i = 0; i < p.numel(); ++i) d[i] = std::clamp(d[i], -c_, c_);
    }
  }

 private:
  float c_;
};

}  // namespace

KANT_PLUGIN("weight_clipping", "1.0.0") {
  using namespace kant;
  registrar.add({"weight_clipping", "1.0.0",
                 "WGAN: clamp every critic weight to [−c, c] after each critic step "
                 "(Arjovsky et al. 2017)",
                 {param::real("c", 0.01, "clipping bound c").at_least(0, true)},
                 LipschitzFactory([](const Params& p) {
                   return std::make_unique<WeightClipping>(p.real("c"));
                 })});
}
