// Caps on hostile input, end to end through `kant run`: alias bombs, deep nesting, long
// strings, huge grids and seed lists, 64-bit integers, experiment names. Each is one line
// "file:line:column: error: …" naming the limit and how to raise it, exit 2, nothing written.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant::testing;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

const char* kValidBase = R"(name: limits
base:
  dataset:   {plugin: eight_gaussians}
  generator: {plugin: mlp, hidden: [8]}
  critic:    {plugin: mlp, hidden: [8]}
  objective: wasserstein
  optimizer: {plugin: adam}
  train:     {steps: 2, batch_size: 8, samples: 10}
)";

struct Outcome {
  CommandResult result;
  double seconds;
};

// `env kant run FILE --results DIR args`, timed; checks exit 2, one line, the needles, nothing
// written.
Outcome expect_rejected(const std::string& text, const std::vector<std::string>& needles,
                        const std::string& args = "", const std::string& env = "") {
  const fs::path dir = temp_dir("kant-limits");
  const fs::path file = dir / "exp.yaml";
  std::ofstream(file) << text;
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = run_command(env + " " + kant_exe() + " run " + file.string() + " --results " +
                                (dir / "results").string() + " " + args);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.output);
  CHECK(r.exit_code == 2);
  for (const std::string& n : needles) CHECK_THAT(r.output, Catch::Contains(n));
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(dir / "results"));
  return {r, seconds};
}

CommandResult validate(const std::string& text, const std::string& args = "",
                       const std::string& env = "") {
  const fs::path file = temp_dir("kant-limits") / "exp.yaml";
  std::ofstream(file) << text;
  return run_command(env + " " + kant_exe() + " validate " + file.string() + " " + args);
}

// Seconds `kant run` takes to reject a file at once (start-up and plugin loading: much more
// under the sanitizers), measured just before each timed case: the time limits are on top of
// it and generous, and scale with it on a loaded machine (the sanitized build takes ~0.3 s for
// the 100,000 nodes an alias bomb gets; expanding the bomb would take hours).
double startup_seconds() {
  const fs::path file = temp_dir("kant-limits") / "exp.yaml";
  std::ofstream(file) << "name: ../x\n";
  const auto start = std::chrono::steady_clock::now();
  run_command(kant_exe() + " run " + file.string());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
constexpr double kMargin = 0.6;  // seconds of work allowed for a rejection, beyond start-up
double allowed(double startup) { return 2 * startup + kMargin; }

// Nine levels of nine aliases each under `description`: 9^10 ≈ 3.5 billion strings from
// under 600 bytes.
std::string alias_bomb() {
  std::string y = std::string(kValidBase) +
                  "description:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    y += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) y += (k ? ", *a" : "*a") + std::to_string(i - 1);
    y += "]\n";
  }
  return y;
}

}  // namespace

TEST_CASE("an alias bomb is rejected in well under a second, naming the limit", "[limits]") {
  const std::string bomb = alias_bomb();
  CHECK(bomb.size() < 1000);
  const double startup = startup_seconds();
  Outcome o = expect_rejected(
      bomb, {"exp.yaml:", ": error: too many YAML nodes after alias expansion: more than 100000",
             "KANT_MAX_YAML_NODES=N"});
  CHECK(o.seconds < allowed(startup));
  // aliases as such are fine; the limit is the user's to change
  const std::string small =
      std::string(kValidBase) + "description: {a: &a [1, 2, 3], b: [*a, *a, *a]}\n";
  CHECK(validate(small).exit_code == 0);
  expect_rejected(small, {"exp.yaml:", "more than 20 (raise the limit with KANT_MAX_YAML_NODES=N)"},
                  "", "KANT_MAX_YAML_NODES=20");
  expect_rejected(small, {"KANT_MAX_YAML_NODES must be a positive integer", "got 'lots'"}, "",
                  "KANT_MAX_YAML_NODES=lots");
}

TEST_CASE("nesting depth, string length and file size are capped", "[limits]") {
  const std::string base = kValidBase;
  expect_rejected(
      base + "description: " + std::string(100, '[') + std::string(100, ']') + "\n",
      {"exp.yaml:9:", "too many levels of YAML nesting: more than 64", "KANT_MAX_YAML_DEPTH=N"});
  // deeper than yaml-cpp's own guard: the same message
  const double startup = startup_seconds();
  Outcome deeper = expect_rejected(
      base + "description: " + std::string(100000, '[') + std::string(100000, ']') + "\n",
      {"exp.yaml:9:", "too many levels of YAML nesting", "KANT_MAX_YAML_DEPTH=N"});
  CHECK(deeper.seconds < allowed(startup));
  expect_rejected(
      base + "description: " + std::string(70000, 'x') + "\n",
      {"exp.yaml:9:14: error: too many bytes in one YAML string: 70000, the limit is 65536",
       "KANT_MAX_STRING_BYTES=N"});
  expect_rejected(base + "? " + std::string(70000, 'k') + "\n: 1\n",
                  {"exp.yaml:9:3: error: too many bytes in one YAML string"});
  expect_rejected(
      base,
      {"exp.yaml: error: too many bytes of YAML:", "the limit is 100", "KANT_MAX_YAML_BYTES=N"}, "",
      "KANT_MAX_YAML_BYTES=100");
  // a dotted key is as deep as its parts
  std::string dotted = "a";
  for (int i = 0; i < 100; ++i) dotted += ".a";
  expect_rejected(base, {"--set " + dotted.substr(0, 20), "KANT_MAX_YAML_DEPTH=N"},
                  "--set " + dotted + "=1");
}

