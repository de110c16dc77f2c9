// Training procedures: their losses at hand-computed points and to second order against finite
// differences; each procedure's parameter updates against finite differences of the loss it
// reports, on tiny networks; config validation per procedure; short runs of each from YAML.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>

#include "config/config.hpp"
#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/classifier.hpp"
#include "kant/distances.hpp"
#include "kant/procedure_losses.hpp"
#include "support.hpp"
#include "training/session.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

double softplus_d(double x) { return std::log1p(std::exp(x)); }

// A cell's config and the session built from it (the session refers to the config).
struct Probe {
  CellConfig config;
  std::unique_ptr<Session> session;
  explicit Probe(const std::string& yaml)
      : config(resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry())),
        session(std::make_unique<Session>(config, builtin_registry())) {}
  std::vector<Tensor> params(const std::string& network) const {
    for (const auto& [name, net] : session->networks)
      if (name == network) return net->parameters();
    FAIL("no network " << network);
    return {};
  }
  std::map<std::string, double> step() {
    StepOutcome out = session->procedure->step(*session->context, 1);
    REQUIRE(out.diverged.empty());
    return {out.losses.begin(), out.losses.end()};
  }
};

std::string tiny_cell(const std::string& procedure, const std::string& extra, double critic_lr,
                      double generator_lr) {
  return fmt::format(R"(dataset: {{plugin: eight_gaussians}}
procedure: {}
generator: {{plugin: mlp, hidden: [3], activation: tanh, noise_dim: 2}}
critic: {{plugin: mlp, hidden: [3], activation: tanh}}
{}
generator_optimizer: {{plugin: sgd, lr: {}}}
critic_optimizer: {{plugin: sgd, lr: {}}}
train: {{batch_size: 4, samples: 0}}
seed: 3
)",
                     procedure, extra, generator_lr, critic_lr);
}

// The gradient an optimizer step applied to `network` (SGD: Δθ = −η∇L), against central
// differences of the loss `loss` the step reports, each from a fresh session with the same
// random draws and that network's parameters moved by ±h.
void check_update(const std::string& yaml, const std::string& network, double lr,
                  const std::string& loss) {
  Probe base(yaml);
  std::vector<Tensor> before;
  for (const Tensor& p : base.params(network)) before.push_back(p.clone());
  base.step();
  const std::vector<Tensor> after = base.params(network);
  const float h = 1e-2f;
  double worst = 0;
  size_t checked = 0;
  for (size_t k = 0; k < before.size(); ++k)
    for (int64_t i = 0; i < before[k].numel(); ++i) {
      const double applied = (before[k].data()[i] - after[k].data()[i]) / lr;
      double value[2];
      for (int side = 0; side < 2; ++side) {
        Probe moved(yaml);
        moved.params(network)[k].data()[i] += side == 0 ? h : -h;
        value[side] = moved.step().at(loss);
      }
      const double numeric = (value[0] - value[1]) / (2 * h);
      INFO(network << " parameter " << k << "[" << i << "]: applied " << applied << ", numeric "
                   << numeric);
      CHECK(applied == Approx(numeric).margin(3e-3).epsilon(3e-2));
      worst = std::max(worst, std::abs(applied - numeric));
      ++checked;
    }
  INFO(checked << " parameters, worst difference " << worst);
  CHECK(checked > 10);
}

}  // namespace

