// The results folder's manifest, <dir>/cells.yaml: the latest expansion of the experiment
// (name, grid axes, report and reference blocks, each cell's id and labels, the file and
// command line it came from), written by the runner and read by reports; and the cells it
// lists, read back from their files.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "store/cell_file.hpp"

namespace kant {

/// How the latest expansion came about: the experiment file and what the command line changed.
struct ManifestRun {
  std::string file;                 ///< the experiment file, as given to kant run
  std::vector<std::string> sets;    ///< its --set arguments
  std::vector<std::string> sweeps;  ///< its --sweep arguments (axes added to the grid)
  std::string profile;              ///< its --profile (an entry of the file's `profiles`), or ""
};

/// What `kant run` records beside the cells.
struct Manifest {
  std::string name;
  std::vector<std::string> axes;
  ConfigNode report, reference;
  std::vector<std::string> cell_ids;
  /// Each cell's labels (axis → label), parallel to cell_ids: the grid's current names, which
  /// reports use rather than those stored in the cell files (a renamed variant is the same cell).
  std::vector<std::vector<std::pair<std::string, std::string>>> cell_labels;
  ManifestRun run;
};
/// Writes <dir>/cells.yaml atomically. It holds no time, so a run that changes nothing writes
/// the same text (its modification time says when the last run was).
void write_manifest(const std::filesystem::path& dir, const Manifest& manifest);
void write_manifest(
    const std::filesystem::path& dir, const std::string& name, const std::vector<std::string>& axes,
    const ConfigNode& report, const ConfigNode& reference,
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>&
        cells);
Manifest read_manifest(const std::filesystem::path& dir);

/// Cells of an experiment folder, per its manifest; missing, truncated or foreign files are
/// listed in `problems` (with their names and reasons) and left out.
std::vector<CellSummary> load_cells(const std::filesystem::path& experiment_dir,
                                    std::vector<std::string>& problems);
/// The cells `manifest` lists (in its order, with its labels), read from experiment_dir/cells:
/// a grid's view of stored cells, e.g. of an experiment file that was not run as it is now.
std::vector<CellSummary> load_cells(const std::filesystem::path& experiment_dir,
                                    const Manifest& manifest, std::vector<std::string>& problems);

}  // namespace kant
