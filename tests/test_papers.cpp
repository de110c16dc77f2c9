// What the paper suite (experiments/papers) needs, each at a point whose answer is known: the
// f-GAN best fits against the published ones, the per-layer gradient ratio and its trend under
// an exact rescaling, the generator-gradient baseline and its checkpoint state, resampled fixed
// samples, critic_only's frozen generator, reference tolerances, and every paper's YAML valid
// under each of its profiles.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "config/config.hpp"
#include "kant/autodiff.hpp"
#include "kant/components.hpp"
#include "kant/layers.hpp"
#include "report/report.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"
#include "training/session.hpp"

using namespace kant;
using namespace kant::testing;
namespace fs = std::filesystem;

namespace {
const std::string kSource = KANT_TEST_SOURCE_DIR;

}  // namespace

TEST_CASE("f-GAN mixture: the exact best fits are the paper's fifteen numbers", "[papers]") {
  // p(x) = 0.33·N(−1, 0.2549²) + 0.67·N(2, 1.4151²) (experiments/papers/fgan_mixture.yaml);
  // Nowozin et al. 2016, Table 1 left: (μ*, σ*, D_f(P‖Q_θ*)), four decimals. This p reproduces
  // them to 3.5e-4, not quite the 3e-4 the issue states: KL's fit is moment matching, so its σ*
  // is the mixture's standard deviation in closed form, 1.831126, against the published 1.8308
  // (the mixture's parameters are themselves rounded to four decimals); Pearson's σ* is 3.5e-4
  // off. The minimiser itself is checked exactly on KL below.
  auto data = make_dataset("gaussian_mixture_1d", {{"weights", std::vector<double>{0.33, 0.67}},
                                                   {"means", std::vector<double>{-1, 2}},
                                                   {"stds", std::vector<double>{0.2549, 1.4151}}});
  const std::map<std::string, std::array<double, 3>> published{
      {"kl", {1.0100, 1.8308, 0.2831}},
      {"reverse_kl", {1.5782, 1.6319, 0.2480}},
      {"jensen_shannon", {1.3070, 1.7542, 0.1280}},
      {"jeffrey", {1.3218, 1.7034, 0.5705}},
      {"pearson", {0.5737, 1.9274, 0.6457}}};
  AffineGenerator g(0, 1);
  Rng rng(1), noise(2);
  MetricContext ctx{*data,
                    g,
                    &g,
                    [&](int64_t n) {
                      NoGradGuard ng;
                      return g.forward(noise.normal_tensor({n, 1}));
                    },
                    rng,
                    [&](int64_t n) {
                      return noise.normal_tensor({n, 1});
                    }};
  {
    auto v = make_metric("f_divergence_1d", {{"best_fit", std::string("kl")}})->compute(ctx);
    const double mean = 0.33 * -1 + 0.67 * 2;
    const double second = 0.33 * (0.2549 * 0.2549 + 1) + 0.67 * (1.4151 * 1.4151 + 4);
    CHECK(v.at("best_mu") == Approx(mean).margin(1e-6));
    CHECK(v.at("best_sigma") == Approx(std::sqrt(second - mean * mean)).margin(1e-6));
  }
  for (const auto& [name, p] : published) {
    INFO(name);
    auto v = make_metric("f_divergence_1d", {{"best_fit", name}})->compute(ctx);
    CHECK(std::abs(v.at("best_mu") - p[0]) <= 3.5e-4);
    CHECK(std::abs(v.at("best_sigma") - p[1]) <= 3.5e-4);
    CHECK(std::abs(v.at("best") - p[2]) <= 3.5e-4);
    // a minimum: the exact divergence at the fit is below its value at nearby points
    AffineGenerator at(static_cast<float>(v.at("best_mu")), static_cast<float>(v.at("best_sigma")));
    AffineGenerator off(static_cast<float>(v.at("best_mu") + 0.05),
                        static_cast<float>(v.at("best_sigma")));
    MetricContext c_at{*data, at, &at, ctx.generate, rng, ctx.noise},
        c_off{*data, off, &off, ctx.generate, rng, ctx.noise};
    const double here = make_metric("f_divergence_1d")->compute(c_at).at("exact_" + name);
    CHECK(here == Approx(v.at("best")).epsilon(1e-5));
    CHECK(make_metric("f_divergence_1d")->compute(c_off).at("exact_" + name) > here);
  }
  CHECK_THROWS_WITH(make_metric("f_divergence_1d", {{"best_fit", std::string("kl, pearson")}}),
                    Catch::Contains("names one divergence"));
}

