// The metric stage end to end through `kant`: each shipped metric's rules reject a cell at
// validate time (file:line:column, the metric, the rule, the value), a metric that fails
// mid-training fails alone, complete cells store their networks, and `kant evaluate` adds
// metrics to finished cells bit-identically to training with them, whole or not at all.
#include <fmt/format.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "core/sha256.hpp"
#include "store/cell_file.hpp"
#include "store/h5.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant::testing;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";
// the test plugins (faulty, crash) on the plugin path
const std::string kWithTestPlugins =
    "KANT_PLUGIN_PATH=" + std::string(KANT_TEST_CRASH_PLUGIN_DIR) + " ";

struct Scratch {
  fs::path dir = temp_dir("kant-metric-stage");
  ~Scratch() { fs::remove_all(dir); }
  fs::path results() const { return dir / "results"; }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

// "exp.yaml:L:C" of the first occurrence of `needle` in `text` (1-based, as the messages)
std::string position(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  const size_t line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
  const size_t line_start =
      text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  return fmt::format("exp.yaml:{}:{}", line, at - line_start + 1);
}

const std::string kPoints = R"(name: rules
base:
  dataset:   {plugin: eight_gaussians}
  generator: {plugin: mlp, hidden: [8], noise_dim: 2}
  critic:    {plugin: mlp, hidden: [8]}
  objective: wasserstein
  optimizer: {plugin: adam}
  train:     {steps: 2, batch_size: 8}
)";
const std::string kVae = R"(name: rules
base:
  dataset:   {plugin: eight_gaussians}
  procedure: {plugin: vae, observation_std: 0.1}
  generator: {plugin: mlp, hidden: [8], noise_dim: 2}
  encoder:   {plugin: mlp, hidden: [8]}
  optimizer: {plugin: adam}
  train:     {steps: 2, batch_size: 8}
)";
const std::string kLine = R"(name: rules
base:
  dataset:   {plugin: gaussian_mixture_1d}
  generator: {plugin: mlp, hidden: [], output_activation: none, noise_dim: 1}
  critic:    {plugin: mlp, hidden: [8], activation: tanh}
  objective: {plugin: f_gan, divergence: kl}
  optimizer: {plugin: sgd, lr: 0.01}
  procedure: {plugin: gan, updates: simultaneous}
  train:     {steps: 2, batch_size: 8}
)";

// `base` with its line `  key: …` replaced by `  key: value`
std::string with(const std::string& base, const std::string& key, const std::string& value) {
  const std::string start = "\n  " + key + ":";
  const size_t at = base.find(start);
  REQUIRE(at != std::string::npos);
  const size_t end = base.find('\n', at + 1);
  return base.substr(0, at) + start + " " + value + base.substr(end);
}

// `base` with `metrics: [block]`: kant validate and kant run reject it with one line naming
// the block's position, the metric, and each of `needles`; nothing is written.
void expect_rule_broken(const std::string& base, const std::string& block,
                        const std::vector<std::string>& needles) {
  Scratch s;
  const std::string text = base + "  metrics:   [" + block + "]\n";
  const std::string file = s.write("exp.yaml", text);
  INFO(text);
  for (const std::string& command :
       {" validate " + file, " run " + file + " --results " + s.results().string()}) {
    CommandResult r = run_command(kWithTestPlugins + kant_exe() + command);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(position(text, block) + ": error: metric '"));
    CHECK_THAT(r.output, Catch::Contains("does not apply to cell"));
    for (const std::string& n : needles) CHECK_THAT(r.output, Catch::Contains(n));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
  CHECK_FALSE(fs::exists(s.results()));
}

// `base` with `metrics: [block]` is valid.
void expect_applies(const std::string& base, const std::string& block) {
  Scratch s;
  const std::string text = base + "  metrics:   [" + block + "]\n";
  CommandResult r = run_command(kant_exe() + " validate " + s.write("exp.yaml", text));
  INFO(text);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("1 cells, all valid"));
}

// cell files of a folder by their labels ("method=GP seed=0")
std::map<std::string, fs::path> cells_by_label(const fs::path& experiment) {
  std::map<std::string, fs::path> out;
  for (const auto& e : fs::directory_iterator(experiment / "cells"))
    if (e.path().extension() == ".h5") {
      const kant::CellSummary s = kant::read_cell_summary(e.path());
      std::string label;
      for (const auto& [k, v] : s.labels) label += k + "=" + v + " ";
      out[label] = e.path();
    }
  return out;
}

