// The Improved-GAN techniques (Salimans et al. 2016) and their relatives: each at hand-computed
// points on tiny inputs, its defaults leaving cells and their draws as they were, and `kant
// validate` refusing it where it cannot apply.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "config/config.hpp"
#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/gan_steps.hpp"
#include "support.hpp"
#include "training/session.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

double softplus_d(double x) { return std::log1p(std::exp(x)); }
double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// A cell's config and the session built from it (the session refers to the config).
struct Probe {
  CellConfig config;
  std::unique_ptr<Session> session;
  explicit Probe(const std::string& yaml)
      : config(resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry())),
        session(std::make_unique<Session>(config, builtin_registry())) {}
  std::vector<std::pair<std::string, double>> steps(int n) {
    std::vector<std::pair<std::string, double>> all;
    for (int k = 1; k <= n; ++k) {
      StepOutcome out = session->procedure->step(*session->context, k);
      REQUIRE(out.diverged.empty());
      all.insert(all.end(), out.losses.begin(), out.losses.end());
    }
    return all;
  }
};

std::string tiny_cell(const std::string& objective, const std::string& procedure = "gan") {
  return "dataset: {plugin: eight_gaussians}\n"
         "procedure: " +
         procedure +
         "\n"
         "generator: {plugin: mlp, hidden: [3], activation: tanh, noise_dim: 2}\n"
         "critic: {plugin: mlp, hidden: [3], activation: tanh}\n"
         "objective: " +
         objective +
         "\n"
         "optimizer: {plugin: sgd, lr: 0.05}\n"
         "train: {batch_size: 4, samples: 0}\n"
         "seed: 3\n";
}

// `kant validate` on a one-cell file: its exit code and output.
CommandResult validate(const std::string& yaml) {
  const auto dir = temp_dir("kant_igan_validate");
  { std::ofstream(dir / "x.yaml") << yaml; }
  return run_command("cd " + dir.string() + " && " + kant_exe() + " validate x.yaml 2>&1");
}

