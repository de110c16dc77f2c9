// Internal kernel layer for images [N, C, H, W]: convolution (forward, backward-data,
// backward-weights), average pooling, resampling, and the normalisation statistics kernels.
#pragma once
#include <cstdint>
#include <string>

namespace kant::kernels {

/// One 2-D convolution: source x [n, c_in, h, w], weight [c_out, c_in/groups, kh, kw],
/// result y [n, c_out, oh, ow]. Dilation 1 means none (PyTorch's convention).
struct ConvGeometry {
  int64_t n, c_in, h, w, c_out, kh, kw, oh, ow;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
  std::string key() const;
};

/// y = x ⋆ W (+ bias[c_out]).
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y);
/// dx = the adjoint of x ↦ x ⋆ W applied to dy (the transposed convolution).
void conv2d_backward_data(const ConvGeometry& g, const float* dy, const float* w, float* dx);
/// dW = Σ_batch dy ⊗ x, the adjoint of W ↦ x ⋆ W applied to dy.
void conv2d_backward_weights(const ConvGeometry& g, const float* x, const float* dy, float* dw);

/// Window geometry of a pooling over [n, c, h, w] → [n, c, oh, ow].
struct PoolGeometry {
  int64_t n, c, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w;
  bool count_include_pad;
  std::string key() const;
};
void avg_pool2d_forward(const PoolGeometry& g, const float* x, float* y);
/// The adjoint of avg_pool2d_forward.
void avg_pool2d_backward(const PoolGeometry& g, const float* dy, float* dx);

/// Resampling [n, c, h, w] → [n, c, oh, ow], nearest or bilinear (half-pixel centres, as
/// PyTorch's align_corners=False).
void resample_forward(bool bilinear, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                      int64_t ow, const float* x, float* y);
/// The adjoint of resample_forward.
void resample_backward(bool bilinear, int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                       int64_t ow, const float* dy, float* dx);

/// Standardisation statistics. Batch norm: x viewed as [n, c, s], one mean/variance per
/// channel over (n, s). Layer norm: x viewed as [n, d], one per row. Variances are biased.
/// y = (x − mean)/√(var + eps).
void batch_norm_forward(int64_t n, int64_t c, int64_t s, float eps, const float* x, float* y,
                        float* mean, float* var);
void batch_norm_backward(int64_t n, int64_t c, int64_t s, float eps, const float* x,
                         const float* mean, const float* var, const float* dy, float* dx);
void layer_norm_forward(int64_t n, int64_t d, float eps, const float* x, float* y, float* mean,
                        float* var);
void layer_norm_backward(int64_t n, int64_t d, float eps, const float* x, const float* mean,
                         const float* var, const float* dy, float* dx);

}  // namespace kant::kernels
