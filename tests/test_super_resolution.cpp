// Super-resolution: the image statistics at closed forms (PSNR, high-frequency share), the
// super_resolution metric on a generator that is exactly nearest-neighbour upsampling, the
// refusals of kant validate, a short run of every loss from YAML with its report, and kant
// latent refusing a generator fed images. The procedure's losses: tests/test_procedures.cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "core/sha256.hpp"
#include "kant/image_statistics.hpp"
#include "kant/ops.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

// One 8×8 plane a·cos(2π·k₁·j/8) + b·cos(2π·k₂·j/8) (varying along the columns only).
Tensor two_cosines(double a, int k1, double b, int k2) {
  std::vector<float> v(64);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j)
      v[size_t(i * 8 + j)] = static_cast<float>(a * std::cos(2 * M_PI * k1 * j / 8.0) +
                                                b * std::cos(2 * M_PI * k2 * j / 8.0));
  return Tensor::from({1, 1, 8, 8}, v);
}

}  // namespace

TEST_CASE("PSNR and the high-frequency share at closed forms", "[super_resolution][metric]") {
  // PSNR = 10 log10(range²/MSE): range 2, MSE 0.04 → 10·log10(100) = 20 dB
  CHECK(psnr(0.04) == Approx(20.0));
  CHECK(psnr(1.0, 1.0) == Approx(0.0).margin(1e-12));
  CHECK(std::isinf(psnr(0.0)));
  const Tensor a = Tensor::from({1, 1, 1, 2}, {1, -1}), b = Tensor::from({1, 1, 1, 2}, {0.8f, 0});
  CHECK(mean_squared_error(a, b) == Approx((0.04 + 1.0) / 2).epsilon(1e-6));
  CHECK_THROWS_WITH(mean_squared_error(a, Tensor::zeros({1, 1, 2, 1})), Catch::Contains("shapes"));

  // a constant image has no variation: 0
  CHECK(high_frequency_share(Tensor::full({2, 1, 8, 8}, 0.3f)) == 0.0);
  // (the images are float32: the cosines below hold their values to about 1e-8)
  // a checkerboard is all at (½, ½) cycles per pixel: 1
  std::vector<float> board(64);
  for (int i = 0; i < 64; ++i) board[size_t(i)] = ((i / 8 + i % 8) % 2) ? 1.0f : -1.0f;
  CHECK(high_frequency_share(Tensor::from({1, 1, 8, 8}, board)) == Approx(1.0).epsilon(1e-7));
  // one cosine of 1/8 cycle per pixel (below ¼): 0; of 3/8 (above): 1; both at amplitudes
  // a and b: b²/(a² + b²) (each cosine's energy is proportional to its amplitude squared)
  CHECK(high_frequency_share(two_cosines(1, 1, 0, 0)) == Approx(0.0).margin(1e-12));
  CHECK(high_frequency_share(two_cosines(0, 1, 1, 3)) == Approx(1.0).epsilon(1e-7));
  CHECK(high_frequency_share(two_cosines(1, 1, 2, 3)) == Approx(4.0 / 5).epsilon(1e-7));
  // exactly ¼ (k = 2) counts as low: 1/(1 + 1) from the cosine at 3/8 alone
  CHECK(high_frequency_share(two_cosines(1, 2, 1, 3)) == Approx(0.5).epsilon(1e-7));
  CHECK_THROWS_WITH(high_frequency_share(Tensor::zeros({2, 4})), Catch::Contains("[N, C, H, W]"));
}