TEST_CASE("procedure losses at hand-computed points", "[procedures]") {
  const double f32 = 2e-5;  // relative: a few float32 operations from the exact value
  Tensor x = Tensor::from({2, 2}, {1, 2, 3, 4}), z = Tensor::from({2, 1}, {5, 6});
  CHECK(losses::pair(x, z).to_vector() == std::vector<float>{1, 2, 5, 3, 4, 6});
  CHECK(losses::pair(x, z).shape() == Shape{2, 3});
  CHECK(losses::mean_squared_distance(x, Tensor::zeros({2, 2})).item() ==
        Approx((1 + 4 + 9 + 16) / 2.0));
  // VEEGAN: generated pairs have label 1, reconstructed pairs label 0
  Tensor dg = Tensor::from({2, 1}, {0, std::log(3.0f)}), dr = Tensor::from({1, 1}, {0.5f});
  CHECK(losses::veegan_discriminator_loss(dg, dr).item() ==
        Approx((softplus_d(0) + softplus_d(-std::log(3.0))) / 2 + softplus_d(0.5)).epsilon(f32));
  Tensor zz = Tensor::from({2, 2}, {1, 0, 0, 1}), zr = Tensor::from({2, 2}, {0, 0, 0, 0});
  CHECK(losses::veegan_generator_loss(dg, zz, zr, 2.0f).item() ==
        Approx(std::log(3.0) / 2 + 2.0 * 1.0).epsilon(f32));
  // cross-entropy: logits (0, ln 3) → softmax (1/4, 3/4)
  Tensor logits = Tensor::from({1, 2}, {0, std::log(3.0f)});
  CHECK(cross_entropy(logits, Tensor::from({1, 2}, {0, 1})).item() ==
        Approx(-std::log(0.75)).epsilon(f32));
  CHECK(cross_entropy(logits, std::vector<int64_t>{0}).item() ==
        Approx(-std::log(0.25)).epsilon(f32));
  // InfoGAN: λ_cat·CE + λ_cont·½‖q − c‖²
  Tensor q = Tensor::from({1, 1}, {0.5f}), c = Tensor::from({1, 1}, {-0.5f});
  CHECK(losses::infogan_information_loss(logits, Tensor::from({1, 2}, {0, 1}), q, c, 2.0f, 0.5f)
            .item() == Approx(2 * -std::log(0.75) + 0.5 * 0.5 * 1.0).epsilon(f32));
  CHECK(losses::infogan_information_loss(Tensor(), Tensor(), q, c, 1.0f, 1.0f).item() ==
        Approx(0.5));
  // VAE: KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − 1 − log σ²)
  CHECK(losses::vae_kl(Tensor::from({1, 1}, {1}), Tensor::from({1, 1}, {0})).item() == Approx(0.5));
  CHECK(losses::vae_kl(Tensor::from({1, 1}, {0}), Tensor::from({1, 1}, {std::log(2.0f)})).item() ==
        Approx(0.5 * (2 - 1 - std::log(2.0))).epsilon(f32));
  Tensor one = Tensor::from({1, 1}, {1}), zero = Tensor::from({1, 1}, {0});
  CHECK(losses::vae_reconstruction(one, zero, "gaussian", 1.0f).item() ==
        Approx(0.5 + 0.5 * std::log(2 * M_PI)).epsilon(f32));
  CHECK(losses::vae_reconstruction(one, zero, "gaussian", 0.5f).item() ==
        Approx(0.5 / 0.25 + std::log(0.5) + 0.5 * std::log(2 * M_PI)).epsilon(f32));
  CHECK(losses::vae_reconstruction(one, zero, "bernoulli", 1.0f).item() ==
        Approx(std::log(2.0)).epsilon(f32));
  CHECK_THROWS_WITH(losses::vae_reconstruction(one, zero, "poisson", 1.0f),
                    Catch::Contains("gaussian or bernoulli"));
}

