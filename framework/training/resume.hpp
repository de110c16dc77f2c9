// Resume checkpoints of a training cell (train.checkpoint_every): everything a cell needs to
// continue bit for bit — its networks (the generator's average included), the optimizers'
// moments, the components' state (the procedure's latest losses, spectral norm's vectors, a
// data set's position), every random stream, and the losses, metric series and samples so far.
// Written sealed and atomically beside the cell file (<id>.ckpt); a damaged one is never used.
#pragma once
#include <filesystem>
#include <string>

#include "kant/error.hpp"
#include "store/cell_file.hpp"
#include "training/session.hpp"

namespace kant {

/// Where the loop stands: the last completed generator step and what it produced.
struct TrainingProgress {
  int64_t step = 0;
  int64_t resumes = 0;     ///< times this cell has been resumed before this checkpoint
  double elapsed_s = 0;    ///< training time before this checkpoint, over every resume
  std::string start_time;  ///< when the cell first started
  Series loss_series;
  std::map<std::string, Series> metric_series;
  std::map<std::string, MetricRecord> metric_records;  ///< failed metrics stay failed
  Snapshots snapshots;  ///< samples stored so far (train.sample_every)
};

/// A checkpoint that cannot be used (damaged, or of another config): the cell starts afresh.
class CheckpointUnusable : public StorageError {
 public:
  using StorageError::StorageError;
};

/// The session's random streams by name, in a fixed order (init, data, noise, penalty,
/// metric, ema_init, metric_noise).
std::vector<std::pair<std::string, Rng*>> session_streams(Session& session);
/// The session's networks by config block, then its generator's average as "average".
CheckpointParts network_parts(const Session& session);

void save_training_checkpoint(const std::filesystem::path& file, const Session& session,
                              const TrainingProgress& progress);

/// Restores the session and returns the progress; throws CheckpointUnusable (naming the file
/// and the reason) when the checkpoint is damaged or belongs to another config, leaving the
/// session untouched.
TrainingProgress load_training_checkpoint(const std::filesystem::path& file, Session& session);

}  // namespace kant
