// Checkpoints: networks' parameters and buffers and optimizers' state, saved to and loaded
// from one sealed HDF5 file (written under a temporary name, checksummed, renamed when
// complete; a damaged file is refused before HDF5 reads it).
//
// Layout: /<module>/parameters/<name>, /<module>/buffers/<name>, /<optimizer>/<name>; the
// root carries format = "kantorovich-checkpoint" and version = 2. Values are stored exactly
// (fp32 → float64 → fp32 round-trips bit for bit).
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "kant/components.hpp"
#include "kant/module.hpp"

namespace kant {

struct CheckpointParts {
  std::vector<std::pair<std::string, Module*>> modules;
  std::vector<std::pair<std::string, Optimizer*>> optimizers;
};

void save_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts);
/// Restores every part in place; throws StorageError naming the file and the missing or
/// mismatched entry (a checkpoint of another architecture is never half-loaded: everything
/// is checked before anything is written).
void load_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts);

}  // namespace kant
