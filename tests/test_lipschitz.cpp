// Lipschitz methods against closed forms: gradient penalty on linear and quadratic critics,
// per-sample ε and per-sample norms, weight clipping bounds; a Lipschitz block on the generator.
#include <catch2/catch.hpp>
#include <cmath>

#include "config/config.hpp"
#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "support.hpp"
#include "training/session.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

std::shared_ptr<LipschitzMethod> gp(double lambda, double target = 1.0) {
  return make_component<LipschitzMethod, LipschitzFactory>(
      Kind::lipschitz, "gradient_penalty", {{"lambda", lambda}, {"target", target}});
}

Tensor penalty_of(LipschitzMethod& m, Network& critic, const Tensor& real, const Tensor& fake,
                  uint64_t seed) {
  Rng rng(seed);
  return m.penalty(CriticBatch{critic, real, fake, rng});
}

}  // namespace

TEST_CASE("gradient penalty of a linear critic is λ(‖w‖ − 1)²", "[lipschitz]") {
  const std::vector<float> w{0.3f, -1.2f, 0.7f};
  const double norm = std::sqrt(0.09 + 1.44 + 0.49);
  LinearCritic critic(Tensor::from({1, 3}, w));
  Tensor real = random_tensor({8, 3}, -1, 1, 1), fake = random_tensor({8, 3}, -1, 1, 2);
  for (double lambda : {0.1, 10.0}) {
    Tensor p = penalty_of(*gp(lambda), critic, real, fake, 5);
    CHECK(p.item() == Approx(lambda * (norm - 1) * (norm - 1)).epsilon(1e-5));
  }
  // target norm 2: λ(‖w‖ − 2)²
  CHECK(penalty_of(*gp(10.0, 2.0), critic, real, fake, 5).item() ==
        Approx(10.0 * (norm - 2) * (norm - 2)).epsilon(1e-5));

  // gradient with respect to w: 2λ(‖w‖ − 1) w/‖w‖ — the penalty reaches the weights
  Tensor w_param = critic.parameters()[0];
  Tensor g = grad({penalty_of(*gp(10.0), critic, real, fake, 5)}, {w_param})[0];
  for (int i = 0; i < 3; ++i)
    CHECK(g.data()[i] == Approx(2 * 10.0 * (norm - 1) * w[i] / norm).epsilon(1e-4));
}

TEST_CASE("gradient penalty gradient matches finite differences", "[lipschitz]") {
  Tensor real = random_tensor({6, 3}, -1, 1, 11), fake = random_tensor({6, 3}, -1, 1, 12);
  auto method = gp(10.0);
  auto f = [&](const std::vector<Tensor>& in) {
    QuadraticCritic critic(in[0]);
    return penalty_of(*method, critic, real, fake, 9);
  };
  // the critic registers its own parameter: take the gradient through it
  Tensor w0 = random_tensor({1, 3}, 0.3f, 0.9f, 13);
  QuadraticCritic critic(w0.clone());
  Tensor w = critic.parameters()[0];
  Tensor analytic = grad({penalty_of(*method, critic, real, fake, 9)}, {w})[0];
  for (int i = 0; i < 3; ++i) {
    const float h = 1e-3f;
    Tensor up = w0.clone(), down = w0.clone();
    up.data()[i] += h;
    down.data()[i] -= h;
    NoGradGuard no;  // finite differences need no graph, but grad() inside the penalty does
    GradModeGuard on(true);
    double numeric = (f({up}).item() - f({down}).item()) / (2 * h);
    CHECK(analytic.data()[i] == Approx(numeric).epsilon(2e-2).margin(1e-3));
  }
}

