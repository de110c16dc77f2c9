// The pieces of the course's theory experiments (experiments/theory/) at closed forms: the
// segment data set and generators of WGAN Example 1, the Gaussian generator, the segment
// distances, the critic's estimate and the generator's gradient, the 1-D critic curve against
// the optimal discriminator, the generator costs and the maximum-likelihood objective, and the
// report's plots over a grid axis.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "kant/autodiff.hpp"
#include "kant/distances.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {
double sigmoid_d(double v) { return 1 / (1 + std::exp(-v)); }

// A metric context over `data` with generator `g`, critic `c`, objective `o` and noise drawn
// by `noise` (uniform on [−1, 1] or standard normal) of `dim` values.
struct Context {
  Rng rng{9}, noise_rng{10};
  bool uniform;
  int64_t dim;
  MetricContext ctx;
  Context(Dataset& data, Network& g, Network* c, Objective* o, bool uniform_noise,
          int64_t noise_dim)
      : uniform(uniform_noise),
        dim(noise_dim),
        ctx{data,
            g,
            c,
            [this, &g](int64_t n) {
              NoGradGuard no_grad;
              return g.forward(draw(n));
            },
            rng,
            [this](int64_t n) { return draw(n); },
            uniform_noise ? "uniform" : "normal",
            o} {}
  Tensor draw(int64_t n) {
    return uniform ? noise_rng.uniform_tensor({n, dim}, -1.0f, 1.0f)
                   : noise_rng.normal_tensor({n, dim});
  }
};
}  // namespace

TEST_CASE("segment data and the segment generator draw (a, U[0, 1]) and (θ, U[0, 1])", "[theory]") {
  Rng rng(1);
  Tensor x = make_dataset("segment", {{"at", 0.25}})->sample(4000, rng);
  double mean_y = 0, lo = 1, hi = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    CHECK(x.data()[2 * i] == 0.25f);
    const double y = x.data()[2 * i + 1];
    mean_y += y / 4000, lo = std::min(lo, y), hi = std::max(hi, y);
  }
  CHECK(mean_y == Approx(0.5).margin(0.02));
  CHECK(lo >= 0);
  CHECK(hi < 1);
  // G(z) = (θ, (z₁ + 1)/2): z₁ = −1, 0, 1 give heights 0, ½, 1; ∂ΣG_x/∂θ = n, ∂ΣG_y/∂θ = 0
  auto g = make_network("segment", Role::generator, {1}, {2}, {{"theta", 0.75}}, rng);
  Tensor out = g->forward(Tensor::from({3, 1}, {-1.0f, 0.0f, 1.0f}));
  CHECK(out.to_vector() == std::vector<float>{0.75f, 0.0f, 0.75f, 0.5f, 0.75f, 1.0f});
  REQUIRE(g->parameters().size() == 1);
  Tensor gx = grad({sum(slice(g->forward(Tensor::zeros({5, 1})), 1, 0, 1))}, g->parameters())[0];
  CHECK(gx.item() == Approx(5.0));
  // the heights do not move with θ: the whole output's gradient is the abscissae's
  Tensor all = grad({sum(g->forward(Tensor::zeros({5, 1})))}, g->parameters())[0];
  CHECK(all.item() == Approx(5.0));
  CHECK_THROWS_WITH(make_network("segment", Role::generator, {1}, {1}, {}, rng),
                    Catch::Contains("2-D points"));
}

TEST_CASE("the gaussian generator is G(z) = μ + σ·z₁", "[theory]") {
  Rng rng(1);
  auto g = make_network("gaussian", Role::generator, {2}, {1}, {{"mu", 1.5}, {"sigma", 0.5}}, rng);
  Tensor out = g->forward(Tensor::from({2, 2}, {-2.0f, 7.0f, 4.0f, -3.0f}));
  CHECK(out.to_vector() == std::vector<float>{0.5f, 3.5f});
  CHECK(g->parameter_count() == 2);
  CHECK_THROWS_WITH(make_network("gaussian", Role::generator, {1}, {2}, {}, rng),
                    Catch::Contains("1-D"));
}

