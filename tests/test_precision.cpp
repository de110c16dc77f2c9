// train.precision: bf16 products (operands rounded to nearest even, fp32 accumulation) against
// closed forms on hand-made operands; sums kept fp32; the WGAN-GP loss and weight gradient
// against fp32; bf16 training deterministic; refused where the CPU has no native bf16 (and
// kant --version says whether it has).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "autodiff/backend.hpp"
#include "gradcheck.hpp"
#include "kant/autodiff.hpp"
#include "kant/ops.hpp"
#include "support.hpp"
#include "training/trainer.hpp"

using namespace kant;
using namespace kant::testing;

namespace {

// x rounded to the nearest bf16 (8 significant bits), ties to even: what oneDNN's reorder does.
float bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}

Tensor rounded(const Tensor& t) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i) r.data()[i] = bf16(r.data()[i]);
  return r;
}

// max |a − b| / max |b|
double relative_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, std::abs(double(a.data()[i]) - b.data()[i]));
    scale = std::max(scale, std::abs(double(b.data()[i])));
  }
  return diff / scale;
}

CellConfig resolve(const std::string& yaml) {
  return resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry());
}

// dir/NAME.yaml: a small WGAN experiment with `train` as its train block, then `rest`; its path.
std::string write_experiment(const std::filesystem::path& dir, const std::string& name,
                             const std::string& train, const std::string& rest) {
  const std::string file = (dir / (name + ".yaml")).string();
  std::ofstream(file) << "name: " << name << "\n"
                      << "base:\n"
                         "  dataset: {plugin: eight_gaussians}\n"
                         "  generator: {plugin: mlp, hidden: [8]}\n"
                         "  critic: {plugin: mlp, hidden: [8]}\n"
                         "  objective: wasserstein\n"
                         "  optimizer: {plugin: adam}\n"
                      << "  train: " << train << "\n"
                      << rest;
  return file;
}

const std::string kWganGp = R"(
dataset: {plugin: eight_gaussians}
generator: {plugin: mlp, hidden: [64, 64], noise_dim: 2}
critic: {plugin: mlp, hidden: [64, 64]}
objective: wasserstein
lipschitz: {plugin: gradient_penalty, lambda: 10}
optimizer: {plugin: adam, lr: 1.0e-3, beta1: 0.5, beta2: 0.9}
procedure: {plugin: gan, n_critic: 5}
seed: 3
)";

}  // namespace

TEST_CASE(
    "bf16 products: a matmul is the fp32 product of its operands rounded to bf16, in "
    "every transpose mode and with a bias",
    "[precision]") {
  if (!backend::native_bf16()) {  // this CPU cannot: the setting is refused (below)
    CHECK_THROWS_AS(resolve(kWganGp + "train: {precision: bf16}\n"), ConfigError);
    return;
  }
  const int64_t m = 7, k = 300, n = 5;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("transpose_a " << ta << ", transpose_b " << tb);
      Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, -1, 1, 1);
      Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, -1, 1, 2);
      Tensor c;
      {
        backend::Bf16Products on(true);
        c = matmul(a, b, ta, tb);
      }
      const Tensor exact = matmul(rounded(a), rounded(b), ta, tb);  // fp32 on bf16 values
      const Tensor plain = matmul(a, b, ta, tb);
      // the same products summed in another order: fp32 rounding only (k · 2⁻²⁴ ≈ 2e-5)
      CHECK(relative_difference(c, exact) < 2e-5);
      // and not the fp32 product: the operands lost 16 bits (2⁻⁹ relative each)
      CHECK(relative_difference(c, plain) > 1e-4);
      CHECK(relative_difference(c, plain) < 2e-2);
    }
  // a bias is added in fp32, unrounded: x·Wᵀ + b = 1 + (1 + 2⁻¹⁵), the bias 1 in bf16
  Tensor x = Tensor::from({1, 2}, {0.5f, 0.25f}), w = Tensor::from({1, 2}, {1.0f, 2.0f});
  Tensor bias = Tensor::from({1}, {1.0f + std::ldexp(1.0f, -15)});
  backend::Bf16Products on(true);
  CHECK(linear(x, w, bias).item() == 2.0f + std::ldexp(1.0f, -15));
}