TEST_CASE(
    "gradient_norms layer_ratio: log10 of the first block's norm over the last's, shifted exactly "
    "by a rescaling",
    "[papers]") {
  // With W₂, b₂ scaled by s > 0 the ReLU pattern of h₂ is unchanged, ∂L/∂h₂ depends on the
  // output weights only, and ∂L/∂h₁ = W₂ᵀ(∂L/∂h₂ ⊙ 1[·>0]) scales by s: the ratio moves by log10 s.
  auto data = make_dataset("ring");
  auto ratio_at = [&](float s) {
    Rng rng(41);
    NetworkSpec spec{Role::critic, {2}, {1}, &rng};
    auto critic = make_component<Network, ArchitectureFactory>(
        Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{8, 6}}}, spec);
    for (int k : {2, 3}) {  // layers.1.weight and .bias
      Tensor& p = const_cast<Tensor&>(critic->named_parameters()[k].second);
      for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] *= s;
    }
    Rng metric_rng(5);
    MetricContext ctx{*data, *critic, critic.get(),
                      [&](int64_t n) {
                        return metric_rng.normal_tensor({n, 2});
                      },
                      metric_rng};
    auto v = make_metric("gradient_norms", {{"samples", int64_t{64}}, {"layer_ratio", true}})
                 ->compute(ctx);
    CHECK(v.at("activation_grad_log10_ratio") ==
          Approx(std::log10(v.at("activation_grad_hidden1") / v.at("activation_grad_hidden2"))));
    return std::pair{v.at("activation_grad_log10_ratio"), v.at("activation_grad_trend")};
  };
  REQUIRE(ratio_at(1.0f).first > -1);
  REQUIRE(ratio_at(1.0f).first < 1);
  const double base = ratio_at(1.0f).first;
  CHECK(ratio_at(1.0f).second == 0);
  CHECK(ratio_at(1000.0f).first == Approx(base + 3).margin(1e-4));
  CHECK(ratio_at(1000.0f).second == 1);
  CHECK(ratio_at(1e-3f).first == Approx(base - 3).margin(1e-4));
  CHECK(ratio_at(1e-3f).second == -1);
  auto names = make_metric("gradient_norms")->value_names();
  CHECK(std::find(names.begin(), names.end(), "activation_grad_trend") ==
        names.end());  // only when asked
}

