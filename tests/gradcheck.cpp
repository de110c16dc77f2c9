// Finite-difference gradient and second-order checks (see gradcheck.hpp).
#include "gradcheck.hpp"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/rng.hpp"

namespace kant::testing {
namespace {

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += double(a.data()[i]) * double(b.data()[i]);
  return s;
}

std::vector<Tensor> as_variables(const std::vector<Tensor>& xs) {
  std::vector<Tensor> vs;
  for (const Tensor& x : xs) vs.push_back(x.clone().set_requires_grad());
  return vs;
}

// Compares analytic gradients of `scalar` with its central differences.
std::string compare(const std::function<double(const std::vector<Tensor>&)>& scalar,
                    const std::vector<Tensor>& analytic, std::vector<Tensor>& inputs,
                    const Tolerance& tol) {
  std::string worst;
  double worst_excess = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (int64_t j = 0; j < inputs[i].numel(); ++j) {
      float* p = inputs[i].data() + j;
      const float saved = *p;
      *p = saved + tol.eps;
      const double up = scalar(inputs);
      *p = saved - tol.eps;
      const double down = scalar(inputs);
      *p = saved;
      const double numeric = (up - down) / (2.0 * tol.eps);
      const double got = analytic[i].data()[j];
      const double excess = std::abs(got - numeric) - (tol.atol + tol.rtol * std::abs(numeric));
      if (excess > worst_excess) {
        worst_excess = excess;
        worst = fmt::format("input {} element {}: analytic {} vs numeric {}", i, j, got, numeric);
      }
    }
  }
  return worst;
}

}  // namespace

Tensor random_tensor(const Shape& shape, float lo, float hi, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = lo + (hi - lo) * rng.uniform();
  return t;
}

Tensor random_away_from_zero(const Shape& shape, float margin, float hi, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float m = margin + (hi - margin) * rng.uniform();
    t.data()[i] = rng.uniform() < 0.5f ? -m : m;
  }
  return t;
}

std::string check_grad(const Function& f, std::vector<Tensor> inputs, Tolerance tol) {
  std::vector<Tensor> xs = as_variables(inputs);
  Tensor y = f(xs);
  Tensor r = random_tensor(y.shape(), -1.0f, 1.0f, 7);
  std::vector<Tensor> analytic = grad({y}, xs, {r});
  auto scalar = [&](const std::vector<Tensor>& in) {
    NoGradGuard no_grad;
    return dot(f(in), r);
  };
  return compare(scalar, analytic, xs, tol);
}

std::string check_gradgrad(const Function& f, std::vector<Tensor> inputs, Tolerance tol) {
  std::vector<Tensor> xs = as_variables(inputs);
  Tensor r;
  std::vector<Tensor> vs;
  // M(x) = Σ_i <∂<f(x), r>/∂x_i, v_i>, built with create_graph so it can be differentiated.
  auto build = [&](const std::vector<Tensor>& in, bool create_graph) {
    Tensor y = f(in);
    if (!r.defined()) r = random_tensor(y.shape(), -1.0f, 1.0f, 11);
    std::vector<Tensor> g = grad({y}, in, {r}, create_graph);
    if (vs.empty())
      for (size_t i = 0; i < in.size(); ++i)
        vs.push_back(random_tensor(in[i].shape(), -1.0f, 1.0f, 13 + i));
    Tensor m = Tensor::scalar(0.0f);
    for (size_t i = 0; i < g.size(); ++i) m = add(m, sum(mul(g[i], vs[i])));
    return m;
  };
  Tensor m = build(xs, true);
  std::vector<Tensor> analytic;
  if (m.requires_grad()) {
    analytic = grad({m}, xs);
  } else {  // the first derivative does not depend on x: the second derivative is zero
    for (const Tensor& x : xs) analytic.push_back(Tensor::zeros(x.shape()));
  }
  auto scalar = [&](const std::vector<Tensor>& in) { return double(build(in, false).item()); };
  return compare(scalar, analytic, xs, tol);
}

void check_both(const Function& f, const std::vector<Tensor>& inputs, Tolerance tol) {
  INFO("first order");
  CHECK(check_grad(f, inputs, tol) == "");
  INFO("second order");
  CHECK(check_gradgrad(f, inputs, tol) == "");
}

}  // namespace kant::testing
