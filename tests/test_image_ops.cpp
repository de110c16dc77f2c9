// Convolutional, pooling, resizing, normalisation, index and extra element-wise ops: values
// against plain-loop references, first and second derivatives against finite differences.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "kant/rng.hpp"

using namespace kant;
using kant::testing::check_both;
using kant::testing::check_grad;
using kant::testing::check_gradgrad;
using kant::testing::Function;
using kant::testing::random_tensor;

namespace {

// Entries that are a shuffled ladder with step `gap`: no ties and no near-ties, so that
// max-type ops keep their choice under finite-difference steps.
Tensor distinct(const Shape& shape, float gap, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  std::vector<int64_t> order(static_cast<size_t>(t.numel()));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data()[i] = (static_cast<float>(order[static_cast<size_t>(i)]) - t.numel() / 2.0f) * gap;
  return t;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

// Plain-loop convolution: y = x ⋆ w (+ b), and the two adjoints dx = ∂<g, y>/∂x,
// dw = ∂<g, y>/∂w, all by visiting every (sample, output, tap) once.
struct NaiveConv {
  Tensor y, dx, dw;
};

NaiveConv naive_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& g,
                     const Conv2dOptions& o) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t co = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const int64_t oh = (h + 2 * o.pad_h - o.dil_h * (kh - 1) - 1) / o.stride_h + 1;
  const int64_t ow = (wd + 2 * o.pad_w - o.dil_w * (kw - 1) - 1) / o.stride_w + 1;
  NaiveConv r{Tensor::zeros({n, co, oh, ow}), Tensor::zeros(x.shape()), Tensor::zeros(w.shape())};
  const int64_t out_per_group = co / o.groups;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t oc = 0; oc < co; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t yi = ((s * co + oc) * oh + i) * ow + j;
          double acc = b.defined() ? b.data()[oc] : 0.0;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t bb = 0; bb < kw; ++bb) {
                const int64_t r_ = i * o.stride_h - o.pad_h + a * o.dil_h;
                const int64_t c_ = j * o.stride_w - o.pad_w + bb * o.dil_w;
                if (r_ < 0 || r_ >= h || c_ < 0 || c_ >= wd) continue;
                const int64_t ch = (oc / out_per_group) * cg + ci;
                const int64_t xi = ((s * c + ch) * h + r_) * wd + c_;
                const int64_t wi = ((oc * cg + ci) * kh + a) * kw + bb;
                acc += double(x.data()[xi]) * w.data()[wi];
                r.dx.data()[xi] += g.data()[yi] * w.data()[wi];
                r.dw.data()[wi] += g.data()[yi] * x.data()[xi];
              }
          r.y.data()[yi] = static_cast<float>(acc);
        }
  return r;
}

struct ConvCase {
  Shape x, w;
  Conv2dOptions o;
};

const std::vector<ConvCase> kConvCases{
    {{2, 3, 7, 6}, {4, 3, 3, 3}, Conv2dOptions::square(1, 1)},
    {{1, 4, 9, 8}, {6, 2, 3, 2}, {2, 2, 1, 0, 1, 1, 2}},        // groups 2, asymmetric
    {{2, 2, 10, 9}, {3, 2, 3, 3}, {2, 3, 2, 2, 2, 2, 1}},       // dilation 2, strides 2×3
    {{3, 1, 5, 5}, {2, 1, 1, 1}, Conv2dOptions::square(1, 0)},  // 1×1
    {{1, 3, 8, 8}, {5, 3, 4, 4}, Conv2dOptions::square(2, 1)},  // DCGAN-style down-sampling
};

}  // namespace

TEST_CASE("conv2d and its adjoints match a plain-loop reference", "[ops][conv]") {
  for (const ConvCase& k : kConvCases) {
    INFO(shape_str(k.x) << " ⋆ " << shape_str(k.w));
    Tensor x = random_tensor(k.x, -1, 1, 1), w = random_tensor(k.w, -1, 1, 2);
    Tensor b = random_tensor({k.w[0]}, -1, 1, 3);
    Tensor y = conv2d(x, w, b, k.o);
    Tensor g = random_tensor(y.shape(), -1, 1, 4);
    NaiveConv ref = naive_conv(x, w, b, g, k.o);
    CHECK(max_abs_diff(y, ref.y) < 1e-4f);
    CHECK(max_abs_diff(conv2d_backward_data(g, w, x.shape(), k.o), ref.dx) < 1e-4f);
    CHECK(max_abs_diff(conv2d_backward_weights(x, g, w.shape(), k.o), ref.dw) < 1e-4f);
  }
}

