// Samples during training (train.sample_every): the generator (its weight average, if any) on
// one fixed batch of inputs and, for 2-D data with a critic, the critic's values on a fixed grid
// over the data, at step 0, every k generator steps and at the end — the picture of how a run
// covers or collapses onto modes. Taking them never changes training: the inputs come from
// the cell's own snapshot stream, the grid's extent from a copy of the data set, and the
// networks' buffers and the Lipschitz method's state (spectral norm's vectors) are put back
// after each forward pass.
#pragma once
#include "store/cell_file.hpp"
#include "training/session.hpp"

namespace kant {

class SnapshotTaker {
 public:
  /// Draws the fixed inputs and sets up the grid (from a copy of the data set made with
  /// `registry`); only for cells with train.sample_every > 0.
  SnapshotTaker(Session& session, const Registry& registry);
  /// Appends the samples (and surface) of `step` to `out`, unless it holds that step already.
  void take(int64_t step, Snapshots& out);

 private:
  Tensor surface();

  Session& session_;
  std::vector<uint64_t> fixed_stream_;  // the snapshot stream before any draw (sample_batch)
  Tensor inputs_;                       // the generator's fixed inputs [n, …]
  Tensor labels_;           // a conditional generator's fixed one-hot labels [n, K], else undefined
  Tensor grid_x_, grid_y_;  // [G] (2-D data with a critic), else undefined
  Tensor points_;           // [G·G·pack, 2]: every grid point, pack times over
};

}  // namespace kant