// A one-cell experiment of a tiny cell (its seed in the experiment's list).
std::string experiment(const std::string& base) {
  std::string out = "name: x\nbase:\n";
  size_t start = 0;
  while (start < base.size()) {
    size_t end = base.find('\n', start);
    const std::string line = base.substr(start, end - start);
    if (line.rfind("seed:", 0) != 0) out += "  " + line + "\n";
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("one-sided label smoothing and noisy labels at hand-computed points",
          "[improved_gan][objective]") {
  const std::vector<float> r{0.5f, -1.0f}, f{2.0f, 0.25f};
  Tensor real = Tensor::from({2, 1}, r).set_requires_grad();
  Tensor fake = Tensor::from({2, 1}, f).set_requires_grad();
  const double a = 0.9;
  for (const char* name : {"minimax", "nonsaturating"}) {
    INFO(name);
    SECTION(std::string(name) + ": the defaults are the loss of before, bit for bit") {
      Rng rng(1);
      const std::vector<uint64_t> fresh = rng.state();
      const float plain = add(mean(softplus(neg(real))), mean(softplus(fake))).item();
      CHECK(make_objective(name)->critic_loss(real, fake).item() == plain);
      CHECK(make_objective(name)->noisy_critic_loss(real, fake, rng).item() == plain);
      CHECK(rng.state() == fresh);  // p = 0 draws nothing
    }
    SECTION(std::string(name) + ": the real target α only") {
      auto o = make_objective(name, {{"real_target", a}});
      double expected = 0;
      for (float x : r) expected += (a * softplus_d(-x) + (1 - a) * softplus_d(x)) / 2;
      for (float x : f) expected += softplus_d(x) / 2;
      CHECK(o->critic_loss(real, fake).item() == Approx(expected));
      // ∂L/∂D(x) = (σ(D(x)) − α)/n; the generated side keeps σ(D(G(z)))/n
      auto g = grad({o->critic_loss(real, fake)}, {real, fake});
      for (int i = 0; i < 2; ++i) {
        CHECK(g[0].data()[i] == Approx((sigmoid_d(r[i]) - a) / 2));
        CHECK(g[1].data()[i] == Approx(sigmoid_d(f[i]) / 2));
      }
      Rng rng(1);
      const std::vector<uint64_t> fresh = rng.state();
      CHECK(o->noisy_critic_loss(real, fake, rng).item() == Approx(expected));
      CHECK(rng.state() == fresh);
    }
    SECTION(std::string(name) + ": every label flipped (p = 1)") {
      auto o = make_objective(name, {{"real_target", a}, {"flip", 1.0}});
      double expected = 0;
      for (float x : r) expected += softplus_d(x) / 2;  // labelled generated: target 0
      for (float x : f) expected += (a * softplus_d(-x) + (1 - a) * softplus_d(x)) / 2;
      Rng rng(1);
      CHECK(o->noisy_critic_loss(real, fake, rng).item() == Approx(expected));
      // critic_loss (metrics, estimates) draws nothing and flips nothing
      CHECK(o->critic_loss(real, fake).item() ==
            Approx(make_objective(name, {{"real_target", a}})->critic_loss(real, fake).item()));
    }
    SECTION(std::string(name) + ": flips drawn from the stream, real rows first") {
      auto o = make_objective(name, {{"flip", 0.5}});
      Rng rng(7), copy(7);
      std::vector<bool> flipped;
      for (int i = 0; i < 4; ++i) flipped.push_back(copy.uniform() < 0.5f);
      double expected = 0;
      for (int i = 0; i < 2; ++i) {
        expected += (flipped[i] ? softplus_d(r[i]) : softplus_d(-r[i])) / 2;
        expected += (flipped[2 + i] ? softplus_d(-f[i]) : softplus_d(f[i])) / 2;
      }
      CHECK(o->noisy_critic_loss(real, fake, rng).item() == Approx(expected));
      CHECK(rng.state() == copy.state());
    }
  }
}

TEST_CASE(
    "label smoothing and noisy labels: defaults keep cell ids and draws, flips are "
    "reproducible",
    "[improved_gan][objective]") {
  Probe plain(tiny_cell("minimax"));
  Probe explicit_defaults(tiny_cell("{plugin: minimax, real_target: 1.0, flip: 0.0}"));
  CHECK(plain.config.id() == explicit_defaults.config.id());
  const auto a = plain.steps(3), b = explicit_defaults.steps(3);
  CHECK(a == b);
  // nothing drawn from the targets stream, so nothing new stored
  for (const auto& o : plain.session->optional_streams()) CHECK(o.rng->state() == o.fresh);

  Probe noisy(tiny_cell("{plugin: nonsaturating, real_target: 0.9, flip: 0.2}"));
  Probe again(tiny_cell("{plugin: nonsaturating, real_target: 0.9, flip: 0.2}"));
  CHECK(noisy.config.id() != plain.config.id());
  CHECK(noisy.steps(3) == again.steps(3));
  CHECK(noisy.session->targets_rng.state() != noisy.session->optional_streams()[0].fresh);
}

TEST_CASE("kant validate refuses the Improved-GAN targets on objectives without them",
          "[improved_gan][cli]") {
  CommandResult ok =
      validate(experiment(tiny_cell("{plugin: minimax, real_target: 0.9, flip: 0.1}")));
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CommandResult bad = validate(experiment(tiny_cell("{plugin: wasserstein, real_target: 0.9}")));
  INFO(bad.output);
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("x.yaml:7:") && Catch::Contains("real_target"));
  CommandResult range = validate(experiment(tiny_cell("{plugin: minimax, flip: 1.5}")));
  INFO(range.output);
  CHECK(range.exit_code == 2);
  CHECK_THAT(range.output, Catch::Contains("x.yaml:7:") && Catch::Contains("flip"));
}

TEST_CASE("instance noise: x + σε from its own stream, in the critic's inputs",
          "[improved_gan][procedures]") {
  const Tensor x = Tensor::from({2, 2}, {1.0f, -2.0f, 0.5f, 3.0f});
  Rng rng(5);
  const std::vector<uint64_t> fresh = rng.state();
  const Tensor same = procedures::with_instance_noise(x, 0.0, rng);
  CHECK(same.impl() == x.impl());
  CHECK(rng.state() == fresh);  // σ = 0 draws nothing
  Rng copy(5);
  const Tensor eps = copy.normal_tensor({2, 2});
  const Tensor noisy = procedures::with_instance_noise(x, 0.5, rng);
  for (int i = 0; i < 4; ++i) CHECK(noisy.data()[i] == Approx(x.data()[i] + 0.5 * eps.data()[i]));

  // the defaults: the same cell id, the same losses, nothing drawn
  Probe plain(tiny_cell("minimax"));
  Probe zero(tiny_cell("minimax", "{plugin: gan, instance_noise: 0.0}"));
  CHECK(plain.config.id() == zero.config.id());
  CHECK(plain.steps(3) == zero.steps(3));
  CHECK(zero.session->instance_noise_rng.state() == zero.session->optional_streams()[1].fresh);

  // σ = 0.3: the critic step's loss is L_D(D(x + σε), D(G(z) + σε')) with the streams' draws
  const std::string yaml = tiny_cell("minimax", "{plugin: gan, instance_noise: 0.3}");
  Probe noisy_cell(yaml);
  CHECK(noisy_cell.config.id() != plain.config.id());
  Session& s = *noisy_cell.session;
  Rng data = s.data_rng, noise = s.noise_rng, inst = s.instance_noise_rng;
  double expected;
  {
    NoGradGuard no_grad;
    Tensor real = s.dataset->sample(4, data);
    Tensor fake = s.generator->forward(s.context->noise(noise, 4));
    real = add(real, inst.normal_tensor(real.shape(), 0.0f, 0.3f));
    fake = add(fake, inst.normal_tensor(fake.shape(), 0.0f, 0.3f));
    expected = s.objective->critic_loss(s.critic->forward(real), s.critic->forward(fake)).item();
  }
  const auto losses = noisy_cell.steps(1);
  CHECK(losses[0].first == "loss_critic");
  CHECK(losses[0].second == Approx(expected).epsilon(1e-5));
  Probe again(yaml);
  again.steps(1);
  CHECK(again.session->instance_noise_rng.state() == s.instance_noise_rng.state());
  CHECK(s.instance_noise_rng.state() != s.optional_streams()[1].fresh);
}

TEST_CASE("kant validate refuses instance noise where it cannot apply", "[improved_gan][cli]") {
  CommandResult ok =
      validate(experiment(tiny_cell("minimax", "{plugin: critic_only, instance_noise: 0.1}")));
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CommandResult unrolled = validate(
      experiment(tiny_cell("minimax", "{plugin: gan, instance_noise: 0.1, unrolled_steps: 2}")));
  INFO(unrolled.output);
  CHECK(unrolled.exit_code == 2);
  CHECK_THAT(unrolled.output, Catch::Contains("x.yaml:4:") &&
                                  Catch::Contains("instance_noise does not apply to unrolled"));
  CommandResult ali = validate(
      experiment(tiny_cell("minimax", "{plugin: ali, instance_noise: 0.1}") + "encoder: mlp\n"));
  INFO(ali.output);
  CHECK(ali.exit_code == 2);
  CHECK_THAT(ali.output, Catch::Contains("x.yaml:4:") && Catch::Contains("instance_noise"));
}

TEST_CASE("historical averaging: the running mean and λ‖θ − θ̄‖² at hand-computed points",
          "[improved_gan][procedures]") {
  procedures::HistoricalAverage h;
  Tensor a = Tensor::from({2}, {1.0f, 2.0f}), b = Tensor::from({1}, {-1.0f});
  CHECK_FALSE(h.penalty({a, b}, 0.5).defined());  // no past before the first update
  h.record({a, b});
  a.data()[0] = 3.0f, a.data()[1] = 4.0f, b.data()[0] = 1.0f;
  h.record({a, b});
  // θ̄ = ([2, 3], [0])
  CHECK(h.count() == 2);
  CHECK(h.mean()[0].data()[0] == 2.0f);
  CHECK(h.mean()[0].data()[1] == 3.0f);
  CHECK(h.mean()[1].data()[0] == 0.0f);
  Tensor x = Tensor::from({2}, {5.0f, 6.0f}).set_requires_grad();
  Tensor y = Tensor::from({1}, {2.0f}).set_requires_grad();
  const Tensor p = h.penalty({x, y}, 0.5);
  CHECK(p.item() == Approx(0.5 * (9 + 9 + 4)));
  auto g = grad({p}, {x, y});  // 2λ(θ − θ̄)
  CHECK(g[0].data()[0] == Approx(3.0));
  CHECK(g[0].data()[1] == Approx(3.0));
  CHECK(g[1].data()[0] == Approx(2.0));
  // its state round-trips exactly
  ComponentState s;
  h.save(s, "historical.critic");
  procedures::HistoricalAverage back;
  back.load(s, "historical.critic");
  CHECK(back.count() == 2);
  CHECK(back.penalty({x, y}, 0.5).item() == p.item());
}

namespace {
std::vector<Tensor> copies(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.clone());
  return out;
}
std::vector<Tensor> params_of(Probe& p, const std::string& network) {
  for (const auto& [name, net] : p.session->networks)
    if (name == network) return net->parameters();
  FAIL("no network " << network);
  return {};
}
}  // namespace

