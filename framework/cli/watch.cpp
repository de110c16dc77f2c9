// kant watch and kant stop: a results folder's running cells in the terminal (one line each:
// step, losses as sparklines, latest metric values, time left; the grid's status beneath),
// read from their live series; and asking a running cell to end where it is.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "kant/error.hpp"
#include "report/report.hpp"
#include "runs/progress.hpp"
#include "runs/runner.hpp"
#include "store/atomic_file.hpp"
#include "store/host.hpp"
#include "store/housekeeping.hpp"

namespace fs = std::filesystem;

namespace kant::cli {
namespace {

constexpr size_t kSparkWidth = 16;   // characters per sparkline
constexpr size_t kMetricValues = 6;  // latest metric values on a line (then "+k more")

// One running cell as a line: labels, step, each loss's sparkline and latest value, the latest
// value of each metric, time left.
std::string cell_line(const LiveCell& c, bool unicode) {
  const LiveSeries& s = c.series;
  std::string line = fmt::format("{}  step {}/{}", c.labels, s.step(), s.steps);
  if (!c.running) line += " (not running)";
  for (const auto& [name, values] : s.losses.values) {
    if (name.rfind("schedule.", 0) == 0 || values.empty()) continue;
    line +=
        fmt::format("  {} {} {:.4g}", name, sparkline(values, kSparkWidth, unicode), values.back());
  }
  size_t shown = 0, more = 0;
  for (const auto& [metric, series] : s.metrics)
    for (const auto& [value, v] : series.values) {
      if (v.empty()) continue;
      if (shown++ < kMetricValues)
        line += fmt::format("  {}.{} {:.4g}", metric, value, v.back());
      else
        ++more;
    }
  if (more > 0) line += fmt::format("  (+{} more)", more);
  if (c.running) {
    const double left = s.seconds_left();
    line += left < 0 ? "  time left unknown" : fmt::format("  ~{} left", format_duration(left));
  }
  return line;
}

// The grid's status beneath the cells: stored outcomes, running and to do.
std::string grid_line(const ExperimentState& st, size_t running) {
  const size_t done = st.complete + st.diverged + st.stopped;
  const size_t todo = st.missing > running ? st.missing - running : 0;
  std::string line = fmt::format("{}: {}/{} done, {} running, {} failed, {} to do", st.name, done,
                                 st.grid, running, st.failed, todo);
  if (st.stopped) line += fmt::format(" ({} stopped by the user)", st.stopped);
  if (st.damaged) line += fmt::format(", {} damaged", st.damaged);
  return line;
}

}  // namespace

Command add_watch(CLI::App& kant) {
  struct Args {
    std::string dir, every = "2";
    bool once = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "watch",
      "the running cells of a results folder in the terminal, one line each (step, losses as "
      "sparklines, latest metric values, time left) and the grid's status beneath, redrawn "
      "until every cell is stored; plain lines, without escape codes, when not a terminal");
  app->group("Commands");
  app->allow_extras();
  app->add_option("RESULTS_DIR", a->dir, "one experiment's results folder")->required();
  app->add_option("--every", a->every, "seconds between redraws (default 2)")->type_name("S");
  app->add_flag("--once", a->once, "draw once and end");
  return {
      app, [a] {
        const std::chrono::milliseconds every = seconds_option("every", a->every);
        if (every < std::chrono::milliseconds(100))
          throw InputError(fmt::format("--every must be at least 0.1 seconds, got '{}'", a->every));
        std::error_code ec;
        if (!fs::exists(fs::path(a->dir) / "cells.yaml", ec))
          throw InputError(
              fmt::format("{}: not an experiment's results folder (it has no cells.yaml)", a->dir));
        const bool terminal = ::isatty(STDOUT_FILENO) == 1;
        const auto stale = RunOptions{}.claim_timeout;
        while (true) {
          const Manifest m = read_manifest(a->dir);
          std::vector<std::string> problems;
          const std::vector<LiveCell> live = find_live_cells(a->dir, m, stale, problems);
          const ExperimentState st = inspect_experiment(a->dir, stale);
          std::string text;
          size_t running = 0;
          for (const LiveCell& c : live)
            if (c.running) {
              text += cell_line(c, terminal) + "\n";
              ++running;
            }
          if (running == 0) text += "no cell is running\n";
          text += grid_line(st, running) + "\n";
          for (const std::string& p : problems) text += "skipped " + p + "\n";
          if (terminal)  // from the top of a cleared screen, in one write
            fmt::print("\033[H\033[2J{}", text);
          else
            fmt::print("{}\n", text);
          std::fflush(stdout);
          if (a->once || (st.missing == 0 && running == 0)) break;
          std::this_thread::sleep_for(every);
        }
        return 0;
      }};
}

Command add_stop(CLI::App& kant) {
  struct Args {
    std::string dir, cells;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "stop",
      "end running cells cleanly at their next step as 'stopped by the user': their series, "
      "metrics at that step and samples are stored; kant run trains them again only with "
      "--retry-stopped");
  app->group("Commands");
  app->allow_extras();
  app->add_option("RESULTS_DIR", a->dir, "one experiment's results folder")->required();
  app->add_option("--cell", a->cells,
                  "the cells to stop: ids as kant watch and kant validate "
                  "show them, comma-separated")
      ->type_name("ID,…")
      ->required();
  return {app, [a] {
            std::error_code ec;
            if (!fs::exists(fs::path(a->dir) / "cells.yaml", ec))
              throw InputError(fmt::format(
                  "{}: not an experiment's results folder (it has no cells.yaml)", a->dir));
            const Manifest m = read_manifest(a->dir);
            std::vector<std::string> ids;
            for (size_t from = 0; from <= a->cells.size();) {
              const size_t comma = std::min(a->cells.find(',', from), a->cells.size());
              if (comma > from) ids.push_back(a->cells.substr(from, comma - from));
              from = comma + 1;
            }
            std::vector<std::string> problems;
            const std::vector<LiveCell> live =
                find_live_cells(a->dir, m, RunOptions{}.claim_timeout, problems);
            std::vector<const LiveCell*> chosen;
            for (const std::string& id : ids) {  // every id checked before anything is written
              if (std::find(m.cell_ids.begin(), m.cell_ids.end(), id) == m.cell_ids.end())
                throw InputError(fmt::format("--cell: no cell {} in {}{}", id, a->dir,
                                             did_you_mean(id, m.cell_ids)));
              auto it = std::find_if(live.begin(), live.end(),
                                     [&](const LiveCell& c) { return c.cell_id == id; });
              if (it == live.end() || !it->running)
                throw InputError(fmt::format(
                    "--cell: cell {} is not running (only a running cell can be stopped)", id));
              chosen.push_back(&*it);
            }
            if (chosen.empty()) throw InputError("--cell must list cell ids");
            for (const LiveCell* c : chosen) {
              write_file_atomically(
                  stop_request_path(cell_path(a->dir, c->cell_id)),
                  fmt::format("stop requested by pid {} on {} at {}\n",
                              static_cast<long>(::getpid()), host::name(), utc_now()));
              fmt::print(stderr, "kant stop: cell {} ({}) ends at its next step (now {} of {})\n",
                         c->cell_id, c->labels, c->series.step(), c->series.steps);
            }
            return 0;
          }};
}

}  // namespace kant::cli
