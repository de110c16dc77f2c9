// kant list and kant clean: how complete each experiment's results are, and removing what a
// results folder no longer needs (temporaries, stale claims and checkpoints, cells no longer
// in the grid).
#include "store/housekeeping.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "cells/experiment.hpp"
#include "cli/commands.hpp"
#include "kant/error.hpp"
#include "runs/runner.hpp"

namespace fs = std::filesystem;

namespace kant::cli {
namespace {

std::vector<fs::path> folders_of(const std::string& root) {
  if (!fs::is_directory(root)) throw InputError(fmt::format("{}: no such results folder", root));
  std::vector<fs::path> folders = experiment_folders(root);
  if (folders.empty())
    throw InputError(fmt::format("{}: no experiment folders (with cells.yaml) here", root));
  return folders;
}

std::chrono::seconds seconds_of(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size() && v >= 1) return std::chrono::seconds(v);
  } catch (const std::exception&) {
  }
  throw InputError(
      fmt::format("--{} must be a positive number of seconds, got '{}'", option, text));
}

std::string size_text(uintmax_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

Command add_list(CLI::App& kant) {
  struct Args {
    std::string dir = "results", claim_timeout = "120";
  };
  auto a = std::make_shared<Args>();
  CLI::App* app =
      kant.add_subcommand("list",
                          "each experiment of a results folder: its grid's cells complete, "
                          "diverged, failed, damaged and "
                          "missing (running now), cells no longer in the grid, and its last run");
  app->group("Commands");
  app->allow_extras();
  app->add_option("DIR", a->dir, "a results root, or one experiment's folder (default: results)");
  app->add_option("--claim-timeout", a->claim_timeout,
                  "seconds after which another host's claim whose heartbeat stopped no longer "
                  "counts as running "
                  "(default 120)")
      ->type_name("S");
  return {app, [a] {
            const auto stale = seconds_of("claim-timeout", a->claim_timeout);
            std::vector<std::vector<std::string>> rows{{"experiment", "cells", "complete",
                                                        "diverged", "failed", "damaged", "missing",
                                                        "running", "outside", "last run", "file"}};
            for (const fs::path& f : folders_of(a->dir)) {
              const ExperimentState s = inspect_experiment(f, stale);
              rows.push_back(
                  {s.name.empty() ? f.filename().string() : s.name, std::to_string(s.grid),
                   std::to_string(s.complete), std::to_string(s.diverged), std::to_string(s.failed),
                   std::to_string(s.damaged), std::to_string(s.missing), std::to_string(s.running),
                   std::to_string(s.outside), s.last_run, s.file.empty() ? "—" : s.file});
            }
            std::vector<size_t> width(rows.front().size(), 0);
            for (const auto& r : rows)
              for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
            for (const auto& r : rows) {
              std::string line;
              for (size_t i = 0; i < r.size(); ++i)
                line +=
                    i + 1 == r.size() ? r[i] : r[i] + std::string(width[i] - r[i].size() + 2, ' ');
              fmt::print("{}\n", line);
            }
            fmt::print(
                "(missing: in the grid without a cell file yet; running: of those, claimed by a "
                "live run; "
                "outside: cell files no longer in the grid, which kant clean removes)\n");
            return 0;
          }};
}

Command add_clean(CLI::App& kant) {
  struct Args {
    std::string dir = "results", claim_timeout = "120";
    std::vector<std::string> keep;
    bool dry_run = false, damaged = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "clean",
      "remove what a results folder no longer needs, listing each file: temporaries no live run "
      "holds, "
      "stale claims, checkpoints of finished cells, and cells no longer in the grid of cells.yaml");
  app->group("Commands");
  app->allow_extras();
  app->add_option("DIR", a->dir, "a results root, or one experiment's folder (default: results)");
  app->add_flag("--dry-run", a->dry_run, "list what would be removed, remove nothing");
  app->add_flag("--damaged", a->damaged,
                "also remove damaged copies kept aside (<id>.h5.damaged.<time>)");
  app->add_option("--keep", a->keep,
                  "an experiment file whose grid's cells stay too (its own folder); repeatable")
      ->type_name("FILE.yaml")
      ->allow_extra_args(false);
  app->add_option("--claim-timeout", a->claim_timeout,
                  "seconds after which another host's claim whose heartbeat stopped is stale, and "
                  "after which a "
                  "temporary no claim covers is old (default 120)")
      ->type_name("S");
  return {app, [a] {
            const auto stale = seconds_of("claim-timeout", a->claim_timeout);
            std::map<std::string, std::set<std::string>> keep;  // experiment name → ids
            if (!a->keep.empty()) {
              Registry registry = Registry::load_default();
              for (const std::string& file : a->keep) {
                require_file(file);
                Experiment ex = load_experiment(file, std::vector<std::string>{}, registry);
                for (const Cell& c : ex.cells) keep[ex.name].insert(c.id);
              }
            }
            size_t removed = 0, kept = 0;
            uintmax_t bytes = 0;
            std::vector<std::string> problems;
            for (const fs::path& f : folders_of(a->dir)) {
              const std::string name = read_manifest(f).name;
              const CleanPlan plan = plan_clean(
                  f, keep.count(name) ? keep.at(name) : std::set<std::string>{}, stale, a->damaged);
              for (const CleanItem& i : plan.remove) {
                std::error_code ec;
                const uintmax_t size = fs::file_size(i.path, ec);
                bytes += ec ? 0 : size;
                fmt::print("{} {}  ({})\n", a->dry_run ? "would remove" : "remove", i.path.string(),
                           i.reason);
              }
              for (const CleanItem& i : plan.keep)
                fmt::print("keep {}  ({})\n", i.path.string(), i.reason);
              removed += plan.remove.size();
              kept += plan.keep.size();
              if (!a->dry_run)
                for (std::string& p : apply_clean(plan, stale)) problems.push_back(std::move(p));
            }
            for (const std::string& p : problems) fmt::print(stderr, "kant clean: {}\n", p);
            fmt::print(
                stderr, "kant clean: {} {} file{} ({}), kept {}{}\n",
                a->dry_run ? "would remove" : "removed", removed, removed == 1 ? "" : "s",
                size_text(bytes), kept,
                problems.empty() ? "" : fmt::format("; {} not removed (above)", problems.size()));
            return problems.empty() ? 0 : 1;
          }};
}

}  // namespace kant::cli