TEST_CASE("bf16 products leave sums, element-wise ops and the scope's outside in fp32",
          "[precision]") {
  if (!backend::native_bf16()) return;  // the first case checks the refusal
  // 1 + 2⁻¹⁰ is 1 in bf16: a sum of 64 of them is 64.0625 in fp32, 64 if rounded
  const float v = 1.0f + std::ldexp(1.0f, -10);
  Tensor x = Tensor::full({64, 3}, v);
  backend::Bf16Products on(true);
  CHECK(sum(x).item() == 192 * v);
  const Tensor per_column = sum(x, {0}, true);
  for (int j = 0; j < 3; ++j) CHECK(per_column.data()[j] == 64 * v);
  CHECK(mul(x, x).data()[0] == v * v);
  {
    backend::Bf16Products off(false);  // nested: fp32 inside, bf16 again after
    CHECK(matmul(Tensor::full({1, 1}, v), Tensor::full({1, 1}, 1.0f)).item() == v);
  }
  CHECK(matmul(Tensor::full({1, 1}, v), Tensor::full({1, 1}, 1.0f)).item() == 1.0f);
}

TEST_CASE(
    "bf16 convolutions: forward, backward-data and backward-weights are fp32 "
    "convolutions of operands rounded to bf16",
    "[precision]") {
  if (!backend::native_bf16()) return;
  const Conv2dOptions o = Conv2dOptions::square(2, 1);
  Tensor x = random_tensor({4, 8, 8, 8}, -1, 1, 5), w = random_tensor({16, 8, 4, 4}, -1, 1, 6);
  Tensor g = random_tensor({4, 16, 4, 4}, -1, 1, 7);
  Tensor y, dx, dw;
  {
    backend::Bf16Products on(true);
    y = conv2d(x, w, Tensor(), o);
    dx = conv2d_backward_data(g, w, x.shape(), o);
    dw = conv2d_backward_weights(x, g, w.shape(), o);
  }
  CHECK(relative_difference(y, conv2d(rounded(x), rounded(w), Tensor(), o)) < 2e-5);
  CHECK(relative_difference(dx, conv2d_backward_data(rounded(g), rounded(w), x.shape(), o)) < 2e-5);
  CHECK(relative_difference(dw, conv2d_backward_weights(rounded(x), rounded(g), w.shape(), o)) <
        2e-5);
  CHECK(relative_difference(y, conv2d(x, w, Tensor(), o)) > 1e-4);
}

TEST_CASE(
    "bf16 gradient penalty of a linear critic is λ(‖bf16(w)‖ − 1)², and its weight "
    "gradient within 1% of fp32's",
    "[precision]") {
  if (!backend::native_bf16()) return;
  // ∇ₓ(x·wᵀ) = 1·w, a product whose operand w is rounded: 0.3 → 0.30078125, −1.2 → −1.203125,
  // 0.7 → 0.69921875 (8 significant bits)
  const std::vector<float> w{0.3f, -1.2f, 0.7f};
  double norm = 0, norm_bf16 = 0;
  for (float v : w) norm += double(v) * v, norm_bf16 += double(bf16(v)) * bf16(v);
  norm = std::sqrt(norm), norm_bf16 = std::sqrt(norm_bf16);
  REQUIRE(bf16(-1.2f) == -1.203125f);
  LinearCritic critic(Tensor::from({1, 3}, w));
  Tensor real = random_tensor({8, 3}, -1, 1, 1), fake = random_tensor({8, 3}, -1, 1, 2);
  auto method = make_component<LipschitzMethod, LipschitzFactory>(
      Kind::lipschitz, "gradient_penalty", {{"lambda", 10.0}});
  backend::Bf16Products on(true);
  Rng rng(5);
  Tensor p = method->penalty(CriticBatch{critic, real, fake, rng});
  CHECK(p.item() == Approx(10 * (norm_bf16 - 1) * (norm_bf16 - 1)).epsilon(1e-5));
  CHECK(p.item() != Approx(10 * (norm - 1) * (norm - 1)).epsilon(1e-3));
  // the weight gradient runs the second-order products in bf16 too: 2λ(‖w‖ − 1) w/‖w‖
  Tensor g = grad({p}, {critic.parameters()[0]})[0];
  for (int i = 0; i < 3; ++i)
    CHECK(g.data()[i] == Approx(2 * 10.0 * (norm - 1) * w[i] / norm).epsilon(1e-2));
}

