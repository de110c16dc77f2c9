// What a researcher reaches for daily, end to end through `kant`: reports that follow the YAML
// and --set, tidy export read by pandas, --sweep, kant list / clean, train.order, samples over
// time and split figures, what plugins store, shell completion, --help, the README's example.
#include <sys/stat.h>
#include <utime.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "store/cell_file.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant::testing;

namespace {

const std::string kSource = KANT_TEST_SOURCE_DIR;
const std::string kData = kSource + "/tests/data/";

struct Scratch {
  fs::path dir = temp_dir("kant-daily");
  ~Scratch() { fs::remove_all(dir); }
  fs::path results() const { return dir / "results"; }
  std::string res() const { return " --results " + results().string(); }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

std::string kcmd(const std::string& args) { return kant_exe() + " " + args; }

CommandResult run_ok(const std::string& command) {
  CommandResult r = run_command(command);
  INFO(command);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return r;
}

// Bad input: exit 2, one line naming the problem.
void expect_error(const std::string& command, const std::vector<std::string>& needles) {
  CommandResult r = run_command(command);
  INFO(command);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  for (const std::string& n : needles) CHECK_THAT(r.output, Catch::Contains(n));
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The cell ids `kant validate` lists, in order.
std::vector<std::string> cell_ids(const std::string& validate_output) {
  std::vector<std::string> ids;
  const std::regex line(R"(^ +\d+  ([0-9a-f]{16})  )");
  std::istringstream in(validate_output);
  for (std::string l; std::getline(in, l);)
    if (std::smatch m; std::regex_search(l, m, line)) ids.push_back(m[1]);
  return ids;
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::vector<fs::path> cell_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir / "cells"))
    if (e.path().extension() == ".h5") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("kant report FILE.yaml reports that file's grid: labels, order, report block and --set",
          "[daily][report]") {
  Scratch s;
  run_ok(kcmd("run " + kData + "tiny.yaml --jobs 2" + s.res()));
  // the same cells under other names and in the other order; a report block of its own
  std::string yaml = file_text(kData + "tiny.yaml");
  yaml = std::regex_replace(yaml, std::regex("    GP:  "), "    WGAN-GP: ");
  yaml = std::regex_replace(yaml, std::regex("    clip: (.*)\n"), "");
  yaml = std::regex_replace(
      yaml, std::regex("grid:\n  method:\n"),
      "grid:\n  method:\n    weight-clipping: {lipschitz: {plugin: weight_clipping, c: 0.01}, "
      "optimizer: {plugin: rmsprop, lr: 5.0e-5}}\n");
  yaml = std::regex_replace(
      yaml, std::regex("values: \\[mode_coverage.modes, mode_coverage.high_quality\\]"),
      "values: [mode_coverage.high_quality]");
  const std::string renamed = s.write("renamed.yaml", yaml);
  CommandResult v = run_ok(kcmd("validate " + renamed));
  CommandResult v0 = run_ok(kcmd("validate " + kData + "tiny.yaml"));
  auto ids = cell_ids(v.output), ids0 = cell_ids(v0.output);
  std::sort(ids.begin(), ids.end());
  std::sort(ids0.begin(), ids0.end());
  REQUIRE(ids == ids0);  // renaming and reordering variants keeps the cells

  CommandResult r = run_ok(kcmd("report " + renamed + s.res()));
  CHECK_THAT(r.output, Catch::Contains("| weight-clipping "));
  CHECK_THAT(r.output, Catch::Contains("| WGAN-GP "));
  CHECK_THAT(r.output, !Catch::Contains("| GP "));
  CHECK(r.output.find("weight-clipping") < r.output.find("WGAN-GP"));  // the file's order
  CHECK_THAT(r.output, Catch::Contains("mode_coverage.high_quality"));
  CHECK_THAT(r.output, !Catch::Contains("mode_coverage.modes"));
  // the results folder keeps its own labels
  CHECK_THAT(run_ok(kcmd("report " + (s.results() / "tiny").string())).output,
             Catch::Contains("| GP "));

  // --set report.… on the file and on the folder
  r = run_ok(kcmd("report " + renamed + s.res() +
                  " --set report.values=[mode_coverage.modes] --set report.rows=seed"));
  CHECK_THAT(r.output, Catch::Contains("| seed "));
  CHECK_THAT(r.output, Catch::Contains("mode_coverage.modes"));
  CHECK_THAT(r.output, !Catch::Contains("mode_coverage.high_quality"));
  r = run_ok(kcmd("report " + (s.results() / "tiny").string() +
                  " --set report.values=[mode_coverage.reverse_kl]"));
  CHECK_THAT(r.output, Catch::Contains("mode_coverage.reverse_kl"));
  CHECK_THAT(r.output, !Catch::Contains("mode_coverage.modes"));
  // a --set that changes cells: the file's new cells are not stored yet, each named
  r = run_command(kcmd("report " + renamed + s.res() + " --set train.steps=21"));
  CHECK_THAT(r.output, Catch::Contains("missing (not run yet?)"));

  // bad input: one line, exit 2, nothing written
  const fs::path page = s.results() / "tiny" / "report" / "index.html";
  const auto before = fs::last_write_time(page);
  expect_error(kcmd("report " + renamed + s.res() + " --set report.rows=methd"),
               {"report.rows 'methd' is not an axis of the grid", "did you mean 'method'"});
  expect_error(kcmd("report " + (s.results() / "tiny").string() + " --set train.steps=3"),
               {"only report.… and reference.… can change here"});
  expect_error(kcmd("report " + (s.results() / "tiny").string() + " --set report.valuez=[x]"),
               {"valuez", "did you mean 'values'"});
  expect_error(kcmd("report " + renamed + s.res() + " --sweep optimizer.lr=1,2,"),
               {"an empty value"});
  expect_error(kcmd("report " + (s.results() / "tiny").string() + " --sweep optimizer.lr=1,2"),
               {"give the experiment file"});
  CHECK(fs::last_write_time(page) == before);
}

TEST_CASE("the table's n is the seeds behind each value, also with column axes",
          "[daily][report]") {
  Scratch s;
  const std::string sweep = " --sweep optimizer.lr=1.0e-3,5.0e-4 --set train.steps=5";
  run_ok(kcmd("run " + kData + "tiny.yaml --jobs 2" + sweep + s.res()));
  CommandResult r = run_ok(kcmd("report " + kData + "tiny.yaml" + sweep + s.res() +
                                " --set report.columns=optimizer.lr"));
  // 2 methods × 2 rates × 2 seeds: each value is over 2 seeds, each row has 4 complete cells
  CHECK(std::regex_search(r.output, std::regex(R"(\| GP +\|[^\n]*\| 2 +\| 0 +\| 0 +\|)")));
  CHECK(std::regex_search(r.output, std::regex(R"(\| clip +\|[^\n]*\| 2 +\| 0 +\| 0 +\|)")));
}

TEST_CASE("kant export writes tidy rows, and docs/pandas.md's lines read them with pandas",
          "[daily][export]") {
  Scratch s;
  run_ok(kcmd("run " + kData + "tiny.yaml --jobs 2" + s.res()));
  const std::string dir = (s.results() / "tiny").string();
  run_ok(kcmd("export " + dir + " --output " + (s.dir / "tiny.csv").string()));
  run_ok(kcmd("export " + kData + "tiny.yaml" + s.res() + " --series --output " +
              (s.dir / "tiny_series.csv").string()));
  CommandResult py = run_ok("/usr/bin/python3 " + kSource + "/tests/pandas_check.py " + kSource +
                            "/docs/pandas.md " + s.dir.string());
  CHECK_THAT(py.output, Catch::Contains("ok"));

  // JSON lines: one object per row, numbers as numbers, the same rows as the CSV
  CommandResult j = run_command(kcmd("export " + dir + " --format jsonl") + " 2>/dev/null");
  REQUIRE(j.exit_code == 0);
  CHECK(count_of(j.output, "\n") == 12);
  CHECK_THAT(
      j.output,
      Catch::Contains(
          "\"method\": \"GP\", \"seed\": 0, \"metric\": \"mode_coverage.modes\", \"value\": "));
  CommandResult check = run_ok(
      "/usr/bin/python3 -c \"import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; "
      "assert len(rows)==12 and all(r['status']=='complete' for r in rows); print('ok')\" " +
      s.write("rows.jsonl", j.output));
  CHECK_THAT(check.output, Catch::Contains("ok"));
  const std::string csv = file_text((s.dir / "tiny.csv").string());
  CHECK(csv.rfind("experiment,cell_id,status,method,seed,metric,value\n", 0) == 0);
  CHECK(count_of(csv, "\n") == 13);

  expect_error(kcmd("export " + dir + " --format jsnol"),
               {"--format must be csv or jsonl", "did you mean 'jsonl'"});
  expect_error(kcmd("export " + (s.dir / "nowhere").string()),
               {"no such results folder or experiment file"});
  CHECK_FALSE(fs::exists(s.dir / "nowhere"));
}

TEST_CASE("kant run --sweep adds grid axes from the command line, recorded in cells.yaml",
          "[daily][sweep]") {
  Scratch s;
  const std::string tiny = kData + "tiny.yaml";
  CommandResult v = run_ok(kcmd(
      "validate " + tiny + " --sweep optimizer.lr=1.0e-3,1.0e-4 --sweep train.n_critic=1,2,3"));
  CHECK_THAT(v.output, Catch::Contains("tiny: 24 cells, all valid"));
  CHECK_THAT(v.output, Catch::Contains("method=GP optimizer.lr=1.0e-3 train.n_critic=1 seed=0"));
  CHECK_THAT(v.output, Catch::Contains("method=clip optimizer.lr=1.0e-4 train.n_critic=3 seed=1"));
  // a sweep over the base's own value gives the cells the file gives (same ids)
  auto plain = cell_ids(run_ok(kcmd("validate " + tiny)).output);
  auto swept = cell_ids(run_ok(kcmd("validate " + tiny + " --sweep train.n_critic=2")).output);
  CHECK(plain == swept);
  // values with commas inside brackets; a dotted axis of the file takes the swept values instead
  v = run_ok(kcmd("validate " + kData + "zip.yaml --sweep 'critic.hidden=[4, 4],[8]'"));
  CHECK_THAT(v.output, Catch::Contains("critic.hidden=[4, 4]"));

  // run: the cells are the product, and cells.yaml records the sweep and its axes
  CommandResult r = run_ok(
      kcmd("run " + tiny + " --jobs 2 --set train.steps=5 --sweep train.n_critic=1,3" + s.res()));
  CHECK_THAT(r.output, Catch::Contains("8 complete, 0 diverged, 0 failed"));
  CHECK_THAT(r.output, Catch::Contains("train.n_critic"));
  const std::string manifest = file_text((s.results() / "tiny" / "cells.yaml").string());
  CHECK_THAT(manifest, Catch::Contains("sweep: [\"train.n_critic=1,3\"]"));
  CHECK_THAT(manifest, Catch::Contains("axes: [method, train.n_critic, seed]"));
  CHECK(cell_files(s.results() / "tiny").size() == 8);

  expect_error(kcmd("run " + tiny + " --sweep optimizer.lrr=1,2" + s.res()),
               {"lrr", "did you mean 'lr'"});
  expect_error(kcmd("run " + tiny + " --sweep optimizer.lr" + s.res()),
               {"expected key=value1,value2"});
  expect_error(kcmd("run " + tiny + " --sweep optimizer.lr=1,1" + s.res()), {"listed twice"});
  expect_error(kcmd("run " + tiny + " --sweep method=GP,clip" + s.res()),
               {"an axis of named variants"});
  expect_error(kcmd("run " + tiny + " --sweep seeds=1,2" + s.res()),
               {"--sweep cannot change 'seeds'"});
  expect_error(kcmd("run " + tiny + " --sweep optimizer.lr=1,2 --set optimizer.lr=3" + s.res()),
               {"both swept and set"});
  expect_error(kcmd("run " + tiny + " --sweep optimizer.lr=-1,2" + s.res()), {"optimizer.lr"});
}

TEST_CASE("kant list shows each experiment's state, kant clean removes what no grid needs",
          "[daily][housekeeping]") {
  Scratch s;
  const std::string tiny = kData + "tiny.yaml";
  run_ok(kcmd("run " + tiny + " --jobs 2 --set train.steps=5 --set train.checkpoint_every=2" +
              s.res()));
  const fs::path dir = s.results() / "tiny";
  CommandResult l = run_ok(kcmd("list " + s.results().string()));
  CHECK(std::regex_search(l.output, std::regex(R"(\ntiny +4 +4 +0 +0 +0 +0 +0 +0 +20\d\d-)")));
  CHECK_THAT(l.output, Catch::Contains(tiny));

  // the grid shrinks to seed 0; leftovers of a killed run: a temporary, a stale claim
  run_ok(kcmd("run " + tiny +
              " --set train.steps=5 --set train.checkpoint_every=2 --set seeds=[0]" + s.res()));
  const std::vector<fs::path> all = cell_files(dir);
  REQUIRE(all.size() == 4);
  const std::string id = all.front().stem().string();
  const fs::path tmp = dir / "cells" / (id + ".h5.tmp.somehost.4242");
  const fs::path claim = dir / "cells" / (id + ".claim");
  std::ofstream(tmp) << "half";
  std::ofstream(claim) << "";
  struct utimbuf old {
    1000000000, 1000000000
  };  // 2001: long stale
  REQUIRE(::utime(claim.c_str(), &old) == 0);
  l = run_ok(kcmd("list " + dir.string()));
  CHECK(std::regex_search(l.output, std::regex(R"(\ntiny +2 +2 +0 +0 +0 +0 +0 +2 )")));

  CommandResult dry = run_ok(kcmd("clean " + s.results().string() + " --dry-run"));
  CHECK(count_of(dry.output, "would remove /") ==
        4);  // 2 cells outside the grid, the temporary, the claim
  CHECK(count_of(dry.output, "a cell no longer in the grid") == 2);
  CHECK_THAT(dry.output, Catch::Contains("a temporary no live run holds"));
  CHECK_THAT(dry.output, Catch::Contains("a stale claim"));
  CHECK(cell_files(dir).size() == 4);
  CHECK(fs::exists(tmp));
  CHECK(fs::exists(claim));

  // --keep FILE: that grid's cells stay too (here the 4 cells of both seeds)
  std::string keep_yaml = std::regex_replace(file_text(tiny), std::regex("steps: 20"), "steps: 5");
  const std::string keep = s.write("keep.yaml", keep_yaml);
  CommandResult kept = run_ok(kcmd("clean " + s.results().string() + " --dry-run --keep " + keep));
  CHECK(count_of(kept.output, "would remove /") == 2);  // the temporary and the claim only
  CHECK(count_of(kept.output, "a cell no longer in the grid") == 0);
  expect_error(kcmd("clean " + s.results().string() + " --keep " + (s.dir / "none.yaml").string()),
               {"no such file"});
  CHECK(fs::exists(tmp));

  CommandResult c = run_ok(kcmd("clean " + s.results().string()));
  CHECK(count_of(c.output, "\nremove /") + (c.output.rfind("remove /", 0) == 0) == 4);
  CHECK(cell_files(dir).size() == 2);
  CHECK_FALSE(fs::exists(tmp));
  CHECK_FALSE(fs::exists(claim));
  l = run_ok(kcmd("list " + s.results().string()));
  CHECK(std::regex_search(l.output, std::regex(R"(\ntiny +2 +2 +0 +0 +0 +0 +0 +0 +20\d\d-)")));
  // what is left reports as before, and a rerun finds its cells done
  CHECK_THAT(run_ok(kcmd("report " + dir.string())).output, Catch::Contains("| GP "));
  CHECK_THAT(
      run_ok(kcmd("run " + tiny +
                  " --set train.steps=5 --set train.checkpoint_every=2 --set seeds=[0]" + s.res()))
          .output,
      Catch::Contains("2 done already, 0 to run"));
  // nothing left to clean
  CHECK_THAT(run_ok(kcmd("clean " + dir.string())).output, Catch::Contains("removed 0 files"));
  expect_error(kcmd("list " + (s.dir / "nowhere").string()), {"no such results folder"});
}

TEST_CASE(
    "train.order: critic_first is today's cell, generator_first a new one, simultaneous is "
    "updates: simultaneous",
    "[daily][order]") {
  const std::string tiny = kData + "tiny.yaml";
  auto ids = [&](const std::string& args) {
    return cell_ids(run_ok(kcmd("validate " + tiny + " " + args)).output);
  };
  const auto plain = ids("");
  CHECK(ids("--set train.order=critic_first") == plain);
  const auto gen_first = ids("--set train.order=generator_first");
  for (size_t i = 0; i < plain.size(); ++i) CHECK(gen_first[i] != plain[i]);
  CHECK(ids("--set train.order=simultaneous --set train.n_critic=1") ==
        ids("--set train.updates=simultaneous --set train.n_critic=1"));
  expect_error(kcmd("validate " + tiny + " --set train.order=generator_frist"),
               {"did you mean 'generator_first'"});
  expect_error(kcmd("validate " + tiny +
                    " --set train.order=generator_first --set train.updates=simultaneous"),
               {"generator_first contradicts updates: simultaneous"});

  // both run; the generator's first update comes before any critic update, so the losses differ
  Scratch a, b;
  const std::string run = "run " + tiny + " --jobs 1 --set seeds=[0] --set train.steps=5";
  run_ok(kcmd(run + a.res()));
  CommandResult r = run_ok(kcmd(run + " --set train.order=generator_first" + b.res()));
  CHECK_THAT(r.output, Catch::Contains("2 complete, 0 diverged, 0 failed"));
  const auto fa = cell_files(a.results() / "tiny"), fb = cell_files(b.results() / "tiny");
  REQUIRE(fa.size() == 2);
  REQUIRE(fb.size() == 2);
  std::vector<std::vector<double>> la, lb;
  for (const fs::path& f : fa) la.push_back(kant::read_cell_dataset(f, "series/loss_generator"));
  for (const fs::path& f : fb) lb.push_back(kant::read_cell_dataset(f, "series/loss_generator"));
  std::sort(la.begin(), la.end());
  std::sort(lb.begin(), lb.end());
  CHECK(la != lb);
  CHECK_THAT(kant::read_cell_summary(fb.front()).config_yaml,
             Catch::Contains("order: \"generator_first\""));
  CHECK_THAT(kant::read_cell_summary(fa.front()).config_yaml, !Catch::Contains("order"));
}

TEST_CASE(
    "train.sample_every stores samples over time without changing training, and the report draws "
    "them",
    "[daily][samples]") {
  Scratch a, b;
  const std::string tiny = kData + "tiny.yaml";
  const std::string run = "run " + tiny + " --jobs 2 --set seeds=[0]";
  run_ok(kcmd(run + a.res()));
  run_ok(kcmd(
      run +
      " --set train.sample_every=5 --set train.sample_size=64 --set train.surface_resolution=12" +
      b.res()));
  const auto fa = cell_files(a.results() / "tiny"), fb = cell_files(b.results() / "tiny");
  REQUIRE(fb.size() == 2);
  std::vector<std::vector<double>> la, lb, ga, gb;
  for (const fs::path& f : fa) {
    la.push_back(kant::read_cell_dataset(f, "series/loss_critic"));
    ga.push_back(kant::read_cell_dataset(f, "samples/generated"));
  }
  for (const fs::path& f : fb) {
    lb.push_back(kant::read_cell_dataset(f, "series/loss_critic"));
    gb.push_back(kant::read_cell_dataset(f, "samples/generated"));
    CHECK(kant::read_cell_dataset(f, "snapshots/step") == std::vector<double>{0, 5, 10, 15, 20});
    kant::Shape shape;
    kant::read_cell_dataset(f, "snapshots/generated", &shape);
    CHECK(shape == kant::Shape{5, 64, 2});
    kant::read_cell_dataset(f, "snapshots/critic_surface", &shape);
    CHECK(shape == kant::Shape{5, 12, 12});
    CHECK(kant::read_cell_dataset(f, "snapshots/surface_x").size() == 12);
  }
  std::sort(la.begin(), la.end());
  std::sort(lb.begin(), lb.end());
  std::sort(ga.begin(), ga.end());
  std::sort(gb.begin(), gb.end());
  CHECK(la == lb);  // bit for bit
  CHECK(ga == gb);
  // cells without it store no snapshots
  CHECK_THROWS(kant::read_cell_dataset(fa.front(), "snapshots/step"));
  // nor with spectral norm's vectors and a weight average, which the snapshots put back
  Scratch c, d;
  const std::string sn =
      " --set lipschitz=spectral_norm --set train.ema=0.9 --set train.log_every=5";
  run_ok(kcmd(run + sn + c.res()));
  run_ok(kcmd(run + sn + " --set train.sample_every=3" + d.res()));
  const auto fc = cell_files(c.results() / "tiny"), fd = cell_files(d.results() / "tiny");
  REQUIRE(fc.size() == 2);
  REQUIRE(fd.size() == 2);
  std::vector<std::vector<double>> lc, ld;
  for (const fs::path& f : fc) lc.push_back(kant::read_cell_dataset(f, "series/loss_generator"));
  for (const fs::path& f : fc) lc.push_back(kant::read_cell_dataset(f, "samples/generated"));
  for (const fs::path& f : fd) ld.push_back(kant::read_cell_dataset(f, "series/loss_generator"));
  for (const fs::path& f : fd) ld.push_back(kant::read_cell_dataset(f, "samples/generated"));
  std::sort(lc.begin(), lc.end());
  std::sort(ld.begin(), ld.end());
  CHECK(lc == ld);
  // steps 0, 3, …, 18 and the last, 20
  CHECK(kant::read_cell_dataset(fd.front(), "snapshots/step") ==
        std::vector<double>{0, 3, 6, 9, 12, 15, 18, 20});

  // the report: small multiples over time per row, and split figures
  const fs::path dir = b.results() / "tiny";
  run_ok(kcmd("report " + dir.string() + " --set 'report.figures={columns: method}'"));
  const fs::path out = dir / "report";
  for (const char* f : {"over_time_GP.svg", "over_time_clip.svg", "samples_by_method.svg",
                        "series_loss_critic_by_method.svg"})
    CHECK(fs::exists(out / f));
  const std::string over_time = file_text((out / "over_time_GP.svg").string());
  CHECK(count_of(over_time, "step 0") >= 2);  // samples and surface at step 0
  CHECK_THAT(over_time, Catch::Contains("step 20"));
  CHECK_THAT(over_time, Catch::Contains("critic value surface"));
  const std::string page = file_text((out / "index.html").string());
  CHECK_THAT(page, Catch::Contains("<h2 id=\"samples-over-time\">samples over time</h2>"));
  CHECK_THAT(page, Catch::Contains("over_time_GP.svg"));
  CHECK_THAT(file_text((out / "samples_by_method.svg").string()), Catch::Contains("method = clip"));
  // a report plot as small multiples: a panel per (rows value, columns value)
  run_ok(kcmd("report " + dir.string() +
              " --set 'report.plots=[{name: grid_of_losses, y: series/loss_critic, rows: method, "
              "columns: seed}]'"));
  const std::string plot = file_text((out / "grid_of_losses.svg").string());
  CHECK_THAT(plot, Catch::Contains("method = GP") && Catch::Contains("method = clip") &&
                       Catch::Contains("seed = 0"));
  CHECK(count_of(plot, "<svg") >= 3);  // the figure and its two panels
  expect_error(kcmd("report " + dir.string() +
                    " --set 'report.plots=[{y: series/loss_critic, rows: methd}]'"),
               {"not an axis of the grid", "did you mean 'method'"});
  expect_error(kcmd("report " + dir.string() + " --set 'report.figures={colums: method}'"),
               {"did you mean 'columns'"});

  // images: a grid of generated digits per stored step, no surface
  Scratch e;
  run_ok(kcmd("run " + kData +
              "tiny_dcgan.yaml --jobs 2 --set train.sample_every=2 --set train.sample_size=8" +
              e.res()));
  for (const fs::path& f : cell_files(e.results() / "tiny_dcgan")) {
    kant::Shape shape;
    kant::read_cell_dataset(f, "snapshots/generated", &shape);
    CHECK(shape == kant::Shape{3, 8, 1, 28, 28});
    CHECK_THROWS(kant::read_cell_dataset(f, "snapshots/critic_surface"));
  }
  const std::string digits =
      file_text((e.results() / "tiny_dcgan" / "report" / "over_time_layer.svg").string());
  CHECK_THAT(digits,
             Catch::Contains("step 0") && Catch::Contains("step 2") && Catch::Contains("step 4"));
  CHECK(count_of(digits, "<rect") >= 3 * 8 * 28 * 28);  // every pixel of 3 steps × 8 images
  CHECK_THAT(digits, !Catch::Contains("critic value surface"));
  expect_error(kcmd("validate " + tiny + " --set train.sample_every=-1"), {"sample_every"});
}

TEST_CASE("kant plugins KIND NAME lists what the component stores, with its meaning",
          "[daily][plugins]") {
  CommandResult r = run_ok(kcmd("plugins metric mode_coverage"));
  CHECK_THAT(r.output, Catch::Contains("stores:"));
  CHECK(std::regex_search(r.output, std::regex(R"(value +reverse_kl +KL)")));
  CHECK_THAT(r.output, Catch::Contains("final/mode_coverage.<value>"));
  r = run_ok(kcmd("plugins procedure vae"));
  CHECK(std::regex_search(r.output, std::regex(R"(series +kl +KL)")));
  // every metric's values (at its defaults) and every procedure's losses are documented
  const kant::Registry& registry = builtin_registry();
  for (const auto& owned : registry.components()) {
    const kant::Component* c = owned.get();
    if (c->registration.kind() != kant::Kind::metric) continue;
    INFO(c->name());
    std::map<std::string, kant::Value> values;
    for (const kant::ParamSpec& p : c->schema())
      if (p.default_value) values.emplace(p.name, *p.default_value);
    auto metric = registry.create<kant::Metric, kant::MetricFactory>(*c, kant::Params(values));
    for (const std::string& v : metric->value_names()) {
      INFO(v);
      CHECK(std::any_of(c->registration.stores.begin(), c->registration.stores.end(),
                        [&](const kant::StoredValue& s) {
                          return s.where == kant::StoredValue::Where::value &&
                                 kant::stored_name_matches(s.name, v);
                        }));
    }
  }
  for (const auto& owned : registry.components()) {
    const kant::Component* c = owned.get();
    if (c->registration.kind() != kant::Kind::procedure) continue;
    INFO(c->name());
    std::map<std::string, kant::Value> values;
    for (const kant::ParamSpec& p : c->schema())
      if (p.default_value) values.emplace(p.name, *p.default_value);
    auto procedure =
        registry.create<kant::Procedure, kant::ProcedureFactory>(*c, kant::Params(values));
    for (const std::string& v : procedure->loss_names()) {
      INFO(v);
      CHECK(std::any_of(c->registration.stores.begin(), c->registration.stores.end(),
                        [&](const kant::StoredValue& s) {
                          // a pattern documents a family: lapgan's loss_critic_<size>
                          return s.where == kant::StoredValue::Where::series &&
                                 kant::stored_name_matches(s.name, v);
                        }));
    }
  }
}

TEST_CASE(
    "every command has --help, and kant completion bash completes commands, options and plugins",
    "[daily][cli]") {
  for (const char* cmd : {"run", "validate", "report", "export", "show", "plugins", "list", "clean",
                          "verify", "completion"}) {
    CommandResult r = run_command(kcmd(std::string(cmd) + " --help"));
    INFO(cmd);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("Usage:"));
  }
  Scratch s;
  const std::string script =
      s.write("kant.bash", run_ok(kcmd("completion bash") + " 2>/dev/null").output);
  run_ok("bash -n " + script);
  auto complete = [&](const std::string& words) {
    // COMP_WORDS as bash fills it; the word being completed is the last
    const std::string cmd =
        "bash -c 'source " + script + "; COMP_WORDS=(" + kant_exe() + " " + words +
        "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _kant; echo \"${COMPREPLY[*]}\"'";
    return run_ok(cmd).output;
  };
  CHECK_THAT(complete("r"), Catch::Contains("run") && Catch::Contains("report"));
  CHECK_THAT(complete("ex"), Catch::Contains("export"));
  CHECK_THAT(complete("run --sw"), Catch::Contains("--sweep"));
  CHECK_THAT(complete("export --format \"\""), Catch::Contains("csv jsonl"));
  CHECK_THAT(complete("plugins met"), Catch::Contains("metric"));
  CHECK_THAT(complete("plugins metric mode"), Catch::Contains("mode_coverage"));
  expect_error(kcmd("completion zsh"), {"only bash"});
}

TEST_CASE(
    "the README's experiment example is experiments/quickstart.yaml, and its commands' output "
    "holds",
    "[daily][readme]") {
  const std::string readme = file_text(kSource + "/README.md");
  const std::string marker =
      "<!-- experiments/quickstart.yaml, checked by tests/test_daily.cpp -->\n```yaml\n";
  const size_t start = readme.find(marker);
  REQUIRE(start != std::string::npos);
  const size_t body = start + marker.size();
  const size_t end = readme.find("```\n", body);
  REQUIRE(end != std::string::npos);
  CHECK(readme.substr(body, end - body) == file_text(kSource + "/experiments/quickstart.yaml"));
  // the tour's validate line
  CommandResult v = run_ok(kcmd("validate " + kSource + "/experiments/quickstart.yaml"));
  CHECK_THAT(v.output, Catch::Contains("quickstart: 6 cells, all valid"));
  CHECK_THAT(readme, Catch::Contains("quickstart: 6 cells, all valid"));
  CHECK_THAT(v.output, Catch::Contains("method=WGAN-GP seed=0"));
}

TEST_CASE("one metric listed twice with different parameters, under names of the user's choice",
          "[daily][metrics]") {
  Scratch s;
  const std::string metrics =
      " --set 'metrics=[{plugin: mode_coverage, every: 10, samples: 300}, {plugin: mode_coverage, "
      "every: 10, name: coverage_5std, "
      "threshold_std: 5, samples: 300}]'";
  CommandResult r = run_ok(kcmd(
      "run " + kData + "tiny.yaml --jobs 2 --set seeds=[0]" + metrics +
      " --set 'report.values=[mode_coverage.high_quality, coverage_5std.high_quality]'" + s.res()));
  CHECK_THAT(r.output,
             Catch::Contains("| mode_coverage.high_quality | coverage_5std.high_quality |"));
  for (const fs::path& f : cell_files(s.results() / "tiny")) {
    const kant::CellSummary c = kant::read_cell_summary(f);
    CHECK(c.final_metrics.count("mode_coverage.modes"));
    CHECK(c.final_metrics.count("coverage_5std.modes"));
    CHECK(kant::read_cell_dataset(f, "metrics/coverage_5std/high_quality").size() ==
          3);  // steps 0, 10, 20
    CHECK_THAT(c.config_yaml, Catch::Contains("threshold_std: 5"));
  }
  expect_error(kcmd("validate " + kData +
                    "tiny.yaml --set 'metrics=[{plugin: mode_coverage}, {plugin: mode_coverage}]'"),
               {"two metrics are stored as 'mode_coverage': give one a `name:`"});
}

TEST_CASE("every shipped experiment validates, in each of its profiles", "[daily][cli]") {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kSource + "/experiments"))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  REQUIRE(files.size() > 10);
  for (const auto& f : files) {
    const std::string text = file_text(f.string());
    std::vector<std::string> profiles{""};
    for (const char* p : {"quick", "full"})
      if (text.find(std::string("\n  ") + p + ":") != std::string::npos)
        profiles.push_back(std::string(" --profile ") + p);
    for (const std::string& p : profiles) {
      // from the repository root, where relative data paths (zoo's idx files) point
      const CommandResult r = run_command("cd " + kSource + " && " +
                                          kcmd("validate " + f.string() + p + " > /dev/null"));
      INFO(f.string() << p << "\n" << r.output);
      CHECK(r.exit_code == 0);
    }
  }
}
