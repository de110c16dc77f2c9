// Training one cell: the framework's loop (set up, steps, metrics, finish) around the GAN's
// critic and generator steps; returns everything the cell file stores.
#pragma once
#include <functional>

#include "experiment/experiment.hpp"
#include "store/cell_file.hpp"

namespace kant {

/// Called every log period: step, total steps, latest losses.
using ProgressFn = std::function<void(int64_t step, int64_t steps, double loss_critic,
                                      double loss_generator, double elapsed_s)>;

/// Trains the cell. NaN/Inf in a loss ends training with status "diverged"; an exception
/// propagates (the caller stores it as "failed").
CellResult train_cell(const CellConfig& config, const Registry& registry, const ProgressFn& progress);

}  // namespace kant