TEST_CASE(
    "historical averaging: SGD moves each network by η·2λ(θ − θ̄) more from its second "
    "update on, and the defaults keep cells as they were",
    "[improved_gan][procedures]") {
  Probe plain(tiny_cell("minimax"));
  Probe zero(tiny_cell("minimax", "{plugin: gan, historical_averaging: 0.0}"));
  CHECK(plain.config.id() == zero.config.id());
  CHECK(plain.steps(2) == zero.steps(2));
  CHECK(plain.session->procedure->state().tensors.empty());

  const double lr = 0.05, lambda = 0.5;
  for (const std::string network : {"critic", "generator"}) {
    INFO(network);
    Probe without(tiny_cell("minimax"));
    Probe with(tiny_cell("minimax",
                         "{plugin: gan, historical_averaging: 0.5, "
                         "historical_networks: " +
                             network + "}"));
    const std::vector<Tensor> theta0 = copies(params_of(with, network));
    const auto first = with.steps(1), first_without = without.steps(1);
    REQUIRE(first.size() == first_without.size() + 2);  // + historical_critic, _generator
    for (size_t k = 0; k < first_without.size(); ++k)
      CHECK(first[k] == first_without[k]);  // no past at the first update: the same step
    const std::vector<Tensor> theta1 = copies(params_of(with, network));
    const auto second = with.steps(1);
    without.steps(1);
    double expected_term = 0;
    const std::vector<Tensor> a = params_of(with, network), b = params_of(without, network);
    for (size_t k = 0; k < a.size(); ++k)
      for (int64_t i = 0; i < a[k].numel(); ++i) {
        const double d = theta1[k].data()[i] - theta0[k].data()[i];  // θ₁ − θ̄, θ̄ = θ₀
        expected_term += lambda * d * d;
        CHECK(a[k].data()[i] == Approx(b[k].data()[i] - lr * 2 * lambda * d).margin(1e-6));
      }
    std::map<std::string, double> l(second.begin(), second.end());
    CHECK(l.at("historical_" + network) == Approx(expected_term));
    CHECK(l.at(network == "critic" ? "historical_generator" : "historical_critic") == 0.0);
  }
}

