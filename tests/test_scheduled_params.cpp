// Schedules of real parameters (kant/schedule.hpp): each kind at hand-computed steps, the first
// step outside a range against a scan of every step, configs resolved and refused with their
// marks, the values components read at the trainer's step, the stored series against the closed
// form, resuming bit for bit, and n_generator's count of generator updates.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <regex>

#include "config/config.hpp"
#include "kant/autodiff.hpp"
#include "support.hpp"
#include "training/session.hpp"
#include "training/trainer.hpp"

namespace fs = std::filesystem;
using namespace kant;
using namespace kant::testing;

namespace {

CellConfig resolve(const std::string& yaml) {
  return resolve_cell(parse_yaml(yaml, "test.yaml"), builtin_registry());
}

// The message of the error resolving `yaml` raises ("" when it resolves).
std::string error_of(const std::string& yaml) {
  try {
    resolve(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A small GAN cell; `lipschitz`, `optimizer` and `train` complete it.
std::string cell(const std::string& lipschitz, const std::string& optimizer,
                 const std::string& train) {
  return fmt::format(R"(dataset: {{plugin: eight_gaussians}}
generator: {{plugin: mlp, hidden: [4], activation: tanh, noise_dim: 2}}
critic: {{plugin: mlp, hidden: [4], activation: tanh}}
objective: wasserstein
lipschitz: {}
optimizer: {}
train: {}
seed: 1
)",
                     lipschitz, optimizer, train);
}

Schedule linear(double from, double to, int64_t start, int64_t end) {
  Schedule s;
  s.kind = Schedule::Kind::linear;
  s.from = from, s.to = to, s.start = start, s.end = end;
  return s;
}

// The optimizer's state word `t` (Adam's step count).
int64_t adam_steps(const Session& s, const std::string& name) {
  for (const auto& [n, opt] : s.optimizers)
    if (n == name)
      for (const auto& [key, value] : opt->state())
        if (key == "t") return static_cast<int64_t>(value.item());
  FAIL("no optimizer " << name);
  return -1;
}

}  // namespace

TEST_CASE("each kind of schedule at hand-computed steps, with warm-up and boundaries",
          "[schedules]") {
  Schedule lin = linear(10, 1, 0, 1000);  // (1 − p)·10 + p·1
  CHECK(lin.at(0) == 10);
  CHECK(lin.at(100) == Approx(9.1));
  CHECK(lin.at(500) == Approx(5.5));
  CHECK(lin.at(1000) == 1);  // exactly `to` at the end and after
  CHECK(lin.at(5000) == 1);

  Schedule cos = linear(2e-4, 0, 100, 1100);
  cos.kind = Schedule::Kind::cosine;
  cos.warmup = 100;  // from warmup_from = 0 to the schedule's value at 100 (= from)
  CHECK(cos.at(0) == 0);
  CHECK(cos.at(50) == Approx(1e-4));
  CHECK(cos.at(100) == 2e-4);
  CHECK(cos.at(350) == Approx(2e-4 * (1 + std::cos(std::numbers::pi / 4)) / 2));  // p = 1/4
  CHECK(cos.at(600) == Approx(1e-4));                                             // p = 1/2
  CHECK(cos.at(1100) == 0);  // cos π = −1: exactly `to`

  Schedule exp;
  exp.kind = Schedule::Kind::exponential;
  exp.from = 1, exp.rate = 0.5, exp.start = 10;
  CHECK(exp.at(1) == 1);
  CHECK(exp.at(10) == 1);
  CHECK(exp.at(12) == 0.25);

  Schedule piece;
  piece.kind = Schedule::Kind::piecewise;
  piece.values = {1, 0.1, 0.01}, piece.boundaries = {10, 20};
  CHECK(piece.at(9) == 1);
  CHECK(piece.at(10) == 0.1);  // a boundary belongs to the value after it
  CHECK(piece.at(19) == 0.1);
  CHECK(piece.at(20) == 0.01);

  Schedule warm;
  warm.kind = Schedule::Kind::constant;
  warm.value = 3, warm.warmup = 4, warm.warmup_from = 1;
  CHECK(warm.at(0) == 1);
  CHECK(warm.at(2) == 2);
  CHECK(warm.at(4) == 3);
  CHECK(warm.at(9) == 3);
}

TEST_CASE("the first step outside a range is the first a scan of every step finds", "[schedules]") {
  Schedule down = linear(1, -1, 0, 1000);  // crosses 0 at step 500
  CHECK(first_step_outside(down, 1000, 0.0, false, std::nullopt) == 501);
  CHECK(first_step_outside(down, 1000, 0.0, true, std::nullopt) == 500);  // > 0: 0 is outside
  CHECK(first_step_outside(down, 400, 0.0, false, std::nullopt) == std::nullopt);
  CHECK(first_step_outside(down, 1000, std::nullopt, false, 0.99) == 1);
  CHECK(first_step_outside(linear(-1, 1, 0, 1000), 1000, std::nullopt, false, 0.99) == 996);
  // every kind, with and without warm-up, against the scan
  std::vector<Schedule> all;
  for (auto kind : {Schedule::Kind::linear, Schedule::Kind::cosine}) {
    Schedule s = linear(2, -0.5, 30, 170);
    s.kind = kind;
    all.push_back(s);
    s.warmup = 40, s.warmup_from = -1, s.from = 0.5, s.to = 3;
    all.push_back(s);
  }
  Schedule e;
  e.kind = Schedule::Kind::exponential;
  e.from = 0.2, e.rate = 1.03, e.start = 20;
  all.push_back(e);
  Schedule p;
  p.kind = Schedule::Kind::piecewise;
  p.values = {0.5, -0.1, 0.7, 1.4}, p.boundaries = {50, 51, 120};
  all.push_back(p);
  p.values = {0.5, 0.2, 0.7, 0.9}, p.warmup = 60, p.warmup_from = 2;
  all.push_back(p);
  for (const Schedule& s : all)
    for (auto [lo, hi] : {std::pair{0.0, 1.0}, std::pair{-0.2, 2.5}, std::pair{0.3, 0.6}}) {
      std::optional<int64_t> scan;
      for (int64_t t = 1; t <= 200 && !scan; ++t)
        if (s.at(t) < lo || s.at(t) > hi) scan = t;
      INFO(s.str() << " in [" << lo << ", " << hi << "]");
      CHECK(first_step_outside(s, 200, lo, false, hi) == scan);
    }
}

TEST_CASE("a schedule in YAML resolves with every key stated and a constant keeps the number's id",
          "[schedules]") {
  CellConfig c =
      resolve(cell("{plugin: gradient_penalty, lambda: {schedule: linear, from: 10, to: 1}}",
                   "{plugin: adam, lr: {schedule: cosine, from: 2e-4, to: 0, warmup: 100}}",
                   "{steps: 300, batch_size: 8}"));
  // every key stated (the canonical text sorts them): start defaults to the end of the
  // warm-up, end to train.steps
  CHECK_THAT(c.yaml(), Catch::Contains("  lambda:\n    end: 300\n    from: 10.0\n    schedule: "
                                       "\"linear\"\n    start: 0\n    to: 1.0\n"));
  CHECK_THAT(c.yaml(), Catch::Contains("  lr:\n    end: 300\n    from: 2e-04\n    schedule: "
                                       "\"cosine\"\n    start: 100\n    to: 0.0\n    warmup: "
                                       "100\n    warmup_from: 0.0\n"));
  std::vector<std::string> names;
  for (const auto& [name, s] : c.schedules()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"lipschitz.lambda", "generator_optimizer.lr",
                                          "critic_optimizer.lr"});
  // the resolved text resolves to itself (a stored config reads back as the same cell)
  CHECK(resolve(c.yaml()).id() == c.id());
  const std::string plain = cell("{plugin: gradient_penalty, lambda: 10}", "adam", "{steps: 300}");
  const std::string constant =
      cell("{plugin: gradient_penalty, lambda: {schedule: constant, value: 10}}", "adam",
           "{steps: 300}");
  CHECK(resolve(constant).id() == resolve(plain).id());
  CHECK(resolve(constant).schedules().empty());
  // train.ema and a procedure's setting
  CellConfig ema = resolve(cell("none", "adam",
                                "{steps: 50, ema: {schedule: piecewise, values: [0, 0.9], "
                                "boundaries: [10]}, unrolled_steps: 1, "
                                "unrolled_lr: {schedule: exponential, from: 0.1, rate: 0.9}}"));
  names.clear();
  for (const auto& [name, s] : ema.schedules()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"procedure.unrolled_lr", "train.ema"});
  CHECK(ema.train.averages());
}

