// Printing an experiment's report (shared by kant run, kant report and kant export): where the
// cells come from, and the table, figures and page.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "report/report.hpp"
#include "store/manifest.hpp"

namespace kant::cli {

/// Stored cells seen through a grid: a results folder's own cells.yaml, or an experiment
/// file's grid as the file and the command line say now (labels, order, report block), the
/// numbers coming from the cells stored under its name.
struct ResultsView {
  std::filesystem::path dir;
  Manifest manifest;
};

/// `target` is a results folder or an experiment file (then its folder is under
/// `results_root`). `sets`: report.… and reference.… overrides for a folder, any --set for a
/// file; `sweeps` and `profile` (the one the run used) only for a file. InputError when there
/// is nothing to read.
ResultsView open_results(const std::string& target, const std::vector<std::string>& sets,
                         const std::vector<std::string>& sweeps, const std::string& results_root,
                         const std::string& profile = "");

/// How write_report writes a page.
struct PageOptions {
  int refresh_seconds = 0;  ///< > 0: the page reloads itself that often (kant report --watch)
  bool print_table = true;  ///< the table and what goes with it on stdout and stderr
};
/// What the page showed: cells of the grid, stored ones, running ones.
struct PageOutcome {
  size_t total = 0, stored = 0, running = 0;
};
/// Prints the table (and the reference summary) to stdout; writes the figures, the running
/// cells' figures (live series) and the HTML page into <dir>/report/. Unreadable cell files are
/// named on stderr and left out.
PageOutcome write_report(const ResultsView& view, TableFormat format, const PageOptions& page);
void print_report(const ResultsView& view, TableFormat format);
void print_report(const std::filesystem::path& dir, TableFormat format);

/// kant report --watch: rewrites the page every `every` (it reloads itself) until every cell of
/// the grid is stored, then prints the report as kant report does.
void watch_report(const std::string& target, const std::vector<std::string>& sets,
                  const std::vector<std::string>& sweeps, const std::string& results_root,
                  const std::string& profile, TableFormat format, std::chrono::milliseconds every);

}  // namespace kant::cli
