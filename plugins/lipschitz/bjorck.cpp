// Lipschitz method `bjorck` (Anil, Lucas & Grosse 2019, "Sorting out Lipschitz function
// approximation"): every critic weight W (rank 2, name ending in "weight") is used as its
// nearest orthonormal matrix, by Björck & Bowie's iteration of order 1 (differentiable):
//   W₀ = W/‖W‖_F   (so that ‖W₀‖₂ ≤ 1 and the iteration converges)
//   W_{k+1} = (1 + β) W_k − β W_k W_kᵀ W_k,   β = 1/2
// Bound (1-Lipschitz activations): 1 per layer once converged.
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

class Bjorck : public LipschitzMethod {
 public:
  explicit Bjorck(const Params& p)
      : iterations_(p.integer("iterations")), beta_(static_cast<float>(p.real("beta"))) {}

  bool transforms_weights() const override { return true; }

  Tensor transform_weight(const std::string& name, const Tensor& w) override {
    if (w.dim() != 2 || name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0)
      return w;
    Tensor x = div(w, kant::sqrt(sum(square(w))));
    const bool wide = w.size(0) <= w.size(1);
    for (int64_t k = 0; k < iterations_; ++k) {
      // W Wᵀ W with the smaller Gram matrix
      Tensor cubic =
          wide ? matmul(matmul(x, x, false, true), x) : matmul(x, matmul(x, x, true, false));
      x = sub(x * (1.0f + beta_), cubic * beta_);
    }
    return x;
  }

  std::optional<double> lipschitz_bound(const Network&) override { return 1.0; }

 private:
  int64_t iterations_;
  float beta_;
};

}  // namespace

KANT_PLUGIN("bjorck", "1.0.0") {
  registrar.add(
      {"bjorck",
       "1.0.0",
       "Björck orthonormalisation of every weight matrix, W ← (1+β)W − βWWᵀW "
       "(Anil et al. 2019)",
       {param::integer("iterations", 20, "Björck iterations per forward pass").at_least(1),
        param::real("beta", 0.5, "step β of the order-1 iteration").range(0, 0.5)},
       LipschitzFactory([](const Params& p) { return std::make_unique<Bjorck>(p); })});
}
