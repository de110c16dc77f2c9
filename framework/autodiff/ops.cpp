// Differentiable ops: forward through kernels.hpp, backward rules written with these same ops
// (so every rule is itself differentiable; masks are constants whose derivative is zero a.e.).
#include "kant/ops.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "kant/autodiff.hpp"
#include "kant/error.hpp"
#include "kernels/kernels.hpp"

namespace kant {
namespace {

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;

int64_t normalize_axis(int64_t axis, int64_t rank, const char* op) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw TensorError(fmt::format("{}: axis {} out of range for rank {}", op, axis, rank));
  return a;
}

Tensor unary(const Tensor& x, kernels::Eltwise f, float alpha = 0.0f, float beta = 0.0f) {
  Tensor y = Tensor::empty(x.shape());
  kernels::eltwise(f, alpha, beta, x.data(), y.data(), x.numel());
  return y;
}

Tensor eltwise_grad(const Tensor& g, const Tensor& data, kernels::EltwiseBackward f, float alpha,
                    const char* op) {
  if (g.shape() != data.shape())
    throw TensorError(fmt::format("{}: gradient shape {} differs from {}", op, shape_str(g.shape()),
                                  shape_str(data.shape())));
  Tensor y = Tensor::empty(g.shape());
  kernels::eltwise_backward(f, alpha, g.data(), data.data(), y.data(), g.numel());
  return y;
}

// Left-pads `s` with ones to `rank` axes.
Shape padded(const Shape& s, size_t rank) {
  Shape p(rank - s.size(), 1);
  p.insert(p.end(), s.begin(), s.end());
  return p;
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape pa = padded(a, rank), pb = padded(b, rank), out(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (pa[i] == pb[i] || pb[i] == 1) {
      out[i] = pa[i];
    } else if (pa[i] == 1) {
      out[i] = pb[i];
    } else {
      throw TensorError(
          fmt::format("shapes {} and {} do not broadcast", shape_str(a), shape_str(b)));
    }
  }
  return out;
}

// ---- linear algebra -------------------------------------------------------------------

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  if (a.dim() != 2 || b.dim() != 2)
    throw TensorError(fmt::format("matmul needs 2-D operands, got {} and {}", shape_str(a.shape()),
                                  shape_str(b.shape())));
  int64_t m = ta ? a.size(1) : a.size(0), k = ta ? a.size(0) : a.size(1);
  int64_t kb = tb ? b.size(1) : b.size(0), n = tb ? b.size(0) : b.size(1);
  if (k != kb)
    throw TensorError(fmt::format("matmul: inner sizes differ ({}{} × {}{})", shape_str(a.shape()),
                                  ta ? "ᵀ" : "", shape_str(b.shape()), tb ? "ᵀ" : ""));
  Tensor c = Tensor::empty({m, n});
  kernels::matmul(a.data(), b.data(), nullptr, c.data(), m, k, n, ta, tb);
  return record(c, "matmul", {a, b},
                [ta, tb](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  const Tensor& A = in[0];
                  const Tensor& B = in[1];
                  Grads r(2);
                  if (needs[0]) r[0] = ta ? matmul(B, g, tb, true) : matmul(g, B, false, !tb);
                  if (needs[1]) r[1] = tb ? matmul(g, A, true, ta) : matmul(A, g, !ta, false);
                  return r;
                });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1))
    throw TensorError(fmt::format("linear: input {} does not fit weight {}", shape_str(x.shape()),
                                  shape_str(w.shape())));
  if (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0)))
    throw TensorError(fmt::format("linear: bias {} does not fit weight {}", shape_str(b.shape()),
                                  shape_str(w.shape())));
  int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  Tensor y = Tensor::empty({m, n});
  kernels::matmul(x.data(), w.data(), b.defined() ? b.data() : nullptr, y.data(), m, k, n, false,
                  true);
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  return record(y, "linear", std::move(inputs),
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(in.size());
                  if (needs[0]) r[0] = matmul(g, in[1]);
                  if (needs[1]) r[1] = matmul(g, in[0], true, false);
                  if (in.size() > 2 && needs[2]) r[2] = sum(g, {0});
                  return r;
                });
}

// ---- element-wise, unary --------------------------------------------------------------

Tensor relu_backward(const Tensor& g, const Tensor& x) {
  Tensor y = eltwise_grad(g, x, kernels::EltwiseBackward::relu, 0.0f, "relu_backward");
  // x enters only through a constant mask: recorded detached, so nothing flows back to it.
  return record(y, "relu_backward", {g, x.detach()},
                [](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = relu_backward(h, in[1]);
                  return r;  // ∂/∂x is zero almost everywhere: no gradient is propagated
                });
}

