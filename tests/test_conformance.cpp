// Objectives and Lipschitz methods against closed forms: f-GAN conjugates, hand-computed
// losses, penalties on a linear critic, spectral norm against an independent SVD, clipping
// schedules, Björck and orthogonal regularisation.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/f_divergences.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

// sup over u > 0 of u·t − f(u), by a dense search on log u then golden-section refinement.
double numeric_conjugate(double (*f)(double), double t) {
  auto h = [&](double s) {
    double u = std::exp(s);
    return u * t - f(u);
  };
  double best_s = -30, best = -1e300;
  for (double s = -30; s <= 30; s += 0.01) {
    double v = h(s);
    if (v > best) best = v, best_s = s;
  }
  double a = best_s - 0.01, b = best_s + 0.01;
  for (int i = 0; i < 200; ++i) {
    double m1 = a + (b - a) * 0.382, m2 = a + (b - a) * 0.618;
    if (h(m1) < h(m2))
      a = m1;
    else
      b = m2;
  }
  return std::max(best, h((a + b) / 2));
}

std::shared_ptr<LipschitzMethod> lipschitz(const std::string& name,
                                           std::map<std::string, Value> p = {}) {
  return make_component<LipschitzMethod, LipschitzFactory>(Kind::lipschitz, name, std::move(p));
}

Tensor penalty_of(LipschitzMethod& m, Network& critic, const Tensor& real, const Tensor& fake) {
  Rng rng(17);
  return m.penalty(CriticBatch{critic, real, fake, rng});
}

double norm_of(const std::vector<float>& w) {
  double s = 0;
  for (float x : w) s += double(x) * x;
  return std::sqrt(s);
}

// Largest singular value of a rows × cols matrix: cyclic Jacobi on the symmetric AᵀA.
double largest_singular_value(const float* a, int rows, int cols) {
  std::vector<double> m(static_cast<size_t>(cols * cols), 0.0);
  for (int i = 0; i < cols; ++i)
    for (int j = 0; j < cols; ++j)
      for (int r = 0; r < rows; ++r) m[i * cols + j] += double(a[r * cols + i]) * a[r * cols + j];
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int p = 0; p < cols; ++p)
      for (int q = p + 1; q < cols; ++q) off += m[p * cols + q] * m[p * cols + q];
    if (off < 1e-24) break;
    for (int p = 0; p < cols; ++p)
      for (int q = p + 1; q < cols; ++q) {
        double apq = m[p * cols + q];
        if (std::abs(apq) < 1e-300) continue;
        double theta = (m[q * cols + q] - m[p * cols + p]) / (2 * apq);
        double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < cols; ++k) {  // rotate columns p, q
          double mkp = m[k * cols + p], mkq = m[k * cols + q];
          m[k * cols + p] = c * mkp - s * mkq;
          m[k * cols + q] = s * mkp + c * mkq;
        }
        for (int k = 0; k < cols; ++k) {  // rotate rows p, q
          double mpk = m[p * cols + k], mqk = m[q * cols + k];
          m[p * cols + k] = c * mpk - s * mqk;
          m[q * cols + k] = s * mpk + c * mqk;
        }
      }
  }
  double best = 0;
  for (int i = 0; i < cols; ++i) best = std::max(best, m[i * cols + i]);
  return std::sqrt(best);
}

}  // namespace

// ---- objectives -------------------------------------------------------------------------

TEST_CASE("f-GAN: f* is the convex conjugate of f, and g_f maps into dom f*",
          "[conformance][fgan]") {
  for (const fgan::Divergence& d : fgan::divergences()) {
    INFO(d.name);
    for (double t : {-1.5, -0.45, -0.1, 0.2, 0.45, 0.6, 0.9}) {
      if (!d.in_domain(t)) continue;
      if (std::string(d.name) == "pearson" && t <= -2) continue;  // f on u > 0 only
      INFO("t = " << t);
      CHECK(d.conjugate(t) == Approx(numeric_conjugate(d.f, t)).epsilon(1e-5).margin(1e-6));
    }
    for (double v = -20; v <= 20; v += 0.5) CHECK(d.in_domain(d.activation(v)));
    // the stable forms (double and float tensors) agree with the table's formulas composed
    // where those are accurate; tests/conjugates_check.py checks them over [−1000, 1000]
    Tensor v = Tensor::from({5}, {-3.0f, -0.5f, 0.0f, 0.7f, 2.5f});
    Tensor g = d.activation_t(v), c = d.conjugate_of_activation(v);
    for (int i = 0; i < 5; ++i) {
      const double x = v.data()[i];
      CHECK(g.data()[i] == Approx(d.activation(x)).epsilon(1e-5).margin(1e-6));
      CHECK(d.conjugate_of_activation_d(x) ==
            Approx(d.conjugate(d.activation(x))).epsilon(1e-10).margin(1e-12));
      CHECK(c.data()[i] == Approx(d.conjugate_of_activation_d(x)).epsilon(1e-5).margin(1e-6));
    }
  }
}

