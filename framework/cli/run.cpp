// kant run, kant validate and the internal kant _cell: expanding an experiment's grid and
// training its pending cells.
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cells/experiment.hpp"
#include "cli/commands.hpp"
#include "cli/report_output.hpp"
#include "cluster/mpi_run.hpp"
#include "cluster/slurm.hpp"
#include "kant/error.hpp"
#include "report/report.hpp"
#include "runs/cell_process.hpp"
#include "runs/runner.hpp"
#include "training/applicability.hpp"

namespace fs = std::filesystem;

namespace kant::cli {
namespace {

// What resolving the grid read otherwise than written, each once (e.g. an old train.n_critic).
void print_notes(const Experiment& ex) {
  for (const std::string& note : ex.notes) fmt::print(stderr, "kant: note: {}\n", note);
}

struct RunArgs {
  std::string file, jobs, threads, results = "results", shard, claim_timeout, profile, cells,
                                   status_every, live_every;
  std::vector<std::string> sets, sweeps;
  bool quiet = false, retry_stopped = false;
};

void add_profile_option(CLI::App& app, std::string& profile) {
  app.add_option("--profile", profile,
                 "apply one of the experiment's `profiles` (e.g. quick) before --set")
      ->type_name("NAME");
}

void add_set_option(CLI::App& app, std::vector<std::string>& sets) {
  app.add_option("--set", sets,
                 "override a config key in every cell (train.steps=100), or the experiment's "
                 "seeds=[0] or name=x; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
}

}  // namespace

void add_sweep_option(CLI::App& app, std::vector<std::string>& sweeps) {
  app.add_option(
         "--sweep", sweeps,
         "a grid axis from the command line: KEY=V1,V2,… (optimizer.lr=1e-4,1e-3); the cells are "
         "the cartesian product with the file's axes, recorded in cells.yaml; repeatable")
      ->type_name("KEY=V1,V2")
      ->allow_extra_args(false);
}

void add_child_options(CLI::App& app, ChildArgs& a, const ChildHelp& help) {
  app.add_option("SPEC", a.spec, help.spec)->required();
  app.add_option(help.file_name, a.file, help.file)->required();
  app.add_option("--threads", a.threads, "threads")->type_name("T");
  app.add_option("--tag", a.tag, help.tag);
  app.add_option("--parent", a.parent, help.parent + "'s pid: stop when it dies")->type_name("PID");
}

// "--live-every must be a number of seconds ≥ 0, got 'x'": a duration in milliseconds.
std::chrono::milliseconds seconds_option(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && v >= 0 && v <= 86400)
      return std::chrono::milliseconds(static_cast<int64_t>(v * 1000.0 + 0.5));
  } catch (const std::exception&) {
  }
  throw InputError(
      fmt::format("--{} must be a number of seconds from 0 to 86400, got '{}'", option, text));
}

// "--jobs must be a positive integer, got 'x'" (the option is read as text so that the
// message is ours).
int positive_int(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size() && v >= 1) return v;
  } catch (const std::exception&) {
  }
  throw InputError(fmt::format("--{} must be a positive integer, got '{}'", option, text));
}

void require_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw InputError(fmt::format("{}: error: no such file", path));
}

void require_results_root(const std::string& path) {
  // the path itself or, where it does not exist yet, the nearest part of it that does
  std::error_code ec;
  fs::path p = path;
  while (!p.empty() && !fs::exists(fs::symlink_status(p, ec))) p = p.parent_path();
  if (p.empty() || fs::is_directory(p, ec)) return;
  const std::string what = fs::is_regular_file(p, ec) ? "a file" : "not a folder";
  throw InputError(fmt::format("{}: error: --results must name a folder; {} is {}", path,
                               p == fs::path(path) ? "this" : p.string(), what));
}