TEST_CASE(
    "generator_gradient baseline: NaN before it, 0 at it, log10 of the ratio after, kept in its "
    "state",
    "[papers]") {
  // G(z) = b, v(x) = a·x: the minimax norm is a·σ(a·b) (test_metrics), so changing a from 2.5
  // to 0.5 changes it by log10(0.5·σ(0.4) / (2.5·σ(2)))
  class Constant : public Network {
   public:
    Constant() { b_ = register_parameter("b", Tensor::from({1}, {0.8f})); }
    Tensor forward(const Tensor& z) override {
      return linear(z, Tensor::zeros({1, z.size(1)}), use(b_));
    }
    size_t b_;
  } generator;
  auto critic = std::make_unique<LinearCritic>(Tensor::from({1, 1}, {2.5f}));
  auto data = make_dataset("gaussian_mixture_1d");
  Rng rng(3);
  MetricContext ctx{
      *data,        generator,
      critic.get(), [&](int64_t n) { return generator.forward(rng.normal_tensor({n, 1})); },
      rng,          [&](int64_t n) { return rng.normal_tensor({n, 1}); }};
  auto m = make_metric("generator_gradient", {{"baseline_step", int64_t{10}}});
  ctx.step = 5;
  CHECK(std::isnan(m->compute(ctx).at("minimax_log10_change")));
  CHECK(m->state().empty());
  ctx.step = 10;
  CHECK(m->compute(ctx).at("minimax_log10_change") == 0);
  const ComponentState saved = m->state();
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double expected = std::log10(0.5 * sigmoid(0.4) / (2.5 * sigmoid(2.0)));
  auto weaker = std::make_unique<LinearCritic>(Tensor::from({1, 1}, {0.5f}));
  ctx.critic = weaker.get();
  ctx.step = 20;
  CHECK(m->compute(ctx).at("minimax_log10_change") == Approx(expected).epsilon(1e-5));
  // a resumed cell: a fresh metric given the saved state measures against the same baseline
  auto resumed = make_metric("generator_gradient", {{"baseline_step", int64_t{10}}});
  resumed->load_state(saved);
  CHECK(resumed->compute(ctx).at("minimax_log10_change") == Approx(expected).epsilon(1e-5));
  CHECK(resumed->compute(ctx).at("nonsaturating_log10_change") ==
        Approx(std::log10(0.5 * sigmoid(-0.4) / (2.5 * sigmoid(-2.0)))).epsilon(1e-5));
}

TEST_CASE("resample: every point an independent uniform draw from the fixed sample", "[papers]") {
  const int64_t size = 50, n = 100000;
  auto in_order = make_dataset("ring", {{"fixed_size", size}});
  auto resampled = make_dataset("ring", {{"fixed_size", size}, {"resample", true}});
  Rng a(7), b(7);
  const std::vector<float> fixed = in_order->sample(size, a).to_vector();  // the whole fixed sample
  std::map<std::pair<float, float>, int64_t> index;
  for (int64_t i = 0; i < size; ++i) index[{fixed[2 * i], fixed[2 * i + 1]}] = i;
  const std::vector<float> x = resampled->sample(n, b).to_vector();  // n > fixed_size is fine
  std::vector<int64_t> counts(size, 0);
  for (int64_t i = 0; i < n; ++i) {
    auto it = index.find({x[2 * i], x[2 * i + 1]});
    REQUIRE(it != index.end());  // a point of the fixed sample, never a fresh draw
    ++counts[it->second];
  }
  double chi2 = 0;  // uniform: χ² with 49 degrees of freedom, P(χ² > 85) ≈ 0.001
  for (int64_t c : counts)
    chi2 += (c - double(n) / size) * (c - double(n) / size) / (double(n) / size);
  CHECK(chi2 < 85);
  // two batches of a packed pair are not the same tuples (in order they would be, every pass)
  Rng c(8);
  auto pairs = make_dataset("ring", {{"fixed_size", int64_t{4}}, {"resample", true}});
  CHECK(pairs->sample(4, c).to_vector() != pairs->sample(4, c).to_vector());
}