TEST_CASE("f-GAN losses, estimate and gradients", "[conformance][fgan]") {
  Tensor real = Tensor::from({3, 1}, {0.4f, -1.0f, 2.0f}),
         fake = Tensor::from({3, 1}, {-0.3f, 1.2f, 0.1f});
  for (const fgan::Divergence& d : fgan::divergences()) {
    INFO(d.name);
    double e_real = 0, e_conj = 0, e_act_fake = 0;
    for (int i = 0; i < 3; ++i) {
      e_real += d.activation(real.data()[i]) / 3;
      e_conj += d.conjugate(d.activation(fake.data()[i])) / 3;
      e_act_fake += d.activation(fake.data()[i]) / 3;
    }
    auto saddle = make_objective("f_gan", {{"divergence", std::string(d.name)}});
    auto trick = make_objective(
        "f_gan", {{"divergence", std::string(d.name)}, {"generator", std::string("trick")}});
    CHECK(saddle->critic_loss(real, fake).item() ==
          Approx(e_conj - e_real).epsilon(1e-4).margin(1e-5));
    CHECK(saddle->divergence_estimate(real, fake) ==
          Approx(e_real - e_conj).epsilon(1e-4).margin(1e-5));
    CHECK(saddle->generator_loss(Tensor(), fake).item() ==
          Approx(-e_conj).epsilon(1e-4).margin(1e-5));
    CHECK(trick->generator_loss(Tensor(), fake).item() ==
          Approx(-e_act_fake).epsilon(1e-4).margin(1e-5));
    CHECK(check_grad([&](auto& x) { return saddle->critic_loss(x[0], x[1]); }, {real, fake}) == "");
    CHECK(check_grad([&](auto& x) { return trick->generator_loss(Tensor(), x[0]); }, {fake}) == "");
  }
}

TEST_CASE("hinge, least squares and relativistic losses at hand-computed points", "[conformance]") {
  Tensor real = Tensor::from({2, 1}, {0.5f, 1.5f}), fake = Tensor::from({2, 1}, {-2.0f, 0.25f});
  auto relu_d = [](double x) { return std::max(0.0, x); };
  auto sp = [](double x) { return std::log1p(std::exp(x)); };
  SECTION("hinge") {
    auto o = make_objective("hinge");
    CHECK(o->critic_loss(real, fake).item() ==
          Approx((relu_d(0.5) + relu_d(-0.5)) / 2 + (relu_d(-1) + relu_d(1.25)) / 2));
    CHECK(o->generator_loss(Tensor(), fake).item() == Approx(0.875));
  }
  SECTION("least squares with a = −1, b = 1, c = 0") {
    auto o = make_objective("least_squares", {{"a", -1.0}, {"b", 1.0}, {"c", 0.0}});
    CHECK(o->critic_loss(real, fake).item() ==
          Approx(0.5 * ((0.25 + 0.25) / 2 + (1.0 + 1.5625) / 2)));
    CHECK(o->generator_loss(Tensor(), fake).item() == Approx(0.5 * (4.0 + 0.0625) / 2));
  }
  SECTION("relativistic average, standard and hinge") {
    const double mr = 1.0, mf = -0.875;
    double cr[2] = {0.5 - mf, 1.5 - mf}, cf[2] = {-2.0 - mr, 0.25 - mr};
    auto s = make_objective("relativistic");
    CHECK(s->generator_needs_real());
    CHECK(s->critic_loss(real, fake).item() ==
          Approx((sp(-cr[0]) + sp(-cr[1])) / 2 + (sp(cf[0]) + sp(cf[1])) / 2));
    CHECK(s->generator_loss(real, fake).item() ==
          Approx((sp(-cf[0]) + sp(-cf[1])) / 2 + (sp(cr[0]) + sp(cr[1])) / 2));
    auto h = make_objective("relativistic", {{"variant", std::string("hinge")}});
    CHECK(h->critic_loss(real, fake).item() == Approx((relu_d(1 - cr[0]) + relu_d(1 - cr[1])) / 2 +
                                                      (relu_d(1 + cf[0]) + relu_d(1 + cf[1])) / 2));
    CHECK(check_grad([&](auto& x) { return s->generator_loss(x[0], x[1]); }, {real, fake}) == "");
  }
}

// ---- penalties on a linear critic f(x) = w·x ----------------------------------------

