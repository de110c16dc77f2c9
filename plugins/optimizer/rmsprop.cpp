// Optimizer `rmsprop` (Tieleman & Hinton 2012), in PyTorch's convention:
//   v ← αv + (1−α)g²;  θ ← θ − lr·g/(√v + eps)   (with momentum: b ← μb + g/(√v+eps); θ ← θ − lr·b)
#include <cmath>

#include "kant/plugin.hpp"
#include "state.hpp"

namespace {
using namespace kant;

class RmsProp : public optim::BufferedOptimizer {
 public:
  struct Options {
    Real lr, alpha, eps, momentum;  // read at each step: each may follow a schedule
    static void declare(Declare<Options>& d) {
      d(&Options::lr, param::real("lr", 1e-2, "learning rate (0: no update)").at_least(0));
      d(&Options::alpha,
        param::real("alpha", 0.99, "decay of the squared-gradient average").range(0, 1));
      d(&Options::eps,
        param::real("eps", 1e-8, "added to √v in the denominator").at_least(0, true));
      d(&Options::momentum, param::real("momentum", 0.0, "momentum μ").range(0, 1));
    }
  };
  explicit RmsProp(const Options& o) : BufferedOptimizer(2), o_(o) {}

  void step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override {
    optim::check_sizes(params, grads);
    const auto lr = static_cast<float>(o_.lr()), alpha = static_cast<float>(o_.alpha()),
               eps = static_cast<float>(o_.eps()), momentum = static_cast<float>(o_.momentum());
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor p = params[i];
      float* w = p.data();
      const float* g = grads[i].data();
      float* v = state_.buffer(params, i, 0);
      float* b = state_.buffer(params, i, 1);
      for (int64_t j = 0, n = p.numel(); j < n; ++j) {
        v[j] = alpha * v[j] + (1.0f - alpha) * g[j] * g[j];
        const float d = g[j] / (std::sqrt(v[j]) + eps);
        if (momentum != 0.0f) {
          b[j] = momentum * b[j] + d;
          w[j] -= lr * b[j];
        } else {
          w[j] -= lr * d;
        }
      }
    }
  }

 private:
  Options o_;
};

}  // namespace

KANT_COMPONENT(RmsProp, "rmsprop", "1.0.0", "RMSProp (Tieleman & Hinton 2012; PyTorch convention)")
