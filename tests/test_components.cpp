// Objectives, optimizers, datasets and the mode-coverage metric against hand-computed values.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

double softplus_d(double x) { return std::log1p(std::exp(x)); }

}  // namespace

TEST_CASE("objectives: values and gradients at hand-computed points", "[objective]") {
  Tensor real = Tensor::from({2, 1}, {0.5f, -1.0f}).set_requires_grad();
  Tensor fake = Tensor::from({2, 1}, {2.0f, 0.25f}).set_requires_grad();
  SECTION("wasserstein") {
    auto o = make_objective("wasserstein");
    CHECK(o->critic_loss(real, fake).item() == Approx((2.0 + 0.25) / 2 - (0.5 - 1.0) / 2));
    CHECK(o->generator_loss(Tensor(), fake).item() == Approx(-(2.0 + 0.25) / 2));
    CHECK(o->divergence_estimate(real, fake) == Approx((0.5 - 1.0) / 2 - (2.0 + 0.25) / 2));
    auto g = grad({o->critic_loss(real, fake)}, {real, fake});
    CHECK(g[0].data()[0] == Approx(-0.5));
    CHECK(g[1].data()[1] == Approx(0.5));
  }
  SECTION("minimax and nonsaturating share the critic loss") {
    // −log σ(r) − log(1 − σ(f)) = softplus(−r) + softplus(f)
    double expected =
        (softplus_d(-0.5) + softplus_d(1.0)) / 2 + (softplus_d(2.0) + softplus_d(0.25)) / 2;
    CHECK(make_objective("minimax")->critic_loss(real, fake).item() == Approx(expected));
    CHECK(make_objective("nonsaturating")->critic_loss(real, fake).item() == Approx(expected));
    CHECK(make_objective("minimax")->divergence_estimate(real, fake) ==
          Approx((std::log(4.0) - expected) / 2));
  }
  SECTION("generator losses and their gradients") {
    // minimax: E[log(1 − σ(f))] = −E[softplus(f)], d/df = −σ(f)/n
    auto mm = make_objective("minimax");
    CHECK(mm->generator_loss(Tensor(), fake).item() ==
          Approx(-(softplus_d(2.0) + softplus_d(0.25)) / 2));
    Tensor g = grad({mm->generator_loss(Tensor(), fake)}, {fake})[0];
    CHECK(g.data()[0] == Approx(-1.0 / (1.0 + std::exp(-2.0)) / 2));
    // non-saturating: −E[log σ(f)] = E[softplus(−f)], d/df = −(1 − σ(f))/n
    auto ns = make_objective("nonsaturating");
    CHECK(ns->generator_loss(Tensor(), fake).item() ==
          Approx((softplus_d(-2.0) + softplus_d(-0.25)) / 2));
    g = grad({ns->generator_loss(Tensor(), fake)}, {fake})[0];
    CHECK(g.data()[0] == Approx(-(1.0 - 1.0 / (1.0 + std::exp(-2.0))) / 2));
  }
}

TEST_CASE("optimizers: one and two steps by hand", "[optimizer]") {
  auto step_twice = [](const std::string& name, std::map<std::string, Value> params) {
    auto opt = make_component<Optimizer, OptimizerFactory>(Kind::optimizer, name, params);
    Tensor w = Tensor::from({2}, {1.0f, -2.0f});
    Tensor g = Tensor::from({2}, {0.5f, -0.25f});
    opt->step({w}, {g});
    float after_one = w.data()[0];
    opt->step({w}, {g});
    return std::pair{after_one, w.data()[0]};
  };
  SECTION("sgd") {
    auto [one, two] = step_twice("sgd", {{"lr", 0.1}});
    CHECK(one == Approx(1.0 - 0.1 * 0.5));
    CHECK(two == Approx(1.0 - 0.2 * 0.5));
    auto [m1, m2] = step_twice("sgd", {{"lr", 0.1}, {"momentum", 0.9}});
    CHECK(m1 == Approx(1.0 - 0.05));
    CHECK(m2 == Approx(1.0 - 0.05 - 0.1 * (0.9 * 0.5 + 0.5)));
  }
  SECTION("adam: the first steps have size lr·sign(g)") {
    auto [one, two] = step_twice("adam", {{"lr", 0.01}, {"beta1", 0.5}, {"beta2", 0.9}});
    CHECK(one == Approx(1.0 - 0.01).epsilon(1e-6));
    CHECK(two == Approx(1.0 - 0.02).epsilon(1e-6));
  }
  SECTION("rmsprop") {
    auto [one, two] = step_twice("rmsprop", {{"lr", 0.01}, {"alpha", 0.99}});
    double v1 = 0.01 * 0.25, w1 = 1.0 - 0.01 * 0.5 / (std::sqrt(v1) + 1e-8);
    double v2 = 0.99 * v1 + 0.01 * 0.25, w2 = w1 - 0.01 * 0.5 / (std::sqrt(v2) + 1e-8);
    CHECK(one == Approx(w1).epsilon(1e-5));
    CHECK(two == Approx(w2).epsilon(1e-5));
  }
}