TEST_CASE(
    "schedules refused at validate time: out of range at a step, on a parameter read once "
    "or not real, unknown kinds and keys",
    "[schedules]") {
  // line 5 of the cell holds the lipschitz block
  std::string e =
      error_of(cell("{plugin: gradient_penalty, lambda: {schedule: linear, from: 1, "
                    "to: -1}}",
                    "adam", "{steps: 1000}"));
  CHECK_THAT(e, Catch::Contains("test.yaml:5:"));
  CHECK_THAT(e, Catch::Contains("parameter 'lambda' of lipschitz 'gradient_penalty': the "
                                "schedule reaches -0.002"));
  CHECK_THAT(e, Catch::Contains("at step 501, below the minimum 0"));
  e = error_of(cell("none", "{plugin: adam, beta1: {schedule: linear, from: 0.5, to: 1.5}}",
                    "{steps: 100}"));
  CHECK_THAT(e, Catch::Contains("schedule reaches 1.0 at step 50, above the maximum 0.999999"));
  e = error_of(cell("none", "{plugin: adam, lr: {schedule: exponential, from: 1, rate: 1e10}}",
                    "{steps: 100}"));
  CHECK_THAT(e, Catch::Contains("not a finite number"));
  // a float member is read once: refused, naming what can follow a schedule
  e = error_of(cell("{plugin: gradient_penalty, eps: {schedule: linear, from: 1e-8, to: 0}}",
                    "adam", "{steps: 10}"));
  CHECK_THAT(e, Catch::Contains("test.yaml:5:"));
  CHECK_THAT(e, Catch::Contains("parameter 'eps' of lipschitz 'gradient_penalty' is read once"));
  CHECK_THAT(e, Catch::Contains("this block's parameters that can: lambda, target"));
  e = error_of(
      cell("none", "adam", "{steps: 10, batch_size: {schedule: linear, from: 8, to: 16}}"));
  CHECK_THAT(e, Catch::Contains("is int: only a real parameter (a float) may follow a schedule"));
  e = error_of(
      cell("{plugin: r1, gamma: {schedule: cosin, from: 1, to: 0}}", "adam", "{steps: 10}"));
  CHECK_THAT(e, Catch::Contains("unknown schedule 'cosin' (did you mean 'cosine'?)"));
  e = error_of(
      cell("{plugin: r1, gamma: {schedule: linear, form: 1, to: 0}}", "adam", "{steps: 10}"));
  CHECK_THAT(e, Catch::Contains("a linear schedule takes no 'form' (did you mean 'from'?)"));
  e = error_of(
      cell("{plugin: r1, gamma: {schedule: piecewise, values: [1, 2], boundaries: [5, 6]}}", "adam",
           "{steps: 10}"));
  CHECK_THAT(e, Catch::Contains("2 values for 2 boundaries"));
  e = error_of(cell("{plugin: r1, gamma: {schedule: linear, from: 1, to: 0, start: 20}}", "adam",
                    "{steps: 10}"));
  CHECK_THAT(e, Catch::Contains("end (10, train.steps) must come after start (20)"));
  e = error_of(cell("{plugin: r1, gamma: {from: 1, to: 0}}", "adam", "{steps: 10}"));
  CHECK_THAT(e, Catch::Contains("must be a schedule"));
}