TEST_CASE("segment distances: W1 = |θ − a|, JS = log 2, KL = ∞ apart, all 0 together", "[theory]") {
  Rng rng(1);
  auto data = make_dataset("segment", {{"at", 0.25}});
  for (double theta : {-0.5, 0.25, 1.0}) {
    INFO(theta);
    auto g = make_network("segment", Role::generator, {1}, {2}, {{"theta", theta}}, rng);
    Context c(*data, *g, nullptr, nullptr, true, 1);
    auto v = make_metric("segment_distances")->compute(c.ctx);
    const bool apart = theta != 0.25;
    CHECK(v.at("w1") == Approx(std::abs(theta - 0.25)));
    CHECK(v.at("theta") == Approx(theta - 0.25));
    CHECK(v.at("js") == (apart ? Approx(std::log(2.0)) : Approx(0.0)));
    CHECK(v.at("kl_is_infinite") == (apart ? 1.0 : 0.0));
    CHECK(v.at("total_variation") == (apart ? 1.0 : 0.0));
  }
  // samples off one vertical line are refused
  auto mixture = make_dataset("eight_gaussians");
  auto g = make_network("segment", Role::generator, {1}, {2}, {}, rng);
  Context c(*mixture, *g, nullptr, nullptr, true, 1);
  CHECK_THROWS_WITH(make_metric("segment_distances")->compute(c.ctx),
                    Catch::Contains("not on one vertical line"));
}

TEST_CASE("critic estimate: δ₀ against δ_θ with the critic D(x) = −x", "[theory]") {
  // data δ₀, generator δ_θ (dirac), critic D(x) = −x (linear_critic, ψ = −1)
  Rng rng(1);
  auto data = make_dataset("dirac");
  auto g = make_network("dirac", Role::generator, {1}, {1}, {{"init", 1.0}}, rng);
  auto critic = make_network("linear_critic", Role::critic, {1}, {1}, {{"init", -1.0}}, rng);
  SECTION("wasserstein: estimate E D(x) − E D(G) = θ, ‖∇_θ L_G‖ = |∂(θ)/∂θ| = 1") {
    auto w = make_objective("wasserstein");
    Context c(*data, *g, critic.get(), w.get(), false, 1);
    auto v = make_metric("critic_estimate", {{"samples", int64_t{8}}})->compute(c.ctx);
    CHECK(v.at("estimate") == Approx(1.0));
    CHECK(v.at("generator_gradient") == Approx(1.0));
    // D(real) = 0 is not > 0 (wrong), D(fake) = −1 < 0 (right)
    CHECK(v.at("accuracy") == Approx(0.5));
    CHECK_FALSE(v.count("w1"));
  }
  SECTION("minimax: the JSD estimate (log 4 − L_D)/2 and the saturating gradient σ(−1)") {
    auto m = make_objective("minimax");
    Context c(*data, *g, critic.get(), m.get(), false, 1);
    auto v = make_metric("critic_estimate", {{"samples", int64_t{8}}})->compute(c.ctx);
    const double loss = std::log1p(std::exp(-0.0)) + std::log1p(std::exp(-1.0));
    CHECK(v.at("estimate") == Approx((std::log(4.0) - loss) / 2));
    // L_G = −softplus(D(G)) = −softplus(−θ); dL_G/dθ = σ(−θ) at θ = 1
    CHECK(v.at("generator_gradient") == Approx(sigmoid_d(-1.0)));
  }
  SECTION("track_w1: W1 beside the estimate and Pearson's r over the evaluations") {
    auto w = make_objective("wasserstein");
    Context c(*data, *g, critic.get(), w.get(), false, 1);
    auto m = make_metric("critic_estimate", {{"samples", int64_t{16}}, {"track_w1", true}});
    std::vector<double> r;
    // step 0 (an untrained critic) stays out of the correlation, whatever its values
    set_parameter(*g, "theta", {5.0f});
    set_parameter(*critic, "psi", {1.0f});
    CHECK(std::isnan(m->compute(c.ctx).at("w1_correlation")));
    set_parameter(*critic, "psi", {-1.0f});
    for (float theta : {1.0f, 2.0f, 3.5f}) {
      c.ctx.step += 1;
      set_parameter(*g, "theta", {theta});
      auto v = m->compute(c.ctx);
      CHECK(v.at("w1") == Approx(theta));
      CHECK(v.at("estimate") == Approx(theta));
      r.push_back(v.at("w1_correlation"));
    }
    CHECK(std::isnan(r[0]));
    CHECK(std::isnan(r[1]));
    CHECK(r[2] == Approx(1.0));
    // the pairs survive a checkpoint: a fresh metric loaded with the state continues them
    auto resumed = make_metric("critic_estimate", {{"samples", int64_t{16}}, {"track_w1", true}});
    resumed->load_state(m->state());
    set_parameter(*g, "theta", {0.5f});
    c.ctx.step += 1;
    auto a = m->compute(c.ctx), b = resumed->compute(c.ctx);
    CHECK(a.at("w1_correlation") == b.at("w1_correlation"));
    CHECK(a.at("w1_correlation") == Approx(1.0));
  }
}

