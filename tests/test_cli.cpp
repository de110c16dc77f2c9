// `kant` end to end: bad input (one message, exit 2, nothing written), a tiny grid run and
// rerun, divergence, crash isolation, zip axes, plugins listing, h5py readability.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "store/cell_file.hpp"
#include "store/h5.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant::testing;

namespace {

const std::string kData = std::string(KANT_TEST_SOURCE_DIR) + "/tests/data/";

struct Scratch {
  fs::path dir = temp_dir("kant-cli");
  ~Scratch() { fs::remove_all(dir); }
  fs::path results() const { return dir / "results"; }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

const char* kValidBase = R"(name: bad
base:
  dataset:   {plugin: eight_gaussians}
  generator: {plugin: mlp, hidden: [8]}
  critic:    {plugin: mlp, hidden: [8]}
  objective: wasserstein
  optimizer: {plugin: adam}
)";

// Runs `kant run` on `text` and checks: exit code 2, the message, and no results folder.
void expect_bad_input(const std::string& text, const std::vector<std::string>& needles,
                      const std::string& extra_args = "") {
  Scratch s;
  std::string file = s.write("exp.yaml", text);
  CommandResult r = run_command(kant_exe() + " run " + file + " --results " + s.results().string() +
                                " " + extra_args);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  for (const std::string& n : needles) CHECK_THAT(r.output, Catch::Contains(n));
  CHECK_FALSE(fs::exists(s.results()));
  // one message: a single line
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

}  // namespace

TEST_CASE("malformed YAML points at the line and column", "[cli][errors]") {
  expect_bad_input("name: bad\nbase: {dataset: [1, 2\n", {"exp.yaml:", "error:"});
  expect_bad_input("name: bad\nname: again\n", {"exp.yaml:2:1: error: duplicate key 'name'"});
}

TEST_CASE("unknown plugin, key and parameter come with a hint", "[cli][errors]") {
  std::string text = kValidBase;
  expect_bad_input(std::string(text).replace(text.find("wasserstein"), 11, "wasserstien"),
                   {"exp.yaml:6:14: error: unknown objective plugin 'wasserstien' (did you mean "
                    "'wasserstein'?)"});
  expect_bad_input(text + "  lipschitz: {plugin: gradient_penalty, lamda: 1}\n",
                   {"exp.yaml:8:41: error: unknown parameter 'lamda' for lipschitz "
                    "'gradient_penalty' (did you mean 'lambda'?)"});
  expect_bad_input(text + "  critc: {plugin: mlp}\n",
                   {"exp.yaml:8:3", "unknown config key 'critc' (did you mean 'critic'?)"});
  expect_bad_input(text + "seed: [0]\n",
                   {"exp.yaml:8:1", "unknown experiment key 'seed' (did you mean 'seeds'?)"});
  expect_bad_input(
      text,
      {"--set train.stepz=3", "unknown parameter 'stepz' for 'train' (did you mean 'steps'?)"},
      "--set train.stepz=3");
  // a report value no cell computes is caught before anything runs
  expect_bad_input(
      text + "  metrics: [{plugin: mode_coverage}]\nreport: {values: [mode_coverage.mode]}\n",
      {"exp.yaml:9:19: error: report value 'mode_coverage.mode' is not computed by any cell "
       "(did you mean 'mode_coverage.modes'?)"});
}

TEST_CASE("wrong types and values out of range", "[cli][errors]") {
  std::string text = kValidBase;
  expect_bad_input(text + "  train: {steps: many}\n",
                   {"exp.yaml:8:18", "'steps' of 'train' must be an int, got 'many'"});
  expect_bad_input(
      text + "  lipschitz: {plugin: gradient_penalty, lambda: -1}\n",
      {"exp.yaml:8:49", "parameter 'lambda' of lipschitz 'gradient_penalty' must be ≥ 0, got -1"});
  expect_bad_input(text + "  train: {n_critic: 0}\n", {"must be ≥ 1, got 0"});
  expect_bad_input(
      std::string(text).replace(text.find("hidden: [8]}\n  obj"), 12, "activation: relux}"),
      {"exp.yaml:5:40", "must be one of", "(did you mean 'relu'?)"});
  expect_bad_input(
      text + "  lipschitz: {plugin: gradient_penalty, lambda: 1}\ngrid:\n  lipschitz.lambda: 3\n",
      {"exp.yaml:10:3", "grid axis 'lipschitz.lambda' must be a list"});
  expect_bad_input(std::string(text).replace(0, 9, "name: ../x"),
                   {"exp.yaml:1:7", "must use only letters"});
}

TEST_CASE("a missing file and bad command lines", "[cli][errors]") {
  CommandResult r = run_command(kant_exe() + " run /nonexistent/exp.yaml");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("/nonexistent/exp.yaml: error: no such file"));
  r = run_command(kant_exe() + " runn x.yaml");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("did you mean 'run'?"));
  r = run_command(kant_exe() + " run " + kData + "tiny.yaml --jobz 2");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("unknown option --jobz (did you mean 'jobs'?)"));
}