TEST_CASE("the super_resolution metric on a generator that upsamples by repeating pixels",
          "[super_resolution][metric]") {
  // G = the linear map that copies each pixel of the 14×14 input into a 2×2 block: its PSNR is
  // the nearest-neighbour baseline's, its grid's first two rows are equal (the digits at 28 px:
  // the feature network is trained on them, so its accuracy means something)
  auto data = make_dataset("digits", {{"size", int64_t{28}}});
  Rng init(1);
  auto g = make_network("mlp", Role::generator, {1, 14, 14}, {1, 28, 28},
                        {{"hidden", std::vector<int64_t>{}}}, init);
  std::vector<float> w(784 * 196, 0.0f);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) w[size_t((r * 28 + c) * 196 + (r / 2) * 14 + c / 2)] = 1;
  set_parameter(*g, "layers.0.weight", w);
  set_parameter(*g, "layers.0.bias", std::vector<float>(784, 0.0f));
  Rng rng(0), draws(2);
  MetricContext ctx{
      *data,
      *g,
      nullptr,
      [](int64_t) -> Tensor { throw Error("unused"); },
      rng,
      [&](int64_t n) { return avg_pool2d(data->sample(n, draws), Pool2dOptions::square(2, 2)); }};
  auto metric =
      make_metric("super_resolution", {{"samples", int64_t{200}},
                                       {"columns", int64_t{5}},
                                       {"cache_dir", temp_dir("kant-sr-cache").string()}});
  const auto v = metric->compute(ctx);
  CHECK(v.at("psnr") == Approx(v.at("psnr_nearest")).epsilon(1e-6));
  CHECK(v.at("psnr") == Approx(psnr(v.at("mse"))));
  CHECK(v.at("sharpness_ratio") == Approx(v.at("sharpness") / v.at("sharpness_data")));
  // repeated pixels make blocks whose edges are high frequencies; bilinear upsampling is smooth
  CHECK(v.at("high_frequency_bilinear") < v.at("high_frequency"));
  for (const char* k : {"accuracy", "accuracy_data", "accuracy_bilinear"}) {
    CHECK(v.at(k) >= 0);
    CHECK(v.at(k) <= 1);
  }
  CHECK(v.at("accuracy_data") > 0.7);  // the feature network knows the digits it judges
  const auto arrays = metric->final_arrays(ctx);
  const Tensor grid = arrays.at("comparison");
  REQUIRE(grid.shape() == Shape{3, 5, 1, 28, 28});
  const std::vector<float> all = grid.to_vector();
  const size_t row = 5 * 784;
  size_t differ = 0;
  for (size_t i = 0; i < row; ++i) differ += all[i] != all[row + i];
  CHECK(differ == 0);
  // the last row is the true images: pooling them 2×2 gives the first row's blocks
  Tensor truth = slice(grid, 0, 2, 3);
  Tensor low = avg_pool2d(reshape(truth, {5, 1, 28, 28}), Pool2dOptions::square(2, 2));
  CHECK(low.data()[0] == Approx(all[0]).margin(1e-6));
  CHECK(low.data()[14 + 1] == Approx(all[2 * 28 + 2]).margin(1e-6));

  // a generator of noise is refused with the shape it takes
  auto plain = make_network("mlp", Role::generator, {2}, {1, 28, 28},
                            {{"hidden", std::vector<int64_t>{4}}}, init);
  MetricContext noise_ctx{*data,   *plain,
                          nullptr, [](int64_t) -> Tensor { return Tensor(); },
                          rng,     [&](int64_t n) { return rng.normal_tensor({n, 2}); }};
  CHECK_THROWS_WITH(make_metric("super_resolution")->compute(noise_ctx),
                    Catch::Contains("not the data's [1, 28, 28] images pooled"));
}

TEST_CASE("kant validate refuses super-resolution settings that cannot apply",
          "[super_resolution][config]") {
  const fs::path dir = temp_dir("kant-sr-validate");
  auto validate = [&](const std::string& body) {
    const fs::path f = dir / "exp.yaml";
    std::ofstream(f) << "name: sr\nbase:\n" << body << "seeds: [0]\n";
    return run_command(kant_exe() + " validate " + f.string() + " 2>&1");
  };
  const std::string generator = "  generator: {plugin: mlp, hidden: [8]}\n  optimizer: adam\n";
  const std::string critic = "  critic: {plugin: mlp, hidden: [8]}\n  objective: nonsaturating\n";
  struct Bad {
    std::string body, says;
  };
  const std::vector<Bad> bad{
      {"  dataset: ring\n  procedure: super_resolution\n" + generator + critic,
       "the data set's samples have shape [2], not an image"},
      {"  dataset: {plugin: digits, size: 28}\n  procedure: {plugin: super_resolution, factor: "
       "8}\n" +
           generator + critic,
       "factor 8 does not divide the data's 28×28 images"},
      {"  dataset: digits\n  procedure: {plugin: super_resolution, factor: 3}\n" + generator +
           critic,
       "factor must be 2, 4 or 8"},
      {"  dataset: digits\n  procedure: {plugin: super_resolution, loss: mse}\n" + generator +
           critic,
       "unknown config key 'critic'"},
      {"  dataset: digits\n  procedure: {plugin: super_resolution, loss: mse}\n" + generator +
           "  objective: nonsaturating\n",
       "uses no adversarial objective"},
      {"  dataset: digits\n  procedure: {plugin: super_resolution, loss: mse}\n" + generator +
           "  lipschitz: gradient_penalty\n",
       "uses no critic, so no Lipschitz method"},
      {"  dataset: digits\n  procedure: {plugin: super_resolution, loss: mse, n_critic: 5}\n" +
           generator,
       "n_critic and order act only on a critic"},
      {"  dataset: digits\n  procedure: {plugin: super_resolution, loss: adversarial, "
       "adversarial_weight: 0.1}\n" +
           generator + critic,
       "adversarial_weight acts only with loss: both"},
      {"  dataset: digits\n  procedure: super_resolution\n  generator: {plugin: mlp, hidden: [8], "
       "noise_dim: 16}\n  optimizer: adam\n" +
           critic,
       "sets noise_dim or noise, which this procedure never draws"},
      {"  dataset: ring\n  procedure: super_resolution\n" + generator + critic +
           "  metrics: [super_resolution]\n",
       "metric 'super_resolution' does not apply"},
      // a metric that feeds the generator noise itself: this one takes an image
      {"  dataset: digits\n  procedure: super_resolution\n" + generator + critic +
           "  metrics: [generator_gradient]\n",
       "it needs a generator that maps a noise vector to a data sample by itself"},
  };
  for (const Bad& b : bad) {
    const CommandResult r = validate(b.body);
    INFO(b.body << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(b.says));
  }
  const CommandResult ok = validate("  dataset: digits\n  procedure: super_resolution\n" +
                                    generator + critic + "  metrics: [super_resolution]\n");
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
}