Command add_run(CLI::App& kant) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* app = kant.add_subcommand(
      "run",
      "train every cell of the experiment's grid that is not complete yet, then print its table");
  app->group("Commands");
  app->allow_extras();
  app->add_option("FILE.yaml", a->file, "the experiment")->required();
  app->add_option("--jobs", a->jobs, "cells in parallel (default: min(cells, cores))")
      ->type_name("N");
  app->add_option("--threads", a->threads, "threads per cell (default: cores / jobs)")
      ->type_name("T");
  add_set_option(*app, a->sets);
  add_profile_option(*app, a->profile);
  add_sweep_option(*app, a->sweeps);
  app->add_option("--results", a->results, "results root folder (default: results)")
      ->type_name("DIR");
  app->add_option("--shard", a->shard, "run only the cells with index ≡ I (mod N)")
      ->type_name("I/N");
  app->add_option("--cells", a->cells,
                  "run only these cells: ids as kant validate lists them, comma-separated")
      ->type_name("ID,…");
  app->add_option("--claim-timeout", a->claim_timeout,
                  "seconds after which a cell claimed by a run on another host whose heartbeat "
                  "stopped is taken over (default 120)")
      ->type_name("S");
  app->add_option(
         "--status-every", a->status_every,
         "seconds between status lines when stderr is not a terminal (default 60; one is also "
         "printed as each cell ends)")
      ->type_name("S");
  app->add_option("--live-every", a->live_every,
                  "seconds between writes of each running cell's live series (losses, metric "
                  "values, samples) that kant report and kant watch read; 0: none (default 2)")
      ->type_name("S");
  app->add_flag("--retry-stopped", a->retry_stopped,
                "train again, from the start, the cells a user stopped (kant stop)");
  app->add_flag("--quiet", a->quiet, "no summary line before the run, no status line");
  app->footer(
      "Under mpirun (mpirun -n N kant run FILE.yaml) the ranks share the grid: rank 0 hands out "
      "the next cell to whichever rank is free, prints the status of the whole grid and the "
      "report; each rank trains --jobs cells at once (default 1) with --threads each (default: "
      "its share of the host's cores). To stop it cleanly: kill -USR1 <mpirun's pid> (mpirun "
      "forwards "
      "SIGUSR1 to every rank; its SIGTERM is followed by SIGKILL at once).");
  return {
      app, [a] {
        require_file(a->file);
        require_results_root(a->results);
        RunOptions opt;
        opt.jobs = a->jobs.empty() ? 0 : positive_int("jobs", a->jobs);
        opt.threads = a->threads.empty() ? 0 : positive_int("threads", a->threads);
        opt.results_root = a->results;
        opt.quiet = a->quiet;
        if (!a->claim_timeout.empty())
          opt.claim_timeout = std::chrono::seconds(positive_int("claim-timeout", a->claim_timeout));
        if (!a->status_every.empty())
          opt.status_every = std::chrono::seconds(positive_int("status-every", a->status_every));
        if (!a->live_every.empty()) opt.live_every = seconds_option("live-every", a->live_every);
        opt.retry_stopped = a->retry_stopped;
        for (size_t from = 0; !a->cells.empty() && from <= a->cells.size();) {
          const size_t comma = std::min(a->cells.find(',', from), a->cells.size());
          if (comma > from) opt.cell_ids.push_back(a->cells.substr(from, comma - from));
          from = comma + 1;
        }
        if (!a->cells.empty() && opt.cell_ids.empty())
          throw InputError(fmt::format("--cells must list cell ids, got '{}'", a->cells));
        if (!a->shard.empty()) {
          // exact integers (sscanf's %d is undefined on overflow)
          const std::string& text = a->shard;
          const size_t slash = text.find('/');
          int i = -1, n = 0;
          auto whole = [&](size_t from, size_t to, int& out) {
            auto [p, ec] = std::from_chars(text.data() + from, text.data() + to, out);
            return ec == std::errc() && p == text.data() + to && to > from;
          };
          if (slash == std::string::npos || !whole(0, slash, i) ||
              !whole(slash + 1, text.size(), n) || n < 1 || i < 0 || i >= n)
            throw InputError(fmt::format("--shard must be I/N with 0 ≤ I < N, got '{}'", a->shard));
          opt.shard_index = i;
          opt.shard_count = n;
        }
        Registry registry = Registry::load_default();
        Experiment ex = load_experiment(a->file, {a->sets, a->sweeps, a->profile}, registry);
        print_notes(ex);
        check_experiment_metrics(ex, registry);      // each metric's rules: can it apply?
        parse_report_spec(ex.report, ex.reference);  // malformed report blocks: fail before running
        cluster::read_slurm_block(ex.slurm);         // and a malformed slurm block
        check_experiment_datasets(ex, registry, selected_cells(ex, opt));  // and a bad data file
        const int ranks = cluster::mpi_world_size_from_environment();
        cluster::MpiOutcome mpi;
        if (ranks > 1) {
          mpi = cluster::run_experiment_mpi(ex, registry, opt);
          // rank 0 speaks for the grid, its exit code too: a rank's non-zero exit makes mpirun end
          // the job at once, which would cut rank 0's summary and report short
          if (mpi.rank != 0) return 0;
        }
        RunSummary s = ranks > 1 ? mpi.summary : run_experiment(ex, registry, opt);
        if (ranks > 1) {
          std::string per_rank;
          for (size_t r = 0; r < mpi.trained.size(); ++r)
            per_rank += fmt::format("{}rank {}: {}", r ? ", " : "", r, mpi.trained[r]);
          fmt::print(stderr, "kant: cells trained per rank ({} ranks): {}\n", mpi.size, per_rank);
        }
        fmt::print(stderr,
                   "kant: {} complete, {} diverged, {} failed, {} skipped (already done){}{}{}\n",
                   s.complete, s.diverged, s.failed, s.skipped,
                   s.elsewhere ? fmt::format(", {} trained by another run", s.elsewhere) : "",
                   s.interrupted ? fmt::format(", {} stopped by a signal", s.interrupted) : "",
                   s.stopped ? fmt::format(", {} stopped by the user", s.stopped) : "");
        if (s.signal) {  // nothing more: the cells that ran are stored, the others are not
          fmt::print(stderr, "kant: stopped by {}; run again to continue\n", strsignal(s.signal));
          return 128 + s.signal;
        }
        print_report(experiment_dir(ex, opt), TableFormat::markdown);
        return s.failed > 0 || s.interrupted > 0 ? 1 : 0;
      }};
}

