// Optimizer `sgd`: stochastic gradient descent with optional momentum and weight decay,
// in PyTorch's convention: g ← g + wd·θ;  b ← μ·b + g;  θ ← θ − lr·(nesterov ? g + μ·b : b).
#include "kant/plugin.hpp"
#include "state.hpp"

namespace {
using namespace kant;

class Sgd : public optim::BufferedOptimizer {
 public:
  struct Options {
    float lr, momentum, weight_decay;
    bool nesterov;
    static void declare(Declare<Options>& d) {
      d(&Options::lr, param::real("lr", 0.01, "learning rate").at_least(0, true));
      d(&Options::momentum, param::real("momentum", 0.0, "momentum μ").range(0, 1));
      d(&Options::weight_decay,
        param::real("weight_decay", 0.0, "L2 weight decay added to the gradient").at_least(0));
      d(&Options::nesterov, param::boolean("nesterov", false, "Nesterov momentum"));
    }
  };
  explicit Sgd(const Options& o)
      : BufferedOptimizer(1),
        lr_(o.lr),
        momentum_(o.momentum),
        decay_(o.weight_decay),
        nesterov_(o.nesterov) {}

  void step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override {
    optim::check_sizes(params, grads);
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor p = params[i];
      float* w = p.data();
      const float* g = grads[i].data();
      float* b = momentum_ != 0.0f ? state_.buffer(params, i, 0) : nullptr;
      for (int64_t j = 0, n = p.numel(); j < n; ++j) {
        float d = g[j] + decay_ * w[j];
        if (b) {
          b[j] = momentum_ * b[j] + d;  // b starts at 0: the first step gives b = g
          d = nesterov_ ? d + momentum_ * b[j] : b[j];
        }
        w[j] -= lr_ * d;
      }
    }
  }

 private:
  float lr_, momentum_, decay_;
  bool nesterov_;
};

}  // namespace

KANT_COMPONENT(Sgd, "sgd", "1.0.0",
               "stochastic gradient descent with momentum (PyTorch convention)")