TEST_CASE("critic curve of linear critics: slope, linearity, gradients, the optimal D*",
          "[theory]") {
  // data N(0, 1), generator N(1, 1): log p − log q = −x + ½, so D*(x) = σ(½ − x)
  Rng rng(1);
  auto data = make_dataset("gaussian_mixture_1d", {{"weights", std::vector<double>{1}},
                                                   {"means", std::vector<double>{0}},
                                                   {"stds", std::vector<double>{1}}});
  auto g = make_network("gaussian", Role::generator, {1}, {1}, {{"mu", 1.0}, {"sigma", 1.0}}, rng);
  auto critic =
      make_network("mlp", Role::critic, {1}, {1}, {{"hidden", std::vector<int64_t>{}}}, rng);
  set_parameter(*critic, "layers.0.weight", {-1.0f});
  set_parameter(*critic, "layers.0.bias", {0.5f});
  Context c(*data, *g, critic.get(), nullptr, false, 1);
  SECTION("raw: v(x) = ½ − x is a line of slope −1") {
    auto v = make_metric("critic_curve", {{"range", std::vector<double>{-3, 4}}})->compute(c.ctx);
    CHECK(v.at("slope") == Approx(-1.0));
    CHECK(v.at("linearity") == Approx(1.0));
    CHECK(v.at("data_gradient") == Approx(1.0));
    CHECK(v.at("fake_gradient") == Approx(1.0));
  }
  SECTION("optimal: σ(v) is D* to float precision; v = 0 is off by max |½ − D*|") {
    auto m = make_metric("critic_curve", {{"optimal", true},
                                          {"output", std::string("sigmoid")},
                                          {"range", std::vector<double>{-3, 4}},
                                          {"resolution", int64_t{8}}});
    auto v = m->compute(c.ctx);
    CHECK(v.at("optimal_max_error") < 1e-6);
    CHECK(v.at("optimal_mean_error") < 1e-6);
    auto arrays = m->final_arrays(c.ctx);
    REQUIRE(arrays.at("x").numel() == 8);
    for (int64_t i = 0; i < 8; ++i) {
      const double x = -3 + 7.0 * double(i) / 7;
      CHECK(arrays.at("x").data()[i] == Approx(x));
      CHECK(arrays.at("optimal").data()[i] == Approx(sigmoid_d(0.5 - x)));
      CHECK(arrays.at("values").data()[i] == Approx(sigmoid_d(0.5 - x)));
      // d σ(v)/dx = σ'(v)·(−1)
      CHECK(arrays.at("gradient").data()[i] ==
            Approx(-sigmoid_d(0.5 - x) * (1 - sigmoid_d(0.5 - x))));
    }
    set_parameter(*critic, "layers.0.weight", {0.0f});
    set_parameter(*critic, "layers.0.bias", {0.0f});
    // the grid −3 … 4 in 8 points, all where the mixture is above 1 % of its peak except the ends
    double worst = 0, total = 0;
    int counted = 0;
    auto mix = [](double x) {
      return 0.5 * (std::exp(-0.5 * x * x) + std::exp(-0.5 * (x - 1) * (x - 1))) /
             std::sqrt(2 * M_PI);
    };
    double peak = 0;
    for (int i = 0; i < 8; ++i) peak = std::max(peak, mix(-3 + double(i)));
    for (int i = 0; i < 8; ++i) {
      const double x = -3 + double(i);
      if (mix(x) < 0.01 * peak) continue;
      const double e = std::abs(0.5 - sigmoid_d(0.5 - x));
      worst = std::max(worst, e), total += e, ++counted;
    }
    auto flat = m->compute(c.ctx);
    CHECK(flat.at("optimal_max_error") == Approx(worst).epsilon(1e-5));
    CHECK(flat.at("optimal_mean_error") == Approx(total / counted).epsilon(1e-5));
  }
}

