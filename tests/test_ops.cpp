// Every op: finite-difference gradient check and second-order check, over several shapes.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"

using namespace kant;
using kant::testing::check_both;
using kant::testing::check_grad;
using kant::testing::check_gradgrad;
using kant::testing::Function;
using kant::testing::random_away_from_zero;
using kant::testing::random_tensor;

namespace {

const std::vector<Shape> kShapes{{1}, {5}, {3, 4}, {2, 3, 5}};

}  // namespace

TEST_CASE("unary ops: first and second derivatives", "[ops]") {
  struct Case {
    const char* name;
    Function f;
    float lo, hi;
  };
  // Smooth ops are checked on inputs wrapped by a smooth non-linearity (x·x) so that their
  // second derivatives are exercised even where the op itself is linear.
  std::vector<Case> cases{
      {"tanh", [](auto& x) { return kant::tanh(x[0]); }, -2, 2},
      {"sigmoid", [](auto& x) { return sigmoid(x[0]); }, -3, 3},
      {"softplus", [](auto& x) { return softplus(x[0]); }, -3, 3},
      {"exp", [](auto& x) { return kant::exp(x[0]); }, -1, 1},
      {"log", [](auto& x) { return kant::log(x[0]); }, 0.5, 2},
      {"sqrt", [](auto& x) { return kant::sqrt(x[0]); }, 0.5, 2},
      {"square", [](auto& x) { return square(x[0]); }, -2, 2},
      {"affine", [](auto& x) { return square(affine(x[0], -1.5f, 0.25f)); }, -2, 2},
      {"neg", [](auto& x) { return square(neg(x[0])); }, -2, 2},
      {"lambert_w", [](auto& x) { return lambert_w(x[0]); }, -0.3, 5},
      {"wright_omega", [](auto& x) { return wright_omega(x[0]); }, -3, 4},
      {"wright_omega (large x)", [](auto& x) { return wright_omega(affine(x[0], 40.0f, 60.0f)); },
       -1, 1},
      {"expm1", [](auto& x) { return expm1(x[0]); }, -2, 2},
      {"log1p", [](auto& x) { return log1p(x[0]); }, -0.5, 2},
  };
  for (const Case& c : cases)
    for (const Shape& s : kShapes) {
      INFO(c.name << " " << shape_str(s));
      check_both(c.f, {random_tensor(s, c.lo, c.hi, 3)});
    }
}

TEST_CASE("piecewise ops away from their kinks", "[ops]") {
  std::vector<std::pair<const char*, Function>> cases{
      {"relu", [](auto& x) { return square(relu(x[0])); }},
      {"leaky_relu", [](auto& x) { return square(leaky_relu(x[0], 0.2f)); }},
      {"abs", [](auto& x) { return square(kant::abs(x[0])); }},
      {"clamp", [](auto& x) { return square(clamp(x[0], -0.5f, 0.7f)); }},
  };
  for (auto& [name, f] : cases)
    for (const Shape& s : kShapes) {
      INFO(name << " " << shape_str(s));
      // margin keeps x ± eps on one side of 0, −0.5 and 0.7
      Tensor x = random_away_from_zero(s, 0.05f, 1.5f, 5);
      for (int64_t i = 0; i < x.numel(); ++i) {
        float& v = x.data()[i];
        if (std::abs(v + 0.5f) < 0.02f || std::abs(v - 0.7f) < 0.02f) v *= 1.1f;
      }
      check_both(f, {x});
    }
}

TEST_CASE("gradient helper ops are differentiable themselves", "[ops]") {
  Tensor g = random_tensor({3, 4}, -1, 1, 51);
  Tensor x = random_away_from_zero({3, 4}, 0.05f, 1.5f, 52);
  Tensor y = random_tensor({3, 4}, -0.9f, 0.9f, 53);
  Tensor s = random_tensor({3, 4}, 0.1f, 0.9f, 54);
  check_both([&](auto& v) { return square(relu_backward(v[0], x)); }, {g});
  check_both([&](auto& v) { return square(leaky_relu_backward(v[0], x, 0.2f)); }, {g});
  check_both([](auto& v) { return tanh_backward(v[0], v[1]); }, {g, y});
  check_both([](auto& v) { return sigmoid_backward(v[0], v[1]); }, {g, s});
}

TEST_CASE("lambert_w solves w·exp(w) = x", "[ops]") {
  Tensor x = Tensor::from({6}, {-0.367f, -0.2f, 0.0f, 1.0f, 10.0f, 1e6f});
  Tensor w = lambert_w(x);
  for (int i = 0; i < 6; ++i)
    CHECK(double(w.data()[i]) * std::exp(double(w.data()[i])) ==
          Approx(x.data()[i]).epsilon(1e-5).margin(1e-6));
  CHECK(w.data()[3] == Approx(0.5671432904));  // the omega constant
}

TEST_CASE("wright_omega is W(e^x) for every x, where exp(x) would overflow too", "[ops]") {
  const std::vector<float> xs{-1000.0f, -90.0f, -20.0f, -1.0f,   0.0f, 1.0f,
                              5.0f,     88.0f,  89.0f,  1000.0f, 1e30f};
  Tensor w = wright_omega(Tensor::from({static_cast<int64_t>(xs.size())}, xs));
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i], omega = w.data()[i];
    INFO("x = " << x);
    REQUIRE(std::isfinite(omega));
    if (x < -87)
      CHECK(omega == Approx(std::exp(x)).margin(1e-37));  // ω = eˣ (1 − eˣ …)
    else
      CHECK(omega + std::log(omega) == Approx(x).epsilon(1e-6).margin(1e-6));
    if (x < 80)
      CHECK(omega == Approx(lambert_w(Tensor::scalar(std::exp(static_cast<float>(x)))).item())
                         .epsilon(1e-6)
                         .margin(1e-37));
  }
  CHECK(w.data()[4] == Approx(0.5671432904));  // ω(0) = W(1), the omega constant
  CHECK(w.data()[5] == 1.0f);                  // ω(1) = W(e) = 1
  CHECK(expm1(Tensor::scalar(1e-10f)).item() == Approx(1e-10).epsilon(1e-6));
  CHECK(log1p(Tensor::scalar(1e-10f)).item() == Approx(1e-10).epsilon(1e-6));
}

