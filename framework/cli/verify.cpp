// kant verify [DIR]: checks every cell file of one experiment folder, or of every experiment
// under a results root, and says what is wrong with each (damaged, foreign, misnamed,
// missing); exit 1 when any is wrong.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "cli/commands.hpp"
#include "kant/error.hpp"
#include "store/cell_file.hpp"
#include "store/manifest.hpp"

namespace fs = std::filesystem;

namespace kant::cli {
namespace {

// Returns the number of problems found in one experiment folder.
int verify_experiment(const fs::path& dir) {
  int problems = 0, complete = 0, diverged = 0, failed = 0;
  std::set<std::string> listed;
  try {
    for (const std::string& id : read_manifest(dir).cell_ids) listed.insert(id);
  } catch (const Error& e) {
    fmt::print("{}\n", e.what());
    ++problems;
  }
  std::set<std::string> present;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir / "cells", ec))
    if (e.path().extension() == ".h5") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    present.insert(f.stem().string());
    try {
      CellSummary s = read_cell_summary(f);
      complete += s.status == CellStatus::complete;
      diverged += s.status == CellStatus::diverged;
      failed += s.status == CellStatus::failed;
    } catch (const Error& e) {
      fmt::print("{}\n", e.what());
      ++problems;
    }
  }
  int missing = 0;
  for (const std::string& id : listed)
    if (!present.count(id)) ++missing;
  fmt::print(
      "{}: {} cell files: {} complete, {} diverged, {} failed, {} damaged; {} of the grid's {} not "
      "run yet\n",
      dir.string(), files.size(), complete, diverged, failed, problems, missing, listed.size());
  return problems;
}

}  // namespace

Command add_verify(CLI::App& kant) {
  auto dir = std::make_shared<std::string>("results");
  CLI::App* app = kant.add_subcommand(
      "verify",
      "check every cell file of a results folder (checksum, id, config) and name each damaged one");
  app->group("Commands");
  app->allow_extras();
  app->add_option("DIR", *dir,
                  "an experiment's results folder, or a results root (default: results)");
  return {app, [dir] {
            const fs::path root = *dir;
            if (!fs::is_directory(root))
              throw InputError(fmt::format("{}: no such results folder", root.string()));
            int problems = 0;
            if (fs::exists(root / "cells.yaml") || fs::is_directory(root / "cells")) {
              problems = verify_experiment(root);
            } else {
              std::vector<fs::path> experiments;
              for (const auto& e : fs::directory_iterator(root))
                if (fs::exists(e.path() / "cells.yaml")) experiments.push_back(e.path());
              std::sort(experiments.begin(), experiments.end());
              if (experiments.empty())
                throw InputError(
                    fmt::format("{}: no experiment folders (with cells.yaml) here", root.string()));
              for (const fs::path& e : experiments) problems += verify_experiment(e);
            }
            return problems > 0 ? 1 : 0;
          }};
}

}  // namespace kant::cli
