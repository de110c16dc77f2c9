// Housekeeping of results folders (see housekeeping.hpp).
#include "store/housekeeping.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>

#include "kant/error.hpp"
#include "store/cell_file.hpp"
#include "store/claim.hpp"
#include "store/manifest.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

// "<id>.h5", "<id>.ckpt", "<id>.claim", "<id>.live", "<id>.stop", "<id>.h5.tmp.…",
// "<id>.h5.damaged.…": the cell id and
// the rest; an id is 16 lowercase hex digits.
std::optional<std::pair<std::string, std::string>> split_cell_name(const std::string& name) {
  constexpr size_t kIdLength = 16;
  if (name.size() <= kIdLength || name[kIdLength] != '.') return std::nullopt;
  const std::string id = name.substr(0, kIdLength);
  if (id.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  return std::pair{id, name.substr(kIdLength)};
}

bool is_temporary(const std::string& name) { return name.find(".tmp.") != std::string::npos; }

std::chrono::seconds age_of(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return std::chrono::seconds(0);
  const auto now = std::chrono::system_clock::now();
  return std::chrono::duration_cast<std::chrono::seconds>(
      now - std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec)));
}

std::string modification_time(const fs::path& p) {
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return "";
  std::tm tm{};
  gmtime_r(&st.st_mtim.tv_sec, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::set<std::string> grid_ids(const fs::path& dir) {
  std::set<std::string> ids;
  for (const std::string& id : read_manifest(dir).cell_ids) ids.insert(id);
  return ids;
}

}  // namespace

std::vector<fs::path> experiment_folders(const fs::path& root) {
  std::error_code ec;
  if (fs::exists(root / "cells.yaml", ec)) return {root};
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory(ec) && fs::exists(e.path() / "cells.yaml", ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

ExperimentState inspect_experiment(const fs::path& dir, std::chrono::seconds stale_after) {
  ExperimentState s;
  s.dir = dir;
  const Manifest m = read_manifest(dir);
  s.name = m.name;
  s.file = m.run.file;
  s.last_run = modification_time(dir / "cells.yaml");  // every kant run rewrites it
  s.grid = m.cell_ids.size();
  const std::set<std::string> ids(m.cell_ids.begin(), m.cell_ids.end());
  for (const std::string& id : m.cell_ids) {
    const fs::path file = cell_path(dir, id);
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      ++s.missing;
      s.running += Claim::live_holder(claim_path(file), stale_after).has_value();
      continue;
    }
    try {
      const CellStatus status = read_cell_summary(file).status;
      s.complete += status == CellStatus::complete;
      s.diverged += status == CellStatus::diverged;
      s.failed += status == CellStatus::failed;
      s.stopped += status == CellStatus::stopped;
    } catch (const Error&) {
      ++s.damaged;
    }
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "cells", ec))
    if (e.path().extension() == ".h5" && !ids.count(e.path().stem().string())) ++s.outside;
  return s;
}

CleanPlan plan_clean(const fs::path& dir, const std::set<std::string>& keep_ids,
                     std::chrono::seconds stale_after, bool damaged) {
  CleanPlan plan;
  std::set<std::string> grid = grid_ids(dir);
  grid.insert(keep_ids.begin(), keep_ids.end());
  // per cell id: its live holder, looked up once
  std::map<std::string, std::optional<std::string>> holders;
  auto holder = [&](const std::string& id) -> const std::optional<std::string>& {
    auto it = holders.find(id);
    if (it == holders.end())
      it = holders.emplace(id, Claim::live_holder(claim_path(cell_path(dir, id)), stale_after))
               .first;
    return it->second;
  };
  auto done = [&](const std::string& id) {
    try {
      return is_done(read_cell_summary(cell_path(dir, id)).status);
    } catch (const Error&) {
      return false;
    }
  };
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "cells", ec))
    if (e.is_regular_file(ec) || e.is_symlink(ec)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const std::string name = f.filename().string();
    const auto parts = split_cell_name(name);
    if (!parts) {
      if (is_temporary(name) && age_of(f) > stale_after)
        plan.remove.push_back(
            {f, fmt::format("a temporary older than {} s", stale_after.count()), ""});
      continue;  // not a file of ours
    }
    const auto& [id, rest] = *parts;
    const bool in_grid = grid.count(id) > 0;
    const std::optional<std::string>& live = holder(id);
    if (rest == ".claim") {
      if (live)
        plan.keep.push_back({f, "claimed by " + *live, id});
      else
        plan.remove.push_back({f, "a stale claim (its holder is gone)", id});
      continue;
    }
    if (live) {
      plan.keep.push_back({f, "its cell is being trained by " + *live, id});
      continue;
    }
    if (is_temporary(name)) {
      plan.remove.push_back({f, "a temporary no live run holds", id});
    } else if (rest.rfind(".h5.damaged.", 0) == 0) {
      if (damaged || !in_grid)
        plan.remove.push_back({f,
                               in_grid ? "a damaged copy (--damaged)"
                                       : "a damaged copy of a cell no longer in the grid",
                               id});
      else
        plan.keep.push_back({f, "a damaged copy, kept for inspection (--damaged removes it)", id});
    } else if (!in_grid && (rest == ".h5" || rest == ".ckpt")) {
      plan.remove.push_back({f,
                             rest == ".h5" ? "a cell no longer in the grid"
                                           : "a checkpoint of a cell no longer in the grid",
                             id});
    } else if (rest == ".ckpt" && done(id)) {
      plan.remove.push_back({f, "a checkpoint of a cell that is done", id});
    } else if (rest == ".live") {
      plan.remove.push_back({f, "a live series no running cell writes", id});
    } else if (rest == ".stop") {
      plan.remove.push_back({f, "a stop request no running cell reads", id});
    }
  }
  // the folder's own temporaries (cells.yaml, report files): no claim covers them, so by age
  for (const fs::path& sub : {dir, dir / "report"})
    for (const auto& e : fs::directory_iterator(sub, ec))
      if (e.is_regular_file(ec) && is_temporary(e.path().filename().string()) &&
          age_of(e.path()) > stale_after)
        plan.remove.push_back(
            {e.path(), fmt::format("a temporary older than {} s", stale_after.count()), ""});
  return plan;
}

std::vector<std::string> apply_clean(const CleanPlan& plan, std::chrono::seconds stale_after) {
  std::vector<std::string> problems;
  std::map<std::string, std::vector<const CleanItem*>> by_cell;
  for (const CleanItem& item : plan.remove) {
    if (!item.cell_id.empty()) {
      by_cell[item.cell_id].push_back(&item);
      continue;
    }
    std::error_code ec;
    if (!fs::remove(item.path, ec) && ec)
      problems.push_back(fmt::format("{}: {}", item.path.string(), ec.message()));
  }
  for (const auto& [id, items] : by_cell) {
    const fs::path claim = claim_path(items.front()->path.parent_path() / (id + ".h5"));
    std::string holder;
    std::optional<Claim> held;
    try {
      held = Claim::acquire(claim, stale_after, &holder);
    } catch (const StorageError& e) {
      problems.push_back(e.what());
      continue;
    }
    if (!held) {
      problems.push_back(
          fmt::format("cell {}: left as it is, claimed meanwhile by {}", id, holder));
      continue;
    }
    for (const CleanItem* item : items) {
      if (item->path == claim) continue;  // released below
      std::error_code ec;
      if (!fs::remove(item->path, ec) && ec)
        problems.push_back(fmt::format("{}: {}", item->path.string(), ec.message()));
    }
    held->release();  // removes the claim file: the stale one we took over, or the one we made
  }
  return problems;
}

}  // namespace kant