TEST_CASE(
    "super-resolution runs from YAML with every loss, its report draws the comparison, and "
    "kant latent refuses its cells",
    "[super_resolution][e2e]") {
  const fs::path dir = temp_dir("kant-sr-run");
  const fs::path results = dir / "results";
  CommandResult r = run_command(kant_exe() + " run " + kData +
                                "super_resolution.yaml --jobs 2 --results " + results.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("3 complete, 0 diverged, 0 failed"));
  const fs::path folder = results / "super_resolution_small";
  fs::path mse_cell;
  for (const auto& e : fs::directory_iterator(folder / "cells")) {
    if (e.path().extension() != ".h5") continue;
    const CellSummary c = read_cell_summary(e.path());
    std::string loss;
    for (const auto& [axis, value] : c.labels)
      if (axis == "loss") loss = value;
    INFO(loss);
    if (loss == "mse") mse_cell = e.path();
    // stored samples and snapshots are G(x_lr): images of the data's size
    Shape shape;
    read_cell_dataset(e.path(), "samples/generated", &shape);
    CHECK(shape == Shape{16, 1, 8, 8});
    read_cell_dataset(e.path(), "snapshots/generated", &shape);
    CHECK(shape.size() == 5);
    CHECK(Shape(shape.begin() + 1, shape.end()) == Shape{8, 1, 8, 8});
    for (const char* k : {"psnr", "psnr_bilinear", "sharpness_ratio", "high_frequency", "accuracy"})
      CHECK(std::isfinite(c.final_metrics.at(std::string("super_resolution.") + k)));
    read_cell_dataset(e.path(), "arrays/super_resolution/comparison", &shape);
    CHECK(shape == Shape{3, 4, 1, 8, 8});
  }
  REQUIRE(!mse_cell.empty());

  CommandResult report = run_command(kant_exe() + " report " + folder.string());
  INFO(report.output);
  CHECK(report.exit_code == 0);
  CHECK(!files_matching(folder / "report", "super_resolution_").empty());
  CHECK_THAT(read_text(folder / "report" / "index.html"),
             Catch::Contains("super-resolution: input, output and true image"));

  // kant latent works on noise codes: one line, exit 2, the cell untouched
  const std::string digest = sha256_file(mse_cell);
  for (const char* op : {"interpolate", "truncate", "invert"}) {
    CommandResult latent =
        run_command(kant_exe() + " latent " + op + " " + mse_cell.string() + " 2>&1");
    INFO(latent.output);
    CHECK(latent.exit_code == 2);
    CHECK_THAT(latent.output,
               Catch::Contains("kant latent needs a generator that maps a code vector") &&
                   Catch::Contains("[1, 4, 4]"));
    CHECK(std::count(latent.output.begin(), latent.output.end(), '\n') <= 1);
  }
  CHECK(sha256_file(mse_cell) == digest);
}
