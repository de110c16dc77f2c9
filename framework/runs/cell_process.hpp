// The child side of the runner, `kant _cell SPEC OUT`: trains one claimed cell (resuming from
// its checkpoint when there is one) and writes its cell file. It stops at the next step when
// signalled or when its parent dies (PR_SET_PDEATHSIG), leaving no temporary behind.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>

#include "cells/experiment.hpp"
#include "store/cell_file.hpp"

namespace kant {

/// The spec a runner hands its child (on its standard input): experiment, cell id, labels,
/// the cell's config.
std::string cell_spec_yaml(const Experiment& ex, const Cell& cell);

/// Trains the cell of the spec at `spec_path` ("-": standard input) and writes `out_path`.
/// `parent` is the runner's pid (0: none to watch). With `live_every` > 0 its live series goes
/// to <id>.live beside `out_path`, written out that often and removed once the cell file is
/// stored; a file <id>.stop (kant stop) ends it at its next step as "stopped". Returns the exit
/// code: 0 complete, diverged or stopped, 1 failed, 128 + signal when stopped by a signal.
int run_cell_process(const std::string& spec_path, const std::filesystem::path& out_path,
                     int threads, const std::string& tag, long parent, const Registry& registry,
                     std::chrono::milliseconds live_every = std::chrono::milliseconds(0));

/// The plugins a cell uses, with the SHA-256 of each library file.
std::vector<PluginUse> plugin_uses(const CellConfig& config);

}  // namespace kant
