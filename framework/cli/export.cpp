// kant export: stored cells as tidy rows (CSV or JSON lines) for pandas and friends.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/report_output.hpp"
#include "config/config.hpp"
#include "kant/error.hpp"
#include "store/atomic_file.hpp"

namespace kant::cli {

Command add_export(CLI::App& kant) {
  struct Args {
    std::string target, format = "csv", results = "results", output, profile;
    std::vector<std::string> sets, sweeps;
    bool series = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app =
      kant.add_subcommand("export",
                          "stored cells as tidy rows for pandas: one per (cell, final metric "
                          "value), or with --series one "
                          "per (cell, series, step); one column per grid axis (docs/pandas.md)");
  app->group("Commands");
  app->allow_extras();
  app->add_option(
         "RESULTS_DIR|FILE.yaml", a->target,
         "a results folder, or the experiment (its grid as it is now, over the stored cells)")
      ->required();
  app->add_option("--format", a->format, "csv (default) or jsonl (one JSON object per line)")
      ->type_name("F");
  app->add_flag("--series", a->series,
                "every stored step of the losses (series/…) and metrics (metric.value) instead of "
                "the final values");
  app->add_option("--output", a->output,
                  "write to this file (atomically) instead of standard output")
      ->type_name("FILE");
  app->add_option("--results", a->results, "results root for FILE.yaml (default: results)")
      ->type_name("DIR");
  app->add_option("--set", a->sets, "overrides, as for kant report")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  add_sweep_option(*app, a->sweeps);
  app->add_option("--profile", a->profile, "the profile the run used, for FILE.yaml")
      ->type_name("NAME");
  return {app, [a] {
            if (a->format != "csv" && a->format != "jsonl")
              throw InputError(fmt::format("--format must be csv or jsonl, got '{}'{}", a->format,
                                           did_you_mean(a->format, {"csv", "jsonl"})));
            const ExportFormat format =
                a->format == "csv" ? ExportFormat::csv : ExportFormat::jsonl;
            ResultsView view = open_results(a->target, a->sets, a->sweeps, a->results, a->profile);
            std::vector<std::string> problems;
            std::vector<CellSummary> cells = load_cells(view.dir, view.manifest, problems);
            for (const std::string& p : problems)
              fmt::print(stderr, "kant export: skipped {}\n", p);
            std::ostringstream text;
            const size_t rows = write_export(a->output.empty() ? std::cout : text, cells,
                                             view.manifest.axes, format, a->series);
            if (!a->output.empty()) write_file_atomically(a->output, text.str());
            fmt::print(stderr, "kant export: {} rows from {} cells{}\n", rows, cells.size(),
                       a->output.empty() ? "" : " to " + a->output);
            return 0;
          }};
}

}  // namespace kant::cli
