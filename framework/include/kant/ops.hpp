// Differentiable tensor ops. Forward kernels run on oneDNN; every backward rule is built from
// these same ops, so gradients of gradients work (see autodiff.hpp).
//
// Shapes: N is the batch (first axis); matrices are [rows, cols]. Binary element-wise ops
// broadcast numpy-style (shapes aligned on the right, size-1 axes stretch).
#pragma once
#include <vector>

#include "kant/tensor.hpp"

namespace kant {

// ---- linear algebra -------------------------------------------------------------------
/// C = op(A) op(B) for 2-D A, B, where op transposes when asked.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
              bool transpose_b = false);
/// y = x Wᵀ + b for x [N, in], W [out, in], b [out] (b may be undefined: no bias).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- element-wise, unary --------------------------------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
/// log(1 + exp(x)), computed stably.
Tensor softplus(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor neg(const Tensor& x);
/// min(max(x, lo), hi).
Tensor clamp(const Tensor& x, float lo, float hi);
/// a·x + b with scalars a, b.
Tensor affine(const Tensor& x, float a, float b);
/// Lambert W, principal branch (w·eʷ = x, x ≥ −1/e); W'(x) = 1/(eʷ(1 + w)).
Tensor lambert_w(const Tensor& x);

// Gradient helpers: ops of their own so that backward rules stay one kernel each; each has
// its own differentiable rule.
/// g · 1[x > 0].
Tensor relu_backward(const Tensor& grad, const Tensor& x);
/// g · (1[x > 0] + slope · 1[x ≤ 0]).
Tensor leaky_relu_backward(const Tensor& grad, const Tensor& x, float negative_slope);
/// g · (1 − y²) where y = tanh(x).
Tensor tanh_backward(const Tensor& grad, const Tensor& y);
/// g · y (1 − y) where y = sigmoid(x).
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y);

/// Constant masks (no gradient flows through them; their derivative is zero a.e.).
/// 1 where lo < x < hi, else 0.
Tensor inside_mask(const Tensor& x, float lo, float hi);
/// −1, 0 or 1.
Tensor sign(const Tensor& x);

// ---- element-wise, binary (broadcasting) ----------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

// ---- reductions and shape -------------------------------------------------------------
/// Sum over `axes` (all axes when empty); keepdim keeps them with size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
/// Sums x down to `shape` (the inverse of broadcasting x from shape).
Tensor sum_to(const Tensor& x, const Shape& shape);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Same values, new shape (one axis may be −1).
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
/// x[..., start:end, ...] along `axis`.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end);
/// A tensor of `shape`, zero except x placed at [start, start + x.size(axis)) along `axis`
/// (the adjoint of slice).
Tensor slice_backward(const Tensor& grad, const Shape& shape, int64_t axis, int64_t start);

// ---- operators -------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, float s) { return affine(a, 1.0f, s); }
inline Tensor operator+(float s, const Tensor& a) { return affine(a, 1.0f, s); }
inline Tensor operator-(const Tensor& a, float s) { return affine(a, 1.0f, -s); }
inline Tensor operator-(float s, const Tensor& a) { return affine(a, -1.0f, s); }
inline Tensor operator*(const Tensor& a, float s) { return affine(a, s, 0.0f); }
inline Tensor operator*(float s, const Tensor& a) { return affine(a, s, 0.0f); }
inline Tensor operator/(const Tensor& a, float s) { return affine(a, 1.0f / s, 0.0f); }

/// Shape that a and b broadcast to; throws TensorError when they do not.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace kant