TEST_CASE(
    "bf16 WGAN-GP critic loss and its weight gradients agree with fp32 within 2% (an "
    "MLP critic, batch 64)",
    "[precision]") {
  if (!backend::native_bf16()) return;
  Rng init(11);
  auto critic =
      make_network("mlp", Role::critic, {2}, {1}, {{"hidden", std::vector<int64_t>{64, 64}}}, init);
  auto objective = make_objective("wasserstein");
  auto method = make_component<LipschitzMethod, LipschitzFactory>(
      Kind::lipschitz, "gradient_penalty", {{"lambda", 10.0}});
  Tensor real = random_tensor({64, 2}, -2, 2, 12), fake = random_tensor({64, 2}, -2, 2, 13);
  auto loss_and_grads = [&](bool bf16_products) {
    backend::Bf16Products scope(bf16_products);
    Rng rng(14);
    Tensor loss = add(objective->critic_loss(critic->forward(real), critic->forward(fake)),
                      method->penalty(CriticBatch{*critic, real, fake, rng}));
    std::vector<Tensor> grads = grad({loss}, critic->parameters());
    return std::make_pair(loss.item(), grads);
  };
  const auto [loss32, grads32] = loss_and_grads(false);
  const auto [loss16, grads16] = loss_and_grads(true);
  CHECK(loss16 == Approx(loss32).epsilon(2e-2));
  CHECK(loss16 != loss32);
  // relative L2 error per weight matrix and over the whole gradient: bf16 keeps 8 significant
  // bits (each operand within 2⁻⁹ ≈ 0.2%), through three layers and the penalty's second-order
  // products; measured 0.5–0.7% (the biases' gradients are small differences of the real and
  // fake terms, so their own relative error is larger, their absolute error as small)
  double all32 = 0, all_diff = 0;
  for (size_t i = 0; i < grads32.size(); ++i) {
    double n32 = 0, diff = 0;
    for (int64_t j = 0; j < grads32[i].numel(); ++j) {
      n32 += std::pow(double(grads32[i].data()[j]), 2);
      diff += std::pow(double(grads16[i].data()[j]) - grads32[i].data()[j], 2);
    }
    all32 += n32, all_diff += diff;
    INFO("parameter " << i << " " << shape_str(grads32[i].shape()));
    if (grads32[i].shape().size() == 2) CHECK(std::sqrt(diff / n32) < 2e-2);
  }
  CHECK(std::sqrt(all_diff / all32) < 2e-2);
  CHECK(all_diff > 0);
}

TEST_CASE(
    "train.precision: bf16 is recorded in the cell, trains deterministically, and "
    "leaves fp32 cells' ids as they were",
    "[precision]") {
  const std::string train = "train: {steps: 20, batch_size: 64, samples: 0}\n";
  CellConfig fp32 = resolve(kWganGp + train);
  CHECK(emit_yaml(fp32.canonical, true).find("precision") == std::string::npos);
  CHECK(
      resolve(kWganGp + "train: {steps: 20, batch_size: 64, samples: 0, precision: fp32}\n").id() ==
      fp32.id());
  if (!backend::native_bf16()) return;
  CellConfig bf = resolve(kWganGp +
                          "train: {steps: 20, batch_size: 64, samples: 0, "
                          "precision: bf16}\n");
  CHECK(emit_yaml(bf.canonical, true).find("precision: \"bf16\"") != std::string::npos);
  CHECK(bf.id() != fp32.id());
  const Registry& registry = builtin_registry();
  CellResult a = train_cell(bf, registry, {}), b = train_cell(bf, registry, {});
  CellResult c = train_cell(fp32, registry, {});
  REQUIRE(a.status == CellStatus::complete);
  CHECK(a.losses.values == b.losses.values);  // bit for bit, at one thread
  CHECK(a.losses.values != c.losses.values);  // and not fp32's numbers
  const std::vector<double>& l16 = a.losses.values.at("loss_critic");
  const std::vector<double>& l32 = c.losses.values.at("loss_critic");
  CHECK(l16.front() == Approx(l32.front()).epsilon(5e-2).margin(5e-2));
  // the products' precision is the training step's alone: after it, fp32 again
  CHECK(matmul(Tensor::full({1, 1}, 1.0f + std::ldexp(1.0f, -10)), Tensor::full({1, 1}, 1.0f))
            .item() == 1.0f + std::ldexp(1.0f, -10));
}

