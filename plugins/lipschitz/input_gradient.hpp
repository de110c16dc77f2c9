// Shared by the gradient-based Lipschitz penalties: the per-sample norm of ∇ₓD at chosen
// points, differentiable with respect to the critic's weights (create_graph).
#pragma once
#include <vector>

#include "kant/autodiff.hpp"
#include "kant/components.hpp"
#include "kant/ops.hpp"

namespace kant::penalties {

/// ‖∇ₓD(x_i)‖² per sample [N], summed over all non-batch dimensions.
inline Tensor squared_grad_norms(Network& critic, const Tensor& points) {
  Tensor x = points.detach().set_requires_grad();
  Tensor g = grad({sum(critic.forward(x))}, {x}, {}, /*create_graph=*/true)[0];
  std::vector<int64_t> axes;
  for (int64_t a = 1; a < g.dim(); ++a) axes.push_back(a);
  return sum(square(g), axes);
}

/// Shape [N, 1, …, 1] of one value per sample, broadcasting over a sample's dimensions.
inline Shape per_sample_shape(const Shape& batch) {
  Shape s(batch.size(), 1);
  s[0] = batch[0];
  return s;
}

}  // namespace kant::penalties
