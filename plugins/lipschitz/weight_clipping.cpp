// Lipschitz method `weight_clipping` (WGAN, Arjovsky et al. 2017): every critic parameter is
// clamped to [−c, c]. The paper's Algorithm 1 clips after each critic update; the reference
// code clamps at the start of each critic iteration, before the loss — `when` picks one.
// Bound (1-Lipschitz activations): Π_layers ‖W‖₂ ≤ Π_layers ‖W‖_F ≤ Π_layers c·√(m·n).
#include <algorithm>
#include <cmath>

#include "kant/plugin.hpp"

namespace {
using namespace kant;

class WeightClipping : public LipschitzMethod {
 public:
  struct Options {
    Real c;  // may follow a schedule: read at each clip and bound
    std::string when;
    static void declare(Declare<Options>& d) {
      d(&Options::c, param::real("c", 0.01, "clipping bound c").at_least(0, true));
      d(&Options::when, param::choice("when", "after", {"after", "before"},
                                      "after each critic update (paper, Algorithm 1) or before "
                                      "each critic step's loss (reference code)"));
    }
  };
  explicit WeightClipping(const Options& o) : o_(o) {}
  void before_critic_step(Network& critic) override { clip(critic, "before"); }
  void after_critic_step(Network& critic) override { clip(critic, "after"); }
  std::optional<double> lipschitz_bound(const Network& critic) override {
    const auto c = static_cast<float>(o_.c());
    double bound = 1;
    for (const auto& [name, t] : critic.named_parameters())
      if (t.dim() >= 2) bound *= c * std::sqrt(static_cast<double>(t.numel()));
    return bound;
  }

 private:
  void clip(Network& critic, const std::string& when) const {
    if (o_.when != when) return;
    const auto c = static_cast<float>(o_.c());
    for (auto [name, t] : critic.named_parameters())
      for (float *d = t.data(), *end = d + t.numel(); d < end; ++d) *d = std::clamp(*d, -c, c);
  }
  Options o_;
};

}  // namespace

KANT_COMPONENT(WeightClipping, "weight_clipping", "1.1.0",
               "WGAN: clamp every critic weight to [−c, c] (Arjovsky et al. 2017)")
