// Differentiable tensor ops. Forward kernels run on oneDNN; every backward rule is built from
// these same ops, so gradients of gradients work (see autodiff.hpp).
//
// Shapes: N is the batch (first axis); matrices are [rows, cols]. Binary element-wise ops
// broadcast numpy-style (shapes aligned on the right, size-1 axes stretch).
#pragma once
#include <memory>
#include <vector>

#include "kant/tensor.hpp"

namespace kant {

// ---- linear algebra -------------------------------------------------------------------
/// C = op(A) op(B) for 2-D A, B, where op transposes when asked.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
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
/// Wright's ω(x) = W(eˣ), the solution of ω + log ω = x, for every x: Lambert W of an
/// exponential without forming the exponential (which overflows for x > 88 in float);
/// ω'(x) = ω/(1 + ω).
Tensor wright_omega(const Tensor& x);
/// eˣ − 1, accurate near 0 (where exp(x) − 1 cancels).
Tensor expm1(const Tensor& x);
/// log(1 + x), accurate near 0.
Tensor log1p(const Tensor& x);

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

/// ELU (Clevert et al. 2016): x for x > 0, α(eˣ − 1) otherwise.
Tensor elu(const Tensor& x, float alpha = 1.0f);
/// SELU (Klambauer et al. 2017): λ·elu(x, α) with λ ≈ 1.0507, α ≈ 1.6733.
Tensor selu(const Tensor& x);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// Gated unit (PixelCNN, van den Oord et al. 2016; WGAN-GP's "gated multiplicative
/// nonlinearities", Gulrajani et al. 2017, Appendix): x [N, 2C, …] split along axis 1 into
/// a = x[:, :C] and b = x[:, C:], then tanh(a) ⊙ σ(b), [N, C, …]. 1-Lipschitz (per unit,
/// ‖∇‖² = σ²((1 − t²)² + t²(1 − σ)²) ≤ 1 − t² + t⁴ ≤ 1 with t = tanh a).
Tensor gated_tanh(const Tensor& x);
/// x·Φ(x), Φ the standard normal CDF (exact, erf form; Hendrycks & Gimpel 2016).
Tensor gelu(const Tensor& x);
Tensor erf(const Tensor& x);
/// xᵖ for a scalar exponent (x > 0 unless p is an integer).
Tensor pow(const Tensor& x, float p);
/// Heaviside step as a constant mask: 1 where x > 0, ½ where x = 0, 0 where x < 0.
Tensor step(const Tensor& x);
/// Inverted dropout: each entry kept with probability 1 − p and scaled by 1/(1 − p).
Tensor dropout(const Tensor& x, float p, class Rng& rng);

// ---- element-wise, binary (broadcasting) ----------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

/// Element-wise max/min; at ties the gradient is split evenly between the two.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// mask·a + (1 − mask)·b for a constant mask in [0, 1] (e.g. from step()).
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);

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

/// [N, …] → [N, product of the rest].
Tensor flatten(const Tensor& x);
/// y.shape[i] = x.shape[perm[i]].
Tensor permute(const Tensor& x, const std::vector<int64_t>& perm);
/// Zero padding: `before[i]` and `after[i]` entries on axis i (the last before.size() axes).
Tensor pad(const Tensor& x, const std::vector<int64_t>& before, const std::vector<int64_t>& after);
/// The window of x of `shape` starting at `offsets` (the adjoint of pad).
Tensor crop(const Tensor& x, const std::vector<int64_t>& offsets, const Shape& shape);

// ---- indexing: gather/scatter pairs, so that max-type ops differentiate twice -------------
/// Flat positions into a tensor, shared by the ops that use them.
using Index = std::shared_ptr<const std::vector<int64_t>>;
/// y[i] = x.flat[index[i]], shaped `shape`.
Tensor gather(const Tensor& x, const Index& index, const Shape& shape);
/// A zero tensor of `shape` with g[i] added at flat position index[i] (the adjoint of gather).
Tensor scatter_add(const Tensor& g, const Index& index, const Shape& shape);
/// Maxout over axis 1 (Goodfellow et al. 2013): [N, C·k, …] → [N, C, …], the max over each
/// run of k consecutive channels.
Tensor maxout(const Tensor& x, int64_t pieces);
/// GroupSort (Anil et al. 2019): channels (axis 1) in consecutive groups of `group` entries,
/// each group sorted ascending (group 2 is MaxMin). Gradient-norm preserving.
Tensor group_sort(const Tensor& x, int64_t group);

