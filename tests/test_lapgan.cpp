// LAPGAN (plugins/procedure/lapgan.cpp): the Laplacian pyramid rebuilds an image exactly, each
// level's losses at hand-computed points on tiny linear networks, sampling composes the levels
// as Ĩ_k = up(Ĩ_{k+1}) + G_k(z_k, up(Ĩ_{k+1})) says, a short run from YAML (LAPGAN and
// CC-LAPGAN, with the pyramid's levels stored and drawn), and what is refused.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "config/config.hpp"
#include "core/sha256.hpp"
#include "kant/laplacian_pyramid.hpp"
#include "kant/layers.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"
#include "training/session.hpp"

using namespace kant;
using namespace kant::testing;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

// A LAPGAN cell on the 8×8 digits with levels 4 and 8 and linear (affine) networks.
std::string tiny_lapgan(const std::string& extra = "") {
  return R"(dataset: {plugin: digits}
procedure: {plugin: lapgan, sizes: [4, 8], noise_channels: 1}
generator: {plugin: mlp, hidden: [], noise_dim: 3}
critic: {plugin: mlp, hidden: []}
generator_8: {plugin: mlp, hidden: []}
critic_8: {plugin: mlp, hidden: []}
objective: wasserstein
optimizer: {plugin: sgd, lr: 1.0e-30}
train: {batch_size: 5, samples: 0}
seed: 4
)" + extra;
}

struct Pyramid {
  CellConfig config;
  std::unique_ptr<Session> session;
  explicit Pyramid(const std::string& yaml)
      : config(resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry())),
        session(std::make_unique<Session>(config, builtin_registry())) {}
  Network& net(const std::string& name) {
    for (const auto& [n, net] : session->networks)
      if (n == name) return *net;
    throw Error("no network " + name);
  }
};

}  // namespace