TEST_CASE("procedure losses to first and second order", "[procedures][gradients]") {
  Tolerance tol;
  check_both(
      [](const std::vector<Tensor>& v) { return losses::veegan_discriminator_loss(v[0], v[1]); },
      {random_tensor({4, 1}, -2, 2, 1), random_tensor({4, 1}, -2, 2, 2)}, tol);
  check_both(
      [](const std::vector<Tensor>& v) {
        return losses::veegan_generator_loss(v[0], v[1], v[2], 0.7f);
      },
      {random_tensor({3, 1}, -2, 2, 3), random_tensor({3, 2}, -1, 1, 4),
       random_tensor({3, 2}, -1, 1, 5)},
      tol);
  Tensor one_hot = Tensor::from({2, 3}, {0, 1, 0, 1, 0, 0});
  check_both([&](const std::vector<Tensor>& v) { return cross_entropy(v[0], one_hot); },
             {random_tensor({2, 3}, -2, 2, 6)}, tol);
  check_both(
      [&](const std::vector<Tensor>& v) {
        return losses::infogan_information_loss(v[0], one_hot, v[1], v[2], 1.0f, 0.3f);
      },
      {random_tensor({2, 3}, -2, 2, 7), random_tensor({2, 2}, -1, 1, 8),
       random_tensor({2, 2}, -1, 1, 9)},
      tol);
  check_both([](const std::vector<Tensor>& v) { return losses::vae_kl(v[0], v[1]); },
             {random_tensor({3, 2}, -1, 1, 10), random_tensor({3, 2}, -1, 1, 11)}, tol);
  check_both(
      [](const std::vector<Tensor>& v) {
        return losses::vae_reconstruction(v[0], v[1], "gaussian", 0.7f);
      },
      {random_tensor({3, 2}, -1, 1, 12), random_tensor({3, 2}, -1, 1, 13)}, tol);
  check_both(
      [](const std::vector<Tensor>& v) {
        return losses::vae_reconstruction(v[0], v[1], "bernoulli", 1.0f);
      },
      {random_tensor({3, 2}, -0.9f, 0.9f, 14), random_tensor({3, 2}, -0.9f, 0.9f, 15)}, tol);
}

TEST_CASE("each procedure's updates follow the gradient of the loss it reports",
          "[procedures][gradients]") {
  const double lr = 0.5, frozen = 1e-30;  // the other player barely moves
  const std::string objective = "objective: nonsaturating";
  SECTION("gan") {
    check_update(tiny_cell("gan", objective, lr, lr), "critic", lr, "loss_critic");
    check_update(tiny_cell("gan", objective, frozen, lr), "generator", lr, "loss_generator");
  }
  SECTION("ali") {
    const std::string extra = objective +
                              "\nencoder: {plugin: mlp, hidden: [3], activation: tanh}\n"
                              "encoder_optimizer: {plugin: sgd, lr: 0.5}";
    check_update(tiny_cell("ali", extra, lr, lr), "critic", lr, "loss_critic");
    check_update(tiny_cell("ali", extra, frozen, lr), "generator", lr, "loss_generator");
    check_update(tiny_cell("ali", extra, frozen, lr), "encoder", lr, "loss_generator");
  }
  SECTION("veegan") {
    const std::string extra =
        "reconstructor: {plugin: mlp, hidden: [3], activation: tanh}\n"
        "reconstructor_optimizer: {plugin: sgd, lr: 0.5}";
    check_update(tiny_cell("{plugin: veegan, reconstructor_noise: 1}", extra, lr, lr), "critic", lr,
                 "loss_critic");
    check_update(tiny_cell("veegan", extra, frozen, lr), "generator", lr, "loss_generator");
    check_update(tiny_cell("veegan", extra, frozen, lr), "reconstructor", lr, "loss_generator");
  }
  SECTION("infogan") {
    const std::string cell = "{plugin: infogan, categories: 3, continuous: 1}";
    check_update(tiny_cell("{plugin: infogan, categories: 3, continuous: 1, lambda_categorical: 0, "
                           "lambda_continuous: 0}",
                           objective, lr, lr),
                 "critic", lr, "loss_critic");
    // the generator minimises L_G + L_I, both reported
    Probe base(tiny_cell(cell, objective, frozen, lr));
    auto losses = base.step();
    CHECK(losses.at("information") > 0);
  }
  SECTION("vae") {
    const std::string yaml = R"(dataset: {plugin: eight_gaussians}
procedure: {plugin: vae, beta: 0.5, observation_std: 0.8}
generator: {plugin: mlp, hidden: [3], activation: tanh, noise_dim: 2}
encoder: {plugin: mlp, hidden: [3], activation: tanh}
optimizer: {plugin: sgd, lr: 0.5}
train: {batch_size: 4, samples: 0}
seed: 5
)";
    check_update(yaml, "generator", lr, "loss");
    check_update(yaml, "encoder", lr, "loss");
    Probe cell(yaml);
    auto l = cell.step();
    CHECK(l.at("loss") == Approx(l.at("reconstruction") + 0.5 * l.at("kl")).epsilon(1e-5));
  }
}