TEST_CASE("gradient penalty: one ε per sample, one norm per sample", "[lipschitz]") {
  // D(x) = (x·w)²: ∇D(x̂) = 2(x̂·w)w, so ‖∇D(x̂_i)‖ = 2|x̂_i·w|‖w‖ varies per sample.
  const int n = 5, d = 4;
  Tensor w = random_tensor({1, d}, -1, 1, 21);
  QuadraticCritic critic(w.clone());
  Tensor real = random_tensor({n, d}, -1, 1, 22), fake = random_tensor({n, d}, -1, 1, 23);
  const double lambda = 10.0;
  Tensor p = penalty_of(*gp(lambda), critic, real, fake, 31);

  Rng rng(31);  // the same stream the penalty drew its ε from
  Tensor eps = rng.uniform_tensor({n, 1});
  double wnorm = 0;
  for (int j = 0; j < d; ++j) wnorm += double(w.data()[j]) * w.data()[j];
  wnorm = std::sqrt(wnorm);
  std::vector<double> terms(n);
  double expected = 0;
  for (int i = 0; i < n; ++i) {
    double dot = 0;
    for (int j = 0; j < d; ++j) {
      double xh =
          eps.data()[i] * real.data()[i * d + j] + (1 - eps.data()[i]) * fake.data()[i * d + j];
      dot += xh * w.data()[j];
    }
    terms[i] = std::pow(2 * std::abs(dot) * wnorm - 1, 2);
    expected += lambda * terms[i] / n;
  }
  CHECK(p.item() == Approx(expected).epsilon(1e-4));

  // the two classic mistakes give different numbers: one ε for the whole batch, and the
  // norm taken over the batch axis instead of per sample
  double one_eps = 0, batch_norm_sq = 0;
  for (int i = 0; i < n; ++i) {
    double dot = 0, dot_batch_eps = 0;
    for (int j = 0; j < d; ++j) {
      dot +=
          (eps.data()[i] * real.data()[i * d + j] + (1 - eps.data()[i]) * fake.data()[i * d + j]) *
          w.data()[j];
      dot_batch_eps +=
          (eps.data()[0] * real.data()[i * d + j] + (1 - eps.data()[0]) * fake.data()[i * d + j]) *
          w.data()[j];
    }
    one_eps += lambda * std::pow(2 * std::abs(dot_batch_eps) * wnorm - 1, 2) / n;
    batch_norm_sq += std::pow(2 * dot * wnorm, 2);
  }
  CHECK(std::abs(p.item() - one_eps) > 1e-3);
  CHECK(std::abs(p.item() - lambda * std::pow(std::sqrt(batch_norm_sq) - 1, 2)) > 1e-3);

  // swapping samples 0 and 3 (real and fake together): ε stays with the position, each
  // term is recomputed from its own sample's norm
  Tensor real_s = real.clone(), fake_s = fake.clone();
  for (int j = 0; j < d; ++j) {
    std::swap(real_s.data()[0 * d + j], real_s.data()[3 * d + j]);
    std::swap(fake_s.data()[0 * d + j], fake_s.data()[3 * d + j]);
  }
  double swapped = 0;
  for (int i = 0; i < n; ++i) {
    double dot = 0;
    for (int j = 0; j < d; ++j)
      dot += (eps.data()[i] * real_s.data()[i * d + j] +
              (1 - eps.data()[i]) * fake_s.data()[i * d + j]) *
             w.data()[j];
    swapped += lambda * std::pow(2 * std::abs(dot) * wnorm - 1, 2) / n;
  }
  CHECK(penalty_of(*gp(lambda), critic, real_s, fake_s, 31).item() ==
        Approx(swapped).epsilon(1e-4));
}

TEST_CASE("gradient penalty works on image-shaped batches (norm over C, H, W)", "[lipschitz]") {
  // a linear critic on flattened [N, 2, 3, 3] inputs: ‖∇D‖ = ‖w‖ for every sample
  class FlatLinear : public Network {
   public:
    explicit FlatLinear(Tensor w) { w_ = register_parameter("w", w); }
    Tensor forward(const Tensor& x) override {
      return linear(reshape(x, {x.size(0), -1}), use(w_), Tensor());
    }
    size_t w_;
  };
  Tensor w = random_tensor({1, 18}, -0.5, 0.5, 41);
  double norm = 0;
  for (int i = 0; i < 18; ++i) norm += double(w.data()[i]) * w.data()[i];
  norm = std::sqrt(norm);
  FlatLinear critic(w.clone());
  Tensor real = random_tensor({4, 2, 3, 3}, -1, 1, 42),
         fake = random_tensor({4, 2, 3, 3}, -1, 1, 43);
  CHECK(penalty_of(*gp(10.0), critic, real, fake, 1).item() ==
        Approx(10.0 * (norm - 1) * (norm - 1)).epsilon(1e-4));
}

TEST_CASE("weight clipping bounds every critic weight after a step", "[lipschitz]") {
  Rng rng(3);
  NetworkSpec spec{Role::critic, {2}, {1}, &rng};
  auto critic = make_component<Network, ArchitectureFactory>(
      Kind::architecture, "mlp", {{"hidden", std::vector<int64_t>{16, 16}}}, spec);
  for (Tensor p : critic->parameters())
    for (int64_t i = 0; i < p.numel(); ++i) p.data()[i] *= 10.0f;  // well outside [-c, c]
  auto clip = make_component<LipschitzMethod, LipschitzFactory>(Kind::lipschitz, "weight_clipping",
                                                                {{"c", 0.01}});
  clip->after_critic_step(*critic);
  int64_t at_bound = 0;
  for (const Tensor& p : critic->parameters())
    for (int64_t i = 0; i < p.numel(); ++i) {
      REQUIRE(std::abs(p.data()[i]) <= 0.01f);
      at_bound += std::abs(p.data()[i]) == 0.01f;
    }
  CHECK(at_bound > 0);
  // the method adds no penalty term
  Tensor x = Tensor::zeros({2, 2});
  CHECK_FALSE(clip->penalty(CriticBatch{*critic, x, x, rng}).defined());
}

