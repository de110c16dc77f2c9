// kant report: formats, published numbers, damaged files, the HTML page in a real browser,
// the same numbers from h5py alone, and NaN/±Inf values from diverged runs.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
// std::regex: GCC 12 with -O3 and the sanitizers reports maybe-uninitialized inside
// libstdc++'s regex headers (GCC bug 105562), silenced for that include only
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop

#include <fmt/format.h>

#include "report/svg_plot.hpp"
#include "store/cell_file.hpp"
#include "store/manifest.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant::testing;

namespace {

const std::string kSource = KANT_TEST_SOURCE_DIR;

// One results folder for the whole file (training it once keeps the tests fast).
const fs::path& results() {
  static const fs::path dir = [] {
    fs::path d = temp_dir("kant-report");
    CommandResult r = run_command(kant_exe() + " run " + kSource +
                                  "/tests/data/reported.yaml --quiet --results " + d.string());
    if (r.exit_code != 0) throw std::runtime_error(r.output);
    return d / "reported";
  }();
  return dir;
}

std::string report(const std::string& args) {
  CommandResult r = run_command(kant_exe() + " report " + results().string() + " " + args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return r.output;
}

}  // namespace

TEST_CASE("the table shows ours, the paper's and the difference, with a summary", "[report]") {
  std::string out = report("");
  CHECK_THAT(out, Catch::Contains("| method "));
  CHECK_THAT(out, Catch::Contains("mode_coverage.modes (paper)"));
  CHECK_THAT(out, Catch::Contains("mode_coverage.high_quality (Δ)"));
  // GP's high_quality cannot be 123 %: beyond the 0.001 tolerance, marked ✗
  CHECK_THAT(out, Catch::Contains("✗"));
  CHECK_THAT(out, Catch::Contains("2 of 3 published numbers reproduced within tolerances as the "
                                  "experiment states (a made-up table)"));
  CHECK_THAT(out, Catch::Contains("| 3 | 0        | 0      |"));
}

TEST_CASE("CSV, LaTeX and HTML tables", "[report]") {
  std::string csv = report("--format csv 2>/dev/null");
  CHECK_THAT(csv, Catch::StartsWith("method,mode_coverage.modes mean,mode_coverage.modes "
                                    "std,mode_coverage.modes finite,mode_coverage.modes (paper)"));
  std::string tex = report("--format latex 2>/dev/null");
  CHECK_THAT(tex, Catch::Contains("\\toprule") && Catch::Contains("\\bottomrule") &&
                      Catch::Contains("$\\pm$") && Catch::Contains("mode\\_coverage.modes"));
  std::string html = report("--format html 2>/dev/null");
  CHECK_THAT(
      html, Catch::Contains("<table class=\"results\">") && Catch::Contains("<td class=\"miss\">"));
  CommandResult bad = run_command(kant_exe() + " report " + results().string() + " --format latx");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("did you mean 'latex'?"));
}

TEST_CASE("h5py alone gives the same numbers as kant report", "[report][h5py]") {
  const fs::path csv = results().parent_path() / "kant.csv";
  report("--format csv > " + csv.string() + " 2>/dev/null");
  CommandResult r =
      run_command("/usr/bin/python3 " + kSource + "/tests/report_check.py " + results().string() +
                  " " + csv.string() + " method mode_coverage.modes mode_coverage.high_quality");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("GP [") && Catch::Contains("clip ["));
}

TEST_CASE("a truncated or foreign cell file is named and the rest of the table is produced",
          "[report]") {
  fs::path copy = results().parent_path() / "damaged";
  fs::remove_all(copy);
  fs::copy(results(), copy, fs::copy_options::recursive);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(copy / "cells")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  fs::resize_file(files[0], fs::file_size(files[0]) / 3);         // truncated
  std::ofstream(files[1], std::ios::trunc) << "not hdf5 at all";  // foreign
  CommandResult r = run_command(kant_exe() + " report " + copy.string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("skipped " + files[0].string()));
  CHECK_THAT(r.output, Catch::Contains("skipped " + files[1].string()));
  CHECK_THAT(r.output, Catch::Contains("| GP "));
  CHECK_THAT(r.output, Catch::Contains("| clip "));
  // 6 cells, 2 left out: the rows count 4
  std::smatch m;
  std::string out = r.output;
  int total = 0;
  for (std::regex re(R"(\| (GP|clip) .*\| (\d) +\| 0 +\| 0 +\|)"); std::regex_search(out, m, re);
       out = m.suffix())
    total += std::stoi(m[2]);
  CHECK(total == 4);
  CHECK(fs::exists(copy / "report" / "index.html"));
}