TEST_CASE("a --results that names a file: one line naming it, exit 2, nothing written",
          "[cli][errors]") {
  Scratch s;
  const std::string file = s.write("results.txt", "not a folder\n");
  const std::string tiny = kData + "tiny.yaml";
  auto refused = [&](const std::string& command, const std::string& results,
                     const std::string& message) {
    CommandResult r =
        run_command(kant_exe() + " " + command + " " + tiny + " --results " + results);
    INFO(command << " --results " << results << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output ==
          "kant: " + results + ": error: --results must name a folder; " + message + "\n");
    // nothing written: the scratch folder holds the file alone, as it was
    std::vector<std::string> entries;
    for (const auto& e : fs::recursive_directory_iterator(s.dir))
      entries.push_back(e.path().filename().string());
    CHECK(entries == std::vector<std::string>{"results.txt"});
    CHECK(fs::file_size(file) == 13);
  };
  for (const std::string command : {"run", "report", "export", "slurm --dry-run"}) {
    refused(command, file, "this is a file");
    refused(command, file + "/deeper", file + " is a file");
  }
}

namespace {

// An experiment of 8×8 idx images (tests/data/digits-240-images-idx3-ubyte or a broken copy).
std::string idx_experiment(const Scratch& s, const std::string& images) {
  return s.write("exp.yaml",
                 "name: idx_check\n"
                 "base:\n"
                 "  dataset:   {plugin: idx, images: " +
                     images +
                     "}\n"
                     "  generator: {plugin: mlp, hidden: [8]}\n"
                     "  critic:    {plugin: mlp, hidden: [8]}\n"
                     "  objective: wasserstein\n"
                     "  optimizer: {plugin: adam}\n");
}

}  // namespace

TEST_CASE("a missing or truncated data file is refused by kant validate and run, at its block",
          "[cli][errors]") {
  Scratch s;
  const fs::path good = kData + "digits-240-images-idx3-ubyte";  // 240 images of 8×8
  auto refused = [&](const std::string& images, const std::string& reason) {
    const std::string exp = idx_experiment(s, images);
    for (const std::string& command :
         {"validate " + exp, "run " + exp + " --results " + s.results().string()}) {
      CommandResult r = run_command(kant_exe() + " " + command);
      INFO(command << "\n" << r.output);
      CHECK(r.exit_code == 2);
      // one line: the dataset block, the plugin's library and the data file's trouble
      CHECK_THAT(r.output,
                 Catch::StartsWith("kant: " + exp + ":3:14: error: dataset 'idx' (plugin ") &&
                     Catch::EndsWith(") could not be created: idx: " + reason + "\n"));
      CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
      CHECK_FALSE(fs::exists(s.results()));
    }
  };
  const std::string missing = (s.dir / "missing-idx3-ubyte").string();
  refused(missing, "no file " + missing);

  // a header announcing 240 images of 8×8 over a file 64 bytes short of them
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == 16 + 240 * 64);
  const std::string truncated = s.write("truncated-idx3-ubyte", bytes.substr(0, bytes.size() - 64));
  refused(truncated, truncated + ": the header announces 15360 elements but the file holds 15296");

  // sizes whose product wraps around 2^64 to the file's very size: 65536 · 65537 · 4294901761
  // = 2^64 + 65536, over 65536 bytes; refused, not taken for 65536 elements
  const std::string wrapped = s.write(
      "wrapped-idx3-ubyte", std::string("\0\0\x08\x03\0\x01\0\0\0\x01\0\x01\xff\xff\0\x01", 16) +
                                std::string(65536, '\0'));
  refused(wrapped, wrapped + ": the header announces over 2^64 elements but the file holds 65536");

  // the good file validates
  CommandResult r = run_command(kant_exe() + " validate " + idx_experiment(s, good.string()));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("idx_check: 1 cells, all valid"));
}