TEST_CASE("conv2d, backward-data and backward-weights: first and second derivatives",
          "[ops][conv]") {
  for (const ConvCase& k : kConvCases) {
    INFO(shape_str(k.x) << " ⋆ " << shape_str(k.w));
    const Conv2dOptions o = k.o;
    Tensor x = random_tensor(k.x, -1, 1, 5), w = random_tensor(k.w, -1, 1, 6);
    Tensor b = random_tensor({k.w[0]}, -1, 1, 7);
    // squared, so that second derivatives also mix x and w through the adjoint ops; the
    // functions are quartic polynomials, so a wider step costs no truncation accuracy and
    // keeps float rounding of the large sums out of the differences
    const kant::testing::Tolerance tol{2e-2f, 5e-3f, 2e-2f};
    check_both([o](auto& v) { return square(conv2d(v[0], v[1], v[2], o)); }, {x, w, b}, tol);
    Tensor y = conv2d(x, w, b, o);
    Tensor g = random_tensor(y.shape(), -1, 1, 8);
    const Shape xs = x.shape(), ws = w.shape();
    check_both([o, xs](auto& v) { return square(conv2d_backward_data(v[0], v[1], xs, o)); }, {g, w},
               tol);
    check_both([o, ws](auto& v) { return square(conv2d_backward_weights(v[0], v[1], ws, o)); },
               {x, g}, tol);
  }
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d, with PyTorch's output size", "[ops][conv]") {
  // DCGAN generator block: 4×4 kernel, stride 2, padding 1 doubles the size
  Tensor x = random_tensor({2, 4, 4, 4}, -1, 1, 9), w = random_tensor({4, 3, 4, 4}, -1, 1, 10);
  Tensor b = random_tensor({3}, -1, 1, 11);
  const Conv2dOptions o = Conv2dOptions::square(2, 1);
  Tensor y = conv_transpose2d(x, w, b, o);
  CHECK(y.shape() == Shape{2, 3, 8, 8});
  // <conv_transpose(x, w), z> = <x, conv(z, w)> for the bias-free part
  Tensor z = random_tensor(y.shape(), -1, 1, 12);
  Tensor lhs = sum(mul(conv_transpose2d(x, w, Tensor(), o), z));
  Tensor rhs = sum(mul(x, conv2d(z, w, Tensor(), o)));
  CHECK(lhs.item() == Approx(rhs.item()).epsilon(1e-4));
  // output padding and groups
  CHECK(conv_transpose2d(random_tensor({1, 4, 3, 3}, -1, 1, 1),
                         random_tensor({4, 1, 3, 3}, -1, 1, 2), Tensor(),
                         Conv2dOptions::square(2, 1, 1, 2), 1, 1)
            .shape() == Shape{1, 2, 6, 6});
  check_both([o](auto& v) { return square(conv_transpose2d(v[0], v[1], v[2], o)); }, {x, w, b});
  CHECK_THROWS_WITH(
      conv2d(random_tensor({1, 3, 4, 4}, 0, 1, 1), random_tensor({2, 2, 3, 3}, 0, 1, 1), Tensor()),
      Catch::Contains("does not fit weight"));
}