TEST_CASE(
    "kant validate refuses a bad schedule at its line and column with exit 2 and kant plugins "
    "says which parameters may follow one",
    "[schedules][cli]") {
  const fs::path dir = temp_dir("kant-schedules");
  const fs::path file = dir / "bad.yaml";
  std::ofstream(file) << "name: bad\nbase:\n"
                      << "  dataset: eight_gaussians\n"
                      << "  generator: {plugin: mlp, hidden: [4]}\n"
                      << "  critic: {plugin: mlp, hidden: [4]}\n"
                      << "  objective: wasserstein\n"
                      << "  lipschitz: {plugin: r1, gamma: {schedule: linear, from: 1, to: -1}}\n"
                      << "  train: {steps: 100}\n";
  CommandResult r = run_command(kant_exe() + " validate " + file.string());
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("bad.yaml:7:34"));
  CHECK_THAT(r.output, Catch::Contains("reaches -0.020000000000000018 at step 51"));
  // a run stores each scheduled value per step; kant show summarises it
  const fs::path good = dir / "good.yaml";
  std::ofstream(good) << "name: good\nbase:\n"
                      << "  dataset: eight_gaussians\n"
                      << "  generator: {plugin: mlp, hidden: [4]}\n"
                      << "  critic: {plugin: mlp, hidden: [4]}\n"
                      << "  objective: wasserstein\n"
                      << "  lipschitz: {plugin: r1, gamma: {schedule: linear, from: 1, to: 0}}\n"
                      << "  optimizer: adam\n"
                      << "  train: {steps: 20, batch_size: 8, samples: 10}\n";
  CommandResult run = run_command(kant_exe() + " run " + good.string() + " --quiet --results " +
                                  (dir / "results").string());
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const std::vector<fs::path> cells = files_matching(dir / "results", ".h5");
  REQUIRE(cells.size() == 1);
  std::vector<double> closed_form;  // (1 − p)·1 + p·0, p = t/20
  for (int t = 1; t <= 20; ++t) closed_form.push_back(1 - t / 20.0);
  const std::vector<double> stored = read_cell_dataset(cells[0], "series/schedule.lipschitz.gamma");
  REQUIRE(stored.size() == 20);
  for (size_t i = 0; i < 20; ++i) CHECK(stored[i] == Approx(closed_form[i]).margin(1e-15));
  r = run_command(kant_exe() + " show " + cells[0].string());
  CHECK_THAT(r.output, Catch::Contains("scheduled lipschitz.gamma: 20 steps, first 0.95 (step 1), "
                                       "last 0, min 0, max 0.95"));
  r = run_command(kant_exe() + " plugins lipschitz gradient_penalty");
  CHECK(
      std::regex_search(r.output, std::regex(R"(lambda[^\n]*\n[^\n]*\n *may follow a schedule)")));
  CHECK_FALSE(std::regex_search(r.output, std::regex(R"(eps[^\n]*\n[^\n]*\n *may follow)")));
  fs::remove_all(dir);
}

