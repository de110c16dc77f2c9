// Image ops on oneDNN: convolution and its two adjoints (which close under differentiation:
// each one's backward is made of the other two), transposed convolution, average pooling,
// resizing. Every backward here is linear in the incoming gradient and exact to any order.
#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kernels/kernels_conv.hpp"

namespace kant {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

void require_4d(const Tensor& t, const char* op, const char* what) {
  if (t.dim() != 4)
    throw TensorError(fmt::format("{}: {} must be 4-D, got {}", op, what, shape_str(t.shape())));
}

// Geometry of conv(x of x_shape, w of w_shape); checks channels, groups and sizes.
kernels::ConvGeometry geometry(const Shape& x, const Shape& w, const Conv2dOptions& o,
                               const char* op) {
  if (x.size() != 4 || w.size() != 4)
    throw TensorError(
        fmt::format("{}: input {} and weight {} must be 4-D", op, shape_str(x), shape_str(w)));
  if (o.groups < 1 || w[0] % o.groups != 0 || x[1] != w[1] * o.groups)
    throw TensorError(fmt::format("{}: input {} does not fit weight {} with {} group(s)", op,
                                  shape_str(x), shape_str(w), o.groups));
  if (o.stride_h < 1 || o.stride_w < 1 || o.dil_h < 1 || o.dil_w < 1 || o.pad_h < 0 || o.pad_w < 0)
    throw TensorError(fmt::format("{}: stride and dilation must be ≥ 1, padding ≥ 0", op));
  kernels::ConvGeometry g{};
  g.n = x[0], g.c_in = x[1], g.h = x[2], g.w = x[3];
  g.c_out = w[0], g.kh = w[2], g.kw = w[3];
  g.stride_h = o.stride_h, g.stride_w = o.stride_w, g.pad_h = o.pad_h, g.pad_w = o.pad_w;
  g.dil_h = o.dil_h, g.dil_w = o.dil_w, g.groups = o.groups;
  g.oh = (g.h + 2 * g.pad_h - g.dil_h * (g.kh - 1) - 1) / g.stride_h + 1;
  g.ow = (g.w + 2 * g.pad_w - g.dil_w * (g.kw - 1) - 1) / g.stride_w + 1;
  if (g.oh < 1 || g.ow < 1)
    throw TensorError(
        fmt::format("{}: kernel {}×{} does not fit input {}", op, g.kh, g.kw, shape_str(x)));
  return g;
}

Shape output_shape(const kernels::ConvGeometry& g) { return {g.n, g.c_out, g.oh, g.ow}; }

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  const kernels::ConvGeometry g = geometry(x.shape(), w.shape(), o, "conv2d");
  if (b.defined() && (b.dim() != 1 || b.size(0) != g.c_out))
    throw TensorError(fmt::format("conv2d: bias {} does not fit {} output channels",
                                  shape_str(b.shape()), g.c_out));
  Tensor y = Tensor::empty(output_shape(g));
  kernels::conv2d_forward(g, x.data(), w.data(), b.defined() ? b.data() : nullptr, y.data());
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return record(y, "conv2d", std::move(inputs),
                [o](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(in.size());
                  if (needs[0]) r[0] = conv2d_backward_data(h, in[1], in[0].shape(), o);
                  if (needs[1]) r[1] = conv2d_backward_weights(in[0], h, in[1].shape(), o);
                  if (in.size() > 2 && needs[2]) r[2] = sum(h, {0, 2, 3});
                  return r;
                });
}

// With T(x, W, g) = <g, conv2d(x, W)>: backward_data(g, W) = ∂T/∂x and backward_weights(x, g)
// = ∂T/∂W, so the derivatives of each are the remaining partials of the same trilinear form.
Tensor conv2d_backward_data(const Tensor& grad, const Tensor& w, const Shape& input_shape,
                            const Conv2dOptions& o) {
  const kernels::ConvGeometry g = geometry(input_shape, w.shape(), o, "conv2d_backward_data");
  if (grad.shape() != output_shape(g))
    throw TensorError(fmt::format("conv2d_backward_data: gradient {} does not fit output {}",
                                  shape_str(grad.shape()), shape_str(output_shape(g))));
  Tensor dx = Tensor::empty(input_shape);
  kernels::conv2d_backward_data(g, grad.data(), w.data(), dx.data());
  return record(dx, "conv2d_backward_data", {grad, w},
                [o](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = conv2d(h, in[1], Tensor(), o);
                  if (needs[1]) r[1] = conv2d_backward_weights(h, in[0], in[1].shape(), o);
                  return r;
                });
}