Tensor leaky_relu_backward(const Tensor& g, const Tensor& x, float slope) {
  Tensor y = eltwise_grad(g, x, kernels::EltwiseBackward::relu, slope, "leaky_relu_backward");
  return record(y, "leaky_relu_backward", {g, x.detach()},
                [slope](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = leaky_relu_backward(h, in[1], slope);
                  return r;
                });
}

Tensor tanh_backward(const Tensor& g, const Tensor& y) {
  Tensor out = eltwise_grad(g, y, kernels::EltwiseBackward::tanh_use_dst, 0.0f, "tanh_backward");
  return record(out, "tanh_backward", {g, y},
                [](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = tanh_backward(h, in[1]);
                  if (needs[1]) r[1] = h * in[0] * in[1] * -2.0f;  // ∂/∂y g(1−y²) = −2gy
                  return r;
                });
}

Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
  Tensor out =
      eltwise_grad(g, y, kernels::EltwiseBackward::logistic_use_dst, 0.0f, "sigmoid_backward");
  return record(out, "sigmoid_backward", {g, y},
                [](const Tensor& h, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = sigmoid_backward(h, in[1]);
                  if (needs[1]) r[1] = h * in[0] * (1.0f - 2.0f * in[1]);  // ∂/∂y gy(1−y)
                  return r;
                });
}

Tensor relu(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::relu), "relu", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{relu_backward(g, in[0])};
                });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  return record(unary(x, kernels::Eltwise::relu, slope), "leaky_relu", {x},
                [slope](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{leaky_relu_backward(g, in[0], slope)};
                });
}

Tensor tanh(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::tanh), "tanh", {x},
                [](const Tensor& g, const Tensor& out, const Grads&, const Needs&) {
                  return Grads{tanh_backward(g, out)};
                });
}

Tensor sigmoid(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::logistic), "sigmoid", {x},
                [](const Tensor& g, const Tensor& out, const Grads&, const Needs&) {
                  return Grads{sigmoid_backward(g, out)};
                });
}

Tensor softplus(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::soft_relu), "softplus", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{g * sigmoid(in[0])};
                });
}

Tensor exp(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::exp), "exp", {x},
                [](const Tensor& g, const Tensor& out, const Grads&, const Needs&) {
                  return Grads{g * out};
                });
}

Tensor log(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::log), "log", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{g / in[0]};
                });
}

Tensor sqrt(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::sqrt), "sqrt", {x},
                [](const Tensor& g, const Tensor& out, const Grads&, const Needs&) {
                  return Grads{(g / out) * 0.5f};
                });
}

Tensor square(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::square), "square", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{g * in[0] * 2.0f};
                });
}

Tensor abs(const Tensor& x) {
  return record(unary(x, kernels::Eltwise::abs), "abs", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{g * sign(in[0])};
                });
}

Tensor affine(const Tensor& x, float a, float b) {
  return record(
      unary(x, kernels::Eltwise::linear, a, b), "affine", {x},
      [a](const Tensor& g, const Tensor&, const Grads&, const Needs&) { return Grads{g * a}; });
}

Tensor neg(const Tensor& x) { return affine(x, -1.0f, 0.0f); }

Tensor lambert_w(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::lambert_w(x.data(), y.data(), x.numel());
  return record(y, "lambert_w", {x},
                [](const Tensor& g, const Tensor& w, const Grads&, const Needs&) {
                  return Grads{g / mul(exp(w), w + 1.0f)};  // W'(x) = 1/(eʷ(1 + w))
                });
}

Tensor wright_omega(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::wright_omega(x.data(), y.data(), x.numel());
  return record(y, "wright_omega", {x},
                [](const Tensor& g, const Tensor& w, const Grads&, const Needs&) {
                  return Grads{g * div(w, w + 1.0f)};  // ω' = ω/(1 + ω)
                });
}

Tensor expm1(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::expm1(x.data(), y.data(), x.numel());
  return record(y, "expm1", {x}, [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
    return Grads{g * exp(in[0])};
  });
}

Tensor log1p(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::log1p(x.data(), y.data(), x.numel());
  return record(y, "log1p", {x}, [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
    return Grads{g / (in[0] + 1.0f)};
  });
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  if (!(lo <= hi)) throw TensorError(fmt::format("clamp: lo {} > hi {}", lo, hi));
  return record(unary(x, kernels::Eltwise::clip, lo, hi), "clamp", {x},
                [lo, hi](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{g * inside_mask(in[0], lo, hi)};
                });
}

Tensor inside_mask(const Tensor& x, float lo, float hi) {
  Tensor y = Tensor::empty(x.shape());
  kernels::range_mask(x.data(), y.data(), x.numel(), lo, hi);
  return y;
}