// the same names and the same values bit for bit (NaN included: mode_coverage.reverse_kl may be
// NaN)
bool same_bits(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j)
    if (i->first != j->first || std::memcmp(&i->second, &j->second, sizeof(double)) != 0)
      return false;
  return true;
}

std::map<fs::path, std::string> digests(const fs::path& experiment) {
  std::map<fs::path, std::string> out;
  for (const auto& e : fs::directory_iterator(experiment / "cells"))
    if (e.path().extension() == ".h5") out[e.path()] = kant::sha256_file(e.path());
  return out;
}

}  // namespace

TEST_CASE(
    "each shipped metric's rules reject a cell at validate, naming the metric, the rule and the "
    "value",
    "[metric_stage][rules]") {
  // parameter_trace: 2→8→2 generator (42) and 2→8→1 critic (33)
  expect_rule_broken(kPoints, "{plugin: parameter_trace}",
                     {"'parameter_trace'", "at most max_values parameters",
                      "they have 75 (generator 42, critic 33) and max_values is 64"});
  expect_applies(kPoints, "{plugin: parameter_trace, max_values: 75}");
  // f_divergence_1d: 1-D data, a closed-form density, normal noise, an affine generator, known
  // divergences
  expect_rule_broken(kPoints, "{plugin: f_divergence_1d}",
                     {"'f_divergence_1d'", "1-D data (samples of shape [1])",
                      "the data set's samples have shape [2]"});
  expect_rule_broken(
      with(kLine, "generator", "{plugin: mlp, hidden: [4], noise_dim: 1}"),
      "{plugin: f_divergence_1d}",
      {"an affine generator G(z) = μ + w·z", "the initialised generator gives G(z) ="});
  expect_rule_broken(
      with(kLine, "generator",
           "{plugin: mlp, hidden: [], output_activation: none, noise_dim: 1, noise: uniform}"),
      "{plugin: f_divergence_1d}", {"Gaussian generator noise", "generator.noise is uniform"});
  expect_rule_broken(kLine, "{plugin: f_divergence_1d, variational: \"kl, chi\"}",
                     {"`variational` lists f-GAN divergences", "unknown divergence 'chi'"});
  expect_applies(kLine, "{plugin: f_divergence_1d, variational: \"kl, pearson\"}");
  // critic_surface: a critic, 2-D data, a sound range
  expect_rule_broken(kVae, "{plugin: critic_surface}",
                     {"'critic_surface'", "the cell's procedure trains no critic"});
  expect_rule_broken(kLine, "{plugin: critic_surface}",
                     {"2-D data", "the data set's samples have shape [1]"});
  expect_rule_broken(kPoints, "{plugin: critic_surface, range: [1, 0, 0, 1]}",
                     {"range is [1, 0, 0, 1]"});
  expect_applies(kPoints, "{plugin: critic_surface, range: [0, 1, 0, 1]}");
  // mode_coverage: known modes
  expect_rule_broken(
      with(kPoints, "dataset", "{plugin: swiss_roll}"), "{plugin: mode_coverage}",
      {"'mode_coverage'", "a data set with known modes", "the data set declares no modes"});
  expect_applies(kPoints, "{plugin: mode_coverage}");
  // classifier_scores and code_classes: labels, a categorical code
  expect_rule_broken(kPoints, "{plugin: classifier_scores}",
                     {"'classifier_scores'", "a labelled data set", "the data set has no labels"});
  expect_rule_broken(kPoints, "{plugin: code_classes}",
                     {"'code_classes'", "a categorical latent code",
                      "the cell's procedure has no categorical code"});
  // generator_gradient, lipschitz_bounds, gradient_norms: a critic; gradient_norms' layers
  for (const char* m : {"generator_gradient", "lipschitz_bounds", "gradient_norms"})
    expect_rule_broken(kVae, fmt::format("{{plugin: {}}}", m),
                       {fmt::format("'{}'", m), "trains no critic"});
  expect_rule_broken(with(kPoints, "critic", "{plugin: mlp, hidden: [8, 8]}"),
                     "{plugin: gradient_norms, layers: \"hidden1, hidden9\"}",
                     {"each of `layers` a hidden block the critic records",
                      "the critic records no block 'hidden9' (it records: hidden1, hidden2)"});
  expect_applies(with(kPoints, "critic", "{plugin: mlp, hidden: [8, 8]}"),
                 "{plugin: gradient_norms, layers: \"hidden2\"}");
  // wasserstein_exact: the solver's sample limit
  expect_rule_broken(kPoints, "{plugin: wasserstein_exact, samples: 2001}",
                     {"'wasserstein_exact'", "at most 2,000 samples per side", "samples is 2,001"});
  expect_applies(kPoints, "{plugin: wasserstein_exact, samples: 2000}");
  // a named metric is named with its plugin
  expect_rule_broken(kPoints, "{plugin: wasserstein_exact, samples: 5000, name: w1_big}",
                     {"metric 'w1_big' (wasserstein_exact)"});

  // kant plugins prints the rules
  CommandResult r = run_command(kant_exe() + " plugins metric parameter_trace");
  CHECK_THAT(
      r.output,
      Catch::Contains("applies to cells with (checked by kant validate):") &&
          Catch::Contains("- at most max_values parameters in the generator and critic together"));
  r = run_command(kant_exe() + " plugins metric lipschitz_bounds");
  CHECK_THAT(r.output, Catch::Contains("- a critic") && Catch::Contains("upper is NaN when"));
  r = run_command(kant_exe() + " plugins metric mmd");
  CHECK_THAT(r.output, Catch::Contains("applies to: every cell"));
}

