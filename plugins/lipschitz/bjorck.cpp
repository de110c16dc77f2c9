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
  struct Options {
    int64_t iterations;
    float beta;
    static void declare(Declare<Options>& d) {
      d(&Options::iterations,
        param::integer("iterations", 20, "Björck iterations per forward pass").at_least(1));
      d(&Options::beta, param::real("beta", 0.5, "step β of the order-1 iteration").range(0, 0.5));
    }
  };
  explicit Bjorck(const Options& o) : o_(o) {}

  bool transforms_weights() const override { return true; }

  Tensor transform_weight(const std::string& name, const Tensor& w) override {
    if (w.dim() != 2 || !name.ends_with("weight")) return w;
    Tensor x = div(w, kant::sqrt(sum(square(w))));
    const bool wide = w.size(0) <= w.size(1);
    for (int64_t k = 0; k < o_.iterations; ++k) {
      // W Wᵀ W with the smaller Gram matrix
      Tensor cubic =
          wide ? matmul(matmul(x, x, false, true), x) : matmul(x, matmul(x, x, true, false));
      x = sub(x * (1.0f + o_.beta), cubic * o_.beta);
    }
    return x;
  }

  std::optional<double> lipschitz_bound(const Network&) override { return 1.0; }

 private:
  Options o_;
};

}  // namespace

KANT_COMPONENT(Bjorck, "bjorck", "1.0.0",
               "Björck orthonormalisation of every weight matrix, W ← (1+β)W − βWWᵀW "
               "(Anil et al. 2019)")