Tensor sign(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  kernels::sign(x.data(), y.data(), x.numel());
  return y;
}

// ---- element-wise, binary -------------------------------------------------------------

namespace {

Tensor binary_forward(kernels::Binary f, const Tensor& a, const Tensor& b) {
  Shape out = broadcast_shapes(a.shape(), b.shape());
  Shape pa = padded(a.shape(), out.size()), pb = padded(b.shape(), out.size());
  Tensor c = Tensor::empty(out);
  const bool commutative = f == kernels::Binary::add || f == kernels::Binary::mul ||
                           f == kernels::Binary::max || f == kernels::Binary::min;
  if (pa == out) {
    kernels::binary(f, a.data(), b.data(), c.data(), out, pb);
  } else if (pb == out && commutative) {
    kernels::binary(f, b.data(), a.data(), c.data(), out, pa);
  } else {
    Tensor full_a = Tensor::empty(out);
    kernels::broadcast(a.data(), pa, full_a.data(), out);
    kernels::binary(f, full_a.data(), b.data(), c.data(), out, pb);
  }
  return c;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return record(binary_forward(kernels::Binary::add, a, b), "add", {a, b},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = sum_to(g, in[0].shape());
                  if (needs[1]) r[1] = sum_to(g, in[1].shape());
                  return r;
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record(binary_forward(kernels::Binary::sub, a, b), "sub", {a, b},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = sum_to(g, in[0].shape());
                  if (needs[1]) r[1] = sum_to(neg(g), in[1].shape());
                  return r;
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return record(binary_forward(kernels::Binary::mul, a, b), "mul", {a, b},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = sum_to(g * in[1], in[0].shape());
                  if (needs[1]) r[1] = sum_to(g * in[0], in[1].shape());
                  return r;
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  return record(binary_forward(kernels::Binary::div, a, b), "div", {a, b},
                [](const Tensor& g, const Tensor& out, const Grads& in, const Needs& needs) {
                  Grads r(2);
                  if (needs[0]) r[0] = sum_to(g / in[1], in[0].shape());
                  if (needs[1]) r[1] = sum_to(neg(g * out / in[1]), in[1].shape());
                  return r;
                });
}

namespace {

// max (is_max) or min of a and b; the gradient goes where the chosen operand is, split ½/½
// at ties (the mask is a constant).
Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  Tensor c = binary_forward(is_max ? kernels::Binary::max : kernels::Binary::min, a, b);
  return record(c, is_max ? "maximum" : "minimum", {a, b},
                [is_max](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  Tensor a_wins = step(is_max ? in[0].detach() - in[1].detach()
                                              : in[1].detach() - in[0].detach());
                  Grads r(2);
                  if (needs[0]) r[0] = sum_to(g * a_wins, in[0].shape());
                  if (needs[1]) r[1] = sum_to(g * (1.0f - a_wins), in[1].shape());
                  return r;
                });
}

}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

// ---- reductions and shape -------------------------------------------------------------

namespace {

// Shape of x with the reduced axes kept as size 1.
Shape kept_shape(const Shape& s, const std::vector<int64_t>& axes, const char* op) {
  Shape k = s;
  const int64_t rank = static_cast<int64_t>(s.size());
  if (axes.empty()) {
    std::fill(k.begin(), k.end(), 1);
  } else {
    for (int64_t a : axes) k[static_cast<size_t>(normalize_axis(a, rank, op))] = 1;
  }
  return k;
}

Shape drop_ones(const Shape& s, const Shape& kept, const std::vector<int64_t>& axes) {
  Shape r;
  for (size_t i = 0; i < s.size(); ++i) {
    bool reduced = axes.empty();
    for (int64_t a : axes)
      reduced = reduced || static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(s.size()) : a) == i;
    if (!reduced) r.push_back(kept[i]);
  }
  return r;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  Shape kept = kept_shape(x.shape(), axes, "sum");
  Tensor y = Tensor::empty(kept);
  kernels::reduce_sum(x.data(), x.shape(), y.data(), kept);
  if (!keepdim) y.impl()->shape = drop_ones(x.shape(), kept, axes);
  return record(y, "sum", {x},
                [kept](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{broadcast_to(reshape(g, kept), in[0].shape())};
                });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  Tensor s = sum(x, axes, keepdim);
  int64_t count = s.numel() == 0 ? 1 : x.numel() / std::max<int64_t>(s.numel(), 1);
  return s * (1.0f / static_cast<float>(std::max<int64_t>(count, 1)));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const Shape& xs = x.shape();
  if (shape.size() > xs.size())
    throw TensorError(
        fmt::format("sum_to: cannot reduce {} to {}", shape_str(xs), shape_str(shape)));
  Shape target = padded(shape, xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    if (target[i] != xs[i] && target[i] != 1)
      throw TensorError(
          fmt::format("sum_to: cannot reduce {} to {}", shape_str(xs), shape_str(shape)));
  Tensor y = Tensor::empty(target);
  kernels::reduce_sum(x.data(), xs, y.data(), target);
  y.impl()->shape = shape;
  return record(y, "sum_to", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{broadcast_to(g, in[0].shape())};
                });
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Shape out = broadcast_shapes(x.shape(), shape);
  if (out != shape)
    throw TensorError(fmt::format("broadcast_to: {} does not broadcast to {}", shape_str(x.shape()),
                                  shape_str(shape)));
  Tensor y = Tensor::empty(shape);
  kernels::broadcast(x.data(), padded(x.shape(), shape.size()), y.data(), shape);
  return record(y, "broadcast_to", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{sum_to(g, in[0].shape())};
                });
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw TensorError("reshape: more than one -1");
      infer = static_cast<int64_t>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) s[static_cast<size_t>(infer)] = known == 0 ? 0 : x.numel() / known;
  if (shape_numel(s) != x.numel())
    throw TensorError(fmt::format("reshape: {} has {} elements, {} has {}", shape_str(x.shape()),
                                  x.numel(), shape_str(s), shape_numel(s)));
  if (s == x.shape()) return x;
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = s;
  impl->numel = x.numel();
  impl->storage = x.impl()->storage;
  return record(Tensor(std::move(impl)), "reshape", {x},
                [](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{reshape(g, in[0].shape())};
                });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw TensorError("concat of no tensors");
  const int64_t rank = xs[0].dim();
  if (rank == 0) throw TensorError("concat of scalars");
  const int64_t ax = normalize_axis(axis, rank, "concat");
  Shape out = xs[0].shape();
  out[static_cast<size_t>(ax)] = 0;
  std::vector<const float*> ptrs;
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) {
    Shape s = x.shape();
    Shape a = s, b = xs[0].shape();
    a[static_cast<size_t>(ax)] = b[static_cast<size_t>(ax)] = 0;
    if (a != b)
      throw TensorError(fmt::format("concat: shapes {} and {} differ off axis {}",
                                    shape_str(xs[0].shape()), shape_str(s), ax));
    out[static_cast<size_t>(ax)] += s[static_cast<size_t>(ax)];
    if (x.numel() == 0) continue;
    ptrs.push_back(x.data());
    shapes.push_back(s);
  }
  Tensor y = Tensor::empty(out);
  if (!ptrs.empty()) kernels::concat(ptrs, shapes, ax, y.data(), out);
  return record(y, "concat", xs,
                [ax](const Tensor& g, const Tensor&, const Grads& in, const Needs& needs) {
                  Grads r(in.size());
                  int64_t offset = 0;
                  for (size_t i = 0; i < in.size(); ++i) {
                    int64_t n = in[i].size(ax);
                    if (needs[i]) r[i] = slice(g, ax, offset, offset + n);
                    offset += n;
                  }
                  return r;
                });
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end) {
  const int64_t ax = normalize_axis(axis, x.dim(), "slice");
  const int64_t n = x.size(ax);
  if (start < 0 || end > n || start > end)
    throw TensorError(fmt::format("slice [{}, {}) out of range for axis {} of {}", start, end, ax,
                                  shape_str(x.shape())));
  Shape out = x.shape();
  out[static_cast<size_t>(ax)] = end - start;
  Tensor y = Tensor::empty(out);
  kernels::copy_block(x.data(), y.data(), x.shape(), out, ax, start, true);
  return record(y, "slice", {x},
                [ax, start](const Tensor& g, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{slice_backward(g, in[0].shape(), ax, start)};
                });
}

Tensor slice_backward(const Tensor& g, const Shape& shape, int64_t axis, int64_t start) {
  const int64_t ax = normalize_axis(axis, static_cast<int64_t>(shape.size()), "slice_backward");
  Shape expect = shape;
  expect[static_cast<size_t>(ax)] = g.size(ax);
  if (g.shape() != expect || start < 0 || start + g.size(ax) > shape[static_cast<size_t>(ax)])
    throw TensorError(fmt::format("slice_backward: {} does not fit {} at {}", shape_str(g.shape()),
                                  shape_str(shape), start));
  Tensor y = Tensor::zeros(shape);
  kernels::copy_block(g.data(), y.data(), shape, g.shape(), ax, start, false);
  return record(y, "slice_backward", {g},
                [ax, start](const Tensor& h, const Tensor&, const Grads& in, const Needs&) {
                  return Grads{slice(h, ax, start, start + in[0].size(ax))};
                });
}

}  // namespace kant