TEST_CASE("relu's second derivative is exactly zero", "[ops]") {
  Tensor x = random_away_from_zero({4, 3}, 0.1f, 1.0f, 9).set_requires_grad();
  Tensor g = grad({sum(relu(x))}, {x}, {}, true)[0];
  // the gradient is a constant mask: nothing left to differentiate
  CHECK_FALSE(g.requires_grad());
}

TEST_CASE("binary ops with broadcasting", "[ops]") {
  const std::vector<std::pair<Shape, Shape>> pairs{{{3, 4}, {3, 4}},       {{3, 4}, {4}},
                                                   {{3, 1}, {1, 4}},       {{4}, {2, 3, 4}},
                                                   {{2, 3, 4}, {2, 1, 4}}, {{}, {3, 2}}};
  for (auto& [sa, sb] : pairs) {
    INFO(shape_str(sa) << " with " << shape_str(sb));
    Tensor a = random_tensor(sa, -1.5f, 1.5f, 21);
    Tensor b = random_tensor(sb, -1.5f, 1.5f, 22);
    Tensor pos = random_tensor(sb, 0.6f, 1.8f, 23);
    check_both([](auto& x) { return add(x[0], x[1]) * x[0]; }, {a, b});
    check_both([](auto& x) { return sub(x[0], x[1]) * x[1]; }, {a, b});
    check_both([](auto& x) { return mul(x[0], x[1]); }, {a, b});
    check_both([](auto& x) { return div(x[0], x[1]); }, {a, pos});
  }
}

TEST_CASE("matmul and linear", "[ops]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("transpose " << ta << tb);
      Tensor a = random_tensor(ta ? Shape{4, 3} : Shape{3, 4}, -1, 1, 31);
      Tensor b = random_tensor(tb ? Shape{5, 4} : Shape{4, 5}, -1, 1, 32);
      check_both([=](auto& x) { return square(matmul(x[0], x[1], ta, tb)); }, {a, b});
    }
  Tensor x = random_tensor({6, 3}, -1, 1, 33), w = random_tensor({2, 3}, -1, 1, 34);
  Tensor bias = random_tensor({2}, -1, 1, 35);
  check_both([](auto& v) { return kant::tanh(linear(v[0], v[1], v[2])); }, {x, w, bias});
  check_both([](auto& v) { return kant::tanh(linear(v[0], v[1], Tensor())); }, {x, w});
  // forward against a plain loop
  Tensor y = linear(x, w, bias);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t o = 0; o < 2; ++o) {
      float ref = bias.data()[o];
      for (int64_t k = 0; k < 3; ++k) ref += x.data()[i * 3 + k] * w.data()[o * 3 + k];
      CHECK(y.data()[i * 2 + o] == Approx(ref).margin(1e-5));
    }
}

TEST_CASE("reductions, reshape, concat, slice", "[ops]") {
  Tensor x = random_tensor({2, 3, 4}, -1, 1, 41);
  check_both([](auto& v) { return square(sum(v[0])); }, {x});
  check_both([](auto& v) { return square(sum(v[0], {1})); }, {x});
  check_both([](auto& v) { return square(sum(v[0], {0, 2}, true)); }, {x});
  check_both([](auto& v) { return square(mean(v[0], {-1})); }, {x});
  check_both([](auto& v) { return square(reshape(v[0], {4, -1})); }, {x});
  check_both([](auto& v) { return square(broadcast_to(v[0], {5, 2, 3, 4})); }, {x});
  check_both([](auto& v) { return square(sum_to(v[0], {3, 1})); }, {x});
  Tensor y = random_tensor({2, 5, 4}, -1, 1, 42);
  check_both([](auto& v) { return square(concat({v[0], v[1]}, 1)); }, {x, y});
  check_both([](auto& v) { return square(slice(v[0], 2, 1, 3)); }, {x});
  check_both([](auto& v) { return square(slice_backward(v[0], {2, 7, 4}, 1, 2)); }, {y});
  // values
  Tensor s = sum(x, {1});
  CHECK(s.shape() == Shape{2, 4});
  CHECK(s.data()[5] == Approx(x.data()[12 + 1] + x.data()[16 + 1] + x.data()[20 + 1]));
  Tensor c = concat({x, y}, 1);
  CHECK(c.data()[3 * 4] == y.data()[0]);
  Tensor sl = slice(x, 2, 1, 3);
  CHECK(sl.data()[0] == x.data()[1]);
  CHECK(sl.data()[1] == x.data()[2]);
}

TEST_CASE("grad: errors and unused inputs", "[autodiff]") {
  Tensor x = Tensor::ones({2}).set_requires_grad();
  Tensor u = Tensor::ones({3}).set_requires_grad();
  auto g = grad({sum(square(x))}, {x, u});
  CHECK(g[1].shape() == Shape{3});
  CHECK(g[1].data()[0] == 0.0f);
  CHECK(g[0].data()[0] == 2.0f);
  CHECK_THROWS_WITH(grad({square(x)}, {x}), Catch::Contains("grad_outputs"));
  CHECK_THROWS_WITH(grad({sum(x)}, {Tensor::ones({2})}), Catch::Contains("does not require"));
  CHECK_THROWS(add(Tensor::ones({2}), Tensor::ones({3})));
}
