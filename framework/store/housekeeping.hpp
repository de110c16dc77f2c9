// Housekeeping of results folders: how complete each experiment's results are (kant list),
// and what can go (kant clean): temporaries no live writer holds, stale claims, stale live
// series and stop requests,
// checkpoints, and cells no longer in the experiment's grid. Claims decide what is live:
// nothing a live claim holder may be using is ever touched (store/claim.hpp).
#pragma once
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace kant {

/// One experiment folder as kant list shows it.
struct ExperimentState {
  std::filesystem::path dir;
  std::string name;
  std::string file;      ///< the experiment file of its last run
  std::string last_run;  ///< UTC: when the last run wrote cells.yaml (its modification time)
  size_t grid = 0;       ///< cells of the latest grid (cells.yaml)
  size_t complete = 0, diverged = 0, failed = 0, damaged = 0;
  size_t stopped = 0;  ///< ended by the user (kant stop)
  size_t missing = 0;  ///< of the grid, without a cell file
  size_t running = 0;  ///< of the missing, claimed by a live run now
  size_t outside = 0;  ///< cell files of cells no longer in the grid
};

/// Experiment folders of a results root (its folders holding cells.yaml, sorted), or `root`
/// itself when it is one.
std::vector<std::filesystem::path> experiment_folders(const std::filesystem::path& root);

/// Reads every cell file of the folder (checked as reports check them).
ExperimentState inspect_experiment(const std::filesystem::path& dir,
                                   std::chrono::seconds stale_after);

/// A file kant clean removes or keeps, and why.
struct CleanItem {
  std::filesystem::path path;
  std::string reason;
  std::string cell_id;  ///< the cell it belongs to ("" for the folder's own temporaries)
};
struct CleanPlan {
  std::vector<CleanItem> remove, keep;
};

/// What goes in one experiment folder: temporaries (*.tmp.<host>.<pid>) of cells no live
/// claim holds, and other temporaries older than `stale_after`; stale claims; checkpoints of
/// cells that are done; cell files (with their checkpoints and damaged copies) of cells in
/// neither the grid of cells.yaml nor `keep_ids`; damaged copies (<id>.h5.damaged.<time>)
/// only when `damaged`. Looks only.
CleanPlan plan_clean(const std::filesystem::path& dir, const std::set<std::string>& keep_ids,
                     std::chrono::seconds stale_after, bool damaged);

/// Removes what the plan removes; each cell's files only while holding its claim (taken over
/// when stale, released after), so a run that started meanwhile keeps its cell. Returns what
/// could not be removed, and why.
std::vector<std::string> apply_clean(const CleanPlan& plan, std::chrono::seconds stale_after);

}  // namespace kant