TEST_CASE("generator costs as functions of D(G(z)) and the maximum-likelihood objective",
          "[theory]") {
  Rng rng(1);
  auto data = make_dataset("dirac");
  auto g = make_network("dirac", Role::generator, {1}, {1}, {}, rng);
  const double d = 0.01;
  struct Expected {
    const char* name;
    double cost, slope;
  };
  for (const Expected& e :
       {Expected{"minimax", std::log(1 - d), -d}, Expected{"nonsaturating", -std::log(d), -(1 - d)},
        Expected{"maximum_likelihood", -0.5 * d / (1 - d), -0.5 * d / (1 - d)}}) {
    INFO(e.name);
    auto o = make_objective(e.name);
    Context c(*data, *g, nullptr, o.get(), false, 1);
    auto m = make_metric("generator_cost", {{"at", d}, {"resolution", int64_t{3}}});
    auto v = m->compute(c.ctx);
    CHECK(v.at("cost") == Approx(e.cost).epsilon(1e-5));
    CHECK(v.at("logit_slope") == Approx(e.slope).epsilon(1e-4));
    auto arrays = m->final_arrays(c.ctx);
    CHECK(arrays.at("d").to_vector() == std::vector<float>{0.25f, 0.5f, 0.75f});
  }
  // maximum_likelihood: J = −½ mean exp(v), dJ/dv_i = −½ exp(v_i)/n, L_D the GAN's
  auto ml = make_objective("maximum_likelihood");
  Tensor fake = Tensor::from({2, 1}, {0.0f, float(std::log(3.0))}).set_requires_grad();
  CHECK(ml->generator_loss(Tensor(), fake).item() == Approx(-1.0));
  Tensor grad_fake = grad({ml->generator_loss(Tensor(), fake)}, {fake})[0];
  CHECK(grad_fake.data()[0] == Approx(-0.25));
  CHECK(grad_fake.data()[1] == Approx(-0.75));
  Tensor real = Tensor::from({2, 1}, {0.5f, -1.0f});
  CHECK(ml->critic_loss(real, fake).item() ==
        Approx(make_objective("minimax")->critic_loss(real, fake).item()));
  CHECK(ml->divergence_estimate(real, fake) ==
        Approx(make_objective("minimax")->divergence_estimate(real, fake)));
}

