// `mpirun -n N kant run FILE.yaml`: N ranks share one grid. Rank 0 inspects the cells, writes
// the manifest, keeps the queue and the status line of the whole grid, and hands out the next
// cell to whichever rank asks (each asks when a slot frees), training cells itself too; every
// rank trains its cells in `kant _cell` children with its own threads, under the same claims
// as any run, so shared storage is all the ranks share besides the messages. Built only when
// CMake found MPI (KANT_HAVE_MPI); without it, a kant started by mpirun says so and stops.
#pragma once
#include <string>
#include <vector>

#include "runs/runner.hpp"

namespace kant::cluster {

/// The MPI library this kant was built with ("Open MPI v4.1.4"), or "" when built without.
std::string mpi_library();

/// The number of ranks of the MPI job that started this process, from the launcher's
/// environment (Open MPI's mpirun, MPICH's hydra, srun with PMI); 0 when not started so.
int mpi_world_size_from_environment();

struct MpiOutcome {
  int rank = 0, size = 1;
  RunSummary summary;         ///< rank 0: the whole grid's; other ranks: their own
  std::vector<int> trained;   ///< rank 0: cells trained by each rank
  std::vector<int> assigned;  ///< rank 0: cells handed to each rank
};

/// Runs the experiment as one rank of the MPI job (MPI_Init … MPI_Finalize). Throws
/// InputError when this kant was built without MPI, or when the ranks expanded different grids.
MpiOutcome run_experiment_mpi(const Experiment& ex, const Registry& registry, RunOptions opt);

}  // namespace kant::cluster