namespace {
// The largest singular value of a generator that is an affine map R³ → R², from its Jacobian's
// columns G(e_i) − G(0) and the closed-form largest eigenvalue of J Jᵀ (2 × 2).
double affine_generator_norm(Network& g) {
  NoGradGuard no_grad;
  Tensor in = Tensor::zeros({4, 3});
  for (int64_t i = 0; i < 3; ++i) in.data()[(i + 1) * 3 + i] = 1;
  Tensor out = g.forward(in);
  double j[2][3];
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) j[r][c] = out.data()[(c + 1) * 2 + r] - out.data()[r];
  double a = 0, b = 0, d = 0;
  for (int c = 0; c < 3; ++c) {
    a += j[0][c] * j[0][c];
    b += j[0][c] * j[1][c];
    d += j[1][c] * j[1][c];
  }
  return std::sqrt((a + d) / 2 + std::sqrt((a - d) * (a - d) / 4 + b * b));
}
}  // namespace

TEST_CASE("a Lipschitz block per network: spectral normalisation of the generator",
          "[lipschitz][config]") {
  const std::string base = R"(dataset: {plugin: eight_gaussians}
generator: {plugin: mlp, hidden: [], noise_dim: 3}
critic: {plugin: mlp, hidden: [4]}
objective: wasserstein
optimizer: {plugin: adam}
train: {batch_size: 4, samples: 0}
)";
  CellConfig plain = resolve_cell(parse_yaml(base, "a.yaml"), builtin_registry());
  CellConfig sn = resolve_cell(
      parse_yaml(base + "generator_lipschitz: {plugin: spectral_norm, n_power_iterations: 60}\n",
                 "b.yaml"),
      builtin_registry());
  CHECK(plain.canonical.find("generator_lipschitz") == nullptr);  // ids of before stay
  CHECK(plain.id() != sn.id());
  Session with(sn, builtin_registry()), without(plain, builtin_registry());
  REQUIRE(with.network_lipschitz.size() == 1);
  CHECK(with.network_lipschitz.front().first == "generator");
  // the same initial weights: W/σ(W) has spectral norm 1, W itself does not
  CHECK(affine_generator_norm(*with.generator) == Approx(1.0).epsilon(1e-4));
  CHECK(affine_generator_norm(*without.generator) != Approx(1.0).epsilon(1e-2));

  auto refused_in = [&](const std::string& yaml) {
    try {
      resolve_cell(parse_yaml(yaml, "c.yaml"), builtin_registry());
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto refused = [&](const std::string& extra) { return refused_in(base + extra); };
  CHECK_THAT(refused("generator_lipschitz: gradient_penalty\n"),
             Catch::Contains("c.yaml:7:22") &&
                 Catch::Contains("lipschitz 'gradient_penalty' cannot act on the generator"));
  CHECK_THAT(refused("generator_lipschitz: [spectral_norm, weight_clipping]\n"),
             Catch::Contains("lipschitz 'weight_clipping' cannot act on the generator"));
  std::string with_ema = base;
  with_ema.replace(with_ema.find("samples: 0}"), 11, "samples: 0, ema: 0.9}");
  CHECK_THAT(refused_in(with_ema + "generator_lipschitz: spectral_norm\n"),
             Catch::Contains("generator_lipschitz with train.ema > 0"));
  CHECK_THAT(refused("critic_lipschitz: spectral_norm\n"),
             Catch::Contains("unknown config key 'critic_lipschitz'"));
}

TEST_CASE("a grid with spectral normalisation of the generator runs from YAML, its state stored",
          "[lipschitz][e2e]") {
  const std::string file = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/generator_sn.yaml";
  const auto dir = temp_dir("kant-gsn");
  CommandResult r =
      run_command(kant_exe() + " run " + file + " --jobs 2 --results " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("2 complete, 0 diverged, 0 failed"));
  // the generator's spectral-norm vectors are stored with the final state of the SN cell only
  int with_state = 0, cells = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "generator_sn" / "cells")) {
    if (e.path().extension() != ".h5") continue;
    ++cells;
    CommandResult ls = run_command(
        "/usr/bin/python3 -c \"import h5py,sys; f=h5py.File(sys.argv[1]); "
        "print('lipschitz.generator' in f['final_state/states'])\" " +
        e.path().string());
    if (ls.output.find("True") != std::string::npos) ++with_state;
    // lipschitz_bounds reports the constrained generator's layer-wise bound, and only there
    CommandResult bound = run_command(
        "/usr/bin/python3 -c \"import h5py,sys; f=h5py.File(sys.argv[1]); "
        "a=f['final'].attrs; k='lipschitz_bounds.upper_generator'; "
        "print(a[k] if k in a else 'none')\" " +
        e.path().string());
    INFO(bound.output);
    if (ls.output.find("True") != std::string::npos) {
      REQUIRE(bound.output.find("none") == std::string::npos);
      const double upper = std::stod(bound.output);
      CHECK(upper > 0.5);  // ≈ 1 per layer once the power iteration has converged
      CHECK(upper < 2.0);
    } else {
      CHECK(bound.output.find("none") != std::string::npos);
    }
  }
  CHECK(cells == 2);
  CHECK(with_state == 1);
  CommandResult again = run_command(kant_exe() + " run " + file + " --results " + dir.string());
  CHECK_THAT(again.output, Catch::Contains("0 complete, 0 diverged, 0 failed, 2 skipped"));
}
