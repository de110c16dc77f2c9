// Optimizer `adam` (Kingma & Ba 2015), with bias correction:
//   m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + eps)
#include <cmath>

#include "kant/plugin.hpp"
#include "state.hpp"

namespace {
using namespace kant;

class Adam : public optim::BufferedOptimizer {
 public:
  struct Options {
    Real lr, beta1, beta2, eps, weight_decay;  // read at each step: each may follow a schedule
    static void declare(Declare<Options>& d) {
      d(&Options::lr, param::real("lr", 1e-3, "learning rate (0: no update)").at_least(0));
      d(&Options::beta1,
        param::real("beta1", 0.9, "decay of the first-moment average β₁").range(0, 0.999999));
      d(&Options::beta2,
        param::real("beta2", 0.999, "decay of the second-moment average β₂").range(0, 0.999999));
      d(&Options::eps,
        param::real("eps", 1e-8, "added to √v̂ in the denominator").at_least(0, true));
      d(&Options::weight_decay,
        param::real("weight_decay", 0.0, "L2 weight decay added to the gradient").at_least(0));
    }
  };
  explicit Adam(const Options& o) : BufferedOptimizer(2), o_(o) {}

  void step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads) override {
    optim::check_sizes(params, grads);
    ++t_;
    const double beta1 = o_.beta1(), beta2 = o_.beta2();
    const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const float c1 = static_cast<float>(1.0 - std::pow(beta1, static_cast<double>(t_)));
    const float c2 = static_cast<float>(1.0 - std::pow(beta2, static_cast<double>(t_)));
    const float step_size = static_cast<float>(o_.lr()) / c1;
    const float inv_sqrt_c2 = 1.0f / std::sqrt(c2);
    const float eps = static_cast<float>(o_.eps());
    const float decay = static_cast<float>(o_.weight_decay());
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor p = params[i];
      float* w = p.data();
      const float* g = grads[i].data();
      float* m = state_.buffer(params, i, 0);
      float* v = state_.buffer(params, i, 1);
      for (int64_t j = 0, n = p.numel(); j < n; ++j) {
        const float gj = g[j] + decay * w[j];
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
        w[j] -= step_size * m[j] / (std::sqrt(v[j]) * inv_sqrt_c2 + eps);
      }
    }
  }

 private:
  Options o_;
  int64_t t_ = 0;

 public:
  std::vector<Module::NamedTensor> state() const override {
    auto s = BufferedOptimizer::state();
    s.emplace_back("t", Tensor::full({1}, static_cast<float>(t_)));  // exact below 2²⁴ steps
    return s;
  }
  void load_state(const std::vector<Module::NamedTensor>& s) override {
    BufferedOptimizer::load_state(s);
    t_ = 0;
    for (const auto& [name, value] : s)
      if (name == "t") t_ = static_cast<int64_t>(value.item());
  }
};

}  // namespace

KANT_COMPONENT(Adam, "adam", "1.0.0", "Adam with bias correction (Kingma & Ba 2015)")