TEST_CASE("the HTML page renders in headless Chromium: tables and every image",
          "[report][browser]") {
  report("");
  const fs::path page = results() / "report" / "index.html";
  REQUIRE(fs::exists(page));
  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking "
      "--disable-component-update --disable-sync --virtual-time-budget=10000 --user-data-dir=" +
      temp_dir("kant-chromium").string();
  CommandResult dom =
      run_command(chromium + " --dump-dom file://" + page.string() + " 2>/dev/null");
  INFO(dom.output.substr(0, 2000));
  REQUIRE(dom.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(dom.output, m, std::regex(R"re(data-images-ok="(\d+)/(\d+)")re")));
  CHECK(std::stoi(m[1]) == std::stoi(m[2]));
  CHECK(std::stoi(m[2]) >= 8);  // samples, curves, metrics, the report's own plot
  REQUIRE(std::regex_search(dom.output, m, std::regex(R"re(data-tables="(\d+)")re")));
  CHECK(std::stoi(m[1]) == 2);
  // a screenshot for people: build/tests/report_screenshot.png
  const fs::path shot = fs::path(KANT_TEST_BINARY_DIR) / "report_screenshot.png";
  fs::remove(shot);
  CommandResult s =
      run_command(chromium + " --window-size=1280,1600 --screenshot=" + shot.string() + " file://" +
                  page.string());
  CHECK(fs::exists(shot));
  CHECK(fs::file_size(shot) > 20000);
}

TEST_CASE("kant show prints one cell", "[report]") {
  fs::path cell;
  for (const auto& e : fs::directory_iterator(results() / "cells")) cell = e.path();
  CommandResult r = run_command(kant_exe() + " show " + cell.string());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("status: complete") && Catch::Contains("git_commit") &&
                           Catch::Contains("mode_coverage.modes") &&
                           Catch::Contains("series loss_critic: 20 steps"));
}

// ---- non-finite numbers: diverged cells, NaN metrics, NaN and ±Inf in every figure ---------

namespace {

// A results folder written through the store: rows A and B, seeds 0–2 (and a diverged seed 3
// in B), with NaN and ±Inf in final metrics, series, a critic surface and generated samples.
fs::path nonfinite_results() {
  using namespace kant;
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  const fs::path dir = temp_dir("kant-nonfinite") / "nonfinite";
  // final values per row and seed: m.x mixes finite and not, m.y is never finite
  const std::map<std::string, std::vector<std::pair<double, double>>> finals{
      {"A", {{1, nan}, {nan, nan}, {3, nan}}}, {"B", {{inf, inf}, {2, inf}, {2, inf}, {5, 5}}}};
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> listed;
  int k = 0;
  for (const auto& [row, seeds] : finals)
    for (size_t seed = 0; seed < seeds.size(); ++seed, ++k) {
      CellInfo info;
      info.experiment = "nonfinite";
      info.cell_id = fmt::format("{:016x}", 0xabc0 + k);
      info.labels = {{"method", row}, {"seed", std::to_string(seed)}};
      info.config_yaml = "seed: " + std::to_string(seed) + "\n";
      CellResult r;
      if (seed == 3) {  // a diverged cell: its final values are not in the table
        r.status = CellStatus::diverged;
        r.detail = "loss_critic is NaN at generator step 3";
        r.diverged_step = 3;
      }
      r.final_metrics = {{"m.x", seeds[seed].first}, {"m.y", seeds[seed].second}};
      const float fnan = std::numeric_limits<float>::quiet_NaN(),
                  finf = std::numeric_limits<float>::infinity();
      for (int64_t step = 1; step <= 6; ++step) {
        const double y = step == 3 && seed == 1    ? nan
                         : step == 4 && row == "B" ? -inf
                         : step == 5               ? inf
                                                   : 1.0 / step;
        r.losses.add(step, {{"loss_critic", y},
                            {"penalty", 0.0},
                            {"divergence_estimate", y},
                            {"loss_generator", -y}});
        r.metrics["m"].add(step, {{"x", y}, {"y", nan}});
      }
      std::vector<float> grid{-1, 0, 1}, values(9, 0.5f);
      values[0] = fnan, values[4] = finf, values[8] = -finf, values[1] = 0.25f;
      r.arrays["critic_surface"] = {{"x", Tensor::from({3}, grid)},
                                    {"y", Tensor::from({3}, grid)},
                                    {"values", Tensor::from({3, 3}, values)}};
      r.generated = Tensor::from({3, 2}, {0.5f, fnan, finf, 1.0f, 0.0f, 0.0f});
      r.real = Tensor::from({3, 2}, {0.5f, 0.5f, -0.5f, 1.0f, 0.0f, 0.0f});
      write_cell_file(cell_path(dir, info.cell_id), info, r);
      listed.push_back({info.cell_id, info.labels});
    }
  ConfigNode report = parse_yaml(
      "{rows: method, values: [m.x, m.y], plots: [{name: by_seed, y: series/loss_critic, "
      "lines: seed}]}",
      "test");
  write_manifest(dir, "nonfinite", {"method", "seed"}, report, ConfigNode(), listed);
  return dir;
}

}  // namespace

