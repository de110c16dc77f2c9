// Internal kernel layer: oneDNN primitives (cached by shape and attributes) on raw buffers,
// plus the few plain loops for which oneDNN has no primitive. Ops call these; nothing else does.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kant/tensor.hpp"

namespace kant::kernels {

/// The precision of the products (matmul and convolution, forward and backward) on the calling
/// thread: fp32, or bf16 operands (rounded to nearest even) with fp32 accumulation, bias and
/// results. Sums (reduce_sum's GEMVs) and every other kernel stay fp32 in both.
enum class Precision { fp32, bf16 };
void set_product_precision(Precision p);
Precision product_precision();
/// Whether oneDNN multiplies bf16 natively here (avx512_core_bf16 or an AMX ISA); oneDNN 2.6 has
/// no bf16 kernels below AVX-512 BF16.
bool native_bf16();

/// C[M,N] = op(A) op(B) (+ bias[N]) at product_precision(); A is stored [K,M] when transpose_a,
/// B [N,K] when transpose_b; all row-major.
void matmul(const float* a, const float* b, const float* bias, float* c, int64_t m, int64_t k,
            int64_t n, bool transpose_a, bool transpose_b);

enum class Eltwise {
  relu,
  tanh,
  logistic,
  soft_relu,
  exp,
  log,
  sqrt,
  square,
  abs,
  clip,
  linear,
  elu,
  gelu_erf,
  pow
};
/// y = f(x) element-wise with oneDNN's alpha/beta convention.
void eltwise(Eltwise f, float alpha, float beta, const float* x, float* y, int64_t n);

enum class EltwiseBackward { relu, tanh_use_dst, logistic_use_dst };
/// diff_src = f'(data) · diff_dst, where data is the source (relu) or the result (use_dst).
void eltwise_backward(EltwiseBackward f, float alpha, const float* diff_dst, const float* data,
                      float* diff_src, int64_t n);

enum class Binary { add, sub, mul, div, max, min };
/// c = a ∘ b where a and c have shape `shape_c` and b has the same rank, each axis equal or 1.
void binary(Binary f, const float* a, const float* b, float* c, const Shape& shape_c,
            const Shape& shape_b);

/// y = sum of x over the axes where `shape_y` (same rank) has size 1 and `shape_x` does not.
void reduce_sum(const float* x, const Shape& shape_x, float* y, const Shape& shape_y);

/// y[shape_y] = x broadcast (x has the same rank, each axis equal or 1).
void broadcast(const float* x, const Shape& shape_x, float* y, const Shape& shape_y);

/// dst = concatenation of srcs along `axis`.
void concat(const std::vector<const float*>& srcs, const std::vector<Shape>& shapes, int64_t axis,
            float* dst, const Shape& shape_dst);

/// Copies the block of `big` at `offset` along `axis` (size `small` there) to/from `small`.
void copy_block(const float* src, float* dst, const Shape& big, const Shape& small, int64_t axis,
                int64_t offset, bool big_to_small);

/// Copies the window of `big` at `offsets` (size `small`) to/from `small` (any rank).
void copy_window(const float* src, float* dst, const Shape& big, const Shape& small,
                 const std::vector<int64_t>& offsets, bool big_to_small);
/// y = x with axes permuted: y.shape[i] = x.shape[perm[i]] (a oneDNN reorder).
void permute(const float* x, const Shape& shape_x, const std::vector<int64_t>& perm, float* y);

// ---- index kernels (plain loops: oneDNN has no gather, scatter or sort) ----
/// y[i] = x[index[i]].
void gather(const float* x, const int64_t* index, float* y, int64_t n);
/// y[0..m) = 0, then y[index[i]] += g[i] for i < n.
void scatter_add(const float* g, const int64_t* index, int64_t n, float* y, int64_t m);
/// Flat index into x [n, c, h, w] of the maximum of each pooling window (padding excluded).
void max_pool2d_argmax(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                       int64_t kh, int64_t kw, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                       int64_t pad_w, const float* x, int64_t* index);
/// x viewed [outer, channels · pieces, inner] with consecutive pieces per channel: flat index
/// of the maximum over the pieces, for each (outer, channel, inner).
void maxout_argmax(int64_t outer, int64_t channels, int64_t pieces, int64_t inner, const float* x,
                   int64_t* index);
/// x viewed [outer, channels, inner], channels in consecutive groups: the flat index of the
/// element that lands at each position when every group is sorted ascending.
void group_sort_index(int64_t outer, int64_t channels, int64_t group, int64_t inner, const float* x,
                      int64_t* index);
/// y = 1 where x > 0, ½ where x = 0, 0 where x < 0 (Heaviside with the symmetric value).
void step(const float* x, float* y, int64_t n);
/// y = erf(x).
void erf(const float* x, float* y, int64_t n);

/// y = 1 where lo ≤ x ≤ hi, else 0 (plain loop: a mask is one compare).
void range_mask(const float* x, float* y, int64_t n, float lo, float hi);
/// y = W₀(x), the principal branch of Lambert W, by Halley's iteration (plain loop).
void lambert_w(const float* x, float* y, int64_t n);
/// y = W₀(eˣ), Wright's ω function: the solution of ω + log ω = x, for every x (computed
/// in double precision in log space, so eˣ never overflows; plain loop).
void wright_omega(const float* x, float* y, int64_t n);
/// y = eˣ − 1, accurate near 0 (plain loop).
void expm1(const float* x, float* y, int64_t n);
/// y = log(1 + x), accurate near 0 (plain loop).
void log1p(const float* x, float* y, int64_t n);
/// y = sign(x) ∈ {−1, 0, 1} (plain loop).
void sign(const float* x, float* y, int64_t n);

/// Name of the instruction set oneDNN dispatches to on this machine (e.g. "avx512_core").
std::string cpu_isa();
/// "2.6.3".
std::string onednn_version();
/// Threads every following kernel uses (OpenMP's thread count).
void set_threads(int threads);

}  // namespace kant::kernels
