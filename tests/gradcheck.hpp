// Finite-difference checks of first and second derivatives, shared by every op test.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kant/tensor.hpp"

namespace kant::testing {

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

/// Tolerances of a check: |analytic − numeric| ≤ atol + rtol·|numeric| for every element.
struct Tolerance {
  float eps = 3e-3f;  ///< central-difference step
  float atol = 2e-3f;
  float rtol = 2e-2f;
};

/// Compares grad(<f(x), r>, x) for a random r with central differences of <f(x), r>.
/// Returns an empty string on success, or a description of the worst mismatch.
std::string check_grad(const Function& f, std::vector<Tensor> inputs, Tolerance tol = {});

/// Compares the gradient of <grad(<f(x), r>, x), v> (second derivatives, through
/// create_graph) with central differences of the same quantity.
std::string check_gradgrad(const Function& f, std::vector<Tensor> inputs, Tolerance tol = {});

/// Catch2 CHECKs that check_grad and check_gradgrad both pass.
void check_both(const Function& f, const std::vector<Tensor>& inputs, Tolerance tol = {});

/// Tensor of `shape` with entries uniform in [lo, hi), from a fixed seed.
Tensor random_tensor(const Shape& shape, float lo, float hi, uint64_t seed);
/// Like random_tensor but every |entry| ≥ margin (away from kinks at 0).
Tensor random_away_from_zero(const Shape& shape, float margin, float hi, uint64_t seed);

}  // namespace kant::testing
