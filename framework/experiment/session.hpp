// The "set up" stage of training: everything one cell trains with, built from its config —
// the data set, the networks, objective, Lipschitz method, optimizers, metrics, the
// generator's weight average, and the cell's independent random streams.
#pragma once
#include <memory>
#include <vector>

#include "experiment/experiment.hpp"
#include "kant/components.hpp"

namespace kant {

struct Session {
  /// Built in the order the random streams expect: data set, generator, critic (both from
  /// the init stream), objective, Lipschitz methods, optimizers, metrics, the average.
  Session(const CellConfig& config, const Registry& registry);

  const CellConfig& config;
  const TrainSettings& train;

  // Independent random streams of the cell, derived from its seed: adding draws to one never
  // shifts another (training, penalties and metrics each draw from their own).
  Rng init_rng, data_rng, noise_rng, penalty_rng, metric_rng, ema_rng, metric_noise_rng;

  std::shared_ptr<Dataset> dataset;
  std::shared_ptr<Network> generator, critic;
  std::shared_ptr<Network> average;  ///< EMA of the generator's weights (train.ema > 0)
  std::shared_ptr<Objective> objective;
  std::shared_ptr<LipschitzMethod> lipschitz;  ///< one method, or several combined
  /// The critic's weight transform of the Lipschitz method (null when it has none).
  Module::ParameterTransform lipschitz_transform;
  std::shared_ptr<Optimizer> generator_optimizer, critic_optimizer;
  std::vector<std::shared_ptr<Metric>> metrics;  ///< in config order
  std::vector<Tensor> generator_params, critic_params;

  /// n generator inputs z drawn from `rng` as the config says (N(0, I) or U[−1, 1]^d).
  Tensor noise(Rng& rng, int64_t n) const;
  /// The network metrics and stored samples come from: the average when there is one.
  Network& sampler() const { return average ? *average : *generator; }
};

/// ema ← β·ema + (1 − β)·p for every parameter of the generator's average.
void update_average(Network& average, const Network& net, float beta);

}  // namespace kant