TEST_CASE(
    "critic_only: the generator never moves (data plus noise) or stops at the freeze, when the "
    "critic starts afresh",
    "[papers]") {
  auto make = [](const std::string& procedure) {
    const std::string yaml = "dataset: {plugin: eight_gaussians}\nprocedure: " + procedure +
                             "\ngenerator: {plugin: mlp, hidden: [3], noise_dim: 2}\ncritic: "
                             "{plugin: mlp, hidden: [3]}\n"
                             "objective: nonsaturating\noptimizer: {plugin: sgd, lr: 0.1}\ntrain: "
                             "{batch_size: 8, samples: 0}\nseed: 3\n";
    auto config = std::make_shared<CellConfig>(
        resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry()));
    return std::pair{config, std::make_unique<Session>(*config, builtin_registry())};
  };
  auto params = [](Session& s, const std::string& network) {
    std::vector<float> all;
    for (const auto& [name, net] : s.networks)
      if (name == network)
        for (const Tensor& p : net->parameters())
          for (float x : p.to_vector()) all.push_back(x);
    return all;
  };
  SECTION("data plus noise") {
    auto [config, s] = make("{plugin: critic_only, noise_std: 0.5}");
    const auto g0 = params(*s, "generator"), d0 = params(*s, "critic");
    for (int64_t k = 1; k <= 3; ++k) REQUIRE(s->procedure->step(*s->context, k).diverged.empty());
    CHECK(params(*s, "generator") == g0);
    CHECK(params(*s, "critic") != d0);
  }
  SECTION("a generator frozen after 2 steps, a fresh critic") {
    auto [config, s] = make("{plugin: critic_only, fake: generator, pretrain_steps: 2}");
    auto [config0, fresh] = make("{plugin: critic_only, fake: generator, pretrain_steps: 2}");
    const auto g0 = params(*s, "generator");
    for (int64_t k = 1; k <= 2; ++k) REQUIRE(s->procedure->step(*s->context, k).diverged.empty());
    const auto g2 = params(*s, "generator"), d2 = params(*s, "critic");
    CHECK(g2 != g0);  // pretraining trains both players
    REQUIRE(s->procedure->step(*s->context, 3).diverged.empty());
    CHECK(params(*s, "generator") == g2);
    const auto d3 = params(*s, "critic");
    CHECK(d3 != d2);
    CHECK(d3 != params(*fresh, "critic"));  // re-initialised from a stream of its own, then stepped
    REQUIRE(s->procedure->step(*s->context, 4).diverged.empty());
    CHECK(params(*s, "generator") == g2);
  }
  CHECK_THROWS_WITH(make("{plugin: critic_only, pretrain_steps: 2}"),
                    Catch::Contains("pretrain_steps needs fake: generator"));
}

TEST_CASE("sharpness: the mean squared Laplacian of one bright pixel and of a checkerboard",
          "[papers]") {
  // 5×5 images: interior pixels (1..3)². One pixel 1 at the centre: responses −4 there and 1 at
  // its four neighbours, so S = (16 + 4)/9. A ±1 checkerboard: every interior response is ∓8,
  // S = 64. A linear ramp has none (S = 0).
  class Checkerboard : public Dataset {
   public:
    Shape sample_shape() const override { return {1, 5, 5}; }
    Tensor sample(int64_t n, Rng&) override {
      std::vector<float> v;
      for (int64_t k = 0; k < n; ++k)
        for (int i = 0; i < 5; ++i)
          for (int j = 0; j < 5; ++j) v.push_back((i + j) % 2 ? -1.0f : 1.0f);
      return Tensor::from({n, 1, 5, 5}, v);
    }
  } board;
  AffineGenerator unused(0, 1);
  Rng rng(1);
  auto pixel = [](int64_t n) {
    Tensor t = Tensor::zeros({n, 1, 5, 5});
    for (int64_t k = 0; k < n; ++k) t.data()[k * 25 + 12] = 1;
    return t;
  };
  MetricContext ctx{board, unused, nullptr, pixel, rng};
  auto v = make_metric("sharpness", {{"samples", int64_t{3}}})->compute(ctx);
  CHECK(v.at("generated") == Approx(20.0 / 9));
  CHECK(v.at("data") == Approx(64));
  CHECK(v.at("ratio") == Approx(20.0 / 9 / 64));
  ctx.generate = [](int64_t n) {
    std::vector<float> ramp;
    for (int64_t k = 0; k < n; ++k)
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) ramp.push_back(0.1f * i - 0.2f * j);
    return Tensor::from({n, 1, 5, 5}, ramp);
  };
  CHECK(make_metric("sharpness")->compute(ctx).at("generated") == Approx(0).margin(1e-12));
  ctx.generate = [](int64_t n) { return Tensor::zeros({n, 2}); };
  CHECK_THROWS_WITH(make_metric("sharpness")->compute(ctx), Catch::Contains("needs images"));
}

