// The latent space of stored generators: paths between codes at closed forms, inversion that
// recovers the code of a known affine generator, and `kant latent` end to end — results stored
// in the cell's file, bad input refused with nothing written, a killed run leaving the file as
// it was.
#include <fmt/format.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "core/sha256.hpp"
#include "kant/latent.hpp"
#include "kant/ops.hpp"
#include "store/cell_file.hpp"
#include "support.hpp"

using namespace kant;
using namespace kant::testing;
namespace fs = std::filesystem;

TEST_CASE("latent paths: linear and spherical interpolation at closed forms", "[latent]") {
  const Tensor a = Tensor::from({2, 2}, {1, 0, 2, 2}), b = Tensor::from({2, 2}, {0, 1, 4, 4});
  const std::vector<float> line = latent::interpolate(a, b, 3, false).to_vector();
  // [P = 2, K = 3, D = 2]: the ends, and the midpoint (a + b)/2
  CHECK(line == std::vector<float>{1, 0, 0.5f, 0.5f, 0, 1, 2, 2, 3, 3, 4, 4});
  const std::vector<float> arc = latent::interpolate(a, b, 3, true).to_vector();
  // orthogonal unit vectors: the midpoint of the arc is (a + b)/√2, of unit norm
  CHECK(arc[0] == Approx(1));
  CHECK(arc[2] == Approx(1 / std::sqrt(2.0)));
  CHECK(arc[3] == Approx(1 / std::sqrt(2.0)));
  CHECK(arc[5] == Approx(1));
  // parallel codes (Ω = 0): the arc degenerates to the line
  for (size_t i = 6; i < 12; ++i) CHECK(arc[i] == Approx(line[i]));
  // a quarter of the way along the great circle of orthogonal unit vectors: (cos π/8, sin π/8)
  const std::vector<float> quarter = latent::interpolate(a, b, 5, true).to_vector();
  CHECK(quarter[2] == Approx(std::cos(M_PI / 8)));
  CHECK(quarter[3] == Approx(std::sin(M_PI / 8)));
  CHECK_THROWS_WITH(latent::interpolate(a, b, 1, false), Catch::Contains("at least 2 steps"));
}

TEST_CASE("latent inversion recovers the code of a known affine generator", "[latent]") {
  // G(z) = Wz + b, 2 → 3, injective: the code of G(z*) is z* itself
  Rng rng(5);
  auto g =
      make_network("mlp", Role::generator, {2}, {3}, {{"hidden", std::vector<int64_t>{}}}, rng);
  set_parameter(*g, "layers.0.weight", {1, 0.5f, -0.5f, 2, 0.25f, 1});
  set_parameter(*g, "layers.0.bias", {0.1f, -0.2f, 0.3f});
  const Tensor truth = Tensor::from({3, 2}, {0.5f, -1, 1.5f, 0.25f, -0.75f, 0.8f});
  const Tensor targets = g->forward(truth).detach();
  const std::vector<float> before = g->named_parameters()[0].second.to_vector();
  latent::InversionOptions o;
  o.iterations = 1500;
  o.lr = 0.02;
  const latent::Inversion inv = latent::invert(*g, targets, Tensor::zeros({3, 2}), Tensor(), o);
  const std::vector<float> found = inv.codes.to_vector(), want = truth.to_vector();
  for (size_t i = 0; i < want.size(); ++i) CHECK(found[i] == Approx(want[i]).margin(2e-3));
  for (float e : inv.mse.to_vector()) CHECK(e < 1e-5f);
  CHECK(g->named_parameters()[0].second.to_vector() == before);  // the weights stay
  // a point off the generator's range (the plane G spans) keeps the squared distance to it:
  // its residual along the plane's normal n, ‖r‖²/3 per value
  const std::vector<float> t = targets.to_vector();
  // the normal of span{(1, −0.5, 0.25), (0.5, 2, 1)}: their cross product
  const double n[3] = {-0.5 * 1 - 0.25 * 2, 0.25 * 0.5 - 1 * 1, 1 * 2 - (-0.5) * 0.5};
  const double nn = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  Tensor off = Tensor::from(
      {1, 3}, {t[0] + float(n[0] / nn), t[1] + float(n[1] / nn), t[2] + float(n[2] / nn)});
  const latent::Inversion away = latent::invert(*g, off, Tensor::zeros({1, 2}), Tensor(), o);
  CHECK(away.mse.item() == Approx(1.0 / 3).epsilon(1e-3));
  // a prior penalty pulls the code towards 0: λ‖z‖²/D added, the optimum moves inward
  o.prior = 1;
  const latent::Inversion shrunk =
      latent::invert(*g, slice(targets, 0, 0, 1), Tensor::zeros({1, 2}), Tensor(), o);
  const std::vector<float> z = shrunk.codes.to_vector();
  CHECK(z[0] * z[0] + z[1] * z[1] < 0.5f * 0.5f + 1.0f);
}