TEST_CASE("fashion_mnist without its files: kant validate says how to install them, one line",
          "[cli][errors]") {
  Scratch s;
  const std::string exp = s.write("fashion.yaml",
                                  "name: fashion_check\n"
                                  "base:\n"
                                  "  dataset:   {plugin: fashion_mnist, path: " +
                                      (s.dir / "nowhere").string() +
                                      "}\n"
                                      "  generator: {plugin: mlp, hidden: [8]}\n"
                                      "  critic:    {plugin: mlp, hidden: [8]}\n"
                                      "  objective: wasserstein\n"
                                      "  optimizer: {plugin: adam}\n");
  CommandResult r = run_command(kant_exe() + " validate " + exp);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output,
             Catch::StartsWith("kant: " + exp + ":3:14: error: dataset 'fashion_mnist' (plugin ") &&
                 Catch::Contains("install Fashion-MNIST with `apt-get install "
                                 "dataset-fashion-mnist`"));
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(s.results()));
}

TEST_CASE("a broken plugin on the plugin path stops everything with its file name",
          "[cli][errors]") {
  Scratch s;
  std::string bad_dir = std::string(KANT_TEST_BAD_PLUGIN_DIR) + "/no_entry";
  CommandResult r = run_command("KANT_PLUGIN_PATH=" + bad_dir + " " + kant_exe() + " run " + kData +
                                "tiny.yaml --results " + s.results().string());
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output,
             Catch::Contains(bad_dir + "/kant_test_no_entry.so: not a Kantorovich plugin"));
  CHECK_FALSE(fs::exists(s.results()));
}

TEST_CASE("validate lists the cells of named-variant, dotted and zip axes", "[cli]") {
  CommandResult r = run_command(kant_exe() + " validate " + kData + "zip.yaml");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("zipped: 6 cells, all valid"));
  CHECK_THAT(r.output,
             Catch::Contains("critic.hidden=[8, 8] optimizer.lr=0.01 train.batch_size=32 seed=3"));
  r = run_command(kant_exe() + " validate " + kData + "tiny.yaml");
  CHECK_THAT(r.output, Catch::Contains("tiny: 4 cells, all valid"));
  CHECK_THAT(r.output, Catch::Contains("method=clip seed=1"));
}

TEST_CASE("a tiny grid runs end to end, and a rerun skips every cell", "[cli][e2e]") {
  Scratch s;
  const std::string cmd =
      kant_exe() + " run " + kData + "tiny.yaml --jobs 2 --results " + s.results().string();
  CommandResult r = run_command(cmd);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("4 complete, 0 diverged, 0 failed"));
  CHECK_THAT(r.output, Catch::Contains("| GP "));
  CHECK_THAT(r.output, Catch::Contains("| clip "));
  CHECK_THAT(r.output, Catch::Contains("step 20/20"));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(s.results() / "tiny" / "cells"))
    files += e.path().extension() == ".h5";
  CHECK(files == 4);

  CommandResult again = run_command(cmd);
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.output, Catch::Contains("4 done already, 0 to run"));
  CHECK_THAT(again.output, Catch::Contains("0 complete, 0 diverged, 0 failed, 4 skipped"));

  // a changed config is a new cell
  CommandResult changed = run_command(cmd + " --set train.steps=21");
  CHECK_THAT(changed.output, Catch::Contains("0 done already, 4 to run"));

  // the files stand without our code
  CommandResult py = run_command("/usr/bin/python3 " + std::string(KANT_TEST_SOURCE_DIR) +
                                 "/tests/read_cells.py " + (s.results() / "tiny").string());
  INFO(py.output);
  CHECK(py.exit_code == 0);
  CHECK(std::count(py.output.begin(), py.output.end(), '\n') == 8);
  CHECK_THAT(py.output, Catch::Contains("\"status\": \"complete\""));
  CHECK_THAT(py.output, Catch::Contains("\"mode_coverage.modes\""));
  CHECK_THAT(py.output, Catch::Contains("\"samples\": [100, 2]"));

  // kant report and kant show read the same folder
  CommandResult rep = run_command(kant_exe() + " report " + (s.results() / "tiny").string());
  CHECK(rep.exit_code == 0);
  CHECK_THAT(rep.output, Catch::Contains("| GP "));
  // every cell records the backend it ran on
  const fs::path one = fs::directory_iterator(s.results() / "tiny" / "cells")->path();
  CommandResult show = run_command(kant_exe() + " show " + one.string());
  CHECK(show.exit_code == 0);
  // a line "onednn_isa: NAME" (by hand: std::regex recurses once per character of a long text)
  const size_t at = show.output.find("onednn_isa: ");
  REQUIRE(at != std::string::npos);
  const size_t from = at + std::string("onednn_isa: ").size(), end = show.output.find('\n', from);
  const std::string isa = show.output.substr(from, end - from);
  CHECK_FALSE(isa.empty());
  CHECK(isa.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos);
  CHECK_THAT(show.output, Catch::Contains("onednn_version: 2."));
}