TEST_CASE("kant validate refuses historical_networks without historical averaging",
          "[improved_gan][cli]") {
  CommandResult ok = validate(experiment(tiny_cell(
      "minimax", "{plugin: gan, historical_averaging: 0.1, historical_networks: critic}")));
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CommandResult bad =
      validate(experiment(tiny_cell("minimax", "{plugin: gan, historical_networks: critic}")));
  INFO(bad.output);
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output,
             Catch::Contains("x.yaml:4:") && Catch::Contains("historical_networks acts only with"));
}

TEST_CASE("the Improved-GAN weights follow schedules, read at the step they act",
          "[improved_gan][schedules]") {
  // four iterations of a tiny cell, each at its generator step
  auto run = [](const std::string& objective, const std::string& procedure) {
    Probe p(tiny_cell(objective, procedure));
    std::vector<std::vector<std::pair<std::string, double>>> per_step;
    for (int k = 1; k <= 4; ++k) {
      ScheduleClock clock(k);
      StepOutcome out = p.session->procedure->step(*p.session->context, k);
      REQUIRE(out.diverged.empty());
      per_step.push_back(out.losses);
    }
    return per_step;
  };
  // v at every step, as a schedule: piecewise [v, v] around step 2
  auto held = [](const std::string& v) {
    return "{schedule: piecewise, values: [" + v + ", " + v + "], boundaries: [2]}";
  };
  const std::string procedure = "{plugin: gan, instance_noise: 0.3, historical_averaging: 0.5}";
  const auto numbers = run("{plugin: minimax, real_target: 0.9, flip: 0.25}", procedure);
  CHECK(run("{plugin: minimax, real_target: " + held("0.9") + ", flip: " + held("0.25") + "}",
            "{plugin: gan, instance_noise: " + held("0.3") +
                ", historical_averaging: " + held("0.5") + "}") == numbers);
  // α = 0.9 until step 2, 0.7 from step 3: the same first two steps, different later ones
  const auto stepped =
      run("{plugin: minimax, real_target: {schedule: piecewise, values: [0.9, 0.7], boundaries: "
          "[3]}, flip: 0.25}",
          procedure);
  CHECK(stepped[0] == numbers[0]);
  CHECK(stepped[1] == numbers[1]);
  CHECK(stepped[2] != numbers[2]);
  // σ annealed to 0 at step 3: from then on no noise is drawn, so the critic sees clean inputs
  const auto annealed = run("{plugin: minimax, real_target: 0.9, flip: 0.25}",
                            "{plugin: gan, instance_noise: {schedule: piecewise, values: [0.3, "
                            "0], boundaries: [3]}, historical_averaging: 0.5}");
  CHECK(annealed[1] == numbers[1]);
  CHECK(annealed[2] != numbers[2]);
}

