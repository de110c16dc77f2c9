// A cell's status: the four words its file stores and the two outcomes of a run that store
// nothing.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace kant {

/// What became of a cell. complete, diverged, failed and stopped are stored in its file
/// (attribute "status"); elsewhere and interrupted are outcomes of one run's attempt that store
/// nothing.
enum class CellStatus {
  complete,     ///< trained to the end
  diverged,     ///< a non-finite loss ended training
  failed,       ///< an exception or a crash ended it
  elsewhere,    ///< another run trained it meanwhile (never stored)
  interrupted,  ///< a signal stopped its process (never stored; a rerun resumes it)
  stopped,      ///< the user ended it at a step (kant stop); trained again only when asked
};

/// "complete", "diverged", "failed", "elsewhere", "interrupted", "stopped": the word files and
/// messages use.
const std::string& to_string(CellStatus status);
/// The status `word` names; nullopt for any other word.
std::optional<CellStatus> parse_cell_status(std::string_view word);

/// complete, diverged or stopped: nothing is left to train (a stopped cell is trained again
/// only when a run asks, kant run --retry-stopped).
inline bool is_done(CellStatus s) {
  return s == CellStatus::complete || s == CellStatus::diverged || s == CellStatus::stopped;
}
/// complete, diverged, stopped or failed: what a cell file may hold.
inline bool is_stored(CellStatus s) { return is_done(s) || s == CellStatus::failed; }

}  // namespace kant