TEST_CASE("every theory experiment is valid under each of its profiles", "[theory]") {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(KANT_TEST_SOURCE_DIR) +
                                                               "/experiments/theory")) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    for (const char* profile : {"quick", "full"}) {
      INFO(entry.path().string() << " " << profile);
      CommandResult r =
          run_command(kant_exe() + " validate " + entry.path().string() + " --profile " + profile);
      CHECK(r.exit_code == 0);
      CHECK_THAT(r.output, Catch::Contains("all valid"));
    }
  }
  CHECK(count >= 5);
}

TEST_CASE("a plot over a grid axis: one point per cell at its label, from kant run to the SVG",
          "[theory]") {
  // disjoint_supports cut to two θ and 30 critic steps: the plot `distances` draws each critic's
  // estimate at θ = −1 and 1
  const auto dir = temp_dir("theory_over");
  const std::string yaml =
      std::string(KANT_TEST_SOURCE_DIR) + "/experiments/theory/disjoint_supports.yaml";
  const std::string sets =
      " --set train.steps=30 --sweep generator.theta=-1,1 --results " + dir.string();
  CommandResult run = run_command(kant_exe() + " run " + yaml + sets + " 2>&1");
  REQUIRE(run.exit_code == 0);
  CommandResult rep = run_command(kant_exe() + " report " + yaml + sets + " 2>&1");
  REQUIRE(rep.exit_code == 0);
  CHECK_THAT(rep.output, Catch::Contains("critic_estimate.estimate") &&
                             Catch::Contains("segment_distances.w1"));
  const std::string svg = read_text(dir / "disjoint_supports" / "report" / "distances.svg");
  CHECK_THAT(svg, Catch::Contains("GAN discriminator") && Catch::Contains("WGAN critic"));
  CHECK_THAT(svg, Catch::Contains("generator.theta"));
  // a plot over an axis the grid lacks is refused at validate, naming the axis
  CommandResult bad =
      run_command(kant_exe() + " validate " + yaml +
                  " --set 'report.plots=[{over: theta, y: critic_estimate.estimate}]' 2>&1");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("plot over 'theta' is not an axis of the grid"));
  // y must be a final value, and x comes from the axis
  bad = run_command(kant_exe() + " validate " + yaml +
                    " --set 'report.plots=[{over: generator.theta, y: series/loss_critic}]' 2>&1");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("needs 'y' as a final value"));
}