TEST_CASE("generator_batch: reuse trains the generator on the critic step's samples",
          "[procedures][gradients]") {
  const double lr = 0.5, frozen = 1e-30;
  const std::string procedure = "{plugin: gan, generator_batch: reuse}";
  const std::string objective = "objective: nonsaturating";
  // the generator's update follows the gradient of the loss it reports, through the kept graph
  check_update(tiny_cell(procedure, objective, frozen, lr), "generator", lr, "loss_generator");
  check_update(tiny_cell(procedure, objective, lr, lr), "critic", lr, "loss_critic");
  // one noise batch per iteration, and the generator's loss on it: −mean log σ(D(G(z))) with the
  // critic (frozen) and the generator as they were before the step
  Probe cell(tiny_cell(procedure, objective, frozen, lr));
  Probe before(tiny_cell(procedure, objective, frozen, lr));
  Rng noise = cell.session->context->noise_rng;
  const Tensor z = noise.normal_tensor({4, 2});
  const double reported = cell.step().at("loss_generator");
  CHECK(cell.session->context->noise_rng.state() == noise.state());
  NoGradGuard no_grad;
  Network& g = *before.session->context->networks.at("generator");
  Network& d = *before.session->context->networks.at("critic");
  const Tensor scores = d.forward(g.forward(z));
  double by_hand = 0;
  for (int64_t i = 0; i < 4; ++i) by_hand += softplus_d(-scores.data()[i]) / 4;
  CHECK(reported == Approx(by_hand).epsilon(1e-6));
  // fresh draws a second batch for the generator step
  Probe fresh(tiny_cell("gan", objective, frozen, lr));
  Rng two = fresh.session->context->noise_rng;
  two.normal_tensor({4, 2});
  fresh.step();
  CHECK(fresh.session->context->noise_rng.state() != two.state());
  // what cannot reuse one critic step's samples is refused when the cell is resolved
  for (const char* bad : {"{plugin: gan, generator_batch: reuse, n_critic: 2}",
                          "{plugin: gan, generator_batch: reuse, order: generator_first}",
                          "{plugin: gan, generator_batch: reuse, updates: simultaneous}",
                          "{plugin: critic_only, generator_batch: reuse}"}) {
    INFO(bad);
    CHECK_THROWS_WITH(Probe(tiny_cell(bad, objective, lr, lr)), Catch::Contains("generator_batch"));
  }
}

namespace {
// A super-resolution cell on the 8×8 digits (pooled 2×2 to 4×4), tiny mlp networks, SGD.
std::string super_resolution_cell(const std::string& procedure, double critic_lr,
                                  double generator_lr) {
  const bool critic = procedure.find("mse") == std::string::npos;
  return fmt::format(R"(dataset: {{plugin: digits}}
procedure: {}
generator: {{plugin: mlp, hidden: [3], activation: tanh}}
{}generator_optimizer: {{plugin: sgd, lr: {}}}
train: {{batch_size: 4, samples: 0}}
seed: 3
)",
                     procedure,
                     critic ? fmt::format("critic: {{plugin: mlp, hidden: [3], activation: tanh}}\n"
                                          "objective: nonsaturating\n"
                                          "critic_optimizer: {{plugin: sgd, lr: {}}}\n",
                                          critic_lr)
                            : "",
                     generator_lr);
}

// Every parameter of a network set to 0 (an mlp then outputs 0 everywhere).
void zero_parameters(const std::vector<Tensor>& params) {
  for (Tensor p : params) std::fill(p.data(), p.data() + p.numel(), 0.0f);
}
}  // namespace