// ---- images [N, C, H, W] -----------------------------------------------------------------
/// Convolution geometry. Dilation 1 is none (PyTorch's convention).
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
  static Conv2dOptions square(int64_t stride, int64_t padding, int64_t dilation = 1,
                              int64_t groups = 1) {
    return {stride, stride, padding, padding, dilation, dilation, groups};
  }
};
/// Cross-correlation x [N, C_in, H, W] ⋆ weight [C_out, C_in/groups, kh, kw] (+ bias [C_out]).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& o = {});
/// The adjoint of x ↦ conv2d(x, weight) applied to grad, as a tensor of `input_shape`.
Tensor conv2d_backward_data(const Tensor& grad, const Tensor& weight, const Shape& input_shape,
                            const Conv2dOptions& o);
/// The adjoint of weight ↦ conv2d(x, weight) applied to grad, as a tensor of `weight_shape`.
Tensor conv2d_backward_weights(const Tensor& x, const Tensor& grad, const Shape& weight_shape,
                               const Conv2dOptions& o);
/// Transposed convolution, weight [C_in, C_out/groups, kh, kw] (PyTorch's layout); output
/// size (H − 1)·stride − 2·pad + dil·(k − 1) + 1 + output_padding.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Conv2dOptions& o = {}, int64_t output_padding_h = 0,
                        int64_t output_padding_w = 0);

struct Pool2dOptions {
  int64_t kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  ///< average pooling divides by the full window
  static Pool2dOptions square(int64_t kernel, int64_t stride, int64_t padding = 0) {
    return {kernel, kernel, stride, stride, padding, padding, true};
  }
};
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o);
/// The adjoint of avg_pool2d, as a tensor of `input_shape`.
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, const Pool2dOptions& o);
/// Max pooling as a gather of each window's arg-max (its backward is the matching scatter).
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o);

enum class Resize { nearest, bilinear };
/// [N, C, H, W] → [N, C, out_h, out_w]; bilinear uses half-pixel centres (PyTorch's
/// align_corners=False).
Tensor resize(const Tensor& x, int64_t out_h, int64_t out_w, Resize mode);
/// The adjoint of resize, as a tensor of `input_shape`.
Tensor resize_backward(const Tensor& grad, const Shape& input_shape, Resize mode);

// ---- normalisation ---------------------------------------------------------------------
/// Batch normalisation (Ioffe & Szegedy 2015) over [N, C, …]: per channel, statistics over
/// the batch and spatial axes. In training, batch statistics (biased variance) normalise and
/// the running ones are updated in place: r ← (1 − momentum)·r + momentum·batch (unbiased
/// variance for the running one, as PyTorch). In evaluation, the running statistics are used.
/// gamma/beta [C] may be undefined (no affine).
/// First-order backward uses oneDNN's fused kernel; when a graph of the gradient is being
/// built (create_graph), the backward is composed of differentiable ops instead, so second
/// derivatives (gradient penalties through batch norm) are exact.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);
/// Layer normalisation (Ba et al. 2016): per sample over all non-batch axes; gamma/beta of
/// shape x.shape[1:] (may be undefined). Same backward strategy as batch_norm.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps = 1e-5f);
/// Virtual batch normalisation (Salimans et al. 2016, "Improved techniques for training GANs",
/// §3.4). The first `reference` rows of x [R + N, C, …] are the reference batch, normalised per
/// channel by their own statistics μ_r, σ²_r (over rows and spatial axes); each other row i is
/// normalised by the statistics of the reference batch plus itself:
///     μ_i = (R·μ_r + m_i)/(R + 1),   m_i, d_i: row i's mean and mean of (x_i − μ_i)² over its
///     σ²_i = (R·(σ²_r + (μ_r − μ_i)²) + d_i)/(R + 1)                    spatial axes (itself if
///     none) y_i = γ·(x_i − μ_i)/√(σ²_i + ε) + β,
/// so that a sample's output depends on the reference and itself only. Composed of
/// differentiable ops (exact derivatives of any order, also through μ_r and σ²_r); gamma/beta
/// [C] may be undefined.
Tensor virtual_batch_norm(const Tensor& x, int64_t reference, const Tensor& gamma,
                          const Tensor& beta, float eps = 1e-5f);

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
