// The "set up" stage of training: everything one cell trains with, built from its config —
// the data set, the procedure and the networks it asks for, objective, Lipschitz method,
// metrics, the generator's weight average, the optimizers the procedure makes, and the cell's
// independent random streams.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cells/experiment.hpp"
#include "kant/components.hpp"

namespace kant {

struct Session {
  /// Built in the order the random streams expect: data set, the procedure's networks (the
  /// generator first, from the init stream), objective, Lipschitz methods, metrics, the
  /// average; then the procedure's set-up makes its optimizers.
  Session(const CellConfig& config, const Registry& registry);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const CellConfig& config;
  const TrainSettings& train;

  // Independent random streams of the cell, derived from its seed: adding draws to one never
  // shifts another (training, penalties and metrics each draw from their own).
  Rng init_rng, data_rng, noise_rng, penalty_rng, metric_rng, ema_rng, metric_noise_rng;
  /// Draws only while samples during training are set up (their fixed inputs and grid), so it
  /// needs no place in checkpoints.
  Rng snapshot_rng;
  /// Drawn only by settings that ask (noisy labels, instance noise); checkpointed and stored
  /// once they have drawn, so that a cell without them keeps its files as they were.
  Rng targets_rng, instance_noise_rng;
  struct OptionalStream {
    std::string name;
    Rng* rng;
    std::vector<uint64_t> fresh;  ///< its state before any draw
  };
  std::vector<OptionalStream> optional_streams();

  std::shared_ptr<Dataset> dataset;  ///< training batches, metrics and stored samples draw from it
  std::shared_ptr<Procedure> procedure;
  std::vector<std::pair<std::string, std::shared_ptr<Network>>> networks;  ///< by config block
  Network* generator = nullptr;
  Network* critic = nullptr;  ///< the network named "critic" (packed), if the procedure has one
  Network* scoring_critic = nullptr;     ///< the critic metrics see (one score per sample), or null
  std::shared_ptr<Network> average;      ///< EMA of the generator's weights (train.averages())
  std::shared_ptr<Objective> objective;  ///< null when the procedure uses none
  std::shared_ptr<LipschitzMethod> lipschitz;  ///< one method, or several combined
  /// The other networks' methods (`<network>_lipschitz`), by config block.
  std::vector<std::pair<std::string, std::shared_ptr<LipschitzMethod>>> network_lipschitz;
  std::vector<std::shared_ptr<Metric>> metrics;  ///< in config order
  /// The optimizers the procedure made, named "<network>_optimizer" (checkpointed).
  std::vector<std::pair<std::string, std::shared_ptr<Optimizer>>> optimizers;
  std::unique_ptr<TrainingContext> context;  ///< what the procedure sees

  /// n generator inputs drawn from `rng` (noise, and any codes the procedure adds).
  Tensor generator_input(Rng& rng, int64_t n);
  /// The same with the procedure's categorical code fixed to `category`.
  Tensor generator_input_for_category(Rng& rng, int64_t n, int64_t category) {
    return procedure->generator_input_for_category(*context, rng, n, category);
  }
  /// The network metrics and stored samples come from: the average when there is one.
  Network& sampler() const { return average ? *average : *generator; }
  /// n samples for metrics and storage: the procedure's own, else the sampler's on its inputs.
  Tensor generate(Rng& rng, int64_t n) { return generate_labelled(rng, n).x; }
  /// The same with each sample's label where the generator is conditional: `label` for every
  /// sample, or drawn by generated_labels() after the inputs, from the same stream.
  Batch generate_labelled(Rng& rng, int64_t n, std::optional<int64_t> label = std::nullopt);
  /// The procedure's arrays stored at the end (Procedure::final_arrays; none for most), drawn
  /// from a stream of their own, without graph.
  std::map<std::string, Tensor> procedure_arrays();
  /// n labels of generated samples: uniform over the data set's classes or with its class
  /// frequencies (generator.labels).
  std::vector<int64_t> generated_labels(Rng& rng, int64_t n) const;
  /// Networks re-initialised so far (each from a stream of its own), kept by checkpoints.
  uint64_t reinitialized() const { return reinitialized_; }
  void set_reinitialized(uint64_t n) { reinitialized_ = n; }

 private:
  Tensor noise(Rng& rng, int64_t n) const;
  Optimizer& make_optimizer(const Registry& registry, const std::string& network);
  void reinitialize(const Registry& registry, const std::string& network);
  std::vector<NetworkRequest> requests_;
  uint64_t reinitialized_ = 0;  // fresh networks made so far (each from a stream of its own)
};

/// ema ← β·ema + (1 − β)·p for every parameter of the generator's average; its buffers (batch
/// norm's running statistics, virtual batch norm's reference) are the generator's.
void update_average(Network& average, const Network& net, float beta);

/// Keeps the state of the networks' own Lipschitz methods (`<network>_lipschitz`, e.g. a
/// generator's spectral-norm vectors, which every forward pass advances) as it was while
/// metrics and samples run the networks, so that evaluating never changes what trains.
class NetworkLipschitzGuard {
 public:
  explicit NetworkLipschitzGuard(Session& s);
  ~NetworkLipschitzGuard();
  NetworkLipschitzGuard(const NetworkLipschitzGuard&) = delete;
  NetworkLipschitzGuard& operator=(const NetworkLipschitzGuard&) = delete;

 private:
  Session& session_;
  std::vector<ComponentState> saved_;
};

}  // namespace kant