TEST_CASE("NaN and ±Inf values: finite seeds averaged and counted k/n, never a number from NaN",
          "[report][nonfinite]") {
  const fs::path dir = nonfinite_results();
  CommandResult r = run_command(kant_exe() + " report " + dir.string() + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // A: m.x over seeds 0 and 2 (seed 1 is NaN); m.y NaN everywhere. B: m.x over the two finite
  // complete seeds (seed 0 is +Inf; the diverged seed 3 is counted, not averaged)
  CHECK_THAT(
      r.output,
      Catch::Contains("| A      | 2.000 ± 1.414 (2/3) | nan (0/3)  | 3 | 0        | 0      |"));
  CHECK_THAT(
      r.output,
      Catch::Contains("| B      | 2.000 ± 0.000 (2/3) | +inf (0/3) | 3 | 1        | 0      |"));
  CHECK_THAT(r.output,
             !Catch::Contains("nan ±") && !Catch::Contains("-nan") && !Catch::Contains("inf ±"));
  CommandResult csv =
      run_command(kant_exe() + " report " + dir.string() + " --format csv 2>/dev/null");
  CHECK_THAT(
      csv.output,
      Catch::StartsWith(
          "method,m.x mean,m.x std,m.x finite,m.y mean,m.y std,m.y finite,n,diverged,failed\n"));
  CHECK_THAT(csv.output, Catch::Contains("A,2,1.4142135623730951,2/3,,,0/3,3,0,0"));
  // h5py alone agrees, k/n included
  const fs::path csv_file = dir.parent_path() / "kant.csv";
  std::ofstream(csv_file) << csv.output;
  CommandResult py = run_command("/usr/bin/python3 " + kSource + "/tests/report_check.py " +
                                 dir.string() + " " + csv_file.string() + " method m.x m.y");
  INFO(py.output);
  CHECK(py.exit_code == 0);
  CommandResult tex =
      run_command(kant_exe() + " report " + dir.string() + " --format latex 2>/dev/null");
  CHECK_THAT(tex.output,
             Catch::Contains("2.000 $\\pm$ 1.414 (2/3)") && Catch::Contains("nan (0/3)"));
  // every figure was written; the non-finite values are drawn as marks with a legend entry
  const fs::path out = dir / "report";
  REQUIRE(fs::exists(out / "index.html"));
  auto read = [](const fs::path& f) {
    std::ifstream in(f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string surface = read(out / "surface_A.svg");
  CHECK_THAT(surface, Catch::Contains("url(#hatch-nan)") && Catch::Contains("url(#hatch-posinf)") &&
                          Catch::Contains("url(#hatch-neginf)") && Catch::Contains("NaN (1)") &&
                          Catch::Contains("+Inf (1)") && Catch::Contains("−Inf (1)"));
  const std::string losses = read(out / "series_loss_critic.svg");
  CHECK_THAT(losses,
             Catch::Contains("NaN (2)") && Catch::Contains("+Inf (") && Catch::Contains("−Inf ("));
  CHECK_THAT(read(out / "samples_A.svg"),
             Catch::Contains("NaN (1)") && Catch::Contains("+Inf (1)"));
  CHECK_THAT(read(out / "by_seed.svg"), Catch::Contains("NaN (") && Catch::Contains("+Inf ("));
  CHECK_THAT(read(out / "metrics_m_y.svg"), Catch::Contains("NaN (42)"));
  // no coordinate or colour is ever computed from a non-finite value
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string text = read(e.path());
    INFO(e.path());
    CHECK_THAT(text, !Catch::Contains("nan,") && !Catch::Contains("inf,") &&
                         !Catch::Contains("\"nan\"") && !Catch::Contains("\"-nan\"") &&
                         !Catch::Contains("\"inf\"") && !Catch::Contains("#-"));
  }
  CHECK_THAT(read(out / "index.html"),
             Catch::Contains("(k/n)") && Catch::Contains("status-diverged"));
}

TEST_CASE("a grid that diverges (learning rate 1e30) is reported with exit 0 and every figure",
          "[report][nonfinite]") {
  const fs::path d = temp_dir("kant-diverged");
  CommandResult run = run_command(kant_exe() + " run " + kSource +
                                  "/tests/data/tiny.yaml --quiet --results " + d.string() +
                                  " --set optimizer.lr=1e30 --set 'metrics=[{plugin: "
                                  "critic_surface}, {plugin: mode_coverage, every: 5}, "
                                  "{plugin: gradient_norms, every: 5}]' 2>&1");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);  // diverged cells are results, not failures
  CHECK_THAT(run.output, Catch::Contains("diverged"));
  CommandResult r = run_command(kant_exe() + " report " + (d / "tiny").string() + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("| method |") && !Catch::Contains("nan ±") &&
                           !Catch::Contains("-nan"));
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex(R"(kant report: (\d+) figures)")));
  CHECK(std::stoi(m[1]) >= 8);
  CHECK(fs::exists(d / "tiny" / "report" / "surface_GP.svg"));
}

