// Shape and index ops: flatten, permute, pad/crop, and the gather/scatter pair behind max
// pooling, maxout and group sort (so that their gradients differentiate again).
#include <fmt/format.h>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "kernels/kernels.hpp"

namespace kant {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

Index make_index(std::vector<int64_t> positions) {
  return std::make_shared<const std::vector<int64_t>>(std::move(positions));
}

// `before`/`after` apply to the trailing axes; returns them extended to the full rank.
std::vector<int64_t> full_rank(const std::vector<int64_t>& v, size_t rank, const char* op) {
  if (v.size() > rank)
    throw TensorError(fmt::format("{}: {} axes given for a tensor of rank {}", op, v.size(), rank));
  std::vector<int64_t> r(rank - v.size(), 0);
  r.insert(r.end(), v.begin(), v.end());
  for (int64_t p : r)
    if (p < 0) throw TensorError(fmt::format("{}: negative amount {}", op, p));
  return r;
}

}  // namespace

Tensor flatten(const Tensor& x) { return reshape(x, {x.size(0), -1}); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& perm) {
  const size_t rank = x.shape().size();
  std::vector<int64_t> inverse(rank, -1);
  bool valid = perm.size() == rank;
  for (size_t i = 0; valid && i < rank; ++i) {
    valid = perm[i] >= 0 && perm[i] < static_cast<int64_t>(rank) && inverse[perm[i]] < 0;
    if (valid) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  }
  if (!valid)
    throw TensorError(
        fmt::format("permute: {} is not a permutation of {} axes", shape_str(perm), rank));
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) out[i] = x.size(perm[i]);
  Tensor y = Tensor::empty(out);
  kernels::permute(x.data(), x.shape(), perm, y.data());
  return record(y, "permute", {x},
                [inverse](const Tensor& g, const Tensor&, const Grads&, const Needs&) {
                  return Grads{permute(g, inverse)};
                });
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& before, const std::vector<int64_t>& after) {
  const size_t rank = x.shape().size();
  std::vector<int64_t> b = full_rank(before, rank, "pad"), a = full_rank(after, rank, "pad");
  Shape out = x.shape();
  for (size_t i = 0; i < rank; ++i) out[i] += b[i] + a[i];
  Tensor y = Tensor::zeros(out);
  kernels::copy_window(x.data(), y.data(), out, x.shape(), b, false);
  return record(y, "pad", {x}, [b](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
    return Grads{crop(g, b, in[0].shape())};
  });
}

Tensor crop(const Tensor& x, const std::vector<int64_t>& offsets, const Shape& shape) {
  const size_t rank = x.shape().size();
  std::vector<int64_t> o = full_rank(offsets, rank, "crop");
  bool fits = shape.size() == rank;
  for (size_t i = 0; fits && i < rank; ++i) fits = shape[i] >= 0 && o[i] + shape[i] <= x.size(i);
  if (!fits)
    throw TensorError(fmt::format("crop: window {} at {} does not fit in {}", shape_str(shape),
                                  shape_str(o), shape_str(x.shape())));
  Tensor y = Tensor::empty(shape);
  kernels::copy_window(x.data(), y.data(), x.shape(), shape, o, true);
  return record(y, "crop", {x}, [o](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
    std::vector<int64_t> after(o.size());
    for (size_t i = 0; i < o.size(); ++i) after[i] = in[0].size(i) - o[i] - g.size(i);
    return Grads{pad(g, o, after)};
  });
}

Tensor gather(const Tensor& x, const Index& index, const Shape& shape) {
  if (static_cast<int64_t>(index->size()) != shape_numel(shape))
    throw TensorError(
        fmt::format("gather: {} positions for shape {}", index->size(), shape_str(shape)));
  Tensor y = Tensor::empty(shape);
  kernels::gather(x.data(), index->data(), y.data(), y.numel());
  return record(y, "gather", {x},
                [index](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{scatter_add(g, index, in[0].shape())};
                });
}

Tensor scatter_add(const Tensor& g, const Index& index, const Shape& shape) {
  if (static_cast<int64_t>(index->size()) != g.numel())
    throw TensorError(
        fmt::format("scatter_add: {} positions for {} values", index->size(), g.numel()));
  Tensor y = Tensor::empty(shape);
  kernels::scatter_add(g.data(), index->data(), g.numel(), y.data(), y.numel());
  return record(y, "scatter_add", {g},
                [index](const Tensor& h, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{gather(h, index, in[0].shape())};
                });
}

Tensor maxout(const Tensor& x, int64_t pieces) {
  if (x.dim() < 2 || pieces < 1 || x.size(1) % pieces != 0)
    throw TensorError(fmt::format("maxout: {} channels of {} are not a multiple of {} pieces",
                                  x.dim() < 2 ? 0 : x.size(1), shape_str(x.shape()), pieces));
  Shape out = x.shape();
  out[1] /= pieces;
  const int64_t inner = x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1));
  std::vector<int64_t> positions(static_cast<size_t>(shape_numel(out)));
  kernels::maxout_argmax(x.size(0), out[1], pieces, inner, x.data(), positions.data());
  return gather(x, make_index(std::move(positions)), out);
}

Tensor group_sort(const Tensor& x, int64_t group) {
  if (x.dim() < 2 || group < 1 || x.size(1) % group != 0)
    throw TensorError(fmt::format("group_sort: {} channels of {} are not a multiple of group {}",
                                  x.dim() < 2 ? 0 : x.size(1), shape_str(x.shape()), group));
  const int64_t inner = x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1));
  std::vector<int64_t> positions(static_cast<size_t>(x.numel()));
  kernels::group_sort_index(x.size(0), x.size(1), group, inner, x.data(), positions.data());
  return gather(x, make_index(std::move(positions)), x.shape());
}

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o) {
  if (x.dim() != 4)
    throw TensorError(fmt::format("max_pool2d needs [N, C, H, W], got {}", shape_str(x.shape())));
  const int64_t oh = (x.size(2) + 2 * o.pad_h - o.kernel_h) / o.stride_h + 1;
  const int64_t ow = (x.size(3) + 2 * o.pad_w - o.kernel_w) / o.stride_w + 1;
  if (oh < 1 || ow < 1 || o.pad_h * 2 > o.kernel_h || o.pad_w * 2 > o.kernel_w)
    throw TensorError(fmt::format("max_pool2d: window {}×{} pad {}×{} does not fit {}", o.kernel_h,
                                  o.kernel_w, o.pad_h, o.pad_w, shape_str(x.shape())));
  Shape out{x.size(0), x.size(1), oh, ow};
  std::vector<int64_t> positions(static_cast<size_t>(shape_numel(out)));
  kernels::max_pool2d_argmax(x.size(0), x.size(1), x.size(2), x.size(3), oh, ow, o.kernel_h,
                             o.kernel_w, o.stride_h, o.stride_w, o.pad_h, o.pad_w, x.data(),
                             positions.data());
  return gather(x, make_index(std::move(positions)), out);
}

}  // namespace kant