TEST_CASE("the same config and seed give bit-identical results", "[cli][e2e]") {
  Scratch a, b;
  for (const Scratch* s : {&a, &b}) {
    CommandResult r =
        run_command(kant_exe() + " run " + kData + "tiny.yaml --jobs 1 --threads 1 --results " +
                    s->results().string());
    REQUIRE(r.exit_code == 0);
  }
  for (const auto& e : fs::directory_iterator(a.results() / "tiny" / "cells")) {
    fs::path other = b.results() / "tiny" / "cells" / e.path().filename();
    kant::h5::File fa = kant::h5::File::open(e.path()), fb = kant::h5::File::open(other);
    for (const char* name : {"loss_critic", "loss_generator", "penalty"})
      CHECK(fa.root().open_group("series").read(name) == fb.root().open_group("series").read(name));
    CHECK(fa.root().open_group("samples").read("generated") ==
          fb.root().open_group("samples").read("generated"));
  }
}

TEST_CASE("evaluating metrics more often does not change training", "[cli][e2e]") {
  Scratch a, b;
  const std::string base =
      kant_exe() + " run " + kData + "tiny.yaml --jobs 1 --threads 1 --set seeds=[0] ";
  REQUIRE(run_command(base + "--results " + a.results().string()).exit_code == 0);
  REQUIRE(run_command(base + "--set 'metrics=[{plugin: mode_coverage, every: 1}]' --results " +
                      b.results().string())
              .exit_code == 0);
  auto losses = [](const Scratch& s) {
    std::vector<std::vector<double>> out;
    for (const auto& e : fs::directory_iterator(s.results() / "tiny" / "cells"))
      out.push_back(kant::read_cell_dataset(e.path(), "series/loss_critic"));
    std::sort(out.begin(), out.end());
    return out;
  };
  CHECK(losses(a) == losses(b));
}

TEST_CASE("NaN in training marks the cell diverged and the grid goes on", "[cli][e2e]") {
  Scratch s;
  CommandResult r = run_command(kant_exe() + " run " + kData + "diverging.yaml --results " +
                                s.results().string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("1 complete, 1 diverged, 0 failed"));
  CHECK_THAT(r.output, Catch::Contains("diverged: the"));
  CHECK_THAT(r.output, Catch::Contains("at generator step"));
}

TEST_CASE("a crashing cell is stored as failed and the others complete", "[cli][e2e]") {
  Scratch s;
  std::string file = s.write(
      "crash.yaml", std::string(kValidBase) +
                        "  train: {steps: 3, batch_size: 8, samples: 0}\n"
                        "grid:\n  metrics: [[{plugin: crash}], [{plugin: crash, crash: false}]]\n");
  CommandResult r =
      run_command("KANT_PLUGIN_PATH=" + std::string(KANT_TEST_CRASH_PLUGIN_DIR) + " " + kant_exe() +
                  " run " + file + " --results " + s.results().string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("1 complete, 0 diverged, 1 failed"));
  CHECK_THAT(r.output, Catch::Contains("killed by signal 6"));
  // the failed cell is run again next time, the complete one is not
  r = run_command("KANT_PLUGIN_PATH=" + std::string(KANT_TEST_CRASH_PLUGIN_DIR) + " " + kant_exe() +
                  " run " + file + " --results " + s.results().string());
  CHECK_THAT(r.output, Catch::Contains("1 done already, 1 to run"));
}

TEST_CASE("kant plugins prints every component with its parameters", "[cli]") {
  CommandResult r = run_command(kant_exe() + " plugins");
  CHECK(r.exit_code == 0);
  for (const char* name :
       {"mlp", "eight_gaussians", "twenty_five_gaussians", "swiss_roll", "wasserstein",
        "nonsaturating", "minimax", "none", "gradient_penalty", "weight_clipping", "sgd", "adam",
        "rmsprop", "mode_coverage", "lambda", "beta2", "threshold_std"})
    CHECK_THAT(r.output, Catch::Contains(name));
  r = run_command(kant_exe() + " plugins lipschitz gradient_penalty");
  CHECK_THAT(r.output, Catch::Contains("Gulrajani"));
  CHECK_THAT(r.output, Catch::Contains("kant_lipschitz_gradient_penalty.so"));
  r = run_command(kant_exe() + " plugins objectiv");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("did you mean 'objective'?"));
}

