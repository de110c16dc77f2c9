// Printing an experiment's report from its results folder (shared by kant run and kant report).
#pragma once
#include <filesystem>

#include "report/report.hpp"

namespace kant::cli {

/// Prints the table (and the reference summary) to stdout; writes the figures and the HTML
/// page into <dir>/report/. Unreadable cell files are named on stderr and left out.
void print_report(const std::filesystem::path& dir, TableFormat format);

}  // namespace kant::cli