TEST_CASE("penalties on a linear critic: exact values and gradients in w",
          "[conformance][lipschitz]") {
  Tensor real = random_tensor({6, 3}, -1, 1, 1), fake = random_tensor({6, 3}, -1, 1, 2);
  for (std::vector<float> w :
       {std::vector<float>{0.3f, -1.2f, 0.7f}, std::vector<float>{0.2f, 0.1f, -0.4f}}) {
    const double n = norm_of(w);
    INFO("‖w‖ = " << n);
    struct Case {
      std::string name;
      std::map<std::string, Value> params;
      double value;       // closed form
      double grad_scale;  // ∂P/∂w = grad_scale · w
    };
    const double lam = 10, gamma = 3;
    std::vector<Case> cases{
        {"gradient_penalty", {{"lambda", lam}}, lam * (n - 1) * (n - 1), 2 * lam * (n - 1) / n},
        {"gradient_penalty",
         {{"lambda", lam}, {"side", std::string("one")}},
         n > 1 ? lam * (n - 1) * (n - 1) : 0.0,
         n > 1 ? 2 * lam * (n - 1) / n : 0.0},
        {"gradient_penalty",
         {{"lambda", lam}, {"sample", std::string("real")}},
         lam * (n - 1) * (n - 1),
         2 * lam * (n - 1) / n},
        {"dragan", {{"lambda", lam}}, lam * (n - 1) * (n - 1), 2 * lam * (n - 1) / n},
        {"r1", {{"gamma", gamma}}, gamma / 2 * n * n, gamma},
        {"r2", {{"gamma", gamma}}, gamma / 2 * n * n, gamma},
    };
    for (const Case& c : cases) {
      INFO(c.name);
      LinearCritic critic(Tensor::from({1, 3}, w));
      auto m = lipschitz(c.name, c.params);
      Tensor p = penalty_of(*m, critic, real, fake);
      CHECK(p.item() == Approx(c.value).epsilon(1e-5).margin(1e-6));
      Tensor g = grad({penalty_of(*m, critic, real, fake)}, critic.parameters())[0];
      for (int i = 0; i < 3; ++i)
        CHECK(g.data()[i] == Approx(c.grad_scale * w[i]).epsilon(1e-4).margin(1e-6));
    }
  }
}

TEST_CASE("penalties sample where they say: per-sample terms on a quadratic critic",
          "[conformance][lipschitz]") {
  // D(x) = (x·w)²: ‖∇D(x)‖ = 2|x·w|‖w‖ differs per sample
  Tensor w = Tensor::from({1, 2}, {0.8f, -0.6f});  // ‖w‖ = 1
  QuadraticCritic critic(w.clone());
  Tensor real = random_tensor({4, 2}, -1, 1, 5), fake = random_tensor({4, 2}, -1, 1, 6);
  auto per_sample = [&](const Tensor& x, int i) {
    return 2 * std::abs(x.data()[2 * i] * 0.8 - x.data()[2 * i + 1] * 0.6);
  };
  double on_real = 0, on_fake = 0, r1 = 0;
  for (int i = 0; i < 4; ++i) {
    on_real += 10 * std::pow(per_sample(real, i) - 1, 2) / 4;
    on_fake += 10 * std::pow(per_sample(fake, i) - 1, 2) / 4;
    r1 += 0.5 * std::pow(per_sample(real, i), 2) / 4;
  }
  CHECK(penalty_of(*lipschitz("gradient_penalty", {{"sample", std::string("real")}}), critic, real,
                   fake)
            .item() == Approx(on_real).epsilon(1e-4));
  CHECK(penalty_of(*lipschitz("gradient_penalty", {{"sample", std::string("fake")}}), critic, real,
                   fake)
            .item() == Approx(on_fake).epsilon(1e-4));
  CHECK(penalty_of(*lipschitz("r1", {{"gamma", 1.0}}), critic, real, fake).item() ==
        Approx(r1).epsilon(1e-4));

  // DRAGAN's points: x̂ = x + α·c·std(x)·u with the same random stream
  Rng rng(17);
  double mean = 0, ss = 0;
  for (int i = 0; i < 8; ++i) mean += real.data()[i] / 8;
  for (int i = 0; i < 8; ++i) ss += std::pow(real.data()[i] - mean, 2);
  const double std = std::sqrt(ss / 8);
  Tensor u = rng.uniform_tensor({4, 2});
  Tensor alpha = rng.uniform_tensor({4, 1});
  double dragan = 0;
  for (int i = 0; i < 4; ++i) {
    double x0 = real.data()[2 * i] + alpha.data()[i] * 0.5 * std * u.data()[2 * i];
    double x1 = real.data()[2 * i + 1] + alpha.data()[i] * 0.5 * std * u.data()[2 * i + 1];
    dragan += 10 * std::pow(2 * std::abs(x0 * 0.8 - x1 * 0.6) - 1, 2) / 4;
  }
  CHECK(penalty_of(*lipschitz("dragan"), critic, real, fake).item() ==
        Approx(dragan).epsilon(1e-4));
}

// ---- weight transforms ------------------------------------------------------------------

