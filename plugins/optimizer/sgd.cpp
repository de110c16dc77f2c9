// Optimizer `sgd`: stochastic gradient descent with optional momentum and weight decay,
// in PyTorch's convention: g ← g + wd·θ;  b ← μ·b + g;  θ ← θ − lr·(nesterov ? g + μ·b : b).
#include "kant/plugin.hpp"
#include "state.hpp"

namespace {
using namespace kant;

class Sgd : public optim::BufferedOptimizer {
 public:
  struct Options {
    Real lr, momentum, weight_decay;  // read at each step: each may follow a schedule
    bool nesterov;
    static void declare(Declare<Options>& d) {
      d(&Options::lr, param::real("lr", 0.01, "learning rate (0: no update)").at_least(0));
      d(&Options::momentum, param::real("momentum", 0.0, "momentum μ").range(0, 1));
      d(&Options::weight_decay,
        param::real("weight_decay", 0.0, "L2 weight decay added to the gradient").at_least(0));
      d(&Options::nesterov, param::boolean("nesterov", false, "Nesterov momentum"));
    }
  };
  explicit Sgd(const Options& o) : BufferedOptimizer(1), o_(o) {}

  void step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override {
    optim::check_sizes(params, grads);
    const auto lr = static_cast<float>(o_.lr()), momentum = static_cast<float>(o_.momentum()),
               decay = static_cast<float>(o_.weight_decay());
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor p = params[i];
      float* w = p.data();
      const float* g = grads[i].data();
      float* b = momentum != 0.0f ? state_.buffer(params, i, 0) : nullptr;
      for (int64_t j = 0, n = p.numel(); j < n; ++j) {
        float d = g[j] + decay * w[j];
        if (b) {
          b[j] = momentum * b[j] + d;  // b starts at 0: the first step gives b = g
          d = o_.nesterov ? d + momentum * b[j] : b[j];
        }
        w[j] -= lr * d;
      }
    }
  }

 private:
  Options o_;
};

}  // namespace

KANT_COMPONENT(Sgd, "sgd", "1.0.0",
               "stochastic gradient descent with momentum (PyTorch convention)")
