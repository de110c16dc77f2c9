// Live series of running cells: the record file (written, read back, every torn or damaged
// prefix), sparklines at hand-computed points, and end to end from the kant CLI: kant report
// and kant watch (plain and in tmux) on a grid while it trains, kant report --watch in headless
// Chromium, kant stop, a cell killed with SIGKILL, kant clean.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "report/report.hpp"
#include "store/cell_file.hpp"
#include "store/live_series.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace kant;
using namespace kant::testing;

namespace {

// Writes three kinds of records and returns the file (flushed every 10 ms).
fs::path write_sample_file(const fs::path& dir) {
  const fs::path file = dir / "0123456789abcdef.live";
  LiveSeriesWriter w(file, {{"experiment", "e"}, {"cell_id", "0123456789abcdef"}, {"steps", "10"}},
                     std::chrono::milliseconds(10));
  w.losses(0, 0.0, {{"loss_critic", 1.5}});  // before start(): written in one piece with it
  w.start();
  for (int s = 1; s <= 4; ++s) w.losses(s, 0.5 * s, {{"loss_critic", 1.5 - s}, {"penalty", s}});
  w.metric(4, "mode_coverage", {{"modes", 7}, {"high_quality", 0.25}});
  w.samples(4, Tensor::from({3, 2}, {1, 2, 3, 4, 5, 6}));
  w.close();
  return file;
}

bool wait_for(const std::function<bool()>& ready, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ready();
}

// A small grid that trains for a while (2 cells, one at a time): 8 Gaussians, narrow networks.
fs::path write_experiment(const fs::path& dir, int steps) {
  const fs::path file = dir / "live.yaml";
  std::ofstream(file) << "name: live\n"
                         "base:\n"
                         "  dataset:   {plugin: eight_gaussians}\n"
                         "  generator: {plugin: mlp, hidden: [64, 64], noise_dim: 2}\n"
                         "  critic:    {plugin: mlp, hidden: [64, 64]}\n"
                         "  objective: wasserstein\n"
                         "  lipschitz: {plugin: gradient_penalty, lambda: 0.1}\n"
                         "  optimizer: {plugin: adam, lr: 1.0e-4, beta1: 0.5, beta2: 0.9}\n"
                         "  procedure: {plugin: gan, n_critic: 5}\n"
                         "  train:     {steps: "
                      << steps
                      << ", batch_size: 128, sample_every: 100, sample_size: 200}\n"
                         "  metrics:   [{plugin: mode_coverage, every: 200}]\n"
                         "grid:\n"
                         "  method: {WGAN-GP: {}}\n"
                         "seeds: [0, 1]\n";
  return file;
}

// A live file in `results` (but not cell `except`'s) once it has passed step `step`.
std::optional<fs::path> running_live_file(const fs::path& results, int64_t step,
                                          const std::string& except = "") {
  for (const fs::path& f : files_matching(results / "cells", ".live")) {
    if (f.extension() != ".live" || f.stem().string() == except) continue;
    try {
      if (read_live_series(f).step() >= step) return f;
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("a live file reads back every record it was given", "[live]") {
  const fs::path file = write_sample_file(temp_dir("kant-live"));
  const LiveSeries s = read_live_series(file);
  CHECK(s.header.at("experiment") == "e");
  CHECK(s.steps == 10);
  REQUIRE(s.losses.step == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(s.losses.values.at("loss_critic") == std::vector<double>{1.5, 0.5, -0.5, -1.5, -2.5});
  CHECK(s.losses.values.at("penalty") == std::vector<double>{1, 2, 3, 4});
  CHECK(s.elapsed.back() == 2.0);
  CHECK(s.step() == 4);
  CHECK(s.seconds_left() == Approx(2.0 / 4 * 6));  // 0.5 s a step, 6 steps to go
  CHECK(s.metrics.at("mode_coverage").values.at("modes") == std::vector<double>{7});
  REQUIRE(s.latest_samples.defined());
  CHECK(s.latest_samples.shape() == Shape{3, 2});
  CHECK(s.latest_samples.data()[5] == 6.0f);
  CHECK(s.valid_bytes == s.file_bytes);
}

TEST_CASE("every torn prefix of a live file reads as the records wholly in it", "[live]") {
  const fs::path dir = temp_dir("kant-live-torn");
  const fs::path file = write_sample_file(dir);
  const std::string whole = read_text(file);
  const LiveSeries full = read_live_series(file);
  size_t previous_steps = 0;
  for (size_t cut = 8; cut <= whole.size(); ++cut) {  // after the magic, every length
    const fs::path torn = dir / "torn.live";
    std::ofstream(torn, std::ios::binary | std::ios::trunc) << whole.substr(0, cut);
    const LiveSeries s = read_live_series(torn);
    INFO("cut at " << cut);
    REQUIRE(s.valid_bytes <= cut);
    REQUIRE(s.losses.step.size() >= previous_steps);  // a longer prefix never reads less
    previous_steps = s.losses.step.size();
    for (size_t i = 0; i < s.losses.step.size(); ++i)  // and what it reads is what was written
      REQUIRE(s.losses.step[i] == full.losses.step[i]);
  }
  CHECK(previous_steps == 5);
  // a flipped byte in the third record's payload: the reader stops before that record
  std::string damaged = whole;
  const LiveSeries header_only = [&] {
    std::ofstream(dir / "h.live", std::ios::binary | std::ios::trunc) << whole.substr(0, 8);
    return read_live_series(dir / "h.live");
  }();
  CHECK(header_only.losses.step.empty());
  size_t at = 8;
  for (int record = 0; record < 3; ++record) {
    uint32_t length;
    std::memcpy(&length, damaged.data() + at, 4);
    if (record < 2) at += 9 + length;
  }
  damaged[at + 9 + 2] ^= 0x40;
  std::ofstream(dir / "bad.live", std::ios::binary | std::ios::trunc) << damaged;
  const LiveSeries bad = read_live_series(dir / "bad.live");
  CHECK(bad.losses.step == std::vector<int64_t>{0});  // header, step 0, then the damaged one
  CHECK(bad.valid_bytes == at);
  // not a live file at all
  std::ofstream(dir / "x.live") << "hello";
  CHECK_THROWS_AS(read_live_series(dir / "x.live"), StorageError);
}

TEST_CASE("a live file that cannot be made is refused before training, never during it", "[live]") {
  const fs::path dir = temp_dir("kant-live-nowhere") / "no" / "such" / "folder";
  CHECK_THROWS_AS(
      LiveSeriesWriter(dir / "0123456789abcdef.live", {}, std::chrono::milliseconds(10)),
      StorageError);
}

TEST_CASE("sparklines at hand-computed points", "[live]") {
  CHECK(sparkline({0, 1, 2, 3, 4, 5, 6, 7}, 8, true) == "▁▂▃▄▅▆▇█");
  CHECK(sparkline({0, 1, 2, 3, 4, 5, 6, 7}, 8, false) == "_.-:=+*#");
  // 8 values in 4 runs of 2: means 0.5, 2.5, 4.5, 6.5, i.e. 0, 1/3, 2/3 and 1 of the range →
  // levels ⌊8·f⌋ = 0, 2, 5 and 7 (the top clamps)
  CHECK(sparkline({0, 1, 2, 3, 4, 5, 6, 7}, 4, true) == "▁▃▆█");
  CHECK(sparkline({3, 3, 3}, 10, true) == "▅▅▅");  // flat: the middle
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(sparkline({1, nan, 2}, 3, true) == "▁·█");
  CHECK(sparkline({}, 5, true).empty());
}

TEST_CASE("a grid while it trains: kant report, kant watch, kant stop, and the live files go",
          "[live][cli]") {
  const fs::path dir = temp_dir("kant-live-run");
  const fs::path exp = write_experiment(dir, 100000);  // far longer than the test waits
  const fs::path results = dir / "results";
  const fs::path folder = results / "live";
  const int run = spawn_command(kant_exe() + " run " + exp.string() + " --results " +
                                    results.string() + " --jobs 1 --threads 1 --live-every 0.2",
                                dir / "run.log");
  std::optional<fs::path> live;
  REQUIRE(wait_for([&] { return (live = running_live_file(results / "live", 250)).has_value(); },
                   std::chrono::seconds(120)));
  const std::string id = live->stem().string();

  // kant report: the table holds no running cell; the page shows it, dashed, with its samples
  CommandResult report = run_command(kant_exe() + " report " + folder.string());
  INFO(report.output);
  CHECK(report.exit_code == 0);
  const std::string page = read_text(folder / "report" / "index.html");
  CHECK_THAT(page, Catch::Contains("Running cells") && Catch::Contains("running, step ") &&
                       Catch::Contains("live/" + id + "-losses.svg") &&
                       Catch::Contains("live/" + id + "-samples.svg"));
  CHECK_THAT(read_text(folder / "report" / "live" / (id + "-losses.svg")),
             Catch::Contains("stroke-dasharray"));

  // kant watch, not on a terminal: plain lines, no escape codes
  CommandResult watch = run_command(kant_exe() + " watch " + folder.string() + " --once");
  INFO(watch.output);
  CHECK(watch.exit_code == 0);
  CHECK(std::regex_search(watch.output, std::regex(R"(method=WGAN-GP seed=0  step \d+/100000)")));
  CHECK_THAT(watch.output, Catch::Contains("loss_critic") &&
                               Catch::Contains("live: 0/2 done, 1 running, 0 failed, 1 to do"));
  CHECK(watch.output.find('\033') == std::string::npos);

  // kant stop: refused for a cell that is not running or not in the grid (exit 2), then asked
  CHECK(
      run_command(kant_exe() + " stop " + folder.string() + " --cell ffffffffffffffff").exit_code ==
      2);
  CommandResult stop = run_command(kant_exe() + " stop " + folder.string() + " --cell " + id);
  INFO(stop.output);
  REQUIRE(stop.exit_code == 0);
  // the stopped cell is stored at its step; the run goes on to the other cell: stop that too
  REQUIRE(wait_for([&] { return fs::exists(folder / "cells" / (id + ".h5")); },
                   std::chrono::seconds(60)));
  const CellSummary stopped = read_cell_summary(folder / "cells" / (id + ".h5"));
  CHECK(stopped.status == CellStatus::stopped);
  CHECK_THAT(stopped.detail, Catch::Contains("stopped by the user at generator step"));
  // stored: the live file goes (just after the cell file is in place)
  CHECK(wait_for([&] { return !fs::exists(folder / "cells" / (id + ".live")); },
                 std::chrono::seconds(10)));
  CHECK_FALSE(fs::exists(folder / "cells" / (id + ".stop")));
  const auto steps = read_cell_series(folder / "cells" / (id + ".h5"));
  REQUIRE_FALSE(steps.empty());
  CHECK(steps.front().step.size() >= 250);  // its series kept

  std::optional<fs::path> second;
  REQUIRE(
      wait_for([&] { return (second = running_live_file(results / "live", 50, id)).has_value(); },
               std::chrono::seconds(120)));
  REQUIRE(
      run_command(kant_exe() + " stop " + folder.string() + " --cell " + second->stem().string())
          .exit_code == 0);
  CHECK(wait_command(run) == 0);
  CHECK_THAT(read_text(dir / "run.log"), Catch::Contains("2 stopped by the user"));

  // a rerun skips stopped cells; --retry-stopped would train them again (not waited for here)
  CommandResult again = run_command(kant_exe() + " run " + exp.string() + " --results " +
                                    results.string() + " --quiet");
  CHECK_THAT(again.output, Catch::Contains("2 skipped"));
}

TEST_CASE("a cell killed with SIGKILL leaves a live file kant report reads, kant clean removes it",
          "[live][cli]") {
  const fs::path dir = temp_dir("kant-live-kill");
  const fs::path exp = write_experiment(dir, 100000);
  const fs::path results = dir / "results";
  const fs::path folder = results / "live";
  const int run = spawn_command(kant_exe() + " run " + exp.string() + " --results " +
                                    results.string() + " --jobs 1 --threads 1 --live-every 0.2",
                                dir / "run.log");
  std::optional<fs::path> live;
  REQUIRE(wait_for([&] { return (live = running_live_file(folder, 150)).has_value(); },
                   std::chrono::seconds(120)));
  // the whole run dies at once (runner and cell: its process group), as when a host goes down
  ::kill(-run, SIGKILL);
  wait_command(run);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const LiveSeries s = read_live_series(*live);
  CHECK(s.step() >= 150);
  CommandResult report = run_command(kant_exe() + " report " + folder.string());
  INFO(report.output);
  CHECK(report.exit_code == 0);
  CHECK_THAT(read_text(folder / "report" / "index.html"),
             Catch::Contains("not running (its process is gone") &&
                 Catch::Contains(live->stem().string() + "-losses.svg"));
  CommandResult clean = run_command(kant_exe() + " clean " + folder.string());
  INFO(clean.output);
  CHECK(clean.exit_code == 0);
  CHECK_THAT(clean.output, Catch::Contains("a live series no running cell writes"));
  CHECK_FALSE(fs::exists(*live));
}

TEST_CASE(
    "a cell process killed with SIGKILL under a live runner: stored as failed, its series "
    "still shown",
    "[live][cli]") {
  const fs::path dir = temp_dir("kant-live-kill-cell");
  const fs::path exp = write_experiment(dir, 100000);
  const fs::path results = dir / "results";
  const fs::path folder = results / "live";
  const int run = spawn_command(kant_exe() + " run " + exp.string() + " --results " +
                                    results.string() + " --jobs 1 --threads 1 --live-every 0.2",
                                dir / "run.log");
  std::optional<fs::path> live;
  REQUIRE(wait_for([&] { return (live = running_live_file(folder, 100)).has_value(); },
                   std::chrono::seconds(120)));
  const std::string id = live->stem().string();
  const std::vector<int> cell = processes_matching("_cell - " + (folder / "cells" / id).string());
  REQUIRE(cell.size() == 1);
  ::kill(cell[0], SIGKILL);
  REQUIRE(wait_for([&] { return fs::exists(folder / "cells" / (id + ".h5")); },
                   std::chrono::seconds(60)));
  CHECK(read_cell_summary(folder / "cells" / (id + ".h5")).status == CellStatus::failed);
  REQUIRE(fs::exists(*live));
  CHECK(read_live_series(*live).step() >= 100);
  CommandResult report = run_command(kant_exe() + " report " + folder.string());
  INFO(report.output);
  CHECK_THAT(read_text(folder / "report" / "index.html"),
             Catch::Contains("its process was killed; its cell is stored as failed"));
  // the other cell: stopped, so that the run ends
  std::optional<fs::path> other;
  REQUIRE(wait_for([&] { return (other = running_live_file(folder, 1, id)).has_value(); },
                   std::chrono::seconds(120)));
  REQUIRE(run_command(kant_exe() + " stop " + folder.string() + " --cell " + other->stem().string())
              .exit_code == 0);
  CHECK(wait_command(run) == 1);  // a failed cell
}

TEST_CASE("kant report --watch in headless Chromium and kant watch in a tmux pane",
          "[live][cli][browser][tmux]") {
  const fs::path dir = temp_dir("kant-live-tmux");
  const fs::path exp = write_experiment(dir, 100000);  // ended by kant stop below
  const fs::path results = dir / "results";
  const fs::path folder = results / "live";
  const int run = spawn_command(kant_exe() + " run " + exp.string() + " --results " +
                                    results.string() + " --jobs 1 --threads 1 --live-every 0.2",
                                dir / "run.log");
  REQUIRE(wait_for([&] { return running_live_file(folder, 100).has_value(); },
                   std::chrono::seconds(120)));
  const int watch_report =
      spawn_command(kant_exe() + " report " + folder.string() + " --watch 1", dir / "watch.log");
  // the page while it trains, in a browser: every image renders, the running cell is marked
  const fs::path page = folder / "report" / "index.html";
  REQUIRE(wait_for([&] { return read_text(page).find("running, step ") != std::string::npos; },
                   std::chrono::seconds(60)));
  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--timeout=4000 --user-data-dir=" +
      temp_dir("kant-chromium").string();
  CommandResult dom =
      run_command(chromium + " --dump-dom file://" + page.string() + " 2>/dev/null");
  INFO(dom.output.substr(0, 3000));
  CHECK(dom.exit_code == 0);
  CHECK_THAT(dom.output,
             Catch::Contains("running, step ") && Catch::Contains("http-equiv=\"refresh\""));
  std::smatch m;
  REQUIRE(std::regex_search(dom.output, m, std::regex(R"re(data-images-ok="(\d+)/(\d+)")re")));
  CHECK(std::stoi(m[1]) == std::stoi(m[2]));
  CHECK(std::stoi(m[2]) >= 3);  // the running cell's losses, metric values and samples
  const fs::path shot = fs::path(KANT_TEST_BINARY_DIR) / "live_report.png";
  fs::remove(shot);
  run_command(chromium + " --window-size=1280,1400 --screenshot=" + shot.string() + " file://" +
              page.string() + " 2>/dev/null");
  CHECK(fs::exists(shot));

  // a person's view: kant watch typed into a shell in a 200×12 tmux pane
  const std::string tmux = "tmux -L kant-live-" + std::to_string(::getpid()) + " ";
  REQUIRE(run_command(tmux + "new-session -d -x 200 -y 12 -s w").exit_code == 0);
  run_command(tmux + "send-keys -t w '" + kant_exe() + " watch " + folder.string() +
              " --every 0.5' Enter");
  std::string pane;
  const bool seen = wait_for(
      [&] {
        pane = run_command(tmux + "capture-pane -p -t w").output;
        return std::regex_search(pane, std::regex(R"(step \d+/100000)")) &&
               std::regex_search(pane, std::regex("[▁▂▃▄▅▆▇█]{4}"));
      },
      std::chrono::seconds(60));
  INFO(pane);
  CHECK(seen);
  CHECK_THAT(pane, Catch::Contains("live: ") && Catch::Contains("1 running"));
  std::ofstream(fs::path(KANT_TEST_BINARY_DIR) / "live_watch_pane.txt") << pane;

  // both cells stopped, the run ends; kant report --watch sees every cell stored, prints the
  // table and ends
  for (int cell = 0; cell < 2; ++cell) {
    std::optional<fs::path> live;
    REQUIRE(wait_for([&] { return (live = running_live_file(folder, 1)).has_value(); },
                     std::chrono::seconds(120)));
    REQUIRE(
        run_command(kant_exe() + " stop " + folder.string() + " --cell " + live->stem().string())
            .exit_code == 0);
    REQUIRE(wait_for([&] { return !fs::exists(*live); }, std::chrono::seconds(60)));
  }
  CHECK(wait_command(run) == 0);
  CHECK(wait_command(watch_report) == 0);
  CHECK_THAT(read_text(dir / "watch.log"), Catch::Contains("2/2 cells stored"));
  CHECK(read_text(page).find("http-equiv=\"refresh\"") == std::string::npos);
  // and kant watch ended with the grid done
  CHECK(wait_for(
      [&] {
        pane = run_command(tmux + "capture-pane -p -t w").output;
        return pane.find("live: 2/2 done") != std::string::npos;
      },
      std::chrono::seconds(10)));
  run_command(tmux + "kill-server");
}