TEST_CASE("super_resolution's losses at hand-computed points on a zero generator and critic",
          "[procedures][super_resolution]") {
  const double f32 = 2e-5;
  // G ≡ 0 and D ≡ 0: MSE = mean x² of the step's batch, L_G = softplus(−0) = log 2
  auto first_batch_mean_square = [](Probe& p) {
    Rng copy(0);
    copy.set_state(p.session->data_rng.state());
    const Tensor x = p.session->dataset->sample(4, copy);
    return mean(square(x)).item();
  };
  SECTION("mse: the pixel MSE alone, no critic") {
    Probe p(super_resolution_cell("{plugin: super_resolution, factor: 2, loss: mse}", 0, 0.1));
    CHECK(p.session->critic == nullptr);
    zero_parameters(p.params("generator"));
    const double expected = first_batch_mean_square(p);
    REQUIRE(expected > 0.1);
    const auto l = p.step();
    CHECK(l.size() == 1);
    CHECK(l.at("mse") == Approx(expected).epsilon(f32));
  }
  for (const double weight : {1e-3, 0.5}) {
    DYNAMIC_SECTION("both: MSE + λ·L_G with λ = " << weight) {
      Probe p(super_resolution_cell(
          fmt::format("{{plugin: super_resolution, factor: 2, loss: both, order: "
                      "generator_first{}}}",
                      weight == 1e-3 ? "" : fmt::format(", adversarial_weight: {}", weight)),
          0.1, 0.1));
      zero_parameters(p.params("generator"));
      zero_parameters(p.params("critic"));
      const double expected = first_batch_mean_square(p);
      const auto l = p.step();
      CHECK(l.at("mse") == Approx(expected).epsilon(f32));
      CHECK(l.at("adversarial") == Approx(std::log(2.0)).epsilon(f32));
      CHECK(l.at("loss_generator") == Approx(expected + weight * std::log(2.0)).epsilon(f32));
    }
  }
  SECTION("adversarial: L_G alone, the MSE recorded beside it") {
    Probe p(super_resolution_cell(
        "{plugin: super_resolution, factor: 2, loss: adversarial, order: generator_first}", 0.1,
        0.1));
    zero_parameters(p.params("generator"));
    zero_parameters(p.params("critic"));
    const double expected = first_batch_mean_square(p);
    const auto l = p.step();
    CHECK(l.at("loss_generator") == Approx(std::log(2.0)).epsilon(f32));
    CHECK(l.at("mse") == Approx(expected).epsilon(f32));
    // the critic step after it: L_D = softplus(−0) + softplus(0) = 2 log 2 on D ≡ 0
    CHECK(l.at("loss_critic") == Approx(2 * std::log(2.0)).epsilon(f32));
  }
  SECTION("the generator sees the batch's images average-pooled 2×2") {
    Probe p(super_resolution_cell("{plugin: super_resolution, factor: 2, loss: mse}", 0, 0.1));
    Rng a(5), b(5);
    const Tensor low = p.session->generator_input(a, 3);
    const Tensor x = p.session->dataset->sample(3, b);
    REQUIRE(low.shape() == Shape{3, 1, 4, 4});
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          const float* img = x.data() + n * 64;
          const double want = (img[(2 * i) * 8 + 2 * j] + img[(2 * i) * 8 + 2 * j + 1] +
                               img[(2 * i + 1) * 8 + 2 * j] + img[(2 * i + 1) * 8 + 2 * j + 1]) /
                              4.0;
          CHECK(low.data()[n * 16 + i * 4 + j] == Approx(want).margin(1e-6));
        }
  }
}

TEST_CASE("super_resolution's updates follow the gradient of the loss it reports",
          "[procedures][super_resolution][gradients]") {
  const double lr = 0.5, frozen = 1e-30;
  check_update(super_resolution_cell("{plugin: super_resolution, factor: 2, loss: mse}", 0, lr),
               "generator", lr, "mse");
  check_update(
      super_resolution_cell("{plugin: super_resolution, factor: 2, loss: both, adversarial_weight: "
                            "0.5}",
                            frozen, lr),
      "generator", lr, "loss_generator");
  check_update(
      super_resolution_cell("{plugin: super_resolution, factor: 2, loss: adversarial}", lr, lr),
      "critic", lr, "loss_critic");
}

