// Training schedules end to end on the Dirac-GAN, where every update has a closed form, and
// the Dirac-GAN reproduction itself (Mescheder et al. 2018).
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "report/report.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant;
using namespace kant::testing;

namespace {

const std::string kSource = KANT_TEST_SOURCE_DIR;

struct Run {
  fs::path dir = temp_dir("kant-sched");
  ~Run() { fs::remove_all(dir); }
  // Runs `file` with overrides; returns the cells (by label string) of the experiment.
  std::map<std::string, CellSummary> operator()(const std::string& file,
                                                const std::string& args = "") {
    CommandResult r = run_command(kant_exe() + " run " + file + " --quiet --results " +
                                  dir.string() + " " + args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, CellSummary> cells;
    for (const auto& e : fs::directory_iterator(dir))
      for (const auto& f : fs::directory_iterator(e.path() / "cells")) {
        CellSummary s = read_cell_summary(f.path());
        std::string key;
        for (const auto& [k, v] : s.labels) key += k + "=" + v + " ";
        cells[key] = s;
      }
    return cells;
  }
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

}  // namespace

TEST_CASE("simultaneous and alternating updates: one step in closed form", "[schedules]") {
  Run run;
  auto cells = run(kSource + "/tests/data/dirac_one_step.yaml");
  // GAN on the Dirac-GAN: L_D = softplus(−ψ·0) + softplus(ψθ), L_G = −softplus(ψθ)
  // simultaneous: ψ₁ = 1 − 0.2·θ₀σ(ψ₀θ₀), θ₁ = 1 + 0.2·ψ₀σ(ψ₀θ₀)
  const CellSummary& sim = cells.at("schedule=simultaneous seed=0 ");
  CHECK(sim.final_metrics.at("parameter_trace.critic.psi") ==
        Approx(1 - 0.2 * sigmoid(1)).epsilon(1e-6));
  CHECK(sim.final_metrics.at("parameter_trace.generator.theta") ==
        Approx(1 + 0.2 * sigmoid(1)).epsilon(1e-6));
  // alternating: the generator sees the updated critic: θ₁ = 1 + 0.2·ψ₁σ(ψ₁·1)
  const CellSummary& alt = cells.at("schedule=alternating seed=0 ");
  const double psi1 = 1 - 0.2 * sigmoid(1);
  CHECK(alt.final_metrics.at("parameter_trace.critic.psi") == Approx(psi1).epsilon(1e-6));
  CHECK(alt.final_metrics.at("parameter_trace.generator.theta") ==
        Approx(1 + 0.2 * psi1 * sigmoid(psi1)).epsilon(1e-6));
}

TEST_CASE("WGAN's critic schedule takes 100 critic steps in the first 25 generator steps",
          "[schedules]") {
  const std::string file = kSource + "/tests/data/dirac_alternating.yaml";
  const std::string common =
      " --set train.steps=25 --set objective=wasserstein --set lipschitz='{plugin: "
      "weight_clipping, c: 1.0}'";
  Run a, b, c;
  auto scheduled =
      a(file, common + " --set train.wgan_critic_schedule=true --set train.n_critic=5");
  auto hundred = b(file, common + " --set train.n_critic=100");
  auto five = c(file, common + " --set train.n_critic=5");
  const std::string key = "seed=0 ";
  for (const char* v : {"parameter_trace.critic.psi", "parameter_trace.generator.theta"}) {
    CHECK(scheduled.at(key).final_metrics.at(v) == hundred.at(key).final_metrics.at(v));
    CHECK(scheduled.at(key).final_metrics.at(v) != five.at(key).final_metrics.at(v));
  }
}

TEST_CASE("generator weight average and unrolled critic steps run and change the result",
          "[schedules]") {
  const std::string file = kSource + "/tests/data/dirac_alternating.yaml";
  Run a, b, c;
  auto plain =
      a(file, "--set train.steps=20 --set 'metrics=[{plugin: parameter_trace, every: 1}]'");
  auto ema = b(file, "--set train.steps=20 --set train.ema=0.9");
  auto unrolled =
      c(file, "--set train.steps=20 --set train.unrolled_steps=3 --set train.unrolled_lr=0.2");
  const std::string key = "seed=0 ";
  const double theta = plain.at(key).final_metrics.at("parameter_trace.generator.theta");
  CHECK(ema.at(key).final_metrics.at("parameter_trace.generator.theta") != theta);
  CHECK(unrolled.at(key).final_metrics.at("parameter_trace.generator.theta") != theta);
  CHECK(std::isfinite(unrolled.at(key).final_metrics.at("parameter_trace.generator.theta")));
  // training is the same; the average of the trajectory θ₀ … θ₂₀ is ema ← 0.9·ema + 0.1·θ_t
  std::vector<double> path =
      read_cell_dataset(plain.at(key).path, "metrics/parameter_trace/generator.theta");
  REQUIRE(path.size() == 21);
  double expected = path[0];
  for (size_t t = 1; t < path.size(); ++t) expected = 0.9 * expected + 0.1 * path[t];
  CHECK(ema.at(key).final_metrics.at("parameter_trace.generator.theta") ==
        Approx(expected).epsilon(1e-5));
}

TEST_CASE("Dirac-GAN: R1 converges to (0, 0), unregularised GAN and WGAN do not",
          "[schedules][dirac]") {
  Run run;
  auto cells = run(kSource + "/experiments/dirac_gan.yaml");
  REQUIRE(cells.size() == 21);
  for (const auto& [key, cell] : cells) {
    INFO(key);
    const double norm = cell.final_metrics.at("parameter_trace.norm");
    if (key.find("R1") != std::string::npos) CHECK(norm < 1e-5);
    if (key.find("method=GAN ") != std::string::npos || key.find("WGAN") != std::string::npos)
      CHECK(norm > 0.5);
  }
  CHECK(fs::exists(run.dir / "dirac_gan" / "report" / "phase_plane_simultaneous.svg"));
}

TEST_CASE("a list of Lipschitz methods combines their hooks", "[schedules][lipschitz]") {
  // WGAN with clipping (c = 0.5) and R1 together on the Dirac-GAN: both hooks act
  const std::string file = kSource + "/tests/data/dirac_alternating.yaml";
  Run a, b;
  auto both = a(file,
                "--set objective=wasserstein --set train.steps=30 "
                "--set 'lipschitz=[{plugin: weight_clipping, c: 0.5}, {plugin: r1, gamma: 1.0}]'");
  auto clip_only = b(file,
                     "--set objective=wasserstein --set train.steps=30 --set 'lipschitz={plugin: "
                     "weight_clipping, c: 0.5}'");
  const std::string key = "seed=0 ";
  const double psi = both.at(key).final_metrics.at("parameter_trace.critic.psi");
  CHECK(std::abs(psi) <= 0.5);                                                     // clipped
  CHECK(psi != clip_only.at(key).final_metrics.at("parameter_trace.critic.psi"));  // and penalised
  CHECK_THAT(both.at(key).config_yaml,
             Catch::Contains("plugin: r1") && Catch::Contains("plugin: weight_clipping"));
}