TEST_CASE("latent search climbs a score to its closed-form optimum", "[latent]") {
  // G(z) = Wz + b, score(x) = ⟨w, x⟩, prior λ‖z‖²/D: the maximum of ⟨Wᵀw, z⟩ − λ‖z‖²/D is at
  // z* = D·Wᵀw/(2λ)
  Rng rng(7);
  auto g =
      make_network("mlp", Role::generator, {2}, {3}, {{"hidden", std::vector<int64_t>{}}}, rng);
  set_parameter(*g, "layers.0.weight", {1, 0.5f, -0.5f, 2, 0.25f, 1});
  set_parameter(*g, "layers.0.bias", {0.1f, -0.2f, 0.3f});
  const Tensor w = Tensor::from({3, 1}, {1, -1, 2});
  auto score = [&](const Tensor& x) { return reshape(matmul(x, w), {x.size(0)}); };
  latent::SearchOptions o;
  o.iterations = 2000;
  o.lr = 0.02;
  o.prior = 1;
  o.points = 5;
  const latent::Search s =
      latent::search(*g, score, Tensor::from({2, 2}, {0, 0, 1, -1}), Tensor(), o);
  CHECK(s.codes.shape() == Shape{2, 5, 2});
  // W = [[1, 0.5], [−0.5, 2], [0.25, 1]]: Wᵀw = (1 + 0.5 + 0.5, 0.5 − 2 + 2) = (2, 0.5), and
  // z* = 2·(2, 0.5)/2 = (2, 0.5)
  const std::vector<float> c = s.codes.to_vector();
  for (int i : {0, 1}) {
    CHECK(c[static_cast<size_t>(i * 10 + 8)] == Approx(2).margin(1e-3));
    CHECK(c[static_cast<size_t>(i * 10 + 9)] == Approx(0.5).margin(1e-3));
  }
  CHECK(c[0] == 0);  // the path starts at the start
  const std::vector<float> v = s.scores.to_vector();
  CHECK(v[4] > v[0]);
  CHECK(v[9] > v[5]);
}

TEST_CASE("the truncation trick: N(0, 1) conditioned on |z| ≤ ψ", "[latent]") {
  Rng rng(9);
  const std::vector<float> z = latent::truncated_normal(20000, 2, 1.0, rng).to_vector();
  double mean = 0, square = 0, largest = 0;
  for (float v : z) {
    largest = std::max(largest, double(std::abs(v)));
    mean += v / double(z.size());
    square += double(v) * v / double(z.size());
  }
  // Var = 1 − 2ψφ(ψ)/(2Φ(ψ) − 1) at ψ = 1: 1 − 2·0.2419707/0.6826895 = 0.2911251
  CHECK(largest <= 1.0);
  CHECK(largest > 0.99);
  CHECK(mean == Approx(0).margin(0.01));
  CHECK(square == Approx(0.2911251).epsilon(0.02));
  CHECK_THROWS_WITH(latent::truncated_normal(1, 1, 0, rng), Catch::Contains("must be > 0"));
}