TEST_CASE(
    "a metric that fails at step 1,000 leaves a complete cell, its error recorded, the rest intact",
    "[metric_stage][e2e]") {
  const std::string base = R"(name: faulty
base:
  dataset:   {plugin: eight_gaussians}
  generator: {plugin: mlp, hidden: [8], noise_dim: 2}
  critic:    {plugin: mlp, hidden: [8]}
  objective: wasserstein
  lipschitz: {plugin: weight_clipping, c: 0.01}
  optimizer: {plugin: rmsprop, lr: 5.0e-5}
  train:     {steps: 1200, batch_size: 16, n_critic: 1, samples: 50}
seeds: [0]
)";
  const std::string healthy =
      "[{plugin: mode_coverage, every: 100, samples: 100}, {plugin: critic_surface, resolution: "
      "8}]";
  const std::string faulty =
      "[{plugin: mode_coverage, every: 100, samples: 100}, {plugin: faulty, every: 100, fail_at: "
      "1000}, "
      "{plugin: faulty, name: faulty_nan, how: nan, every: 100, fail_at: 500}, "
      "{plugin: critic_surface, resolution: 8}]";
  Scratch a, b;
  const std::string file = a.write("exp.yaml", base);
  CommandResult clean = run_command(kant_exe() + " run " + file + " --threads 1 --results " +
                                    a.results().string() + " --set 'metrics=" + healthy + "'");
  REQUIRE(clean.exit_code == 0);
  CommandResult r =
      run_command(kWithTestPlugins + kant_exe() + " run " + file + " --threads 1 --results " +
                  b.results().string() + " --set 'metrics=" + faulty + "'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("1 complete, 0 diverged, 0 failed"));
  CHECK_THAT(r.output,
             Catch::Contains("metric faulty failed at step 1000 (training goes on): faulty: forced "
                             "failure at step 1000"));
  CHECK_THAT(
      r.output,
      Catch::Contains("metric faulty_nan failed at step 500 (training goes on): faulty returned "
                      "value = nan at step 500 (a non-finite value)"));

  const fs::path cell = only_cell(b.results() / "faulty");
  kant::h5::File f = kant::h5::File::open(cell);
  kant::h5::Group root = f.root();
  CHECK(root.attr_string("status") == "complete");
  kant::h5::Group m = root.open_group("metrics/faulty");
  CHECK(m.attr_string("status") == "failed");
  CHECK(m.attr_int("failed_step") == 1000);
  CHECK(m.attr_string("error") == "faulty: forced failure at step 1000");
  CHECK(root.open_group("metrics/faulty_nan").attr_int("failed_step") == 500);
  // its values up to the failure are kept; then none
  CHECK(m.read_int64("step") ==
        std::vector<int64_t>{0, 100, 200, 300, 400, 500, 600, 700, 800, 900});
  CHECK(m.read("value") == std::vector<double>{0, 100, 200, 300, 400, 500, 600, 700, 800, 900});
  CHECK(root.open_group("metrics/faulty_nan").read_int64("step").size() == 5);
  CHECK(root.open_group("metrics/mode_coverage").attr_string("status") == "ok");
  const kant::CellSummary s = kant::read_cell_summary(cell);
  for (const auto& [k, v] : s.final_metrics) CHECK(k.rfind("faulty", 0) != 0);  // never a number
  CHECK(s.final_metrics.count("mode_coverage.modes") == 1);

  // training and the other metrics are those of the run without the faulty metrics, bit for bit
  const fs::path reference = only_cell(a.results() / "faulty");
  for (const char* path :
       {"series/loss_critic", "series/loss_generator", "metrics/mode_coverage/modes",
        "metrics/mode_coverage/high_quality", "arrays/critic_surface/values"})
    CHECK(kant::read_cell_dataset(cell, path) == kant::read_cell_dataset(reference, path));
  CHECK(same_bits(s.final_metrics, kant::read_cell_summary(reference).final_metrics));

  // kant show and kant report say it failed and why, never a number
  CommandResult show = run_command(kant_exe() + " show " + cell.string());
  CHECK_THAT(
      show.output,
      Catch::Contains("faulty (faulty, every 100 steps): FAILED at step 1000: faulty: forced "
                      "failure at step 1000"));
  CHECK_THAT(show.output, Catch::Contains("mode_coverage (mode_coverage, every 100 steps): ok"));
  CHECK_THAT(show.output, Catch::Contains("networks: stored"));
  CommandResult rep = run_command(kant_exe() + " report " + (b.results() / "faulty").string());
  INFO(rep.output);
  CHECK(rep.exit_code == 0);
  CHECK_THAT(rep.output, Catch::Contains("| faulty     | faulty_nan |"));
  CHECK_THAT(rep.output, Catch::Contains("| failed [1] | failed [2] |"));
  CHECK_THAT(rep.output, Catch::Contains("Metrics that failed:"));
  CHECK_THAT(
      rep.output,
      Catch::Contains("faulty failed in seed=0 (step 1000): faulty: forced failure at step 1000"));
  const std::string html = read_text(b.results() / "faulty" / "report" / "index.html");
  CHECK_THAT(html, Catch::Contains("metric faulty failed at step 1000"));

  // a report block that names other values still lists the failure and its reason
  Scratch d;
  r = run_command(kWithTestPlugins + kant_exe() + " run " + kData + "tiny.yaml --quiet --results " +
                  d.results().string() +
                  " --set 'metrics=[{plugin: mode_coverage, every: 10}, {plugin: faulty, every: 5, "
                  "fail_at: 10}]'");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains(
                           "Metrics that failed:\n[1] faulty failed in method=GP seed=0 (step 10), "
                           "method=GP seed=1 (step 10), method=clip seed=0 (step 10), method=clip "
                           "seed=1 (step 10): faulty: forced failure at step 10"));

  // train.metric_errors: fail keeps the old behaviour: the cell fails with the metric's error
  Scratch c;
  r = run_command(kWithTestPlugins + kant_exe() + " run " + file + " --threads 1 --results " +
                  c.results().string() + " --set 'metrics=" + faulty +
                  "' --set train.metric_errors=fail");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("0 complete, 0 diverged, 1 failed"));
  const fs::path failed = only_cell(c.results() / "faulty");
  CHECK(kant::read_cell_summary(failed).status == kant::CellStatus::failed);
  CHECK_THAT(kant::read_cell_summary(failed).detail,
             Catch::Contains("forced failure at step 1000"));
  // the setting is not part of the cell's identity
  CHECK(failed.filename() == cell.filename());
}