TEST_CASE("feature matching: the distance of mean features at hand-computed points",
          "[improved_gan]") {
  // means (2, 3) and (1, 1): ‖(1, 2)‖² = 5; ∂/∂b_j = 2(mean b − mean a)/M = (−1, −2) per row
  const Tensor a = Tensor::from({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::from({2, 2}, {0, 0, 2, 2});
  b.set_requires_grad(true);
  const Tensor d = procedures::mean_feature_distance(a, b);
  CHECK(d.item() == Approx(5.0));
  const std::vector<Tensor> g = grad({d}, {b});
  CHECK(g[0].to_vector() == std::vector<float>{-1, -2, -1, -2});
  // rows are flattened: [N, C, H, W] features compare as [N, C·H·W]
  CHECK(procedures::mean_feature_distance(Tensor::from({1, 1, 1, 2}, {1, 2}),
                                          Tensor::from({1, 2}, {1, 0}))
            .item() == Approx(4.0));
}

TEST_CASE("feature matching: replace trains the generator on L_FM alone, with its weight",
          "[improved_gan]") {
  auto generator_after_one_step = [](const std::string& procedure) {
    Probe p(tiny_cell("nonsaturating", procedure));
    ScheduleClock clock(1);
    StepOutcome out = p.session->procedure->step(*p.session->context, 1);
    REQUIRE(out.diverged.empty());
    std::vector<float> theta;
    for (const Tensor& t : p.session->generator->parameters())
      for (float v : t.to_vector()) theta.push_back(v);
    return std::pair{theta, out.losses};
  };
  const auto [before, unused] = generator_after_one_step(
      "{plugin: gan, feature_matching: replace, feature_weight: 0, n_critic: 1}");
  const auto [moved, losses] =
      generator_after_one_step("{plugin: gan, feature_matching: replace, n_critic: 1}");
  // w = 0: the generator's gradient is 0 (the adversarial loss is not applied), so SGD leaves
  // it where it started; w = 1 moves it, and the term is recorded as a series
  Probe fresh(tiny_cell("nonsaturating", "{plugin: gan, feature_matching: replace}"));
  std::vector<float> start;
  for (const Tensor& t : fresh.session->generator->parameters())
    for (float v : t.to_vector()) start.push_back(v);
  CHECK(before == start);
  CHECK(moved != start);
  REQUIRE(losses.back().first == "feature_matching");
  CHECK(losses.back().second > 0);
}

TEST_CASE("kant validate refuses feature matching where it cannot apply", "[improved_gan][cli]") {
  auto run = [](const std::string& procedure) {
    return validate(experiment(tiny_cell("nonsaturating", procedure)));
  };
  CHECK(run("{plugin: gan, feature_matching: add, feature_block: hidden1}").exit_code == 0);
  const struct {
    std::string procedure, says;
  } bad[] = {
      {"{plugin: gan, feature_matching: add, feature_block: hidden4}",
       "the critic records no block 'hidden4' (it records hidden1)"},
      {"{plugin: gan, feature_weight: 2}", "feature_weight act only with feature_matching"},
      {"{plugin: gan, feature_matching: add, unrolled_steps: 1}",
       "feature_matching takes alternating updates"},
      {"{plugin: critic_only, feature_matching: add}", "give pretrain_steps"},
  };
  for (const auto& b : bad) {
    const CommandResult r = run(b.procedure);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("x.yaml:4:") && Catch::Contains(b.says));
  }
}

TEST_CASE("minibatch discrimination at hand-computed points, and to second order",
          "[improved_gan]") {
  Rng rng(21);
  // an mlp critic without hidden layers on 1-D inputs: f(x) = x, one kernel of dimension 1 with
  // T = 2, so o(x_i) = Σ_j exp(−2|x_i − x_j|), and D(x_i) = w·x_i + v·o(x_i) + b
  auto d = make_network("mlp", Role::critic, {1}, {1},
                        {{"hidden", std::vector<int64_t>{}},
                         {"minibatch_kernels", int64_t{1}},
                         {"minibatch_kernel_dim", int64_t{1}}},
                        rng);
  set_parameter(*d, "minibatch.T", {2});
  set_parameter(*d, "layers.0.weight", {3, 5});  // w = 3 on x, v = 5 on o(x)
  set_parameter(*d, "layers.0.bias", {1});
  CHECK_FALSE(d->batch_independent());
  const Tensor x = Tensor::from({3, 1}, {0, 1, 3});
  const std::vector<float> out = d->forward(x).to_vector();
  auto o = [](double a, double b, double c) {
    return 1 + std::exp(-2 * std::abs(a - b)) + std::exp(-2 * std::abs(a - c));
  };
  CHECK(out[0] == Approx(3 * 0 + 5 * o(0, 1, 3) + 1));
  CHECK(out[1] == Approx(3 * 1 + 5 * o(1, 0, 3) + 1));
  CHECK(out[2] == Approx(3 * 3 + 5 * o(3, 0, 1) + 1));
  // judged alone, a sample sees only itself: o = 1
  CHECK(d->forward(Tensor::from({1, 1}, {3})).item() == Approx(3 * 3 + 5 * 1 + 1));
  // gradients in x to first and second order (a gradient penalty differentiates through it),
  // in mlp (tanh) and dcgan critics; points apart, where |·| is smooth
  auto m = make_network("mlp", Role::critic, {3}, {1},
                        {{"hidden", std::vector<int64_t>{4}},
                         {"activation", std::string("tanh")},
                         {"minibatch_kernels", int64_t{2}},
                         {"minibatch_kernel_dim", int64_t{3}}},
                        rng);
  check_both([&](const std::vector<Tensor>& in) { return m->forward(in[0]); },
             {random_tensor({3, 3}, -1, 1, 22)});
  auto c = make_network("dcgan", Role::critic, {1, 28, 28}, {1},
                        {{"width", int64_t{2}},
                         {"activation", std::string("tanh")},
                         {"minibatch_kernels", int64_t{2}}},
                        rng);
  CHECK(check_grad([&](const std::vector<Tensor>& in) { return c->forward(in[0]); },
                   {random_tensor({2, 1, 28, 28}, -1, 1, 23)}) == "");
  CHECK(check_gradgrad([&](const std::vector<Tensor>& in) { return c->forward(in[0]); },
                       {random_tensor({2, 1, 28, 28}, -1, 1, 24)}) == "");
}

TEST_CASE("kant validate refuses minibatch discrimination outside the critic",
          "[improved_gan][cli]") {
  std::string cell = tiny_cell("nonsaturating");
  const std::string critic = "critic: {plugin: mlp, hidden: [3], activation: tanh}";
  cell.replace(cell.find(critic), critic.size(),
               "critic: {plugin: mlp, hidden: [3], activation: tanh, minibatch_kernels: 4}");
  CHECK(validate(experiment(cell)).exit_code == 0);
  std::string bad = tiny_cell("nonsaturating");
  const std::string generator = "generator: {plugin: mlp, hidden: [3], activation: tanh, ";
  bad.replace(bad.find(generator), generator.size(), generator + "minibatch_kernels: 4, ");
  const CommandResult r = validate(experiment(bad));
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("x.yaml:5:") &&
                           Catch::Contains("minibatch discrimination is a layer of the critic"));
}