TEST_CASE("kant validate refuses a schedule to a component that reads it while it is built",
          "[schedules][cli]") {
  const fs::path dir = temp_dir("kant-frozen");
  const fs::path file = dir / "frozen.yaml";
  auto write = [&](const std::string& lambda) {
    std::ofstream(file) << "name: frozen\nbase:\n"
                        << "  dataset: eight_gaussians\n"
                        << "  generator: {plugin: mlp, hidden: [4]}\n"
                        << "  critic: {plugin: mlp, hidden: [4]}\n"
                        << "  objective: wasserstein\n"
                        << "  optimizer: adam\n"
                        << "  lipschitz: {plugin: frozen_penalty, lambda: " << lambda << "}\n"
                        << "  train: {steps: 10}\n";
  };
  const std::string validate = "KANT_PLUGIN_PATH=" + std::string(KANT_TEST_SCHEDULE_PLUGIN_DIR) +
                               " " + kant_exe() + " validate " + file.string();
  write("0.5");
  CommandResult r = run_command(validate);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  write("{schedule: linear, from: 1, to: 0}");
  r = run_command(validate);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("frozen.yaml:8:14"));
  CHECK_THAT(r.output, Catch::Contains("lipschitz 'frozen_penalty' reads a scheduled parameter "
                                       "while it is built"));
  fs::remove_all(dir);
}