TEST_CASE("normal data and generator, the transport plan, and W2 between two normals", "[theory]") {
  Rng rng(1);
  SECTION("normal: sample moments and the closed-form density") {
    auto data = make_dataset("normal", {{"mean", std::vector<double>{1, -2}},
                                        {"cov", std::vector<double>{2, 0.6, 0.6, 0.5}}});
    Tensor x = data->sample(40000, rng);
    double m[2] = {0, 0}, c[3] = {0, 0, 0};
    for (int64_t i = 0; i < 40000; ++i)
      m[0] += x.data()[2 * i] / 40000, m[1] += x.data()[2 * i + 1] / 40000;
    for (int64_t i = 0; i < 40000; ++i) {
      const double a = x.data()[2 * i] - m[0], b = x.data()[2 * i + 1] - m[1];
      c[0] += a * a / 40000, c[1] += a * b / 40000, c[2] += b * b / 40000;
    }
    CHECK(m[0] == Approx(1).margin(0.03));
    CHECK(m[1] == Approx(-2).margin(0.03));
    CHECK(c[0] == Approx(2).epsilon(0.03));
    CHECK(c[1] == Approx(0.6).epsilon(0.05));
    CHECK(c[2] == Approx(0.5).epsilon(0.03));
    // at x = μ + (1, 0): Σ⁻¹ = [[0.5, −0.6], [−0.6, 2]]/0.64, quadratic form 0.5/0.64
    const double at[2] = {2, -2};
    CHECK(*data->log_density(at) ==
          Approx(-0.5 * 0.5 / 0.64 - 0.5 * std::log(4 * M_PI * M_PI * 0.64)));
    CHECK_THROWS_WITH(make_dataset("normal", {{"cov", std::vector<double>{1, 2, 2, 1}}}),
                      Catch::Contains("positive definite"));
    CHECK_THROWS_WITH(make_dataset("normal", {{"cov", std::vector<double>{1, 0, 0}}}),
                      Catch::Contains("d × d = 4"));
  }
  SECTION("normal generator: G(z) = μ + A z") {
    auto g = make_network(
        "normal", Role::generator, {2}, {2},
        {{"mu", std::vector<double>{1, 2}}, {"scale", std::vector<double>{2, 0, 1, 3}}}, rng);
    CHECK(g->forward(Tensor::from({1, 2}, {1.0f, -1.0f})).to_vector() ==
          std::vector<float>{3.0f, 0.0f});
    CHECK_THROWS_WITH(make_network("normal", Role::generator, {3}, {2}, {}, rng),
                      Catch::Contains("noise_dim equal"));
  }
  SECTION("optimal_transport: a swap, its plan and W2") {
    Tensor a = Tensor::from({2, 1}, {0.0f, 3.0f}), b = Tensor::from({2, 1}, {2.0f, 0.0f});
    TransportPlan p1 = optimal_transport(a, b, 1), p2 = optimal_transport(a, b, 2);
    CHECK(p1.cost == Approx(0.5));  // 0 → 0, 3 → 2
    CHECK(p2.cost == Approx(0.5));
    REQUIRE(p1.moves.size() == 2);
    for (const auto& m : p1.moves) {
      CHECK(m.mass == Approx(0.5));
      CHECK(m.to == (m.from == 0 ? 1 : 0));
    }
    CHECK(wasserstein1_exact(a, b) == p1.cost);
    // six random points a side: the plan's cost is the best of the 720 matchings, for p = 1, 2
    Tensor u = rng.normal_tensor({6, 2}), w = rng.normal_tensor({6, 2});
    for (double p : {1.0, 2.0}) {
      std::vector<int> perm{0, 1, 2, 3, 4, 5};
      double best = 1e300;
      do {
        double total = 0;
        for (int i = 0; i < 6; ++i) {
          const double dx = u.data()[2 * i] - w.data()[2 * perm[size_t(i)]],
                       dy = u.data()[2 * i + 1] - w.data()[2 * perm[size_t(i)] + 1];
          total += std::pow(dx * dx + dy * dy, p / 2) / 6;
        }
        best = std::min(best, total);
      } while (std::next_permutation(perm.begin(), perm.end()));
      INFO(p);
      CHECK(optimal_transport(u, w, p).cost == Approx(best).epsilon(1e-6));  // float inputs
    }
  }
  SECTION("gaussian_wasserstein: Bures at commuting and equal covariances, samples beside") {
    // Σ₁ = diag(1, 4), Σ₂ = diag(2, 1)² = diag(4, 1), Δμ = (1, 1):
    // W₂² = 2 + (1 − 2)² + (2 − 1)² = 4
    auto data = make_dataset(
        "normal", {{"mean", std::vector<double>{0, 0}}, {"cov", std::vector<double>{1, 0, 0, 4}}});
    auto g = make_network(
        "normal", Role::generator, {2}, {2},
        {{"mu", std::vector<double>{1, 1}}, {"scale", std::vector<double>{2, 0, 0, 1}}}, rng);
    Context c(*data, *g, nullptr, nullptr, false, 2);
    auto m = make_metric("gaussian_wasserstein",
                         {{"samples", int64_t{800}}, {"plan_samples", int64_t{20}}});
    auto v = m->compute(c.ctx);
    CHECK(v.at("w2") == Approx(2.0).epsilon(1e-6));
    CHECK(v.at("w2_sample") == Approx(2.0).margin(0.25));
    CHECK(v.at("w1_sample") <= v.at("w2_sample") + 1e-9);  // W1 ≤ W2
    auto arrays = m->final_arrays(c.ctx);
    CHECK(arrays.at("plan_from").shape() == Shape{20, 2});
    CHECK(arrays.at("plan_to").shape() == Shape{20, 2});
    // the same non-diagonal Gaussian on both sides: W₂ = 0; A = L of Σ = [[1, 0.5], [0.5, 1]]
    auto same = make_dataset("normal", {{"mean", std::vector<double>{0.5, 0}},
                                        {"cov", std::vector<double>{1, 0.5, 0.5, 1}}});
    const double l11 = std::sqrt(0.75);
    auto gs = make_network(
        "normal", Role::generator, {2}, {2},
        {{"mu", std::vector<double>{0.5, 0}}, {"scale", std::vector<double>{1, 0, 0.5, l11}}}, rng);
    Context cs(*same, *gs, nullptr, nullptr, false, 2);
    CHECK(
        make_metric("gaussian_wasserstein", {{"samples", int64_t{10}}})->compute(cs.ctx).at("w2") ==
        Approx(0.0).margin(2e-3));
  }
}