TEST_CASE("virtual batch normalisation at hand-computed points, and to second order",
          "[improved_gan]") {
  // R = 2 reference rows {1, 3} (μ_r = 2, σ²_r = 1) and the sample 5: μ = (2·2 + 5)/3 = 3,
  // σ² = (2·(1 + (2 − 3)²) + (5 − 3)²)/3 = 8/3 (those of {1, 3, 5}); the reference rows are
  // normalised by their own
  const Tensor x = Tensor::from({3, 1}, {1, 3, 5});
  const std::vector<float> y = virtual_batch_norm(x, 2, Tensor(), Tensor(), 0.0f).to_vector();
  CHECK(y[0] == Approx(-1));
  CHECK(y[1] == Approx(1));
  CHECK(y[2] == Approx(2 / std::sqrt(8.0 / 3)));
  // with spatial axes, each sample's row equals batch norm over [reference; that sample], γ, β
  const int64_t r = 3;
  const Tensor v = random_tensor({r + 2, 2, 3, 3}, -2, 2, 31);
  const Tensor gamma = Tensor::from({2}, {1.5f, -0.5f}), beta = Tensor::from({2}, {0.25f, 2});
  const std::vector<float> vbn = virtual_batch_norm(v, r, gamma, beta).to_vector();
  const int64_t row = 2 * 3 * 3;
  for (int64_t i = 0; i < 2; ++i) {
    Tensor none_mean, none_var;
    const Tensor with_i = concat({slice(v, 0, 0, r), slice(v, 0, r + i, r + i + 1)}, 0);
    const std::vector<float> bn =
        batch_norm(with_i, gamma, beta, none_mean, none_var, true).to_vector();
    for (int64_t k = 0; k < row; ++k)
      CHECK(vbn[static_cast<size_t>((r + i) * row + k)] ==
            Approx(bn[static_cast<size_t>(r * row + k)]).margin(1e-5));
  }
  // derivatives in x (through the reference's statistics too), γ and β, to second order
  check_both(
      [&](const std::vector<Tensor>& in) {
        return kant::tanh(virtual_batch_norm(in[0], 2, in[1], in[2]));
      },
      {random_tensor({4, 2, 2, 2}, -1, 1, 32), Tensor::from({2}, {1.2f, 0.7f}),
       Tensor::from({2}, {0.1f, -0.3f})});
  check_both(
      [](const std::vector<Tensor>& in) {
        return square(virtual_batch_norm(in[0], 3, Tensor(), Tensor()));
      },
      {random_tensor({5, 3}, -1, 1, 33)});
  CHECK_THROWS_WITH(virtual_batch_norm(x, 3, Tensor(), Tensor()),
                    Catch::Contains("3 reference rows in a batch of 3"));
}