TEST_CASE("the Laplacian pyramid rebuilds an image exactly from its bands", "[lapgan]") {
  // by hand on a 4×4 image: its 2×2 means, their nearest expansion and the band
  const Tensor x = Tensor::from({1, 1, 4, 4}, {1, 3, 0, 0,  //
                                               5, 7, 0, 4,  //
                                               2, 2, 1, 1,  //
                                               2, 2, 1, 1});
  const Tensor coarse = pyramid::down(x, 2);
  CHECK(coarse.to_vector() == std::vector<float>{4, 1, 2, 1});
  const pyramid::Band b = pyramid::band(x, coarse);
  CHECK(b.low.to_vector() == std::vector<float>{4, 4, 1, 1, 4, 4, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1});
  CHECK(b.high.to_vector() ==
        std::vector<float>{-3, -1, -1, -1, 1, 3, -1, 3, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(pyramid::rebuild(coarse, {b.high}).to_vector() == x.to_vector());

  // any image: Σ_k up(…) + h_k = I, and every band averages to zero over the windows
  Rng rng(11);
  const Tensor image = rng.normal_tensor({3, 2, 28, 28});
  const std::vector<int64_t> sizes{7, 14, 28};
  const std::vector<Tensor> g = pyramid::gaussian(image, sizes);
  REQUIRE(g.size() == 3);
  CHECK(g[0].shape() == Shape{3, 2, 7, 7});
  CHECK(g[2].to_vector() == image.to_vector());
  std::vector<Tensor> bands;
  for (size_t k = 1; k < sizes.size(); ++k) {
    bands.push_back(pyramid::band(g[k], g[k - 1]).high);
    const std::vector<float> means = pyramid::down(bands.back(), sizes[k - 1]).to_vector();
    for (float m : means) CHECK(m == Approx(0).margin(1e-6));
  }
  const std::vector<float> rebuilt = pyramid::rebuild(g[0], bands).to_vector(),
                           original = image.to_vector();
  double worst = 0;
  for (size_t i = 0; i < original.size(); ++i)
    worst = std::max(worst, std::abs(double(rebuilt[i]) - original[i]));
  CHECK(worst < 1e-5);
  CHECK_THROWS_WITH(pyramid::down(image, 9), Catch::Contains("by an integer factor"));
}

TEST_CASE("LAPGAN's level losses at hand-computed points", "[lapgan][procedures]") {
  // linear critics D(v) = w·Σv, constant generators: G_4(z) = c₀, G_8(z_8, l) = c (weights 0)
  Pyramid cell(tiny_lapgan());
  const float w = 0.5f, c0 = -0.75f, c = 0.25f;
  set_parameter(cell.net("critic"), "layers.0.weight", std::vector<float>(16, w));
  set_parameter(cell.net("critic"), "layers.0.bias", {0});
  set_parameter(cell.net("critic_8"), "layers.0.weight", std::vector<float>(128, w));
  set_parameter(cell.net("critic_8"), "layers.0.bias", {0});
  set_parameter(cell.net("generator"), "layers.0.weight", std::vector<float>(48, 0));
  set_parameter(cell.net("generator"), "layers.0.bias", std::vector<float>(16, c0));
  set_parameter(cell.net("generator_8"), "layers.0.weight", std::vector<float>(64 * 128, 0));
  set_parameter(cell.net("generator_8"), "layers.0.bias", std::vector<float>(64, c));
  // the batches the step draws: level 4's critic step, level 8's critic and generator steps
  Rng data(0);
  data.set_state(cell.session->data_rng.state());
  std::vector<double> batch_sum;  // mean over the batch of Σ_pixels x
  for (int k = 0; k < 3; ++k) {
    const std::vector<float> x = cell.session->dataset->sample(5, data).to_vector();
    double total = 0;
    for (float v : x) total += v;
    batch_sum.push_back(total / 5);
  }
  StepOutcome out = cell.session->procedure->step(*cell.session->context, 1);
  REQUIRE(out.diverged.empty());
  std::map<std::string, double> l(out.losses.begin(), out.losses.end());
  CHECK(out.losses.front().first == "loss_critic_4");
  // level 4: D(real) = w·Σ down(x) = w·Σx/4, D(fake) = w·16c₀; wasserstein L_D = E D(G) − E D(x)
  CHECK(l.at("loss_critic_4") == Approx(w * (16 * c0 - batch_sum[0] / 4)).epsilon(1e-5));
  CHECK(l.at("divergence_estimate_4") == Approx(-l.at("loss_critic_4")).epsilon(1e-6));
  CHECK(l.at("loss_generator_4") == Approx(-w * 16 * c0).epsilon(1e-5));
  CHECK(l.at("penalty_4") == 0);
  // level 8: D([h, l]) = w(Σh + Σl) with Σh = 0 and Σl = Σx; D([ĥ, l]) = w(64c + Σl):
  // L_D = w·64c whatever the batch, L_G = −w(64c + E Σx) on the generator step's batch
  CHECK(l.at("loss_critic_8") == Approx(w * 64 * c).epsilon(1e-5));
  CHECK(l.at("loss_generator_8") == Approx(-w * (64 * c + batch_sum[2])).epsilon(1e-5));
}

TEST_CASE("LAPGAN's updates follow the gradient of the losses it reports", "[lapgan][procedures]") {
  // one SGD step on each level's critic: Δψ = −η∇ψ L_D, against central differences of L_D
  const std::string yaml = tiny_lapgan(
      "critic_8_optimizer: {plugin: sgd, lr: 0.5}\ngenerator_8_optimizer: {plugin: sgd, lr: "
      "0.5}\n");
  Pyramid base(yaml);
  const auto before_critic = base.net("critic_8").parameters()[0].clone();
  const auto before_generator = base.net("generator_8").parameters()[1].clone();
  base.session->procedure->step(*base.session->context, 1);
  const Tensor after_critic = base.net("critic_8").parameters()[0];
  const Tensor after_generator = base.net("generator_8").parameters()[1];
  const float h = 1e-2f;
  for (int64_t i : {0, 17, 70, 127}) {
    double value[2];
    for (int side = 0; side < 2; ++side) {
      Pyramid moved(yaml);
      moved.net("critic_8").parameters()[0].data()[i] += side == 0 ? h : -h;
      StepOutcome o = moved.session->procedure->step(*moved.session->context, 1);
      value[side] =
          std::map<std::string, double>(o.losses.begin(), o.losses.end()).at("loss_critic_8");
    }
    const double applied = (before_critic.data()[i] - after_critic.data()[i]) / 0.5;
    CHECK(applied == Approx((value[0] - value[1]) / (2 * h)).margin(3e-3).epsilon(3e-2));
  }
  // the generator's bias: wasserstein L_G = −E D([ĥ, l]), ∂/∂b_i = −w_i of the updated critic
  for (int64_t i : {0, 9, 63}) {
    const double applied = (before_generator.data()[i] - after_generator.data()[i]) / 0.5;
    CHECK(applied == Approx(-after_critic.data()[i]).epsilon(1e-4));
  }
}

TEST_CASE("LAPGAN samples run the pyramid coarse to fine", "[lapgan][procedures]") {
  // G_4(z) = Az (4×4 from z ∈ R³), G_8([z_8, l]) = a·l + b: Ĩ_8 = (1 + a)·up(Az) + b
  Pyramid cell(tiny_lapgan());
  std::vector<float> A(48);
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>(std::sin(1.0 + i));
  set_parameter(cell.net("generator"), "layers.0.weight", A);
  set_parameter(cell.net("generator"), "layers.0.bias", std::vector<float>(16, 0));
  const float a = 0.5f, b = -0.25f;
  std::vector<float> W(64 * 128, 0);
  for (int i = 0; i < 64; ++i) W[static_cast<size_t>(i * 128 + 64 + i)] = a;  // the l channel
  set_parameter(cell.net("generator_8"), "layers.0.weight", W);
  set_parameter(cell.net("generator_8"), "layers.0.bias", std::vector<float>(64, b));
  Rng rng(5), copy(5);
  const Tensor x = cell.session->generate(rng, 3);
  REQUIRE(x.shape() == Shape{3, 1, 8, 8});
  const Tensor z = copy.normal_tensor({3, 3});
  const std::vector<float> zs = z.to_vector(), got = x.to_vector();
  for (int n = 0; n < 3; ++n)
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) {
        const int coarse = (i / 2) * 4 + j / 2;
        double az = 0;
        for (int d = 0; d < 3; ++d) az += A[static_cast<size_t>(coarse * 3 + d)] * zs[n * 3 + d];
        CHECK(got[static_cast<size_t>(n * 64 + i * 8 + j)] ==
              Approx((1 + a) * az + b).margin(1e-5));
      }
  // the levels the report draws: Ĩ_4 (expanded) then Ĩ_8, for the same samples
  Rng arrays(9);
  auto stored = cell.session->procedure->final_arrays(*cell.session->context, arrays);
  REQUIRE(stored.count("levels"));
  CHECK(stored.at("levels").shape() == Shape{2, 16, 1, 8, 8});
  CHECK(stored.at("sizes").to_vector() == std::vector<float>{4, 8});
  const std::vector<float> levels = stored.at("levels").to_vector();
  for (size_t i = 0; i < 16 * 64; ++i)
    CHECK(levels[16 * 64 + i] == Approx((1 + a) * levels[i] + b).margin(1e-5));
}

TEST_CASE(
    "LAPGAN and CC-LAPGAN run from YAML, store the pyramid's levels, and refuse what "
    "cannot apply",
    "[lapgan][e2e]") {
  const fs::path dir = temp_dir("kant-lapgan");
  const CommandResult r =
      run_command(kant_exe() + " run " + kData + "lapgan.yaml --jobs 2 --results " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("2 complete, 0 diverged, 0 failed"));
  const std::vector<fs::path> cells = files_matching(dir / "lapgan" / "cells", ".h5");
  REQUIRE(cells.size() == 2);
  int labelled = 0;
  for (const fs::path& cell : cells) {
    Shape shape;
    read_cell_dataset(cell, "arrays/lapgan/levels", &shape);
    CHECK(shape == Shape{2, 16, 1, 8, 8});
    read_cell_dataset(cell, "samples/generated", &shape);
    CHECK(shape == Shape{32, 1, 8, 8});
    CHECK(!read_cell_dataset(cell, "series/loss_generator_8").empty());
    // samples during training are the pyramid's too, at steps 0, 10 and 20
    read_cell_dataset(cell, "snapshots/generated", &shape);
    CHECK(shape == Shape{3, 16, 1, 8, 8});
    std::vector<double> labels;  // CC-LAPGAN's samples carry the labels they were asked for
    try {
      labels = read_cell_dataset(cell, "samples/generated_labels");
    } catch (const Error&) {
    }
    if (!labels.empty()) {
      CHECK(labels.size() == 32);
      ++labelled;
    }
  }
  CHECK(labelled == 1);
  const CommandResult report =
      run_command(kant_exe() + " report " + (dir / "lapgan").string() + " --format html");
  INFO(report.output);
  CHECK(report.exit_code == 0);
  CHECK(!files_matching(dir / "lapgan", "pyramid").empty());

  // kant latent: the generator makes only the coarsest level; refused, the file untouched
  const std::string digest = sha256_file(cells.front());
  const CommandResult latent = run_command(kant_exe() + " latent invert " + cells.front().string());
  INFO(latent.output);
  CHECK(latent.exit_code == 2);
  CHECK_THAT(latent.output, Catch::Contains("kant latent needs a generator that maps a code "
                                            "vector to a data sample [1, 8, 8] by itself"));
  CHECK(sha256_file(cells.front()) == digest);

  // kant validate: what cannot apply to a pyramid, one line each, exit 2
  const std::string yaml = read_text(kData + "lapgan.yaml");
  struct Bad {
    std::string from, to, says;
  };
  const std::vector<Bad> bad{
      {"{plugin: digits}", "{plugin: digits, size: 32}", "whose S is the last of `sizes`"},
      {"sizes: [4, 8]", "sizes: [3, 8]", "each dividing the next: 3 then 8"},
      {"samples: 32", "samples: 32, ema: 0.99", "no weight average of the generator"},
      // metrics that read the critic: the finer critics judge [h, l], not a sample
      {"[{plugin: conditional_accuracy, samples: 200}]",
       "[{plugin: conditional_accuracy, samples: 200}, {plugin: generator_gradient}]",
       "the cell's procedure trains no critic that scores samples"},
      {"[{plugin: conditional_accuracy, samples: 200}]",
       "[{plugin: conditional_accuracy, samples: 200}, {plugin: gradient_norms}]",
       "the cell's procedure trains no critic that scores samples"},
      {"[{plugin: conditional_accuracy, samples: 200}]",
       "[{plugin: conditional_accuracy, samples: 200}, {plugin: lipschitz_bounds}]",
       "the cell's procedure trains no critic that scores samples"},
      {"  critic_8:", "  critic_16:", "unknown config key 'critic_16'"},
  };
  for (const Bad& b : bad) {
    std::string text = yaml;
    INFO(b.from);
    REQUIRE(text.find(b.from) != std::string::npos);
    text.replace(text.find(b.from), b.from.size(), b.to);
    const fs::path file = dir / "bad.yaml";
    std::ofstream(file) << text;
    const CommandResult v = run_command(kant_exe() + " validate " + file.string());
    INFO(b.to << "\n" << v.output);
    CHECK(v.exit_code == 2);
    CHECK_THAT(v.output, Catch::Contains(b.says));
  }
}
