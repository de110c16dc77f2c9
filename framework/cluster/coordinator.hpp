// Dynamic assignment of cells to workers, without any transport: the next cell of the queue
// goes to whichever worker asks first (a worker asks when one of its slots frees), so long and
// short cells balance. MPI rank 0 runs it (cluster/mpi_run.cpp) and the cluster simulator
// replays it (bench/cluster_sim.cpp).
#pragma once
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "runs/runner.hpp"

namespace kant::cluster {

class Coordinator {
 public:
  /// `queue` holds the cells still to hand out, in the order they go out; workers 0 … n-1.
  Coordinator(std::deque<size_t>& queue, int workers);

  /// The cell for `worker`, now asking; nullopt once the queue is empty (or abandoned).
  std::optional<size_t> assign(int worker);
  /// Gives up every cell not handed out (the results folder takes no more); how many.
  size_t abandon();
  /// A worker's cell ended (complete, diverged, failed, elsewhere, interrupted); `trained` when
  /// its process ran (not a cell done elsewhere). Counted in others() for workers other than 0.
  void ended(int worker, size_t cell, CellStatus status, bool trained);
  /// A worker has nothing left and stops (its summary: the signal that stopped it, if any).
  void finished(int worker, const RunSummary& summary);

  bool exhausted() const { return queue_.empty(); }
  /// Workers other than 0 that have not finished.
  int unfinished() const;
  const std::vector<int>& assigned() const { return assigned_; }
  const std::vector<int>& trained() const { return trained_; }
  /// Outcomes of the cells workers other than 0 ended, as each ended (so a run stopped by a
  /// signal still counts what the other ranks finished).
  const RunSummary& others() const { return others_; }

 private:
  std::deque<size_t>& queue_;
  std::vector<int> assigned_, trained_;
  std::vector<bool> finished_;
  RunSummary others_;
};

}  // namespace kant::cluster