Command add_validate(CLI::App& kant) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* app = kant.add_subcommand(
      "validate", "expand and validate the grid, list the cells; runs nothing, writes nothing");
  app->group("Commands");
  app->allow_extras();
  app->add_option("FILE.yaml", a->file, "the experiment")->required();
  add_set_option(*app, a->sets);
  add_profile_option(*app, a->profile);
  add_sweep_option(*app, a->sweeps);
  return {app, [a] {
            require_file(a->file);
            Registry registry = Registry::load_default();
            Experiment ex = load_experiment(a->file, {a->sets, a->sweeps, a->profile}, registry);
            print_notes(ex);
            check_experiment_metrics(ex, registry);
            parse_report_spec(ex.report, ex.reference);
            cluster::read_slurm_block(ex.slurm);
            check_experiment_datasets(ex, registry);
            for (size_t i = 0; i < ex.cells.size(); ++i)
              fmt::print("{:>4}  {}  {}\n", i + 1, ex.cells[i].id, ex.cells[i].label_str());
            fmt::print("{}: {} cells, all valid\n", ex.name, ex.cells.size());
            return 0;
          }};
}

Command add_cell(CLI::App& kant) {
  auto a = std::make_shared<ChildArgs>();
  CLI::App* app = kant.add_subcommand("_cell", "train one cell (started by kant run)");
  app->group("");  // internal: not listed
  app->allow_extras();
  add_child_options(*app, *a,
                    {"the cell's spec file (-: standard input)", "OUT", "the cell file to write",
                     "progress line prefix", "the runner"});
  auto live_every = std::make_shared<std::string>("0");
  app->add_option("--live-every", *live_every,
                  "milliseconds between writes of the live series (0: none)")
      ->type_name("MS");
  return {app, [a, live_every] {
            Registry registry = Registry::load_default();
            return run_cell_process(a->spec, a->file, positive_int("threads", a->threads), a->tag,
                                    std::stol(a->parent), registry,
                                    std::chrono::milliseconds(std::stoll(*live_every)));
          }};
}

}  // namespace kant::cli