TEST_CASE("pooling and resizing: values and derivatives", "[ops][conv]") {
  Tensor x = distinct({2, 3, 7, 6}, 0.05f, 14);
  for (const Pool2dOptions& o : {Pool2dOptions::square(2, 2), Pool2dOptions::square(3, 2, 1),
                                 Pool2dOptions{3, 2, 1, 2, 1, 0, false}}) {
    INFO("window " << o.kernel_h << "×" << o.kernel_w << " stride " << o.stride_h << "×"
                   << o.stride_w);
    // plain-loop references
    Tensor avg = avg_pool2d(x, o), mx = max_pool2d(x, o);
    for (int64_t p = 0; p < 6; ++p)
      for (int64_t i = 0; i < avg.size(2); ++i)
        for (int64_t j = 0; j < avg.size(3); ++j) {
          double s = 0;
          float m = -1e30f;
          int count = 0;
          for (int64_t a = 0; a < o.kernel_h; ++a)
            for (int64_t b = 0; b < o.kernel_w; ++b) {
              const int64_t r = i * o.stride_h - o.pad_h + a, c = j * o.stride_w - o.pad_w + b;
              if (r < 0 || r >= 7 || c < 0 || c >= 6) continue;
              const float v = x.data()[(p * 7 + r) * 6 + c];
              s += v, m = std::max(m, v), ++count;
            }
          const int64_t at = (p * avg.size(2) + i) * avg.size(3) + j;
          const double divisor = o.count_include_pad ? o.kernel_h * o.kernel_w : count;
          CHECK(avg.data()[at] == Approx(s / divisor).margin(1e-5));
          CHECK(mx.data()[at] == m);
        }
    check_both([o](auto& v) { return square(avg_pool2d(v[0], o)); }, {x});
    check_both([o](auto& v) { return square(max_pool2d(v[0], o)); }, {x});
  }
  // nearest ×2 repeats each pixel; bilinear ×2 with half-pixel centres (align_corners=False)
  Tensor small = Tensor::from({1, 1, 2, 2}, {1, 2, 3, 4});
  CHECK(resize(small, 4, 4, Resize::nearest).to_vector() ==
        std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  std::vector<float> bl = resize(small, 4, 4, Resize::bilinear).to_vector();
  CHECK(bl[0] == Approx(1.0f));   // clamped corner
  CHECK(bl[1] == Approx(1.25f));  // x = 0.25 between 1 and 2
  CHECK(bl[5] == Approx(1.75f));  // (0.25, 0.25): 1 + 0.25·1 + 0.25·2
  for (Resize mode : {Resize::nearest, Resize::bilinear}) {
    check_both([mode](auto& v) { return square(resize(v[0], 9, 11, mode)); }, {x});
    Tensor g = random_tensor({2, 3, 14, 12}, -1, 1, 15);
    const Shape xs = x.shape();
    check_both([mode, xs](auto& v) { return square(resize_backward(v[0], xs, mode)); }, {g});
  }
}

TEST_CASE("batch and layer norm: statistics, running averages, derivatives to second order",
          "[ops][norm]") {
  Tensor x = random_tensor({4, 3, 3, 2}, -2, 2, 16);
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.1f, 1e-5f);
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0, s2 = 0, xs = 0, xs2 = 0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t k = 0; k < 6; ++k) {
        const int64_t at = (n * 3 + c) * 6 + k;
        s += y.data()[at], s2 += double(y.data()[at]) * y.data()[at];
        xs += x.data()[at], xs2 += double(x.data()[at]) * x.data()[at];
      }
    CHECK(s / 24 == Approx(0).margin(1e-5));
    CHECK(s2 / 24 == Approx(1).epsilon(1e-3));
    const double mean = xs / 24, var_unbiased = (xs2 - 24 * mean * mean) / 23;
    CHECK(rm.data()[c] == Approx(0.1 * mean).margin(1e-6));
    CHECK(rv.data()[c] == Approx(0.9 + 0.1 * var_unbiased).epsilon(1e-4));
  }
  // evaluation uses the running statistics
  Tensor e = batch_norm(x, Tensor(), Tensor(), rm, rv, false);
  CHECK(e.data()[0] == Approx((x.data()[0] - rm.data()[0]) / std::sqrt(rv.data()[0] + 1e-5f)));

  Tensor gamma = random_tensor({3}, 0.5, 1.5, 17), beta = random_tensor({3}, -1, 1, 18);
  kant::testing::Tolerance tol{3e-3f, 4e-3f, 3e-2f};
  auto bn = [](auto& v) {
    Tensor m = Tensor::zeros({3}), s = Tensor::ones({3});
    return kant::tanh(batch_norm(v[0], v[1], v[2], m, s, true));
  };
  check_both(bn, {x, gamma, beta}, tol);
  auto bn_eval = [](auto& v) {
    Tensor m = Tensor::full({3}, 0.2f), s = Tensor::full({3}, 1.5f);
    return square(batch_norm(v[0], v[1], v[2], m, s, false));
  };
  check_both(bn_eval, {x, gamma, beta}, tol);
  Tensor g2 = random_tensor({3, 2}, 0.5, 1.5, 19), b2 = random_tensor({3, 2}, -1, 1, 20);
  Tensor x3 = random_tensor({4, 3, 2}, -2, 2, 21);
  check_both([](auto& v) { return kant::tanh(layer_norm(v[0], v[1], v[2])); }, {x3, g2, b2}, tol);
  Tensor ln = layer_norm(x3, Tensor(), Tensor());
  for (int64_t n = 0; n < 4; ++n) {
    double s = 0;
    for (int64_t k = 0; k < 6; ++k) s += ln.data()[n * 6 + k];
    CHECK(s == Approx(0).margin(1e-5));
  }
}