TEST_CASE("SVG plots of degenerate data: no coordinate or colour is ever NaN or Inf",
          "[report][nonfinite]") {
  using namespace kant;
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  // a number printed from NaN or ±Inf ("nan", "-inf"), not the words of ids and legends
  const std::regex nonfinite(R"((^|[^A-Za-z-])-?(nan|inf)([^A-Za-z]|$))");
  auto clean = [&](const std::string& svg) {
    INFO(svg.substr(0, 3000));
    CHECK_FALSE(std::regex_search(svg, nonfinite));
    CHECK_THAT(svg, !Catch::Contains("#-") && Catch::EndsWith("</svg>\n"));
  };
  auto series = [](std::vector<double> x, std::vector<double> y) {
    svg::Series s;
    s.label = "s";
    s.x = std::move(x);
    s.y = std::move(y);
    return s;
  };
  svg::PlotOptions o;
  clean(svg::plot({}, o));
  clean(svg::plot({series({}, {})}, o));
  clean(svg::plot({series({1}, {2})}, o));                       // one point
  clean(svg::plot({series({1, 2, 3}, {1e30, 1e30, 1e30})}, o));  // constant and huge
  clean(svg::plot({series({1, 2, 3}, {-3e38, 0, 3e38})}, o));    // the whole float range
  clean(svg::plot({series({nan, inf, -inf}, {1, 2, 3})}, o));    // no finite x
  clean(svg::plot({series({1, 2, 3}, {nan, nan, nan})}, o));     // no finite y
  o.log_y = true;
  clean(svg::plot({series({1, 2, 3}, {0, -1, nan})}, o));  // nothing a log axis can show
  o.equal_aspect = true;
  clean(svg::plot({series({1, 1}, {inf, -inf})}, o));
  svg::Series none;
  clean(svg::contour({0, 1}, {0, 1}, {nan, nan, inf, -inf}, 5, none, "all non-finite"));
  clean(svg::contour({0, 1, 2}, {0, 1}, {1e30, 1e30, 1e30, 1e30, 1e30, 1e30}, 5, none, "constant"));
  CHECK_THROWS_AS(svg::contour({0}, {0, 1}, {1, 2}, 5, none, "one column"), Error);
  CHECK_THROWS_AS(svg::contour({0, nan}, {0, 1}, {1, 2, 3, 4}, 5, none, "nan axis"), Error);
  CHECK_THROWS_AS(svg::contour({0, 1}, {0, 1}, {1, 2, 3}, 5, none, "short"), Error);
  clean(svg::image_grid({nan, inf, -inf, 0.5}, 1, 1, 2, 2, 8, "pixels"));
  CHECK_THROWS_AS(svg::image_grid({0.5}, 1, 1, 2, 2, 8, "short"), Error);
}