TEST_CASE("a huge grid is rejected before it is expanded", "[limits]") {
  std::string grid = std::string(kValidBase) + "grid:\n";
  for (const char* key :
       {"train.steps", "train.batch_size", "train.n_critic", "train.log_every", "train.samples"}) {
    grid += std::string("  ") + key + ": [";
    for (int i = 1; i <= 1000; ++i) grid += (i > 1 ? ", " : "") + std::to_string(i);
    grid += "]\n";
  }
  // 1000^5 × 2 seeds = 2·10^15 cells
  const double startup = startup_seconds();
  Outcome o = expect_rejected(
      grid + "seeds: [0, 1]\n",
      {"exp.yaml:9:1: error: too many cells (grid points × seeds): 1000 × 1000 × 1000 × 1000 × "
       "1000 × 2 seeds = 2000000000000000, the limit is 10000 (raise it with KANT_MAX_CELLS=N)"});
  CHECK(o.seconds < allowed(startup));
  // beyond 2^64 the product is never wrapped
  std::string wider = std::string(kValidBase) + "grid:\n";
  for (int a = 0; a < 8; ++a) {
    wider += "  v" + std::to_string(a) + ": {";
    for (int i = 0; i < 300; ++i)
      wider += (i ? ", " : "") + std::string("x") + std::to_string(i) + ": {}";
    wider += "}\n";
  }
  expect_rejected(wider, {"= more than 2^64, the limit is 10000"});
  // the tiny grid has 4 cells: a limit of 3 stops it, an environment variable raises it back
  const std::string tiny = kData + "tiny.yaml";
  CommandResult r = run_command("KANT_MAX_CELLS=3 " + kant_exe() + " validate " + tiny);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("tiny.yaml:11:1:") &&
                           Catch::Contains("2 × 2 seeds = 4, the limit is 3"));
  CHECK(run_command("KANT_MAX_CELLS=4 " + kant_exe() + " validate " + tiny).exit_code == 0);
  // seeds, and config nodes over all cells (a large base times a large grid)
  r = run_command("KANT_MAX_SEEDS=2 " + kant_exe() + " validate " + tiny +
                  " --set 'seeds=[0, 1, 2]'");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output,
             Catch::Contains("too many seeds: 3, the limit is 2 (raise it with KANT_MAX_SEEDS=N)"));
  r = run_command("KANT_MAX_GRID_NODES=100 " + kant_exe() + " validate " + tiny);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output,
             Catch::Contains("too many config nodes over the grid's cells: 4 cells × up to") &&
                 Catch::Contains("KANT_MAX_GRID_NODES=N"));
}

TEST_CASE("integers are exact 64-bit values, never wrapped or rounded through a double",
          "[limits]") {
  const std::string base = kValidBase;
  CommandResult r =
      validate(base + "  metrics: [{plugin: mode_coverage, every: 9223372036854775807}]\n");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  expect_rejected(base + "  metrics: [{plugin: mode_coverage, every: 9223372036854775808}]\n",
                  {"exp.yaml:9:44: error: parameter 'every' of 'metrics[]' must be an int in "
                   "[-9223372036854775808, "
                   "9223372036854775807]"});
  expect_rejected(base + "seeds: [18446744073709551617]\n",
                  {"exp.yaml:9:9", "a seed must be an int in"});
  expect_rejected(base + "seeds: [-1]\n", {"exp.yaml:9:9", "a seed must be ≥ 0, got -1"});
  expect_rejected(base, {"must be an int in", "got '1e19'"}, "--set train.log_every=1e19");
  expect_rejected(base, {"must be an int, got '2.5'"}, "--set train.log_every=2.5");
  CHECK(validate(base, "--set train.log_every=1e5").exit_code == 0);
  // and floats must be doubles: no silent Inf or 0
  expect_rejected(
      base, {"parameter 'lr' of optimizer 'adam' must be a float a double can hold", "got '1e400'"},
      "--set optimizer.lr=1e400");
}

TEST_CASE("experiment names fit a file name with the store's suffixes and are safe characters",
          "[limits]") {
  std::string base = kValidBase;
  const std::string longest(175, 'n');
  CHECK(validate(base, "--set name=" + longest).exit_code == 0);
  expect_rejected(
      base, {"error: name is 176 bytes long, at most 175 are allowed", "255 bytes per file name"},
      "--set name=" + longest + "n");
  for (const char* bad : {"a/b", "..", ".hidden", "with\\ space", "caf\xc3\xa9", "x\\$y"})
    expect_rejected(base, {"must use only letters, digits"}, std::string("--set name=") + bad);
}

TEST_CASE(
    "control characters from the user's text are shown escaped: one line, no raw escape sequence",
    "[limits]") {
  std::string text = kValidBase;
  const std::string plugin = "{plugin: eight_gaussians}";
  // a carriage return and a terminal's clear-screen sequence inside a plugin name
  text.replace(text.find(plugin), plugin.size(), "{plugin: \"eight_gauss\\r\\x1b[2Jians\"}");
  const Outcome o = expect_rejected(text, {"unknown dataset plugin 'eight_gauss\\r\\x1b[2Jians'"});
  CHECK(o.result.output.find('\r') == std::string::npos);
  CHECK(o.result.output.find('\x1b') == std::string::npos);
}