TEST_CASE("shape and index ops: permute, pad, crop, maxout, group sort", "[ops]") {
  Tensor x = distinct({2, 6, 3}, 0.05f, 22);
  Tensor p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{3, 2, 6});
  CHECK(p.data()[(1 * 2 + 1) * 6 + 4] == x.data()[(1 * 6 + 4) * 3 + 1]);
  check_both([](auto& v) { return square(permute(v[0], {2, 0, 1})); }, {x});
  Tensor padded = pad(x, {1, 2}, {0, 1});
  CHECK(padded.shape() == Shape{2, 7, 6});
  CHECK(padded.data()[0] == 0.0f);
  CHECK(padded.data()[(0 * 7 + 1) * 6 + 2] == x.data()[0]);
  check_both([](auto& v) { return square(pad(v[0], {1, 2}, {0, 1})); }, {x});
  check_both([](auto& v) { return square(crop(v[0], {1, 1}, {2, 4, 2})); }, {x});
  CHECK(flatten(x).shape() == Shape{2, 18});

  Tensor m = maxout(x, 3);
  CHECK(m.shape() == Shape{2, 2, 3});
  CHECK(m.data()[0] == std::max({x.data()[0], x.data()[3], x.data()[6]}));
  check_both([](auto& v) { return square(maxout(v[0], 3)); }, {x});
  Tensor s = group_sort(x, 2);
  for (int64_t i = 0; i < 2 * 3 * 3; ++i) {
    const int64_t n = i / 9, g = (i / 3) % 3, k = i % 3;
    const float lo = s.data()[(n * 6 + 2 * g) * 3 + k], hi = s.data()[(n * 6 + 2 * g + 1) * 3 + k];
    CHECK(lo <= hi);
  }
  check_both([](auto& v) { return square(group_sort(v[0], 3)); }, {x});
  CHECK_THROWS_WITH(maxout(x, 4), Catch::Contains("not a multiple"));
}

TEST_CASE("more element-wise ops: ELU, SELU, softsign, GELU, erf, pow, max/min, where, dropout",
          "[ops]") {
  Tensor x = kant::testing::random_away_from_zero({3, 5}, 0.05f, 2.0f, 23);
  std::vector<std::pair<const char*, Function>> cases{
      {"elu", [](auto& v) { return elu(v[0], 0.7f); }},
      {"selu", [](auto& v) { return selu(v[0]); }},
      {"softsign", [](auto& v) { return softsign(v[0]); }},
      {"gelu", [](auto& v) { return gelu(v[0]); }},
      {"erf", [](auto& v) { return kant::erf(v[0]); }},
      {"pow", [](auto& v) { return kant::pow(abs(v[0]) + 0.5f, 2.5f); }},
      {"where", [](auto& v) { return where(step(v[0]), square(v[0]), v[0] * 3.0f); }},
  };
  for (auto& [name, f] : cases) {
    INFO(name);
    check_both(f, {x});
  }
  Tensor a = distinct({3, 5}, 0.05f, 24), b = distinct({1, 5}, 0.07f, 25);
  check_both([](auto& v) { return square(maximum(v[0], v[1])); }, {a, b});
  check_both([](auto& v) { return square(minimum(v[0], v[1])); }, {a, b});
  // values against the standard library
  Tensor pts = Tensor::from({4}, {-1.5f, -0.2f, 0.3f, 2.0f});
  std::vector<float> e = elu(pts).to_vector(), gl = gelu(pts).to_vector();
  for (size_t i = 0; i < 4; ++i) {
    const float v = pts.data()[i];
    CHECK(e[i] == Approx(v > 0 ? v : std::expm1(v)).margin(1e-6));
    CHECK(gl[i] == Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))).margin(1e-6));
  }
  // ties split the gradient evenly
  Tensor t = Tensor::from({1}, {1.0f}).set_requires_grad(),
         u = Tensor::from({1}, {1.0f}).set_requires_grad();
  auto g = grad({sum(maximum(t, u))}, {t, u});
  CHECK(g[0].item() == 0.5f);
  CHECK(g[1].item() == 0.5f);
  // dropout keeps the mean, drops about p, and is a constant mask for the gradient
  Rng rng(5);
  Tensor ones = Tensor::ones({10000});
  std::vector<float> d = dropout(ones, 0.25f, rng).to_vector();
  const auto zeros = std::count(d.begin(), d.end(), 0.0f);
  CHECK(zeros > 2300);
  CHECK(zeros < 2700);
  CHECK(std::accumulate(d.begin(), d.end(), 0.0) / 10000 == Approx(1.0).epsilon(0.03));
  check_both(
      [](auto& v) {
        Rng r(9);
        return square(dropout(v[0], 0.5f, r));
      },
      {x});
}