TEST_CASE("kant evaluate adds metrics to a finished grid, bit-identical to training with them",
          "[metric_stage][evaluate][e2e]") {
  Scratch a, b;
  const std::string run =
      kant_exe() + " run " + kData + "tiny.yaml --threads 1 --jobs 2 --quiet --results ";
  REQUIRE(run_command(run + a.results().string()).exit_code == 0);
  const fs::path dir = a.results() / "tiny";
  const std::string evaluate = kant_exe() + " evaluate " + dir.string() + " --jobs 2 ";
  const std::string w1 = "--metric '{plugin: wasserstein_exact, samples: 300}' ";
  const std::string surface = "--metric '{plugin: critic_surface, resolution: 12}' ";
  CommandResult r = run_command(evaluate + w1 + surface);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("4 cells, 4 with metrics to compute, 0 up to date"));
  CHECK_THAT(r.output,
             Catch::Contains("4 cells evaluated, 0 up to date, 0 not evaluable, 0 failed"));
  CHECK_THAT(r.output, Catch::Contains("wasserstein_exact.w1"));  // the table picks it up

  // the same grid trained with those metrics from the start
  REQUIRE(
      run_command(
          run + b.results().string() +
          " --set 'metrics=[{plugin: mode_coverage, every: 10, samples: 200}, "
          "{plugin: wasserstein_exact, samples: 300}, {plugin: critic_surface, resolution: 12}]'")
          .exit_code == 0);
  const auto evaluated = cells_by_label(dir), trained = cells_by_label(b.results() / "tiny");
  REQUIRE(evaluated.size() == 4);
  REQUIRE(trained.size() == 4);
  for (const auto& [label, file] : evaluated) {
    INFO(label);
    const fs::path other = trained.at(label);
    const kant::CellSummary e = kant::read_cell_summary(file), t = kant::read_cell_summary(other);
    CHECK(e.final_metrics.count("wasserstein_exact.w1") == 1);
    CHECK(same_bits(e.final_metrics,
                    t.final_metrics));  // every value, the added ones included, bit for bit
    for (const char* path : {"arrays/critic_surface/values", "arrays/critic_surface/x",
                             "metrics/wasserstein_exact/w1"})
      CHECK(kant::read_cell_dataset(file, path) == kant::read_cell_dataset(other, path));
    CHECK(e.metrics.at("wasserstein_exact").source == "evaluate");
    CHECK(t.metrics.at("wasserstein_exact").source == "training");
  }

  // a second time: nothing to do, no file touched
  const auto before = digests(dir);
  r = run_command(evaluate + w1);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("0 cells evaluated, 4 up to date"));
  CHECK(digests(dir) == before);
  // the same name with other parameters: one error, exit 2, nothing written
  r = run_command(evaluate + "--metric '{plugin: wasserstein_exact, samples: 100}'");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(
                           "--metric {plugin: wasserstein_exact, samples: 100}:1:1: error: cell "));
  CHECK_THAT(r.output,
             Catch::Contains("already stores a metric 'wasserstein_exact' with other parameters"));
  CHECK_THAT(r.output, Catch::Contains("name: wasserstein_exact_2"));
  CHECK(digests(dir) == before);
  // a metric that cannot apply: file:line:column of --from, nothing written
  const std::string from = a.write("more.yaml", "metrics:\n  - {plugin: f_divergence_1d}\n");
  r = run_command(evaluate + "--from " + from);
  CHECK(r.exit_code == 2);
  CHECK_THAT(
      r.output,
      Catch::Contains("more.yaml:2:5: error: metric 'f_divergence_1d' does not apply to cell"));
  CHECK(digests(dir) == before);
  // under a name of its own, beside the first
  r = run_command(evaluate +
                  "--metric '{plugin: wasserstein_exact, samples: 100, name: w1_100}' --quiet");
  CHECK(r.exit_code == 0);
  for (const auto& [label, file] : cells_by_label(dir)) {
    const kant::CellSummary s = kant::read_cell_summary(file);
    CHECK(s.final_metrics.count("w1_100.w1") == 1);
    CHECK(s.final_metrics.at("wasserstein_exact.w1") ==
          kant::read_cell_summary(trained.at(label)).final_metrics.at("wasserstein_exact.w1"));
  }
  // the files are whole, readable without kant, and the report shows the new values
  CHECK(run_command(kant_exe() + " verify " + dir.string()).exit_code == 0);
  CommandResult py = run_command("/usr/bin/python3 " + std::string(KANT_TEST_SOURCE_DIR) +
                                 "/tests/read_cells.py " + dir.string());
  CHECK(py.exit_code == 0);
  CHECK_THAT(py.output, Catch::Contains("\"w1_100.w1\""));
  CommandResult rep = run_command(kant_exe() + " report " + dir.string());
  CHECK_THAT(rep.output, Catch::Contains("w1_100.w1") && Catch::Contains("wasserstein_exact.w1"));
  CommandResult show = run_command(kant_exe() + " show " + evaluated.begin()->second.string());
  CHECK_THAT(show.output, Catch::Contains("w1_100 (wasserstein_exact, by kant evaluate 20"));
}