TEST_CASE("reference tolerances: absolute, per value, and relative", "[papers]") {
  Table t;
  t.values = {"a", "b"};
  t.ref.tolerance = 0.5;
  CHECK(t.agrees("a", 1.4, 1.0));
  CHECK_FALSE(t.agrees("a", 1.6, 1.0));
  t.ref.relative = 0.1;  // 10 % of the published value, for values without their own tolerance
  CHECK(t.agrees("a", 1.09, 1.0));
  CHECK_FALSE(t.agrees("a", 1.11, 1.0));
  CHECK(t.agrees("a", -0.95, -1.0));
  t.ref.tolerances["b"] = 0.01;
  CHECK_FALSE(t.agrees("b", 1.09, 1.0));
  CHECK(t.agrees("b", 1.005, 1.0));
}

TEST_CASE(
    "critic_only: a fixed data-plus-noise fake, a frozen generator with a fresh critic, packed "
    "resampling",
    "[papers][e2e]") {
  const auto dir = temp_dir("kant-papers");
  CommandResult r = run_command(kant_exe() + " run " + kSource +
                                "/tests/data/papers_small.yaml --jobs 2 --results " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("3 complete, 0 diverged, 0 failed"));
  std::map<std::string, fs::path> cells;
  for (const auto& e : fs::directory_iterator(dir / "papers_small" / "cells"))
    if (e.path().extension() == ".h5") {
      CellSummary s = read_cell_summary(e.path());
      for (const auto& [axis, label] : s.labels)
        if (axis == "case") cells[label] = e.path();
    }
  REQUIRE(cells.size() == 3);
  // data_plus_noise: the generator never trains, so its loss is reported but its samples are
  // the data plus noise; the critic's per-layer trend is one of −1, 0, 1
  CellSummary plus = read_cell_summary(cells["data_plus_noise"]);
  const double trend = plus.final_metrics.at("gradient_norms.activation_grad_trend");
  CHECK((trend == -1 || trend == 0 || trend == 1));
  // frozen: the generator's gradient is NaN-free after the baseline (step 15), 0 at it
  const std::vector<double> change =
      read_cell_dataset(cells["frozen"], "metrics/generator_gradient/minimax_log10_change");
  const std::vector<double> steps =
      read_cell_dataset(cells["frozen"], "metrics/generator_gradient/step");
  REQUIRE(change.size() == steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    INFO(steps[i]);
    if (steps[i] < 15) CHECK(std::isnan(change[i]));
    if (steps[i] == 15) CHECK(change[i] == 0);
    if (steps[i] > 15) CHECK(std::isfinite(change[i]));
  }
  // the generator stops learning at the freeze: its loss series is that of the pretraining,
  // then the objective's loss on a fixed generator (no parameter update), and the cell's
  // procedure is recorded
  CHECK_THAT(read_cell_summary(cells["frozen"]).config_yaml, Catch::Contains("critic_only"));
  CHECK(read_cell_summary(cells["packed"]).final_metrics.count("mode_coverage.modes") == 1);
  // the report shows the values
  CommandResult rep = run_command(kant_exe() + " report " + (dir / "papers_small").string());
  CHECK_THAT(rep.output, Catch::Contains("generator_gradient.minimax_log10_change"));
}

TEST_CASE(
    "every paper's YAML is valid under each of its profiles, and an unknown profile is one error",
    "[papers]") {
  for (const char* name :
       {"fgan_mixture", "pacgan_modes", "veegan_modes", "wgan_gp_toys", "arjovsky_bottou"})
    for (const char* profile : {"quick", "full"}) {
      INFO(name << " " << profile);
      CommandResult r = run_command(kant_exe() + " validate " + kSource + "/experiments/papers/" +
                                    name + ".yaml --profile " + profile);
      CHECK(r.exit_code == 0);
      CHECK_THAT(r.output, Catch::Contains("all valid"));
    }
  CommandResult bad = run_command(kant_exe() + " validate " + kSource +
                                  "/experiments/papers/pacgan_modes.yaml --profile quik");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("pacgan_modes.yaml:") &&
                             Catch::Contains("no profile 'quik'") &&
                             Catch::Contains("did you mean 'quick'"));
  CommandResult dirac =
      run_command(kant_exe() + " validate " + kSource + "/experiments/dirac_gan.yaml");
  CHECK(dirac.exit_code == 0);
}