TEST_CASE("gated_tanh: tanh(a)·sigmoid(b) of the two channel halves, its derivatives and bound",
          "[ops]") {
  // values at hand-computed points: x = [a₀, a₁, b₀, b₁] on axis 1
  Tensor x = Tensor::from({1, 4}, {0.5f, -1.0f, 0.0f, 2.0f});
  std::vector<float> y = gated_tanh(x).to_vector();
  REQUIRE(y.size() == 2);
  CHECK(y[0] == Approx(std::tanh(0.5) * 0.5).margin(1e-6));  // σ(0) = ½
  CHECK(y[1] == Approx(std::tanh(-1.0) / (1 + std::exp(-2.0))).margin(1e-6));
  // the gradient by hand: ∂/∂a = (1 − tanh²a)σ(b), ∂/∂b = tanh(a)σ(b)(1 − σ(b))
  Tensor xv = x.clone().set_requires_grad();
  std::vector<float> g = grad({sum(gated_tanh(xv))}, {xv})[0].to_vector();
  const double t0 = std::tanh(0.5), t1 = std::tanh(-1.0), s1 = 1 / (1 + std::exp(-2.0));
  CHECK(g[0] == Approx((1 - t0 * t0) * 0.5).margin(1e-6));
  CHECK(g[1] == Approx((1 - t1 * t1) * s1).margin(1e-6));
  CHECK(g[2] == Approx(t0 * 0.25).margin(1e-6));
  CHECK(g[3] == Approx(t1 * s1 * (1 - s1)).margin(1e-6));
  // first and second derivatives on images [N, 2C, H, W] and on rows [N, 2C]
  for (const Shape& s : {Shape{2, 6, 3, 3}, Shape{3, 4}}) {
    INFO(shape_str(s));
    check_both([](auto& v) { return gated_tanh(v[0]); }, {random_tensor(s, -2, 2, 31)});
  }
  // 1-Lipschitz per unit: the gradient's norm over a grid of (a, b) never exceeds 1
  std::vector<float> grid;
  for (int i = -40; i <= 40; ++i)
    for (int j = -40; j <= 40; ++j) grid.insert(grid.end(), {i * 0.1f, j * 0.1f});
  const int64_t n = int64_t(grid.size()) / 2;
  Tensor pairs = Tensor::from({n, 2}, grid).set_requires_grad();
  std::vector<float> pg = grad({sum(gated_tanh(pairs))}, {pairs})[0].to_vector();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    worst = std::max(worst, std::hypot(double(pg[2 * i]), double(pg[2 * i + 1])));
  CHECK(worst <= 1.0);
  // the largest is σ(b) at a = 0 and the grid's largest b = 4, → 1 as b → ∞: the bound is tight
  CHECK(worst == Approx(1 / (1 + std::exp(-4.0))).margin(1e-5));
  CHECK_THROWS_WITH(gated_tanh(Tensor::zeros({2, 3})), Catch::Contains("even axis 1"));
}

TEST_CASE("gradient penalty on a conv critic matches finite differences in the weights",
          "[ops][conv][lipschitz]") {
  // D(x) = w2 · tanh(norm(conv(x, w1) + b1)), penalty mean_i (‖∇ₓD(x_i)‖ − 1)²
  Tensor x = random_tensor({3, 2, 6, 6}, -1, 1, 26);
  auto penalty = [x](bool normalise) {
    return [x, normalise](const std::vector<Tensor>& v) {
      const bool outer = grad_enabled();  // off while finite differences evaluate
      Tensor g;
      {
        GradModeGuard on(true);  // ∇ₓD needs D's graph either way
        Tensor xi = x.clone().set_requires_grad();
        Tensor h = conv2d(xi, v[0], v[1], Conv2dOptions::square(2, 1));
        if (normalise) {
          Tensor m = Tensor::zeros({4}), s = Tensor::ones({4});
          h = batch_norm(h, Tensor(), Tensor(), m, s, true);
        }
        Tensor d = linear(flatten(kant::tanh(h)), v[2], Tensor());
        g = grad({sum(d)}, {xi}, {}, outer)[0];
      }
      Tensor norms = sqrt(sum(square(g), {1, 2, 3}));
      return mean(square(norms - 1.0f));
    };
  };
  Tensor w1 = random_tensor({4, 2, 3, 3}, -0.5, 0.5, 27), b1 = random_tensor({4}, -0.5, 0.5, 28);
  Tensor w2 = random_tensor({1, 36}, -0.5, 0.5, 29);
  kant::testing::Tolerance tol{2e-3f, 2e-3f, 3e-2f};
  {
    INFO("plain conv critic");
    CHECK(check_grad(penalty(false), {w1, b1, w2}, tol) == "");
  }
  {
    INFO("batch-normalised conv critic (composite second-order path)");
    CHECK(check_grad(penalty(true), {w1, b1, w2}, tol) == "");
  }
}