TEST_CASE("gaussian_mixture generator samples its components, em_mixture fits a mixture by EM",
          "[theory]") {
  Rng rng(1);
  auto g = make_network("gaussian_mixture", Role::generator, {2}, {1}, {{"components", int64_t{2}}},
                        rng);
  set_parameter(*g, "logits", {0.0f, std::log(3.0f)});  // weights ¼, ¾
  set_parameter(*g, "means", {-5.0f, 5.0f});
  set_parameter(*g, "log_stds", {0.0f, std::log(2.0f)});
  // z₀ with Φ(z₀) < ¼ picks component 0: G = −5 + z₁; above, component 1: G = 5 + 2 z₁
  Tensor out = g->forward(Tensor::from({2, 2}, {-1.0f, 0.5f, 0.0f, 0.5f}));
  CHECK(out.to_vector() == std::vector<float>{-4.5f, 6.0f});
  // the means and log-stds get gradients through the picked rows
  auto grads = grad({sum(g->forward(Tensor::from({2, 2}, {-1.0f, 0.5f, 0.0f, 0.5f})))},
                    {g->parameters()[1], g->parameters()[2]});
  CHECK(grads[0].to_vector() == std::vector<float>{1.0f, 1.0f});
  CHECK(grads[1].data()[1] == Approx(2 * 0.5));  // ∂(σ z)/∂log σ = σ z
  CHECK_THROWS_WITH(make_network("gaussian_mixture", Role::generator, {1}, {1}, {}, rng),
                    Catch::Contains("noise_dim = its dimension + 1"));
  // EM on ¼ N(−2, 0.5²) + ¾ N(3, 1): the fit recovers weights, means and stds
  const auto dir = temp_dir("theory_em");
  const std::string yaml = (dir / "em.yaml").string();
  {
    std::ofstream f(yaml);
    f << "name: em\n"
         "base:\n"
         "  dataset: {plugin: gaussian_mixture_1d, weights: [1, 3], means: [-2, 3], stds: [0.5, "
         "1]}\n"
         "  generator: {plugin: gaussian_mixture, components: 2, noise_dim: 2}\n"
         "  procedure: {plugin: em_mixture, sample_size: 20000}\n"
         "  optimizer: sgd\n"  // every network needs one in the config; em_mixture uses none
         "  train: {steps: 60, batch_size: 16, samples: 10, log_every: 60}\n"
         "  metrics: [{plugin: parameter_trace, max_values: 6}]\n"
         "seeds: [0]\n";
  }
  CommandResult run =
      run_command(kant_exe() + " run " + yaml + " --results " + dir.string() + " 2>&1");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  std::map<std::string, double> fit;
  for (const auto& cell : files_matching(dir / "em" / "cells", ".h5"))
    fit = read_cell_summary(cell).final_metrics;
  REQUIRE(fit.count("parameter_trace.generator.means[0]"));
  const bool first_low = fit["parameter_trace.generator.means[0]"] < 0;
  const std::string lo = first_low ? "[0]" : "[1]", hi = first_low ? "[1]" : "[0]";
  CHECK(fit["parameter_trace.generator.means" + lo] == Approx(-2).margin(0.05));
  CHECK(fit["parameter_trace.generator.means" + hi] == Approx(3).margin(0.05));
  CHECK(std::exp(fit["parameter_trace.generator.log_stds" + lo]) == Approx(0.5).margin(0.03));
  CHECK(std::exp(fit["parameter_trace.generator.log_stds" + hi]) == Approx(1).margin(0.05));
  const double w_lo = 1 / (1 + std::exp(fit["parameter_trace.generator.logits" + hi] -
                                        fit["parameter_trace.generator.logits" + lo]));
  CHECK(w_lo == Approx(0.25).margin(0.02));
  // the log-likelihood series never falls (EM's monotonicity)
  const std::vector<double> ll =
      read_cell_dataset(files_matching(dir / "em" / "cells", ".h5")[0], "series/log_likelihood");
  for (size_t i = 1; i < ll.size(); ++i) CHECK(ll[i] >= ll[i - 1] - 1e-6);
  // em_mixture refuses a generator that is not a mixture
  std::string text = read_text(yaml);
  text.replace(text.find("{plugin: gaussian_mixture, components: 2, noise_dim: 2}"),
               std::string("{plugin: gaussian_mixture, components: 2, noise_dim: 2}").size(),
               "{plugin: mlp, noise_dim: 2}");
  { std::ofstream(yaml) << text; }
  CommandResult bad =
      run_command(kant_exe() + " run " + yaml + " --results " + dir.string() + " 2>&1");
  CHECK_THAT(bad.output, Catch::Contains("use generator: {plugin: gaussian_mixture}"));
}