TEST_CASE("spectral norm: σ converges to the largest singular value (matrices and conv kernels)",
          "[conformance][lipschitz]") {
  for (Shape shape : {Shape{5, 3}, Shape{3, 7}, Shape{16, 16}, Shape{4, 2, 3, 3}}) {
    INFO(shape_str(shape));
    auto sn = lipschitz("spectral_norm");
    Tensor w = random_tensor(shape, -1, 1, 7);
    const int rows = static_cast<int>(shape[0]), cols = static_cast<int>(w.numel() / shape[0]);
    const double sigma = largest_singular_value(w.data(), rows, cols);
    Tensor normalized;
    for (int k = 0; k < 200; ++k)
      normalized = sn->transform_weight("layer.weight", w);  // 1 iteration each
    // W/σ̂ has largest singular value 1
    CHECK(largest_singular_value(normalized.data(), rows, cols) == Approx(1.0).epsilon(1e-3));
    CHECK(w.data()[0] / normalized.data()[0] == Approx(sigma).epsilon(1e-3));
    // biases and vectors pass through
    Tensor b = random_tensor({3}, -1, 1, 8);
    CHECK(sn->transform_weight("layer.bias", b).impl() == b.impl());
  }
}

TEST_CASE("spectral norm: gradient flows through σ(W), not through u and v",
          "[conformance][lipschitz]") {
  auto sn = lipschitz("spectral_norm");
  Tensor w0 = random_tensor({4, 3}, -1, 1, 9);
  for (int k = 0; k < 100; ++k) sn->transform_weight("l.weight", w0);  // converge u
  // with u, v converged, d/dW <W/σ(W), R> equals finite differences of the converged map
  CHECK(check_grad([&](auto& x) { return sn->transform_weight("l.weight", x[0]); }, {w0},
                   Tolerance{1e-3f, 2e-3f, 3e-2f}) == "");
}

TEST_CASE("Björck orthonormalisation gives orthonormal rows, orthogonal regularisation",
          "[conformance][lipschitz]") {
  auto bj = lipschitz("bjorck", {{"iterations", int64_t{30}}});
  for (Shape shape : {Shape{3, 5}, Shape{5, 3}}) {
    Tensor w = random_tensor(shape, -1, 1, 10);
    Tensor q = bj->transform_weight("l.weight", w);
    const bool wide = shape[0] <= shape[1];
    Tensor gram = wide ? matmul(q, q, false, true) : matmul(q, q, true, false);
    for (int64_t i = 0; i < gram.size(0); ++i)
      for (int64_t j = 0; j < gram.size(1); ++j)
        CHECK(gram.data()[i * gram.size(1) + j] == Approx(i == j ? 1.0 : 0.0).margin(2e-3));
  }
  // ‖WWᵀ − I‖² for W = 2·I₃ (as a critic weight) is 3·(4 − 1)² = 27
  class OneMatrix : public Network {
   public:
    explicit OneMatrix(Tensor w) { register_parameter("l.weight", w); }
    Tensor forward(const Tensor& x) override { return x; }
  };
  Tensor two_i = Tensor::zeros({3, 3});
  for (int i = 0; i < 3; ++i) two_i.data()[i * 4] = 2.0f;
  OneMatrix net(two_i);
  Tensor x = Tensor::zeros({1, 3});
  CHECK(penalty_of(*lipschitz("orthogonal_regularization", {{"beta", 0.5}}), net, x, x).item() ==
        Approx(13.5));
}

TEST_CASE("weight clipping acts before or after the step, as configured",
          "[conformance][lipschitz]") {
  Rng rng(3);
  NetworkSpec spec{Role::critic, {2}, {1}, &rng};
  for (std::string when : {"after", "before"}) {
    INFO(when);
    auto critic = make_component<Network, ArchitectureFactory>(
        Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{8}}}, spec);
    auto clip = lipschitz("weight_clipping", {{"c", 0.05}, {"when", when}});
    auto max_abs = [&] {
      float m = 0;
      for (const Tensor& p : critic->parameters())
        for (int64_t i = 0; i < p.numel(); ++i) m = std::max(m, std::abs(p.data()[i]));
      return m;
    };
    for (Tensor p : critic->parameters())
      for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] *= 10.0f;
    (when == "after" ? clip->before_critic_step(*critic) : clip->after_critic_step(*critic));
    CHECK(max_abs() > 0.05f);  // the other hook leaves the weights alone
    (when == "after" ? clip->after_critic_step(*critic) : clip->before_critic_step(*critic));
    CHECK(max_abs() <= 0.05f);
    // ‖W‖₂ ≤ c·√(mn) per layer
    CHECK(*clip->lipschitz_bound(*critic) ==
          Approx(0.05 * std::sqrt(16.0) * 0.05 * std::sqrt(8.0)));
  }
}