TEST_CASE(
    "train.precision: bf16 is refused where nothing multiplies (em_mixture's closed-form "
    "updates)",
    "[precision]") {
  if (!backend::native_bf16()) return;  // refused for the CPU already (first case)
  const std::string em =
      "dataset: {plugin: eight_gaussians}\n"
      "generator: {plugin: gaussian_mixture, components: 2, noise_dim: 3}\n"
      "procedure: {plugin: em_mixture}\n"
      "optimizer: sgd\n";
  CHECK_NOTHROW(resolve(em + "train: {steps: 5}\n"));
  try {
    resolve(em + "train: {steps: 5, precision: bf16}\n");
    FAIL("an em_mixture cell in bf16 was accepted");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("train.precision: bf16 has nothing to act on: procedure "
                                         "'em_mixture' runs no matmul or convolution"));
  }
}

TEST_CASE(
    "train.precision: bf16 on a CPU without native bf16 is refused at validate time, "
    "naming the instruction sets",
    "[precision][cli]") {
  // oneDNN limited to AVX-512 without BF16, as on a CPU that lacks it (on AVX2 hosts, as is)
  const std::filesystem::path dir = temp_dir("kant-precision");
  const std::string file =
      write_experiment(dir, "bf16", "{steps: 5}", "grid:\n  train.precision: [fp32, bf16]\n");
  CommandResult r =
      run_command("ONEDNN_MAX_CPU_ISA=AVX512_CORE " + kant_exe() + " validate " + file);
  std::filesystem::remove_all(dir);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("bf16.yaml:10:") &&
                           Catch::Contains("train.precision: bf16 needs a CPU that multiplies "
                                           "bf16 natively (avx512_bf16 or amx_bf16"));
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  // and kant --version says so
  CommandResult v = run_command("ONEDNN_MAX_CPU_ISA=AVX512_CORE " + kant_exe() + " --version");
  CHECK_THAT(v.output, Catch::Contains("dispatches to avx512_core; train.precision bf16: not "
                                       "available (needs avx512_bf16 or amx_bf16)"));
}

TEST_CASE(
    "a stored bf16 cell is read where the CPU has no bf16: kant evaluate adds its metrics, "
    "kant run refuses to train it",
    "[precision][cli]") {
  if (!backend::native_bf16()) return;  // the cell cannot be trained here to begin with
  const std::filesystem::path dir = temp_dir("kant-precision-stored");
  const std::string file =
      write_experiment(dir, "stored", "{steps: 5, samples: 100, precision: bf16}", "");
  const std::string results = (dir / "results").string();
  CommandResult trained =
      run_command(kant_exe() + " run " + file + " --quiet --results " + results);
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  const std::string no_bf16 = "ONEDNN_MAX_CPU_ISA=AVX512_CORE ";
  CommandResult evaluated = run_command(no_bf16 + kant_exe() + " evaluate " + results +
                                        "/stored --metric "
                                        "'{plugin: mode_coverage}'");
  CommandResult retrain = run_command(no_bf16 + kant_exe() + " run " + file +
                                      " --quiet --set train.steps=6 --results " + results);
  std::filesystem::remove_all(dir);
  INFO(evaluated.output);
  CHECK(evaluated.exit_code == 0);
  CHECK_THAT(evaluated.output, Catch::Contains("1 cell evaluated, 0 up to date"));
  INFO(retrain.output);
  CHECK(retrain.exit_code == 2);
  CHECK_THAT(retrain.output, Catch::Contains("train.precision: bf16 needs a CPU"));
}