TEST_CASE("toy datasets: modes and spread as in the WGAN-GP code", "[dataset]") {
  auto ds =
      make_component<Dataset, DatasetFactory>(Kind::dataset, "eight_gaussians", {}, uint64_t{0});
  auto modes = ds->modes();
  REQUIRE(modes);
  REQUIRE(modes->centers.size() == 8);
  CHECK(modes->centers[0][0] == Approx(2.0 / 1.414));
  CHECK(modes->std == Approx(0.02 / 1.414));
  Rng rng(4);
  Tensor x = ds->sample(20000, rng);
  // every sample lies near a mode; its distance to the nearest mode has the mode's std
  double ss = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    double best = 1e9;
    for (const auto& c : modes->centers) {
      double dx = x.data()[2 * i] - c[0], dy = x.data()[2 * i + 1] - c[1];
      best = std::min(best, dx * dx + dy * dy);
    }
    ss += best;
  }
  CHECK(std::sqrt(ss / (2.0 * x.size(0))) == Approx(modes->std).epsilon(0.03));

  auto grid = make_component<Dataset, DatasetFactory>(Kind::dataset, "twenty_five_gaussians", {},
                                                      uint64_t{0});
  REQUIRE(grid->modes()->centers.size() == 25);
  CHECK(grid->modes()->centers[0][0] == Approx(-4.0 / 2.828));
  // the fixed sample is served in consecutive batches and repeats after a full pass
  Tensor a = grid->sample(50000, rng), b = grid->sample(50000, rng), c = grid->sample(50000, rng);
  CHECK(a.to_vector() == c.to_vector());
  CHECK(a.to_vector() != b.to_vector());

  auto roll = make_component<Dataset, DatasetFactory>(Kind::dataset, "swiss_roll", {{"noise", 0.0}},
                                                      uint64_t{0});
  Tensor r = roll->sample(1000, rng);
  for (int64_t i = 0; i < 1000; ++i) {
    // with no noise every point is t(cos t, sin t)/7.5 with t ∈ [1.5π, 4.5π]
    double rad = std::hypot(r.data()[2 * i], r.data()[2 * i + 1]) * 7.5;
    REQUIRE(rad >= 1.5 * M_PI - 1e-3);
    REQUIRE(rad <= 4.5 * M_PI + 1e-3);
  }
}

TEST_CASE("mode coverage on constructed samples", "[metric]") {
  auto ds =
      make_component<Dataset, DatasetFactory>(Kind::dataset, "eight_gaussians", {}, uint64_t{0});
  auto modes = *ds->modes();
  Rng rng(1);
  NetworkSpec spec{Role::critic, {2}, {1}, &rng};
  auto net = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{4}}}, spec);
  auto metric = make_component<Metric, MetricFactory>(Kind::metric, "mode_coverage",
                                                      {{"samples", int64_t{100}}});
  // 100 samples: 30 exactly on mode 0, 25 on mode 1, 19 on mode 2 (too few), 26 far away
  Tensor x = Tensor::zeros({100, 2});
  for (int i = 0; i < 100; ++i) {
    int m = i < 30 ? 0 : i < 55 ? 1 : i < 74 ? 2 : -1;
    x.data()[2 * i] = m >= 0
                          ? static_cast<float>(modes.centers[m][0] +
                                               2.5 * modes.std * (i % 2 ? 1 : -1) / std::sqrt(2.0))
                          : 5.0f;
    x.data()[2 * i + 1] =
        m >= 0 ? static_cast<float>(modes.centers[m][1] + 2.5 * modes.std / std::sqrt(2.0)) : 5.0f;
  }
  MetricContext ctx{*ds, *net, net.get(), [&](int64_t) { return x; }, rng};
  auto v = metric->compute(ctx);
  CHECK(v["modes"] == 2.0);
  CHECK(v["high_quality"] == Approx(74.0));
  // PacGAN's reverse KL of the high-quality histogram (30, 25, 19, 0…) to uniform over 8
  double kl = 0;
  for (double c : {30.0, 25.0, 19.0}) kl += c / 74 * std::log(8 * c / 74);
  CHECK(v["reverse_kl"] == Approx(kl));
}

TEST_CASE("gradient norms and critic surface of a linear critic", "[metric]") {
  auto ds =
      make_component<Dataset, DatasetFactory>(Kind::dataset, "eight_gaussians", {}, uint64_t{0});
  LinearCritic critic(Tensor::from({1, 2}, {0.6f, -0.8f}));  // ‖w‖ = 1
  Rng rng(2);
  Rng gen_rng(5);
  MetricContext ctx{*ds, critic, &critic,
                    [&](int64_t n) {
                      return gen_rng.normal_tensor({n, 2});
                    },
                    rng};
  auto norms = make_component<Metric, MetricFactory>(Kind::metric, "gradient_norms",
                                                     {{"samples", int64_t{64}}});
  for (const auto& [name, value] : norms->compute(ctx)) {
    INFO(name);
    if (name.find("std") != std::string::npos)
      CHECK(value == Approx(0.0).margin(1e-5));
    else
      CHECK(value == Approx(1.0).epsilon(1e-5));
  }
  auto surface = make_component<Metric, MetricFactory>(
      Kind::metric, "critic_surface",
      {{"resolution", int64_t{5}}, {"range", std::vector<double>{-1, 1, -2, 2}}});
  auto arrays = surface->final_arrays(ctx);
  const Tensor& x = arrays.at("x");
  const Tensor& y = arrays.at("y");
  const Tensor& v = arrays.at("values");
  REQUIRE(v.shape() == Shape{5, 5});
  CHECK(x.data()[0] == -1.0f);
  CHECK(y.data()[4] == 2.0f);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      CHECK(v.data()[i * 5 + j] == Approx(0.6 * x.data()[j] - 0.8 * y.data()[i]).margin(1e-6));
  auto values = surface->compute(ctx);
  CHECK(values.at("max") == Approx(0.6 + 1.6));
  CHECK(values.at("min") == Approx(-0.6 - 1.6));
}
