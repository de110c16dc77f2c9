// kant report: formats, published numbers, damaged files, the HTML page in a real browser,
// and the same numbers from h5py alone.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant::testing;

namespace {

const std::string kSource = KANT_TEST_SOURCE_DIR;

// One results folder for the whole file (training it once keeps the tests fast).
const fs::path& results() {
  static const fs::path dir = [] {
    fs::path d = temp_dir("kant-report");
    CommandResult r = run_command(kant_exe() + " run " + kSource + "/tests/data/reported.yaml --quiet --results " + d.string());
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
  CHECK_THAT(out, Catch::Contains("2 of 3 published numbers reproduced within tolerances as the experiment states (a made-up table)"));
  CHECK_THAT(out, Catch::Contains("| 3 | 0        | 0      |"));
}

TEST_CASE("CSV, LaTeX and HTML tables", "[report]") {
  std::string csv = report("--format csv 2>/dev/null");
  CHECK_THAT(csv, Catch::StartsWith("method,mode_coverage.modes mean,mode_coverage.modes std,mode_coverage.modes (paper)"));
  std::string tex = report("--format latex 2>/dev/null");
  CHECK_THAT(tex, Catch::Contains("\\toprule") && Catch::Contains("\\bottomrule") && Catch::Contains("$\\pm$") &&
                      Catch::Contains("mode\\_coverage.modes"));
  std::string html = report("--format html 2>/dev/null");
  CHECK_THAT(html, Catch::Contains("<table class=\"results\">") && Catch::Contains("<td class=\"miss\">"));
  CommandResult bad = run_command(kant_exe() + " report " + results().string() + " --format latx");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("did you mean 'latex'?"));
}

TEST_CASE("h5py alone gives the same numbers as kant report", "[report][h5py]") {
  const fs::path csv = results().parent_path() / "kant.csv";
  report("--format csv > " + csv.string() + " 2>/dev/null");
  CommandResult r = run_command("/usr/bin/python3 " + kSource + "/tests/report_check.py " + results().string() + " " +
                                csv.string() + " method mode_coverage.modes mode_coverage.high_quality");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("GP [") && Catch::Contains("clip ["));
}

TEST_CASE("a truncated or foreign cell file is named and the rest of the table is produced", "[report]") {
  fs::path copy = results().parent_path() / "damaged";
  fs::remove_all(copy);
  fs::copy(results(), copy, fs::copy_options::recursive);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(copy / "cells")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  fs::resize_file(files[0], fs::file_size(files[0]) / 3);     // truncated
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
  for (std::regex re(R"(\| (GP|clip) .*\| (\d) +\| 0 +\| 0 +\|)"); std::regex_search(out, m, re); out = m.suffix())
    total += std::stoi(m[2]);
  CHECK(total == 4);
  CHECK(fs::exists(copy / "report" / "index.html"));
}

TEST_CASE("the HTML page renders in headless Chromium: tables and every image", "[report][browser]") {
  report("");
  const fs::path page = results() / "report" / "index.html";
  REQUIRE(fs::exists(page));
  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --virtual-time-budget=10000 --user-data-dir=" +
      temp_dir("kant-chromium").string();
  CommandResult dom = run_command(chromium + " --dump-dom file://" + page.string() + " 2>/dev/null");
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
  CommandResult s = run_command(chromium + " --window-size=1280,1600 --screenshot=" + shot.string() + " file://" + page.string());
  CHECK(fs::exists(shot));
  CHECK(fs::file_size(shot) > 20000);
}

TEST_CASE("kant show prints one cell", "[report]") {
  fs::path cell;
  for (const auto& e : fs::directory_iterator(results() / "cells")) cell = e.path();
  CommandResult r = run_command(kant_exe() + " show " + cell.string());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("status: complete") && Catch::Contains("git_commit") &&
                           Catch::Contains("mode_coverage.modes") && Catch::Contains("series loss_critic: 20 steps"));
}