TEST_CASE("components read a scheduled value at the trainer's step, never outside one",
          "[schedules]") {
  // the critic's SGD learns with lr 0.05 for steps 1 and 2, then with lr 0: its weights freeze
  CellConfig c = resolve(R"(dataset: eight_gaussians
generator: {plugin: mlp, hidden: [3], noise_dim: 2}
critic: {plugin: mlp, hidden: [3]}
objective: wasserstein
generator_optimizer: {plugin: sgd, lr: 0.05}
critic_optimizer: {plugin: sgd, lr: {schedule: piecewise, values: [0.05, 0], boundaries: [3]}}
train: {steps: 5, batch_size: 4}
)");
  Session s(c, builtin_registry());
  auto critic = [&] {
    std::vector<float> w;
    for (const Tensor& p : s.critic->parameters())
      w.insert(w.end(), p.data(), p.data() + p.numel());
    return w;
  };
  std::vector<std::vector<float>> after{critic()};
  for (int64_t t = 1; t <= 4; ++t) {
    ScheduleClock at(t);
    REQUIRE(s.procedure->step(*s.context, t).diverged.empty());
    after.push_back(critic());
  }
  CHECK(after[1] != after[0]);
  CHECK(after[2] != after[1]);
  CHECK(after[3] == after[2]);  // lr 0 from step 3 on
  CHECK(after[4] == after[3]);
  // outside a step, a scheduled value cannot be read (a component that copied it while being
  // built would fail here, never train on a frozen value); a constant can
  Real scheduled(linear(1, 0, 0, 10)), constant(0.25);
  CHECK_THROWS_WITH(scheduled(), Catch::Contains("outside a training step"));
  CHECK(constant() == 0.25);
  ScheduleClock at(5);
  CHECK(scheduled() == 0.5);
}

TEST_CASE(
    "the stored series of a scheduled parameter is its closed form and a run interrupted and "
    "resumed ends bit-identical",
    "[schedules][resume]") {
  const std::string yaml =
      cell("{plugin: gradient_penalty, lambda: {schedule: linear, from: 5, to: 0.5}}",
           "{plugin: adam, lr: {schedule: cosine, from: 1e-2, to: 0, warmup: 6}, beta1: 0.5}",
           "{steps: 30, batch_size: 8, samples: 50, checkpoint_every: 10, "
           "ema: {schedule: linear, from: 0.5, to: 0.99, start: 5}}") +
      "metrics: [{plugin: sliced_wasserstein, every: 10, samples: 100}]\n";
  CellConfig c = resolve(yaml);
  const Registry& registry = builtin_registry();
  CellResult whole = train_cell(c, registry, {});
  REQUIRE(whole.status == CellStatus::complete);
  const std::vector<int64_t>& steps = whole.losses.step;
  REQUIRE(steps.size() == 30);
  for (const auto& [name, schedule] : c.schedules()) {
    INFO(name);
    const std::vector<double>& stored = whole.losses.values.at("schedule." + name);
    for (size_t i = 0; i < steps.size(); ++i) CHECK(stored[i] == schedule.at(steps[i]));
  }
  CHECK(whole.losses.values.at("schedule.critic_optimizer.lr")[0] == Approx(1e-2 / 6));
  CHECK(whole.losses.values.at("schedule.train.ema")[29] == 0.99);

  const fs::path dir = temp_dir("kant-schedule-resume");
  TrainOptions options;
  options.checkpoint = dir / "cell.ckpt";
  int64_t asked = 0;
  options.interrupted = [&] { return ++asked == 26; };  // after the checkpoint of step 20
  CHECK_THROWS_AS(train_cell(c, registry, options), TrainingInterrupted);
  REQUIRE(fs::exists(options.checkpoint));
  options.interrupted = {};
  CellResult resumed = train_cell(c, registry, options);
  CHECK(resumed.resumes == 1);
  CHECK(resumed.losses.step == whole.losses.step);
  CHECK(resumed.losses.values == whole.losses.values);
  CHECK(resumed.metrics.at("sliced_wasserstein").values ==
        whole.metrics.at("sliced_wasserstein").values);
  CHECK(resumed.generated.to_vector() == whole.generated.to_vector());
  fs::remove_all(dir);
}

