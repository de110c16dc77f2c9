// Printing an experiment's report (shared by kant run, kant report and kant export): where the
// cells come from, and the table, figures and page.
#pragma once
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

/// Prints the table (and the reference summary) to stdout; writes the figures and the HTML
/// page into <dir>/report/. Unreadable cell files are named on stderr and left out.
void print_report(const ResultsView& view, TableFormat format);
void print_report(const std::filesystem::path& dir, TableFormat format);

}  // namespace kant::cli