TEST_CASE("critic_curve and gaussian_wasserstein carry what they fixed across a checkpoint",
          "[theory]") {
  Rng rng(1);
  // critic_curve: the grid set at the first evaluation is restored bit for bit
  auto data = make_dataset("gaussian_mixture_1d", {{"weights", std::vector<double>{1}},
                                                   {"means", std::vector<double>{0}},
                                                   {"stds", std::vector<double>{1}}});
  auto g = make_network("gaussian", Role::generator, {1}, {1}, {{"mu", 1.0}}, rng);
  auto critic =
      make_network("mlp", Role::critic, {1}, {1}, {{"hidden", std::vector<int64_t>{8}}}, rng);
  Context c(*data, *g, critic.get(), nullptr, false, 1);
  auto first = make_metric("critic_curve", {{"resolution", int64_t{5}}});
  first->compute(c.ctx);
  auto resumed = make_metric("critic_curve", {{"resolution", int64_t{5}}});
  resumed->load_state(first->state());
  CHECK(resumed->final_arrays(c.ctx).at("x").to_vector() ==
        first->final_arrays(c.ctx).at("x").to_vector());
  // gaussian_wasserstein: the data's moments likewise (a resumed metric draws no new range sample)
  auto normal = make_dataset("normal", {{"cov", std::vector<double>{1, 0.3, 0.3, 2}}});
  auto gn = make_network("normal", Role::generator, {2}, {2}, {}, rng);
  Context cn(*normal, *gn, nullptr, nullptr, false, 2);
  auto w = make_metric("gaussian_wasserstein", {{"samples", int64_t{10}}});
  const double w2 = w->compute(cn.ctx).at("w2");
  auto w_resumed = make_metric("gaussian_wasserstein", {{"samples", int64_t{10}}});
  w_resumed->load_state(w->state());
  CHECK(w_resumed->compute(cn.ctx).at("w2") == w2);
  CHECK(w->state().words.at("data_gaussian").size() == 6);
}