TEST_CASE("virtual batch normalisation in the generators: a reference fixed by the first batch",
          "[improved_gan]") {
  Rng rng(41);
  auto g = make_network("mlp", Role::generator, {2}, {2},
                        {{"hidden", std::vector<int64_t>{8, 8}},
                         {"normalization", std::string("virtual_batch")},
                         {"reference_batch", int64_t{4}}},
                        rng);
  const Tensor first = random_tensor({6, 2}, -1, 1, 42);
  const Tensor out = g->forward(first);
  CHECK(out.shape() == Shape{6, 2});
  // the reference: the first batch's first 4 rows, fixed from then on (and stored as a buffer)
  std::map<std::string, Tensor> buffers(g->named_buffers().begin(), g->named_buffers().end());
  CHECK(buffers.at("virtual_batch.reference").to_vector() == slice(first, 0, 0, 4).to_vector());
  CHECK(buffers.at("virtual_batch.fixed").item() == 1);
  // each sample's output depends on the reference and itself: the same alone or in any batch
  const Tensor later = random_tensor({3, 2}, -1, 1, 43);
  const std::vector<float> together = g->forward(later).to_vector();
  for (int64_t i = 0; i < 3; ++i) {
    const std::vector<float> alone = g->forward(slice(later, 0, i, i + 1)).to_vector();
    CHECK(alone[0] == Approx(together[static_cast<size_t>(2 * i)]).margin(1e-5));
    CHECK(alone[1] == Approx(together[static_cast<size_t>(2 * i + 1)]).margin(1e-5));
  }
  CHECK(g->forward(first).to_vector() == out.to_vector());
  // an unlike reference changes the outputs: the statistics are the reference's, not the batch's
  auto h = make_network("mlp", Role::generator, {2}, {2},
                        {{"hidden", std::vector<int64_t>{8, 8}},
                         {"normalization", std::string("virtual_batch")},
                         {"reference_batch", int64_t{4}}},
                        *std::make_unique<Rng>(41));
  h->forward(affine(first, 3.0f, 1.0f));
  CHECK(h->forward(later).to_vector() != together);
  // a first batch smaller than the reference is refused
  auto small = make_network(
      "mlp", Role::generator, {2}, {2},
      {{"normalization", std::string("virtual_batch")}, {"reference_batch", int64_t{8}}}, rng);
  CHECK_THROWS_WITH(small->forward(first), Catch::Contains("fewer than reference_batch = 8"));
  // a critic takes none
  CHECK_THROWS_WITH(make_network("mlp", Role::critic, {2}, {1},
                                 {{"normalization", std::string("virtual_batch")}}, rng),
                    Catch::Contains("virtual_batch is a generator's"));
  // dcgan and resnet generators, a conditional one with its reference labels, and gradients in
  // the weights through the reference rows
  auto d = make_network("dcgan", Role::generator, {8}, {1, 28, 28},
                        {{"width", int64_t{4}},
                         {"normalization", std::string("virtual_batch")},
                         {"reference_batch", int64_t{2}},
                         {"condition", std::string("concat")}},
                        rng, 3);
  const Tensor labels = Tensor::from({3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(d->forward_conditional(random_tensor({3, 8}, -1, 1, 44), labels).shape() ==
        Shape{3, 1, 28, 28});
  std::map<std::string, Tensor> dcgan_buffers(d->named_buffers().begin(), d->named_buffers().end());
  CHECK(dcgan_buffers.at("virtual_batch.reference_labels").to_vector() ==
        slice(labels, 0, 0, 2).to_vector());
  auto res = make_network("resnet", Role::generator, {8}, {1, 16, 16},
                          {{"width", int64_t{4}},
                           {"depth", int64_t{2}},
                           {"normalization", std::string("virtual_batch")},
                           {"reference_batch", int64_t{2}}},
                          rng);
  Tensor z = random_tensor({2, 8}, -1, 1, 45);
  const std::vector<Tensor> params = res->parameters();
  const std::vector<Tensor> grads = grad({sum(square(res->forward(z)))}, params);
  for (const Tensor& gr : grads) CHECK(gr.defined());
}

TEST_CASE("kant validate refuses virtual batch normalisation where it cannot apply",
          "[improved_gan][cli]") {
  const std::string generator = "generator: {plugin: mlp, hidden: [3], activation: tanh, ";
  const std::string critic = "critic: {plugin: mlp, hidden: [3], activation: tanh";
  auto with = [](std::string cell, const std::string& block, const std::string& extra) {
    cell.replace(cell.find(block), block.size(), block + extra);
    return experiment(cell);
  };
  const std::string good = tiny_cell("nonsaturating");
  CHECK(validate(with(good, generator, "normalization: virtual_batch, reference_batch: 4, "))
            .exit_code == 0);
  struct Bad {
    std::string yaml, where, says;
  };
  const std::vector<Bad> bad{
      {with(good, critic, ", normalization: virtual_batch"), "x.yaml:6:71:", "is the generator's"},
      {with(good, generator, "reference_batch: 4, "),
       "x.yaml:5:76:", "reference_batch acts with normalization: virtual_batch only"},
      {with(good, generator, "normalization: virtual_batch, reference_batch: 5, "),
       "x.yaml:5:106:", "reference_batch = 5 is more than the first batch's 4 rows"},
      {with(good, generator, "normalization: virtual_batch, "),
       "x.yaml:5:74:", "reference_batch = 64 (its default) is more than the first batch's 4 rows"},
  };
  for (const Bad& b : bad) {
    const CommandResult r = validate(b.yaml);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(b.where) && Catch::Contains(b.says));
  }
}