namespace {

struct Scratch {
  fs::path dir = temp_dir("kant-latent");
  fs::path results() const { return dir / "results"; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

const char* kRing =
    "name: ring\n"
    "base:\n"
    "  dataset: ring\n"
    "  generator: {plugin: mlp, hidden: [16], noise_dim: 2, condition: concat}\n"
    "  critic: {plugin: mlp, hidden: [16], condition: projection}\n"
    "  objective: nonsaturating\n"
    "  optimizer: {plugin: adam, lr: 1.0e-3}\n"
    "  train: {steps: 30, batch_size: 32, samples: 0}\n"
    "seeds: [0]\n";

}  // namespace

TEST_CASE("kant latent stores paths and inversions in the cell's file", "[latent][cli][e2e]") {
  Scratch s;
  const std::string yaml = s.write("ring.yaml", kRing);
  CommandResult r = run_command(kant_exe() + " run " + yaml + " --threads 1 --quiet --results " +
                                s.results().string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path cell = only_cell(s.results() / "ring");
  const std::string latent = kant_exe() + " latent ";

  r = run_command(latent + "interpolate " + cell.string() +
                  " --pairs 3 --steps 4 --spherical --class 5 --seed 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("3 paths of 4 codes (spherical)"));
  Shape shape;
  read_cell_dataset(cell, "arrays/latent_interpolate/samples", &shape);
  CHECK(shape == Shape{3, 4, 2});
  CHECK(read_cell_dataset(cell, "arrays/latent_interpolate/labels") ==
        std::vector<double>{5, 5, 5});
  read_cell_dataset(cell, "arrays/latent_interpolate/codes", &shape);
  CHECK(shape == Shape{3, 4, 2});

  r = run_command(latent + "invert " + cell.string() + " --count 16 --iterations 50");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const CellSummary after = read_cell_summary(cell);
  REQUIRE(after.final_metrics.count("latent_invert.mse_mean") == 1);
  const std::vector<double> mse = read_cell_dataset(cell, "arrays/latent_invert/mse");
  REQUIRE(mse.size() == 16);
  double mean = 0;
  for (double e : mse) mean += e / 16;
  CHECK(after.final_metrics.at("latent_invert.mse_mean") == Approx(mean));
  read_cell_dataset(cell, "arrays/latent_invert/reconstructions", &shape);
  CHECK(shape == Shape{16, 2});
  // the interpolation stays beside it, and the file is whole and sealed
  read_cell_dataset(cell, "arrays/latent_interpolate/samples", &shape);
  CHECK(run_command(kant_exe() + " verify " + (s.results() / "ring").string()).exit_code == 0);
  // again: replaced, not duplicated
  REQUIRE(run_command(latent + "invert " + cell.string() + " --count 8 --iterations 5").exit_code ==
          0);
  CHECK(read_cell_dataset(cell, "arrays/latent_invert/mse").size() == 8);
}

TEST_CASE(
    "kant latent refuses what cannot apply, with nothing written, and a kill leaves the "
    "cell as it was",
    "[latent][cli][e2e]") {
  Scratch s;
  std::string ring = kRing;
  ring.replace(ring.find("samples: 0}"), 11, "samples: 0, store_networks: false}");
  const std::string unconditional =
      s.write("plain.yaml",
              "name: plain\nbase:\n  dataset: ring\n  generator: {plugin: mlp, hidden: "
              "[16], noise_dim: 2}\n  critic: {plugin: mlp, hidden: [16]}\n  objective: "
              "nonsaturating\n  optimizer: sgd\n  train: {steps: 20, batch_size: 32, "
              "samples: 0}\nseeds: [0]\n");
  const std::string without = s.write("without.yaml", ring);
  for (const std::string& f : {unconditional, without})
    REQUIRE(run_command(kant_exe() + " run " + f + " --threads 1 --quiet --results " +
                        s.results().string())
                .exit_code == 0);
  const fs::path plain = only_cell(s.results() / "plain"), bare = only_cell(s.results() / "ring");
  const std::string plain_digest = sha256_file(plain), bare_digest = sha256_file(bare);
  const std::string latent = kant_exe() + " latent ";
  const fs::path foreign = s.write("foreign.h5", "not a cell\n");
  fs::copy_file(plain, s.dir / "damaged.h5");
  fs::resize_file(s.dir / "damaged.h5", fs::file_size(plain) / 2);
  struct Bad {
    std::string args, says;
  };
  const std::vector<Bad> bad{
      {"interpolate " + plain.string() + " --class 1", "this cell's generator takes no class"},
      {"invert " + bare.string(), "stores no networks"},
      {"invert " + plain.string() + " --split test", "has no held-out split"},
      {"invert " + plain.string() + " --pairs 2",
       "--pairs is an option of kant latent interpolate"},
      {"interpolate " + plain.string() + " --lr 0.1", "--lr is an option of kant latent invert"},
      {"interpolate " + plain.string() + " --steps 1", "--steps must be at least 2"},
      {"interpoalte " + plain.string(), "did you mean 'interpolate'"},
      {"invert " + foreign.string(), "foreign.h5"},
      {"invert " + (s.dir / "damaged.h5").string(), "damaged.h5"},
      {"invert " + (s.dir / "absent.h5").string(), "no such file"},
  };
  for (const Bad& b : bad) {
    const CommandResult r = run_command(latent + b.args);
    INFO(b.args << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(b.says));
  }
  CHECK(sha256_file(plain) == plain_digest);
  CHECK(sha256_file(bare) == bare_digest);

  // stopped while it optimises: SIGTERM ends it with nothing written, SIGKILL leaves the file too
  for (const int sig : {SIGTERM, SIGKILL}) {
    const fs::path log = s.dir / fmt::format("kill-{}.log", sig);
    const int pid = spawn_command(
        latent + "invert " + plain.string() + " --count 64 --iterations 1000000", log);
    // wait until it computes (its session is built), then stop it
    for (int i = 0; i < 100 && processes_matching("--iterations 1000000").empty(); ++i)
      run_command("sleep 0.05");
    run_command("sleep 1.5");
    ::kill(-pid, sig);  // the shell and kant latent at once
    const int code = wait_command(pid);
    INFO(read_text(log));
    CHECK(code == 128 + sig);
    CHECK(sha256_file(plain) == plain_digest);
    CHECK(files_matching(plain.parent_path(), ".tmp.").empty());
  }
  CHECK_THAT(read_text(s.dir / fmt::format("kill-{}.log", SIGTERM)),
             Catch::Contains("stopped by") && Catch::Contains("is as it was"));
}

TEST_CASE("kant latent truncate: samples of truncated codes and the cell's metrics on them",
          "[latent][cli][e2e]") {
  Scratch s;
  const std::string plain =
      "name: plain\nbase:\n  dataset: ring\n  generator: {plugin: mlp, hidden: [16], noise_dim: "
      "2}\n  critic: {plugin: mlp, hidden: [16]}\n  objective: nonsaturating\n  optimizer: sgd\n"
      "  train: {steps: 20, batch_size: 32, samples: 0}\n  metrics: [{plugin: mode_coverage, "
      "samples: 500}]\nseeds: [0]\n";
  std::string uniform = plain;
  uniform.replace(uniform.find("noise_dim: 2}"), 13, "noise_dim: 2, noise: uniform}");
  uniform.replace(uniform.find("name: plain"), 11, "name: uniform");
  for (const std::string& f : {s.write("plain.yaml", plain), s.write("uniform.yaml", uniform)})
    REQUIRE(run_command(kant_exe() + " run " + f + " --threads 1 --quiet --results " +
                        s.results().string())
                .exit_code == 0);
  const fs::path cell = only_cell(s.results() / "plain");
  CommandResult r = run_command(kant_exe() + " latent truncate " + cell.string() +
                                " --thresholds 0.001,3 --count 10");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("truncate: ψ = 0.001: mode_coverage.high_quality = "));
  Shape shape;
  const std::vector<double> samples =
      read_cell_dataset(cell, "arrays/latent_truncate/samples", &shape);
  CHECK(shape == Shape{2, 10, 2});
  CHECK(read_cell_dataset(cell, "arrays/latent_truncate/thresholds") ==
        std::vector<double>{0.001f, 3});
  // ψ → 0: every code ≈ 0, every sample ≈ G(0); at ψ = 3 they spread
  auto spread = [&](size_t t) {
    double lo = 1e9, hi = -1e9;
    for (size_t i = 0; i < 10; ++i) {
      lo = std::min(lo, samples[t * 20 + 2 * i]);
      hi = std::max(hi, samples[t * 20 + 2 * i]);
    }
    return hi - lo;
  };
  CHECK(spread(0) < 0.01);
  CHECK(spread(1) > 10 * spread(0));
  const CellSummary after = read_cell_summary(cell);
  for (const char* value : {"latent_truncate.psi_0.001.mode_coverage.modes",
                            "latent_truncate.psi_3.mode_coverage.high_quality"})
    CHECK(after.final_metrics.count(value) == 1);
  CHECK(after.final_metrics.at("latent_truncate.psi_0.001.mode_coverage.modes") <= 1);
  // a cell with uniform noise: refused, nothing written
  const fs::path other = only_cell(s.results() / "uniform");
  const std::string digest = sha256_file(other);
  r = run_command(kant_exe() + " latent truncate " + other.string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("its noise is uniform, and truncation is of normal codes"));
  CHECK(sha256_file(other) == digest);
}

TEST_CASE("kant latent search and arithmetic score samples with the feature network",
          "[latent][cli][e2e]") {
  Scratch s;
  const std::string digits =
      "name: digits\nbase:\n  dataset: digits\n  generator: {plugin: mlp, hidden: [32], "
      "noise_dim: 4, output_activation: tanh}\n  critic: {plugin: mlp, hidden: [32]}\n  "
      "objective: nonsaturating\n  optimizer: {plugin: adam, lr: 1.0e-3}\n  train: {steps: 30, "
      "batch_size: 32, samples: 0}\nseeds: [0]\n";
  REQUIRE(run_command(kant_exe() + " run " + s.write("digits.yaml", digits) +
                      " --threads 1 --quiet --results " + s.results().string())
              .exit_code == 0);
  const fs::path cell = only_cell(s.results() / "digits");
  CommandResult r = run_command(kant_exe() + " latent search " + cell.string() +
                                " --class 4 --count 3 --iterations 40 --lr 0.1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const CellSummary after = read_cell_summary(cell);
  // the search raises the class's logit and probability
  CHECK(after.final_metrics.at("latent_search.score_end") >
        after.final_metrics.at("latent_search.score_start"));
  CHECK(after.final_metrics.at("latent_search.probability_end") >
        after.final_metrics.at("latent_search.probability_start"));
  Shape shape;
  read_cell_dataset(cell, "arrays/latent_search/samples", &shape);
  CHECK(shape == Shape{3, 8, 1, 8, 8});
  // arithmetic: the classes the generator makes most of, by the feature network
  r = run_command(kant_exe() + " latent arithmetic " + cell.string() + " --plus 1 --minus 7");
  INFO(r.output);
  if (r.exit_code == 0) {
    CHECK_THAT(r.output, Catch::Contains("arithmetic: +1 ("));
    const std::vector<double> signs = read_cell_dataset(cell, "arrays/latent_arithmetic/signs");
    CHECK(signs == std::vector<double>{1, -1});
    read_cell_dataset(cell, "arrays/latent_arithmetic/result_samples", &shape);
    CHECK(shape == Shape{8, 1, 8, 8});
  } else {  // a class the generator never made is refused by name
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("generated samples is of class"));
  }
  // refused: no class to search; a data set without images; an option of another operation
  const std::string digest = sha256_file(cell);
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"search " + cell.string(), "give --class C"},
           {"search " + cell.string() + " --class 12", "the data set's classes are 0 to 9"},
           {"arithmetic " + cell.string(), "give --plus"},
           {"arithmetic " + cell.string() + " --plus 1 --class 2",
            "--class is an option of kant latent interpolate, search"}}) {
    r = run_command(kant_exe() + " latent " + args);
    INFO(args << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(says));
  }
  CHECK(sha256_file(cell) == digest);
}
