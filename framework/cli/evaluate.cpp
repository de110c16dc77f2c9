// kant evaluate and the internal kant _evaluate: metrics computed on finished cells from their
// stored networks, written into their files, without retraining.
#include "runs/evaluate.hpp"

#include <fmt/format.h>

#include <cstring>
#include <memory>

#include "cli/commands.hpp"
#include "cli/report_output.hpp"
#include "kant/error.hpp"

namespace fs = std::filesystem;

namespace kant::cli {

Command add_evaluate(CLI::App& kant) {
  struct Args {
    std::string dir, from, jobs, threads;
    std::vector<std::string> metrics;
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "evaluate",
      "compute metrics on the finished cells of a results folder from their stored networks, "
      "without retraining; each cell file is rewritten whole or not at all; then print the table");
  app->group("Commands");
  app->allow_extras();
  app->add_option("RESULTS_DIR", a->dir, "a results folder written by kant run")->required();
  app->add_option(
         "--metric", a->metrics,
         "a metric block, e.g. '{plugin: wasserstein_exact, samples: 2000, name: w1_2000}' "
         "(name: what it is stored under; a metric stored already with the same "
         "parameters is skipped); repeatable")
      ->type_name("YAML")
      ->allow_extra_args(false);
  app->add_option("--from", a->from,
                  "metrics listed under `metrics:` (or `base: metrics:`) of this file")
      ->type_name("FILE.yaml");
  app->add_option("--jobs", a->jobs, "cells in parallel (default: min(cells, cores))")
      ->type_name("N");
  app->add_option("--threads", a->threads,
                  "threads per cell (default: the threads each cell trained with, which the "
                  "values' bit-identity with training needs)")
      ->type_name("T");
  app->add_flag("--quiet", a->quiet, "no plan and no table");
  return {
      app, [a] {
        std::error_code ec;
        if (!fs::is_directory(a->dir, ec))
          throw InputError(fmt::format("{}: no such results folder", a->dir));
        if (!a->from.empty()) require_file(a->from);
        EvaluateOptions opt;
        opt.jobs = a->jobs.empty() ? 0 : positive_int("jobs", a->jobs);
        opt.threads = a->threads.empty() ? 0 : positive_int("threads", a->threads);
        opt.quiet = a->quiet;
        Registry registry = Registry::load_default();
        const std::vector<MetricChoice> metrics =
            evaluate_metrics_from(a->metrics, a->from, registry);
        const EvaluateSummary s = evaluate_results(a->dir, metrics, registry, opt);
        fmt::print(
            stderr,
            "kant evaluate: {} cell{} evaluated, {} up to date, {} not evaluable, {} failed{}{}\n",
            s.evaluated, s.evaluated == 1 ? "" : "s", s.up_to_date, s.not_evaluable, s.failed,
            s.metric_failures ? fmt::format(", {} metric{} stored as failed", s.metric_failures,
                                            s.metric_failures == 1 ? "" : "s")
                              : "",
            s.interrupted ? fmt::format(", {} stopped by a signal", s.interrupted) : "");
        if (s.signal) {
          fmt::print(stderr,
                     "kant evaluate: stopped by {}; every file is whole; run again to continue\n",
                     strsignal(s.signal));
          return 128 + s.signal;
        }
        if (!a->quiet) print_report(a->dir, TableFormat::markdown);
        return s.failed > 0 || s.metric_failures > 0 || s.interrupted > 0 ? 1 : 0;
      }};
}

Command add_evaluate_cell(CLI::App& kant) {
  auto a = std::make_shared<ChildArgs>();
  CLI::App* app =
      kant.add_subcommand("_evaluate", "evaluate metrics on one cell (started by kant evaluate)");
  app->group("");  // internal: not listed
  app->allow_extras();
  add_child_options(
      *app, *a,
      {"the spec (-: standard input)", "CELL", "the cell file", "message prefix", "the evaluator"});
  return {app, [a] {
            Registry registry = Registry::load_default();
            return run_evaluate_process(a->spec, a->file, positive_int("threads", a->threads),
                                        a->tag, std::stol(a->parent), registry);
          }};
}

}  // namespace kant::cli