TEST_CASE("procedures own their settings: refused where they do not apply, old files still read",
          "[cli][errors][procedures]") {
  const std::string vae = R"(name: bad
base:
  dataset:   {plugin: eight_gaussians}
  generator: {plugin: mlp, hidden: [8]}
  procedure: vae
  encoder:   {plugin: mlp, hidden: [8]}
  optimizer: {plugin: adam}
)";
  expect_bad_input(vae + "  train:     {n_critic: 5}\n",
                   {"exp.yaml:8:15: error: procedure 'vae' takes no 'n_critic'"});
  const std::string ali = R"(name: bad
base:
  dataset:   {plugin: eight_gaussians}
  generator: {plugin: mlp, hidden: [8]}
  procedure: ali
  encoder:   {plugin: mlp, hidden: [8]}
  critic:    {plugin: mlp, hidden: [8]}
  objective: nonsaturating
  optimizer: {plugin: adam}
)";
  expect_bad_input(ali + "  train:     {steps: 3, unrolled_steps: 2}\n",
                   {"exp.yaml:10:25: error: procedure 'ali' takes no 'unrolled_steps'",
                    "ali' takes: stochastic, n_critic, n_generator, order"});
  expect_bad_input(ali + "  train:     {updates: simultaneous}\n",
                   {"exp.yaml:10:15", "procedure 'ali' takes no 'updates'"});
  // a setting in the procedure's own block that it does not take, with a did-you-mean
  expect_bad_input(std::string(kValidBase) + "  procedure: {plugin: gan, n_critc: 2}\n",
                   {"exp.yaml:8:28: error: unknown parameter 'n_critc' for procedure 'gan' (did "
                    "you mean 'n_critic'?)"});
  // a rule between settings is checked at validate time, not in the child
  expect_bad_input(
      std::string(kValidBase) + "  procedure: {plugin: gan, updates: simultaneous, n_critic: 5}\n",
      {"exp.yaml:8:14", "n_critic and n_generator must be 1"});
  expect_bad_input(std::string(kValidBase) +
                       "  procedure: {plugin: infogan, categories: 0, "
                       "continuous: 0}\n",
                   {"exp.yaml:8:14", "infogan needs a code"});
  expect_bad_input(std::string(kValidBase) + "  procedure: {plugin: gan, n_critic: 2}\n" +
                       "  train: {n_critic: 2}\n",
                   {"exp.yaml:9:11", "'n_critic' is given in both 'train' and 'procedure'"});

  // the old default of a setting the procedure does not take passes silently
  Scratch s;
  CommandResult quiet = run_command(
      kant_exe() + " validate " + s.write("vae.yaml", vae + "  train: {n_critic: 1, steps: 2}\n"));
  INFO(quiet.output);
  CHECK(quiet.exit_code == 0);
  CHECK_THAT(quiet.output, !Catch::Contains("note"));
  // an old file's train.n_critic is the procedure's, said once, and the cell is the same cell
  const std::string grid = "seeds: [0, 1, 2]\n";
  CommandResult old_style =
      run_command(kant_exe() + " validate " +
                  s.write("old.yaml", std::string(kValidBase) + "  train: {n_critic: 5}\n" + grid));
  CommandResult new_style =
      run_command(kant_exe() + " validate " +
                  s.write("new.yaml", std::string(kValidBase) +
                                          "  procedure: {plugin: gan, n_critic: 5}\n" + grid));
  INFO(old_style.output << new_style.output);
  REQUIRE(old_style.exit_code == 0);
  REQUIRE(new_style.exit_code == 0);
  const std::string note = "kant: note: train.n_critic is read as the n_critic of procedure 'gan'";
  CHECK_THAT(old_style.output, Catch::Contains(note));
  CHECK(old_style.output.find(note) == old_style.output.rfind(note));  // once for three cells
  CHECK_THAT(new_style.output, !Catch::Contains("note"));
  auto ids = [](const std::string& out) {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
      if (line.size() > 24 && line.find("seed=") != std::string::npos)
        v.push_back(line.substr(6, 16));
    return v;
  };
  CHECK(ids(old_style.output).size() == 3);
  CHECK(ids(old_style.output) == ids(new_style.output));
  // a procedure block of settings alone is the default procedure's: --set works without one
  CommandResult set =
      run_command(kant_exe() + " validate " + s.write("set.yaml", std::string(kValidBase) + grid) +
                  " --set procedure.n_critic=5");
  INFO(set.output);
  CHECK(ids(set.output) == ids(new_style.output));
}
