// kant report and kant show: tables, figures and one cell, from the cell files.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "cells/experiment.hpp"
#include "cli/commands.hpp"
#include "cli/report_output.hpp"
#include "config/config.hpp"
#include "kant/error.hpp"
#include "runs/runner.hpp"

namespace fs = std::filesystem;

namespace kant::cli {

ResultsView open_results(const std::string& target, const std::vector<std::string>& sets,
                         const std::vector<std::string>& sweeps, const std::string& results_root,
                         const std::string& profile) {
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) {
    require_results_root(results_root);
    Registry registry = Registry::load_default();
    Experiment ex = load_experiment(target, {sets, sweeps, profile}, registry);
    parse_report_spec(ex.report, ex.reference);  // a malformed report block: its line and column
    RunOptions opt;
    opt.results_root = results_root;
    ResultsView view{experiment_dir(ex, opt), manifest_of(ex)};
    if (!fs::is_directory(view.dir / "cells", ec))
      throw InputError(fmt::format("{}: no results of experiment '{}' here yet (kant run {} first)",
                                   view.dir.string(), ex.name, target));
    return view;
  }
  if (!fs::is_directory(target, ec))
    throw InputError(fmt::format("{}: no such results folder or experiment file", target));
  if (!sweeps.empty())
    throw InputError("--sweep changes the grid: give the experiment file, not a results folder");
  if (!profile.empty())
    throw InputError("--profile changes the cells: give the experiment file, not a results folder");
  ResultsView view{target, read_manifest(target)};
  apply_report_overrides(view.manifest, sets);
  return view;
}

PageOutcome write_report(const ResultsView& view, TableFormat format, const PageOptions& page) {
  const fs::path& dir = view.dir;
  const Manifest& m = view.manifest;
  std::vector<std::string> problems;
  ReportSpec spec = parse_report_spec(m.report, m.reference);
  std::vector<CellSummary> cells = load_cells(dir, m, problems);
  const std::vector<LiveCell> live = find_live_cells(dir, m, RunOptions{}.claim_timeout, problems);
  PageOutcome outcome;
  outcome.total = m.cell_ids.size();
  outcome.stored = cells.size();
  LivePage live_page;
  live_page.refresh_seconds = page.refresh_seconds;
  for (const LiveCell& c : live) {
    outcome.running += c.running;
    // a cell training now is not a missing file; a killed cell's series is shown as far as it got
    live_page.cells.push_back(&c);
    const std::string missing = cell_path(dir, c.cell_id).string() + ": missing";
    std::erase_if(problems, [&](const std::string& p) { return p.rfind(missing, 0) == 0; });
  }
  if (outcome.running > 0) {  // while a grid trains, cells not stored yet are to do, not problems
    const size_t before = problems.size();
    std::erase_if(problems, [](const std::string& p) {
      return p.find(": missing (not run yet?)") != std::string::npos;
    });
    live_page.to_do = before - problems.size();
  }
  Table table = build_table(cells, spec, m.axes);
  if (!page.print_table) {
    std::vector<Figure> figures = write_live_figures(live, dir / "report", problems);
    for (Figure& f : write_figures(cells, spec, m.axes, dir / "report", problems))
      figures.push_back(std::move(f));
    write_html_report(dir, m, cells, table, figures, problems, live_page);
    return outcome;
  }
  std::cout << render_table(table, format);
  // machine-readable formats keep stdout to the table alone
  if (std::string s = reference_summary(table); !s.empty()) {
    if (format == TableFormat::markdown)
      std::cout << "\n" << s << "\n";
    else
      fmt::print(stderr, "kant report: {}\n", s);
  }
  if (std::string notes = failure_notes(table); !notes.empty()) {
    if (format == TableFormat::markdown)
      std::cout << "\nMetrics that failed:\n" << notes;
    else
      fmt::print(stderr, "kant report: metrics that failed:\n{}", notes);
  }
  std::vector<Figure> figures = write_live_figures(live, dir / "report", problems);
  for (Figure& f : write_figures(cells, spec, m.axes, dir / "report", problems))
    figures.push_back(std::move(f));
  fs::path file = write_html_report(dir, m, cells, table, figures, problems, live_page);
  for (const std::string& p : problems) fmt::print(stderr, "kant report: skipped {}\n", p);
  fmt::print(stderr, "kant report: {} figures and the page {}\n", figures.size(), file.string());
  if (!live_page.cells.empty())
    fmt::print(stderr, "kant report: {} running cell{} shown apart from the table\n",
               outcome.running, outcome.running == 1 ? "" : "s");
  return outcome;
}

