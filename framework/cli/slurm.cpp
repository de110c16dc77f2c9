// kant slurm: an experiment's pending cells as a SLURM array job plus a report job after it.
#include "cluster/slurm.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cells/experiment.hpp"
#include "cli/commands.hpp"
#include "kant/error.hpp"
#include "report/report.hpp"
#include "training/applicability.hpp"

namespace fs = std::filesystem;

namespace kant::cli {
namespace {

std::optional<int> positive_or_none(const std::string& option, const std::string& text) {
  if (text.empty()) return std::nullopt;
  return positive_int(option, text);
}

}  // namespace

Command add_slurm(CLI::App& kant) {
  struct Args {
    std::string file, results = "results", partition, time, cpus, parallel, per_task;
    std::vector<std::string> sets, sbatch, prologue;
    bool dry_run = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app =
      kant.add_subcommand("slurm",
                          "submit the cells that are not complete as a SLURM array job (one task "
                          "per cell or chunk, each "
                          "kant run --cells), and a report job that runs when the array has ended");
  app->group("Commands");
  app->allow_extras();
  app->add_option("FILE.yaml", a->file, "the experiment")->required();
  app->add_option("--set", a->sets, "overrides, as for kant run (passed on to every task)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app->add_option("--results", a->results,
                  "results root folder, on a file system every node sees (default: results)")
      ->type_name("DIR");
  app->add_option("--partition", a->partition,
                  "SLURM partition (default: slurm.partition, else the cluster's)")
      ->type_name("P");
  app->add_option("--time", a->time,
                  "time limit of each array task, e.g. 04:00:00 (default: slurm.time)")
      ->type_name("T");
  app->add_option("--cpus-per-task", a->cpus,
                  "CPUs of each task, its cells' threads (default: slurm.cpus_per_task, else 1)")
      ->type_name("C");
  app->add_option("--array-parallel", a->parallel,
                  "at most K array tasks at once (default: slurm.array_parallel, else no limit)")
      ->type_name("K");
  app->add_option("--cells-per-task", a->per_task,
                  "cells each task trains one after the other (default 1)")
      ->type_name("N");
  app->add_option("--sbatch", a->sbatch,
                  "an extra #SBATCH line for both jobs, e.g. --sbatch=--mem=8G; repeatable")
      ->type_name("OPTION")
      ->allow_extra_args(false);
  app->add_option("--prologue", a->prologue,
                  "a shell line run before kant in both jobs, e.g. 'module load hdf5'; repeatable")
      ->type_name("LINE")
      ->allow_extra_args(false);
  app->add_flag("--dry-run", a->dry_run, "print the two scripts; write and submit nothing");
  app->footer(
      "The scripts go to RESULTS/NAME/slurm/ (array.sbatch, report.sbatch, logs/, "
      "submissions.txt). Run "
      "the same command again after tasks failed or were cancelled: only the cells that are not "
      "complete are submitted.");
  return {
      app, [a] {
        require_file(a->file);
        require_results_root(a->results);
        cluster::SlurmRequest r;
        r.experiment_file = a->file;
        r.sets = a->sets;
        r.results_root = a->results;
        if (!a->partition.empty()) r.partition = a->partition;
        if (!a->time.empty()) r.time = a->time;
        r.cpus_per_task = positive_or_none("cpus-per-task", a->cpus);
        r.array_parallel = positive_or_none("array-parallel", a->parallel);
        r.cells_per_task = positive_or_none("cells-per-task", a->per_task);
        r.sbatch_lines = a->sbatch;
        r.prologue_lines = a->prologue;
        Registry registry = Registry::load_default();
        Experiment ex = load_experiment(a->file, a->sets, registry);
        parse_report_spec(
            ex.report, ex.reference);  // a malformed report block fails now, not in the report job
        check_experiment_metrics(ex, registry);   // each metric's rules: can it apply?
        check_experiment_datasets(ex, registry);  // and a bad data file, not in every task
        const cluster::SlurmPlan plan = cluster::plan_slurm(ex, r);
        const auto& s = plan.settings;
        if (plan.pending.empty()) {
          fmt::print(
              stderr,
              "kant slurm: all {} cells of {} are complete; nothing to submit (kant report {})\n",
              plan.cells, plan.name, plan.experiment_dir.string());
          return 0;
        }
        fmt::print(
            stderr,
            "kant slurm: {} — {} cells, {} complete, {} to run: {} array task{} of {} cell{}, {} "
            "CPU{} "
            "each{}\n",
            plan.name, plan.cells, plan.cells - plan.pending.size(), plan.pending.size(),
            plan.tasks.size(), plan.tasks.size() == 1 ? "" : "s", s.cells_per_task,
            s.cells_per_task == 1 ? "" : "s", s.cpus_per_task, s.cpus_per_task == 1 ? "" : "s",
            s.array_parallel > 0 ? fmt::format(", at most {} at once", s.array_parallel) : "");
        if (plan.claimed > 0)
          fmt::print(
              stderr,
              "kant slurm: {} of them {} a claim beside {} (a run still training {}?): {} task{} "
              "will wait for it\n",
              plan.claimed, plan.claimed == 1 ? "has" : "have", plan.claimed == 1 ? "it" : "them",
              plan.claimed == 1 ? "it" : "them", plan.claimed == 1 ? "its" : "their",
              plan.claimed == 1 ? "" : "s");
        if (a->dry_run) {
          fmt::print("# ---- {} ----\n{}\n", (plan.slurm_dir / "array.sbatch").string(),
                     cluster::array_script(ex, plan));
          fmt::print("# ---- {} ----\n{}", (plan.slurm_dir / "report.sbatch").string(),
                     cluster::report_script(plan, "<array job id>"));
          return 0;
        }
        const cluster::SlurmSubmission sub = cluster::submit_slurm(ex, plan);
        fmt::print("array job {}: {} task{} ({})\n", sub.array_job, plan.tasks.size(),
                   plan.tasks.size() == 1 ? "" : "s", sub.array_file.string());
        fmt::print("report job {}: after job {} ends ({})\n", sub.report_job, sub.array_job,
                   sub.report_file.string());
        fmt::print(stderr, "kant slurm: logs in {}; follow with squeue -j {},{}\n",
                   plan.logs_dir.string(), sub.array_job, sub.report_job);
        return 0;
      }};
}

}  // namespace kant::cli
