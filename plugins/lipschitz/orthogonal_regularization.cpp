// Lipschitz method `orthogonal_regularization` (Brock et al. 2017, "Neural photo editing with
// introspective adversarial networks"): a loss term pulling each critic weight matrix towards
// orthonormal rows (or columns, whichever are fewer):
//   P = β · Σ_W ‖W Wᵀ − I‖_F²
#include "kant/ops.hpp"
#include "kant/plugin.hpp"

namespace {
using namespace kant;

struct Options {
  Real beta;  // may follow a schedule
  static void declare(Declare<Options>& d) {
    d(&Options::beta, param::real("beta", 1e-4, "regularisation weight β").at_least(0));
  }
};

Tensor orthogonal_regularization(const Options& o, const CriticBatch& b) {
  Tensor total;
  for (const auto& [name, w] : b.critic.named_parameters()) {
    if (w.dim() < 2) continue;
    Tensor m = reshape(w, {w.size(0), -1});
    const bool wide = m.size(0) <= m.size(1);
    Tensor gram = wide ? matmul(m, m, false, true) : matmul(m, m, true, false);
    Tensor term = sum(square(sub(gram, Tensor::eye(gram.size(0)))));
    total = total.defined() ? add(total, term) : term;
  }
  return total.defined() ? total * static_cast<float>(o.beta()) : total;
}

}  // namespace

KANT_COMPONENT_FN(orthogonal_regularization, "orthogonal_regularization", "1.0.0",
                  "β·Σ‖WWᵀ − I‖²_F over critic weight matrices (Brock et al. 2017)")