Tensor conv2d_backward_weights(const Tensor& x, const Tensor& grad, const Shape& weight_shape,
                               const Conv2dOptions& o) {
  const kernels::ConvGeometry g = geometry(x.shape(), weight_shape, o, "conv2d_backward_weights");
  if (grad.shape() != output_shape(g))
    throw TensorError(fmt::format("conv2d_backward_weights: gradient {} does not fit output {}",
                                  shape_str(grad.shape()), shape_str(output_shape(g))));
  Tensor dw = Tensor::empty(weight_shape);
  kernels::conv2d_backward_weights(g, x.data(), grad.data(), dw.data());
  return record(dw, "conv2d_backward_weights", {x, grad},
                [o](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = conv2d_backward_data(in[1], h, in[0].shape(), o);
                  if (needs[1]) r[1] = conv2d(in[0], h, Tensor(), o);
                  return r;
                });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o,
                        int64_t output_padding_h, int64_t output_padding_w) {
  require_4d(x, "conv_transpose2d", "input");
  require_4d(w, "conv_transpose2d", "weight");
  if (output_padding_h < 0 || output_padding_w < 0 ||
      (output_padding_h >= o.stride_h && output_padding_h >= o.dil_h) ||
      (output_padding_w >= o.stride_w && output_padding_w >= o.dil_w))
    throw TensorError("conv_transpose2d: output padding must be smaller than stride or dilation");
  // the transposed convolution is the adjoint of a convolution from the output shape, with
  // weight [C_in, C_out/groups, kh, kw] read as that convolution's [out, in/groups, kh, kw]
  const int64_t c_out = w.size(1) * o.groups;
  const int64_t oh =
      (x.size(2) - 1) * o.stride_h - 2 * o.pad_h + o.dil_h * (w.size(2) - 1) + 1 + output_padding_h;
  const int64_t ow =
      (x.size(3) - 1) * o.stride_w - 2 * o.pad_w + o.dil_w * (w.size(3) - 1) + 1 + output_padding_w;
  Tensor y = conv2d_backward_data(x, w, {x.size(0), c_out, oh, ow}, o);
  if (!b.defined()) return y;
  if (b.dim() != 1 || b.size(0) != c_out)
    throw TensorError(fmt::format("conv_transpose2d: bias {} does not fit {} output channels",
                                  shape_str(b.shape()), c_out));
  return y + reshape(b, {1, c_out, 1, 1});
}

// ---- pooling and resizing -----------------------------------------------------------------

namespace {

kernels::PoolGeometry pool_geometry(const Shape& x, const Pool2dOptions& o, const char* op) {
  if (x.size() != 4)
    throw TensorError(fmt::format("{} needs [N, C, H, W], got {}", op, shape_str(x)));
  kernels::PoolGeometry g{};
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.kh = o.kernel_h, g.kw = o.kernel_w, g.stride_h = o.stride_h, g.stride_w = o.stride_w;
  g.pad_h = o.pad_h, g.pad_w = o.pad_w, g.count_include_pad = o.count_include_pad;
  g.oh = (g.h + 2 * g.pad_h - g.kh) / g.stride_h + 1;
  g.ow = (g.w + 2 * g.pad_w - g.kw) / g.stride_w + 1;
  if (g.kh < 1 || g.kw < 1 || g.stride_h < 1 || g.stride_w < 1 || g.oh < 1 || g.ow < 1 ||
      2 * g.pad_h > g.kh || 2 * g.pad_w > g.kw)
    throw TensorError(fmt::format("{}: window {}×{} stride {}×{} pad {}×{} does not fit {}", op,
                                  g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w,
                                  shape_str(x)));
  return g;
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o) {
  const kernels::PoolGeometry g = pool_geometry(x.shape(), o, "avg_pool2d");
  Tensor y = Tensor::empty({g.n, g.c, g.oh, g.ow});
  kernels::avg_pool2d_forward(g, x.data(), y.data());
  return record(y, "avg_pool2d", {x},
                [o](const Tensor& h, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{avg_pool2d_backward(h, in[0].shape(), o)};
                });
}

Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, const Pool2dOptions& o) {
  const kernels::PoolGeometry g = pool_geometry(input_shape, o, "avg_pool2d_backward");
  if (grad.shape() != Shape{g.n, g.c, g.oh, g.ow})
    throw TensorError(fmt::format("avg_pool2d_backward: gradient {} does not fit {}",
                                  shape_str(grad.shape()), shape_str(input_shape)));
  Tensor dx = Tensor::empty(input_shape);
  kernels::avg_pool2d_backward(g, grad.data(), dx.data());
  return record(dx, "avg_pool2d_backward", {grad},
                [o](const Tensor& h, const Tensor&, const Grads&, const Needs&) {
                  return Grads{avg_pool2d(h, o)};
                });
}

Tensor resize(const Tensor& x, int64_t out_h, int64_t out_w, Resize mode) {
  require_4d(x, "resize", "input");
  if (out_h < 1 || out_w < 1)
    throw TensorError(fmt::format("resize: output size {}×{} must be positive", out_h, out_w));
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w});
  const bool bilinear = mode == Resize::bilinear;
  kernels::resample_forward(bilinear, x.size(0), x.size(1), x.size(2), x.size(3), out_h, out_w,
                            x.data(), y.data());
  return record(y, "resize", {x},
                [mode](const Tensor& h, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{resize_backward(h, in[0].shape(), mode)};
                });
}

Tensor resize_backward(const Tensor& grad, const Shape& input_shape, Resize mode) {
  require_4d(grad, "resize_backward", "gradient");
  if (input_shape.size() != 4 || input_shape[0] != grad.size(0) || input_shape[1] != grad.size(1))
    throw TensorError(fmt::format("resize_backward: gradient {} does not fit input {}",
                                  shape_str(grad.shape()), shape_str(input_shape)));
  Tensor dx = Tensor::empty(input_shape);
  kernels::resample_backward(mode == Resize::bilinear, input_shape[0], input_shape[1],
                             input_shape[2], input_shape[3], grad.size(2), grad.size(3),
                             grad.data(), dx.data());
  return record(dx, "resize_backward", {grad},
                [mode](const Tensor& h, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{resize(h, in[0].size(2), in[0].size(3), mode)};
                });
}

}  // namespace kant