TEST_CASE("a kant evaluate killed mid-way leaves every file whole, and the next one finishes",
          "[metric_stage][evaluate][e2e]") {
  Scratch a;
  REQUIRE(run_command(kant_exe() + " run " + kData +
                      "tiny.yaml --threads 1 --jobs 2 --quiet --results " + a.results().string())
              .exit_code == 0);
  const fs::path dir = a.results() / "tiny";
  const auto original = digests(dir);
  // each evaluation takes 0.4 s: kills land while metrics compute, while files are written, between
  // cells
  const std::string evaluate = kWithTestPlugins + kant_exe() + " evaluate " + dir.string() +
                               " --jobs 2 --quiet --metric '{plugin: faulty, sleep_ms: 400}'";
  std::map<fs::path, std::string> last = original;
  int kills = 0, evaluated_when_killed = 0;
  for (int delay_ms : {150, 450, 700, 950}) {
    const int pid = spawn_command(evaluate, a.dir / "evaluate.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(-pid, SIGKILL);  // the evaluator and its children at once
    wait_command(pid);
    ++kills;
    // every cell file is its old self or a whole new one holding the metric
    CHECK(run_command(kant_exe() + " verify " + dir.string()).exit_code == 0);
    const auto now = digests(dir);
    REQUIRE(now.size() == original.size());
    for (const auto& [file, digest] : now) {
      INFO(file);
      if (digest == original.at(file)) continue;
      ++evaluated_when_killed;
      const kant::CellSummary s = kant::read_cell_summary(file);
      CHECK(s.status == kant::CellStatus::complete);
      CHECK(s.final_metrics.at("faulty.value") == 20);
      CHECK(s.has_networks);
    }
    last = now;
  }
  CHECK(kills == 4);
  WARN(
      "cells found evaluated after the kills (summed over the 4 kills): " << evaluated_when_killed);
  // SIGTERM: the evaluator stops its children and says so
  const int pid =
      spawn_command(kWithTestPlugins + "exec " + kant_exe() + " evaluate " + dir.string() +
                        " --jobs 2 --quiet --metric '{plugin: faulty, sleep_ms: 400}'",
                    a.dir / "term.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::kill(pid, SIGTERM);
  const int code = wait_command(pid);
  CHECK((code == 128 + SIGTERM || code == 0));  // 0: it had finished already
  CHECK(run_command(kant_exe() + " verify " + dir.string()).exit_code == 0);
  // the next run completes the rest; no temporary is left anywhere
  CommandResult r = run_command(evaluate);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  for (const auto& [label, file] : cells_by_label(dir))
    CHECK(kant::read_cell_summary(file).final_metrics.at("faulty.value") == 20);
  CHECK(files_matching(dir, ".tmp.").empty());
  CHECK(files_matching(dir, ".claim").empty());
}

TEST_CASE("complete cells store their networks, and train.store_networks: false leaves them out",
          "[metric_stage][storage][e2e]") {
  Scratch a, b;
  const std::string run =
      kant_exe() + " run " + kData + "tiny.yaml --threads 1 --quiet --set seeds=[0] --results ";
  REQUIRE(run_command(run + a.results().string()).exit_code == 0);
  REQUIRE(run_command(run + b.results().string() + " --set train.store_networks=false").exit_code ==
          0);
  const auto with = cells_by_label(a.results() / "tiny"),
             without = cells_by_label(b.results() / "tiny");
  REQUIRE(with.size() == 2);
  for (const auto& [label, file] : with) {
    INFO(label);
    CHECK(file.filename() == without.at(label).filename());  // not part of the cell's identity
    kant::h5::File f = kant::h5::File::open(file);
    kant::h5::Group nets = f.root().open_group("networks");
    CHECK(nets.children() == std::vector<std::string>{"critic", "generator"});
    // the stored generator is the trained one: its parameters as the checkpoint format names them
    CHECK_FALSE(nets.open_group("generator/parameters").children().empty());
    CHECK(f.root().open_group("final_state").attr_int("step") == 20);
    CHECK_FALSE(kant::read_cell_summary(without.at(label)).has_networks);
    // every value the cell stored is the same either way
    CHECK(same_bits(kant::read_cell_summary(file).final_metrics,
                    kant::read_cell_summary(without.at(label)).final_metrics));
    CHECK(kant::read_cell_dataset(file, "samples/generated") ==
          kant::read_cell_dataset(without.at(label), "samples/generated"));
  }
  CommandResult r = run_command(kant_exe() + " evaluate " + (b.results() / "tiny").string() +
                                " --metric '{plugin: wasserstein_exact, samples: 50}'");
  CHECK_THAT(r.output, Catch::Contains("stores no networks"));
  CHECK_THAT(r.output, Catch::Contains("0 cells evaluated, 0 up to date, 2 not evaluable"));
}

TEST_CASE("a metric failed before a checkpoint stays failed, at its step, when the cell resumes",
          "[metric_stage][resume][e2e]") {
  Scratch s;
  const std::string metrics =
      " --set 'metrics=[{plugin: mode_coverage, every: 100, samples: 500}, {plugin: faulty, every: "
      "10, fail_at: 50}]'";
  const std::string run = kant_exe() + " run " + kData +
                          "slow.yaml --quiet --jobs 1 --threads 1 --set seeds=[0]" + metrics +
                          " --results ";
  REQUIRE(run_command(kWithTestPlugins + run + (s.dir / "reference").string()).exit_code == 0);
  const fs::path results = s.dir / "r";
  const std::string cmd = run + results.string() + " --set train.checkpoint_every=100";
  const int pid = spawn_command(kWithTestPlugins + "exec " + cmd, s.dir / "log");
  // once the checkpoint of step 100 (or 200) is there, the cell's process is killed
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto checkpointed = [&] {
    for (const fs::path& f : files_matching(results, ".ckpt"))
      if (f.extension() == ".ckpt") return true;  // renamed into place, not its temporary
    return false;
  };
  while (!checkpointed() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(checkpointed());
  for (int child : processes_matching("_cell - " + results.string())) ::kill(child, SIGKILL);
  wait_command(pid);
  CommandResult last = run_command(kWithTestPlugins + cmd);
  INFO(last.output);
  REQUIRE(last.exit_code == 0);
  CHECK_THAT(last.output, Catch::Contains("resumed"));
  const fs::path a = only_cell(s.dir / "reference" / "slow"), b = only_cell(results / "slow");
  for (const fs::path& file : {a, b}) {
    kant::h5::File f = kant::h5::File::open(file);
    kant::h5::Group m = f.root().open_group("metrics/faulty");
    CHECK(m.attr_string("status") == "failed");
    CHECK(m.attr_int("failed_step") == 50);  // not evaluated again after the resume
    CHECK(m.read_int64("step") == std::vector<int64_t>{0, 10, 20, 30, 40});
  }
  CHECK(kant::h5::File::open(b).root().attr_int("resumes") == 1);
  for (const char* path :
       {"metrics/mode_coverage/modes", "series/loss_critic", "samples/generated"})
    CHECK(kant::read_cell_dataset(a, path) == kant::read_cell_dataset(b, path));
}

TEST_CASE("two kant evaluate on one folder compute each cell once and both exit 0",
          "[metric_stage][evaluate][e2e]") {
  Scratch a;
  REQUIRE(run_command(kant_exe() + " run " + kData +
                      "tiny.yaml --threads 1 --jobs 2 --quiet --results " + a.results().string())
              .exit_code == 0);
  const fs::path dir = a.results() / "tiny";
  const std::string evaluate = kWithTestPlugins + "exec " + kant_exe() + " evaluate " +
                               dir.string() +
                               " --jobs 2 --quiet --metric '{plugin: faulty, sleep_ms: 300}'";
  const int first = spawn_command(evaluate, a.dir / "first.log");
  const int second = spawn_command(evaluate, a.dir / "second.log");
  CHECK(wait_command(first) == 0);
  CHECK(wait_command(second) == 0);
  const std::string out = read_text(a.dir / "first.log") + read_text(a.dir / "second.log");
  INFO(out);
  // each cell once: the evaluated counts of the two runs add up to the 4 cells
  int evaluated = 0;
  for (const std::string& log : {read_text(a.dir / "first.log"), read_text(a.dir / "second.log")}) {
    const size_t at = log.find(" cells evaluated");
    const size_t one = log.find(" cell evaluated");
    const size_t end = at != std::string::npos ? at : one;
    REQUIRE(end != std::string::npos);
    const size_t start = log.rfind(' ', end - 1) + 1;
    evaluated += std::stoi(log.substr(start, end - start));
  }
  CHECK(evaluated == 4);
  CHECK(run_command(kant_exe() + " verify " + dir.string()).exit_code == 0);
  for (const auto& [label, file] : cells_by_label(dir))
    CHECK(kant::read_cell_summary(file).final_metrics.at("faulty.value") == 20);
}