void print_report(const ResultsView& view, TableFormat format) { write_report(view, format, {}); }

void watch_report(const std::string& target, const std::vector<std::string>& sets,
                  const std::vector<std::string>& sweeps, const std::string& results_root,
                  const std::string& profile, TableFormat format, std::chrono::milliseconds every) {
  const int refresh = static_cast<int>(std::max<int64_t>(1, (every.count() + 999) / 1000));
  PageOptions page;
  page.refresh_seconds = refresh;
  page.print_table = false;
  while (true) {
    // a results folder's cells.yaml is read anew each time: a run elsewhere may rewrite it
    const ResultsView view = open_results(target, sets, sweeps, results_root, profile);
    const PageOutcome o = write_report(view, format, page);
    fmt::print(stderr, "kant report: {}/{} cells stored, {} running — {} rewritten\n", o.stored,
               o.total, o.running, (view.dir / "report" / "index.html").string());
    if (o.stored >= o.total) break;
    std::this_thread::sleep_for(every);
  }
  print_report(open_results(target, sets, sweeps, results_root, profile), format);
}

void print_report(const fs::path& dir, TableFormat format) {
  print_report({dir, read_manifest(dir)}, format);
}

Command add_report(CLI::App& kant) {
  struct Args {
    std::string target, format = "markdown", results = "results", profile, watch;
    std::vector<std::string> sets, sweeps;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "report",
      "the comparison table of stored cells (mean ± std over seeds, failures counted, the "
      "paper's numbers beside ours); writes figures and RESULTS_DIR/report/index.html. With "
      "FILE.yaml, the file's grid as it is now (labels, order, report block, --set and --sweep) "
      "over the cells stored under its name");
  app->group("Commands");
  app->allow_extras();
  app->add_option("RESULTS_DIR|FILE.yaml", a->target, "a results folder, or the experiment")
      ->required();
  app->add_option("--format", a->format, "markdown (default), csv, latex or html")->type_name("F");
  app->add_option("--results", a->results, "results root for FILE.yaml (default: results)")
      ->type_name("DIR");
  app->add_option(
         "--set", a->sets,
         "overrides as for kant run (FILE.yaml), or of the report block for either: "
         "report.rows=[method], report.columns=optimizer.lr, report.values=[…]; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app->add_option("--profile", a->profile, "the profile the run used, for FILE.yaml")
      ->type_name("NAME");
  add_sweep_option(*app, a->sweeps);
  CLI::Option* watch =
      app->add_option(
             "--watch", a->watch,
             "rewrite the HTML page every SECONDS (default 5; the page reloads itself) with "
             "the running cells' curves and samples, until every cell of the grid is stored; "
             "then print the table")
          ->type_name("SECONDS")
          ->expected(0, 1)
          ->default_str("5");
  return {
      app, [a, watch] {
        const std::map<std::string, TableFormat> formats{{"markdown", TableFormat::markdown},
                                                         {"csv", TableFormat::csv},
                                                         {"latex", TableFormat::latex},
                                                         {"html", TableFormat::html}};
        if (!formats.count(a->format))
          throw InputError(
              fmt::format("--format must be markdown, csv, latex or html, got '{}'{}", a->format,
                          did_you_mean(a->format, {"markdown", "csv", "latex", "html"})));
        const TableFormat format = formats.at(a->format);
        if (watch->count() > 0) {
          const std::chrono::milliseconds every =
              seconds_option("watch", a->watch.empty() ? "5" : a->watch);
          if (every < std::chrono::seconds(1))
            throw InputError(fmt::format("--watch must be at least 1 second, got '{}'", a->watch));
          watch_report(a->target, a->sets, a->sweeps, a->results, a->profile, format, every);
          return 0;
        }
        print_report(open_results(a->target, a->sets, a->sweeps, a->results, a->profile), format);
        return 0;
      }};
}

Command add_show(CLI::App& kant) {
  auto file = std::make_shared<std::string>();
  CLI::App* app =
      kant.add_subcommand("show", "one cell: status, provenance, config and final metrics");
  app->group("Commands");
  app->allow_extras();
  app->add_option("CELL.h5", *file, "a cell file")->required();
  return {app, [file] {
            require_file(*file);
            CellSummary s = read_cell_summary(*file);
            fmt::print("cell {} of {}\n", s.cell_id, s.experiment);
            for (const auto& [k, v] : s.labels) fmt::print("  {} = {}\n", k, v);
            fmt::print("status: {}{}\n", to_string(s.status),
                       s.detail.empty() ? "" : fmt::format(" — {}", s.detail));
            fmt::print("provenance:\n");
            for (const char* k : {"framework_version", "git_commit", "onednn_version", "onednn_isa",
                                  "hostname", "start_time", "end_time"})
              if (s.attrs.count(k)) fmt::print("  {}: {}\n", k, s.attrs.at(k));
            if (s.resumes > 0)
              fmt::print("  resumed: {} time{}\n", s.resumes, s.resumes == 1 ? "" : "s");
            if (s.attrs.count("plugins")) {
              fmt::print("plugins:\n");
              const ConfigNode plugins = parse_yaml(s.attrs.at("plugins"), *file);
              for (const ConfigEntry& e : plugins.entries) {
                const ConfigNode* v = e.value.find("version");
                const ConfigNode* l = e.value.find("library");
                const ConfigNode* h = e.value.find("sha256");
                fmt::print("  {} {}  {}  sha256 {}\n", e.key, v ? v->scalar : "?",
                           l ? l->scalar : "?", h ? h->scalar : "?");
              }
            }
            fmt::print("final metrics:\n");
            for (const auto& [k, v] : s.final_metrics) fmt::print("  {}: {}\n", k, v);
            if (!s.metrics.empty()) fmt::print("metrics:\n");
            for (const auto& [name, m] : s.metrics) {
              std::string where = m.source == "evaluate"
                                      ? fmt::format(", by kant evaluate {}", m.evaluated_at)
                                  : m.every > 0 ? fmt::format(", every {} steps", m.every)
                                                : ", at the end";
              if (m.status == "failed")
                fmt::print("  {} ({}{}): FAILED at step {}: {}\n", name, m.plugin, where,
                           m.failed_step, m.error);
              else
                fmt::print("  {} ({}{}): ok\n", name, m.plugin, where);
            }
            fmt::print("networks: {}\n",
                       s.has_networks ? "stored (kant evaluate can compute metrics on this cell)"
                                      : "not stored");
            for (const char* series :
                 {"loss_critic", "loss_generator", "penalty", "divergence_estimate"}) {
              std::vector<double> y;
              try {
                y = read_cell_dataset(*file, std::string("series/") + series);
              } catch (const Error&) {
                continue;
              }
              if (y.empty()) continue;
              auto [lo, hi] = std::minmax_element(y.begin(), y.end());
              fmt::print("series {}: {} steps, first {:.6g}, last {:.6g}, min {:.6g}, max {:.6g}\n",
                         series, y.size(), y.front(), y.back(), *lo, *hi);
            }
            // scheduled parameters: series/schedule.<block>.<parameter>, the value at each step
            for (const StoredSeries& series : read_cell_series(*file)) {
              if (series.name.rfind("schedule.", 0) != 0 || series.value.empty()) continue;
              const std::vector<double>& y = series.value;
              auto [lo, hi] = std::minmax_element(y.begin(), y.end());
              fmt::print(
                  "scheduled {}: {} steps, first {:.6g} (step {}), last {:.6g}, min {:.6g}, max "
                  "{:.6g}\n",
                  series.name.substr(9), y.size(), y.front(), series.step.front(), y.back(), *lo,
                  *hi);
            }
            fmt::print("config:\n{}", s.config_yaml);
            return 0;
          }};
}

}  // namespace kant::cli
