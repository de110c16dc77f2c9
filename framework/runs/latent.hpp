// `kant latent`: the latent space of a finished cell's stored generator (the EMA generator when
// the cell keeps one), without retraining — paths between codes as image strips, samples of
// truncated codes with the cell's metrics on them, codes searched to maximise the feature
// network's logit of a class, arithmetic on the mean codes of classes, and the inversion of data
// samples by code optimisation (kant/latent.hpp). The results go into the
// cell's file as arrays latent_<operation>/… (and inversion's summary as final values
// latent_invert.*), the file rewritten whole under the cell's claim, as kant evaluate does: a
// kill at any moment leaves the cell as it was or with the new results, whole.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kant/latent.hpp"
#include "plugin/registry.hpp"

namespace kant {

struct LatentRequest {
  std::string operation;  ///< interpolate, truncate, search, arithmetic or invert
  uint64_t seed = 0;      ///< of the codes and the data rows drawn
  /// interpolate: the class of every path (conditional generators); search: the class whose
  /// logit is maximised (and the generator's, when conditional)
  std::optional<int64_t> label;
  int64_t pairs = 4, steps = 8;               ///< interpolate: paths and codes per path
  bool spherical = false;                     ///< interpolate: slerp instead of a straight line
  std::vector<double> thresholds{0.5, 1, 2};  ///< truncate: the thresholds ψ
  /// invert: data samples to recover; truncate: samples stored per ψ; search: codes searched
  int64_t count = 64;
  std::vector<int64_t> plus, minus;  ///< arithmetic: the classes whose mean codes add, subtract
  std::string split = "train";       ///< invert: train, or test (the data set's held-out split)
  /// invert and search: Adam steps, step size and prior weight (unset: each one's default)
  std::optional<int64_t> iterations;
  std::optional<double> lr, prior;
};

struct LatentOutcome {
  std::vector<std::string> lines;  ///< what was computed, to print
  int signal = 0;                  ///< the signal that stopped it before writing (0: none)
};

/// Runs `request` on the cell file `file` and stores its results there. InputError (nothing
/// written) for a file that is not a finished cell with networks, a class asked of a generator
/// that takes none, or a split the data set lacks; SIGINT, SIGTERM, SIGHUP or SIGUSR1 before
/// the write stop it with nothing written.
LatentOutcome run_latent(const std::filesystem::path& file, const LatentRequest& request,
                         const Registry& registry);

}  // namespace kant
