// Caps on hostile or mistaken input (YAML size, alias expansion, nesting, strings, grid
// cells, seeds), each named in its error message with the environment variable that raises it.
#pragma once
#include <cstdint>
#include <string>

namespace kant {

/// One cap: its default, and the environment variable that overrides it.
struct Limit {
  const char* what;  ///< what is counted, plural: "YAML nodes after alias expansion"
  const char* env;   ///< "KANT_MAX_YAML_NODES"
  uint64_t default_value;

  /// The value in force: $env when set (a positive integer, else an InputError), else the
  /// default.
  uint64_t value() const;
  /// "too many cells (grid points × seeds): 20000, the limit is 10000 (raise it with
  /// KANT_MAX_CELLS=N)"; with `got` empty: "too many …: more than 10000 (raise …)".
  std::string exceeded(const std::string& got) const;
};

namespace limits {
/// Bytes of one YAML file or --set value.
extern const Limit yaml_bytes;
/// Nodes of one YAML document counted after alias expansion (an alias counts its whole tree
/// each time it is used), so an alias bomb stops after this many nodes.
extern const Limit yaml_nodes;
/// Nesting depth of maps and lists.
extern const Limit yaml_depth;
/// Bytes of one scalar or key.
extern const Limit string_bytes;
/// Cells of an experiment: grid points × seeds, checked before the grid is expanded.
extern const Limit cells;
/// Entries of an experiment's `seeds` list.
extern const Limit seeds;
/// Config nodes summed over the cells of a grid (cells × nodes of a cell's config, bounded
/// before expansion), so a large base config times a large grid cannot exhaust memory.
extern const Limit grid_nodes;
}  // namespace limits

/// The longest experiment name: it names a results folder, a file name component of at most
/// 255 bytes, and the store appends up to kNameSuffixBytes to names it derives from it.
inline constexpr size_t kFileNameBytes = 255;
inline constexpr size_t kNameSuffixBytes = 80;
inline constexpr size_t kMaxExperimentNameBytes = kFileNameBytes - kNameSuffixBytes;

}  // namespace kant
