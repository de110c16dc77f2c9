// The results folder's manifest, <dir>/cells.yaml: the latest expansion of the experiment
// (name, grid axes, report and reference blocks, each cell's id and labels), written by the
// runner and read by reports; and the cells it lists, read back from their files.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "store/cell_file.hpp"

namespace kant {

/// What `kant run` records beside the cells.
struct Manifest {
  std::string name;
  std::vector<std::string> axes;
  ConfigNode report, reference;
  std::vector<std::string> cell_ids;
};
/// Writes <dir>/cells.yaml atomically.
void write_manifest(const std::filesystem::path& dir, const std::string& name,
                    const std::vector<std::string>& axes, const ConfigNode& report,
                    const ConfigNode& reference,
                    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& cells);
Manifest read_manifest(const std::filesystem::path& dir);

/// Cells of an experiment folder, per its manifest; missing, truncated or foreign files are
/// listed in `problems` (with their names and reasons) and left out.
std::vector<CellSummary> load_cells(const std::filesystem::path& experiment_dir,
                                    std::vector<std::string>& problems);

}  // namespace kant