TEST_CASE("InfoGAN's generator step minimises the adversarial and the information loss together",
          "[procedures][gradients]") {
  const std::string yaml = tiny_cell("{plugin: infogan, categories: 3, continuous: 1}",
                                     "objective: nonsaturating", 1e-30, 0.5);
  Probe base(yaml);
  std::vector<Tensor> before;
  for (const Tensor& p : base.params("generator")) before.push_back(p.clone());
  base.step();
  const std::vector<Tensor> after = base.params("generator");
  const float h = 1e-2f;
  for (size_t k = 0; k < before.size(); ++k)
    for (int64_t i = 0; i < before[k].numel(); i += 3) {
      double value[2];
      for (int side = 0; side < 2; ++side) {
        Probe moved(yaml);
        moved.params("generator")[k].data()[i] += side == 0 ? h : -h;
        auto l = moved.step();
        value[side] = l.at("loss_generator") + l.at("information");
      }
      const double applied = (before[k].data()[i] - after[k].data()[i]) / 0.5;
      CHECK(applied == Approx((value[0] - value[1]) / (2 * h)).margin(3e-3).epsilon(3e-2));
    }
}

TEST_CASE("procedures decide the config blocks a cell has", "[procedures][config]") {
  auto bad = [](const std::string& yaml) {
    try {
      resolve_cell(parse_yaml(yaml, "exp.yaml"), builtin_registry());
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string base = "dataset: eight_gaussians\ngenerator: {plugin: mlp, hidden: [4]}\n";
  CHECK_THAT(bad(base + "critic: mlp\nobjective: wasserstein\noptimizer: adam\nencoder: mlp\n"),
             Catch::Contains("unknown config key 'encoder'") &&
                 Catch::Contains("procedure 'gan' trains: generator, critic"));
  CHECK_THAT(bad(base + "procedure: vae\nencoder: mlp\noptimizer: adam\nobjective: wasserstein\n"),
             Catch::Contains("procedure 'vae' uses no adversarial objective"));
  CHECK_THAT(bad(base + "procedure: vae\noptimizer: adam\n"),
             Catch::Contains("needs a 'encoder' block"));
  CHECK_THAT(bad(base + "procedure: vea\n"),
             Catch::Contains("unknown procedure plugin 'vea' (did you mean 'vae'?)"));
  // gan at its defaults leaves no trace in the canonical config: the cell ids of before stay
  const std::string gan = base + "critic: mlp\nobjective: wasserstein\noptimizer: adam\n";
  CellConfig implicit = resolve_cell(parse_yaml(gan, "a"), builtin_registry());
  CellConfig explicit_gan =
      resolve_cell(parse_yaml(gan + "procedure: gan\n", "b"), builtin_registry());
  CHECK(implicit.id() == explicit_gan.id());
  CHECK(implicit.canonical.find("procedure") == nullptr);
  CellConfig vae =
      resolve_cell(parse_yaml(base + "procedure: vae\nencoder: mlp\noptimizer: adam\n", "c"),
                   builtin_registry());
  CHECK(vae.canonical.find("procedure") != nullptr);
  CHECK(vae.network("encoder") != nullptr);
}

TEST_CASE("the best one-to-one assignment by min-cost flow", "[procedures][metric]") {
  // rows 0, 1 prefer column 0; the best matching gives row 1 column 0 (9) and row 0 column 1 (5)
  CHECK(max_weight_assignment({8, 5, 9, 1}, 2, 2) == 14);
  CHECK(max_weight_assignment({1, 2, 3}, 1, 3) == 3);
  CHECK(max_weight_assignment({1, 7, 2, 3}, 4, 1) == 7);
  std::vector<double> identity(25, 0);
  for (int i = 0; i < 5; ++i) identity[static_cast<size_t>(i * 5 + (i + 2) % 5)] = 10;
  CHECK(max_weight_assignment(identity, 5, 5) == 50);
}

TEST_CASE("every procedure runs from YAML and stores a complete cell", "[procedures][e2e]") {
  const auto dir = temp_dir("kant-procedures");
  CommandResult r = run_command(kant_exe() + " run " + kData +
                                "procedures.yaml --jobs 2 --results " + dir.string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("5 complete, 0 diverged, 0 failed"));
  for (const char* p : {"gan", "ali", "veegan", "infogan", "vae"})
    CHECK_THAT(r.output, Catch::Contains("| " + std::string(p)));
  CommandResult plugins = run_command(kant_exe() + " plugins procedure vae");
  CHECK_THAT(plugins.output,
             Catch::Contains("Kingma & Welling 2014") && Catch::Contains("observation_std"));
}
