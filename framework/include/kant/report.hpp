// Comparison tables from stored cells: aggregate over seeds (mean ± std, n, failures) into
// the rows, columns and values an experiment's `report` block asks for.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "kant/results.hpp"

namespace kant {

/// A figure of the report: one line per cell group, y (and x) read from each cell's file.
struct PlotSpec {
  std::string name;    ///< file name stem
  std::string x, y;    ///< dataset paths in a cell file; x "" : the `step` beside y
  std::string panels;  ///< grid axis: one figure per value ("" : one figure)
  std::string lines;   ///< grid axis: one line per value (cells of a group: their seed-0 … lines)
  bool log_y = false;
  bool equal_aspect = false;
  std::string title;
};

struct ReportSpec {
  std::vector<std::string> rows;     ///< grid axes for rows (empty: the first axis)
  std::string columns;               ///< optional grid axis for column groups
  std::vector<std::string> values;   ///< "metric.value" names (empty: all found)
  std::vector<PlotSpec> plots;
};

/// Reads the `report` block of an experiment (null node: defaults).
ReportSpec parse_report_spec(const ConfigNode& report);

/// Cells of an experiment folder, per its manifest (cells.yaml); unreadable files are listed
/// in `problems` with their reason and left out.
std::vector<CellSummary> load_cells(const std::filesystem::path& experiment_dir,
                                    std::vector<std::string>& problems);

/// Writes the report's plots as SVG files into `out_dir`; returns their paths. Cells that
/// lack a plotted dataset are listed in `problems`.
std::vector<std::filesystem::path> write_plots(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                                               const std::filesystem::path& out_dir,
                                               std::vector<std::string>& problems);

enum class TableFormat { markdown, csv };
/// The table: one row per value of spec.rows (× spec.columns), each value mean ± std over
/// the complete cells, then n and the number of diverged / failed cells.
std::string render_table(const std::vector<CellSummary>& cells, const ReportSpec& spec,
                         const std::vector<std::string>& axes, TableFormat format);

/// Writes the manifest of the current expansion (experiment name, axes, report block,
/// cell ids and labels) to <dir>/cells.yaml, atomically.
void write_manifest(const std::filesystem::path& dir, const std::string& name,
                    const std::vector<std::string>& axes, const ConfigNode& report,
                    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& cells);

/// Reads back a manifest: axes and report block.
struct Manifest {
  std::string name;
  std::vector<std::string> axes;
  ConfigNode report;
  std::vector<std::string> cell_ids;
};
Manifest read_manifest(const std::filesystem::path& dir);

}  // namespace kant