TEST_CASE(
    "n_generator: generator updates per iteration in gan and in the alternating "
    "procedures and at 1 the cell keeps its id",
    "[schedules][procedures]") {
  const std::string base = R"(dataset: eight_gaussians
generator: {plugin: mlp, hidden: [3], noise_dim: 2}
critic: {plugin: mlp, hidden: [3]}
objective: wasserstein
optimizer: adam
train: {steps: 5, batch_size: 4}
)";
  for (const auto& [procedure, n_critic, n_generator] :
       {std::tuple{"{plugin: gan, n_critic: 2, n_generator: 3}", 2, 3},
        std::tuple{"{plugin: gan, n_generator: 2, order: generator_first}", 1, 2},
        std::tuple{"{plugin: infogan, categories: 2, continuous: 0, n_generator: 2}", 1, 2}}) {
    INFO(procedure);
    CellConfig c = resolve(base + "procedure: " + procedure + "\n");
    Session s(c, builtin_registry());
    for (int64_t t = 1; t <= 4; ++t) REQUIRE(s.procedure->step(*s.context, t).diverged.empty());
    CHECK(adam_steps(s, "generator_optimizer") == 4 * n_generator);
    CHECK(adam_steps(s, "critic_optimizer") == 4 * n_critic);
  }
  CellConfig ali = resolve(R"(dataset: eight_gaussians
procedure: {plugin: ali, n_generator: 3}
generator: {plugin: mlp, hidden: [3], noise_dim: 2}
encoder: {plugin: mlp, hidden: [3]}
critic: {plugin: mlp, hidden: [3]}
objective: minimax
optimizer: adam
train: {steps: 5, batch_size: 4}
)");
  Session s(ali, builtin_registry());
  for (int64_t t = 1; t <= 2; ++t) REQUIRE(s.procedure->step(*s.context, t).diverged.empty());
  CHECK(adam_steps(s, "generator_optimizer") == 6);
  CHECK(adam_steps(s, "encoder_optimizer") == 6);
  CHECK(adam_steps(s, "critic_optimizer") == 2);
  // n_generator: 1 is the default, left out of the id
  CHECK(resolve(base + "procedure: {plugin: gan, n_generator: 1}\n").id() == resolve(base).id());
  CHECK(resolve(base + "procedure: {plugin: gan, n_generator: 2}\n").id() != resolve(base).id());
  CHECK_THAT(error_of(base + "procedure: {plugin: gan, n_generator: 2, updates: simultaneous}\n"),
             Catch::Contains("n_critic and n_generator must be 1"));
}

TEST_CASE("a grid variant turns a number into a schedule, or a schedule into another kind",
          "[schedules]") {
  ConfigNode base = parse_yaml("lipschitz: {plugin: r1, gamma: 10}\n", "base.yaml");
  merge_into(base, parse_yaml("lipschitz: {gamma: {schedule: linear, from: 1, to: 0}}\n", "v"));
  CHECK(flow_text(*base.find("lipschitz")) ==
        "{plugin: r1, gamma: {schedule: linear, from: 1, to: 0}}");
  merge_into(base, parse_yaml("lipschitz: {gamma: {schedule: piecewise, values: [1, 0], "
                              "boundaries: [5]}}\n",
                              "v"));
  CHECK(flow_text(*base.find("lipschitz")) ==
        "{plugin: r1, gamma: {schedule: piecewise, values: [1, 0], boundaries: [5]}}");
  merge_into(base, parse_yaml("lipschitz: {gamma: {schedule: piecewise, values: [2, 1]}}\n", "v"));
  CHECK(flow_text(*base.find("lipschitz")) ==
        "{plugin: r1, gamma: {schedule: piecewise, values: [2, 1], boundaries: [5]}}");
  // the shipped experiment: one cell per kind of change, each storing what it schedules
  Experiment ex = load_experiment(std::string(KANT_TEST_SOURCE_DIR) + "/experiments/schedules.yaml",
                                  std::vector<std::string>{}, builtin_registry());
  std::map<std::string, std::vector<std::string>> scheduled;
  for (const Cell& c : ex.cells)
    for (const auto& [name, s] : c.config.schedules())
      scheduled[c.labels.front().second].push_back(name);
  CHECK(scheduled == std::map<std::string, std::vector<std::string>>{
                         {"annealed λ", {"lipschitz.lambda"}},
                         {"cosine lr", {"generator_optimizer.lr", "critic_optimizer.lr"}},
                         {"EMA decay", {"train.ema"}}});
}
