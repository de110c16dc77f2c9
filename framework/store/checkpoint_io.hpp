// The pieces of checkpoint files in HDF5 groups: networks (parameters and buffers),
// optimizers' state, components' state (random streams, counters) and series. Shared by the
// public checkpoint files (kant/checkpoint.hpp) and the trainer's resume checkpoints.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kant/checkpoint.hpp"
#include "store/cell_file.hpp"
#include "store/h5.hpp"

namespace kant {

/// Each tensor as a float32 dataset <name> of `g`, in the order given.
void write_tensors(h5::Group g, const std::vector<Module::NamedTensor>& tensors);
/// A network as checkpoints and cell files store it: <name>/parameters/<tensor>, then
/// <name>/buffers/<tensor>, under `parent`.
void write_network(h5::Group& parent, const std::string& name,
                   const std::vector<Module::NamedTensor>& parameters,
                   const std::vector<Module::NamedTensor>& buffers);
/// /<module>/parameters/<name>, /<module>/buffers/<name>, /<optimizer>/<name> under `root`.
void write_parts(h5::Group& root, const CheckpointParts& parts);
/// Reads and checks every part (names, shapes) and returns the function that assigns them, so
/// that the caller can check everything else first: nothing is ever half-loaded.
std::function<void()> stage_parts(const h5::Group& root, const CheckpointParts& parts,
                                  const std::string& file);

/// tensors/<name> (float32) and words/<name> (int64 bit patterns).
void write_state(h5::Group g, const ComponentState& state);
ComponentState read_state(const h5::Group& g);

/// A metric's record as attributes of its group (plugin, params, every, source, status,
/// error, failed_step, evaluated_at).
void write_metric_record(h5::Group& g, const MetricRecord& record);
MetricRecord read_metric_record(const h5::Group& g);
/// metrics/<name> for every metric with a series or a record: the series and the record.
void write_metrics(h5::Group& metrics, const std::map<std::string, Series>& series,
                   const std::map<std::string, MetricRecord>& records);

/// step [T] int64 and one float64 column per name.
void write_series(h5::Group g, const Series& series);
Series read_series(const h5::Group& g);

/// step [K] int64, generated [K, n, …], and for surfaces critic_surface [K, G, G], surface_x
/// and surface_y [G] (float32); nothing is written for empty snapshots.
void write_snapshots(h5::Group& parent, const std::string& name, const Snapshots& snapshots);
/// The snapshots of parent/name, none when that group is absent.
Snapshots read_snapshots(const h5::Group& parent, const std::string& name);

}  // namespace kant
