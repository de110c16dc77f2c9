// Resume checkpoints of a training cell (see resume.hpp).
#include "training/resume.hpp"

#include <fmt/format.h>

#include "core/sha256.hpp"
#include "kant/error.hpp"
#include "store/checkpoint_io.hpp"
#include "store/sealed.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSealKind = "training-checkpoint";

std::vector<std::pair<std::string, Rng*>> streams(Session& s) { return session_streams(s); }

CheckpointParts parts_of(const Session& s) {
  CheckpointParts p = network_parts(s);
  for (const auto& [name, opt] : s.optimizers) p.optimizers.emplace_back(name, opt.get());
  return p;
}

TrainingProgress load_checked(const fs::path& file, Session& session) {
  Seal seal;
  h5::File f = open_sealed(file, kSealKind, &seal);
  h5::Group root = f.root();
  if (root.attr_string("config") != session.config.yaml() ||
      seal.fields["config_sha256"] != sha256_hex(session.config.yaml()))
    throw CheckpointUnusable(fmt::format("{}: a checkpoint of another config", file.string()));
  // read and check everything before changing the session
  auto assign_networks = stage_parts(root.open_group("networks"), parts_of(session), file.string());
  h5::Group states = root.open_group("states");
  ComponentState procedure = read_state(states.open_group("procedure"));
  ComponentState dataset = read_state(states.open_group("dataset"));
  const int64_t reinitialized = root.attr_int("reinitialized");
  ComponentState lipschitz = read_state(states.open_group("lipschitz"));
  std::vector<ComponentState> network_lipschitz;
  for (const auto& [network, method] : session.network_lipschitz)
    network_lipschitz.push_back(read_state(states.open_group("lipschitz." + network)));
  std::vector<ComponentState> metric_states(session.metrics.size());
  for (size_t k = 0; k < metric_states.size(); ++k)
    if (states.exists("metric" + std::to_string(k)))
      metric_states[k] = read_state(states.open_group("metric" + std::to_string(k)));
  h5::Group rngs = root.open_group("streams");
  std::vector<std::vector<uint64_t>> words;
  std::vector<std::pair<std::string, Rng*>> all = streams(session);
  for (const auto& o : session.optional_streams()) all.emplace_back(o.name, o.rng);
  for (auto& [name, rng] : all) {
    if (!rngs.exists(name)) {  // an optional stream that had not drawn
      words.push_back(rng->state());
      continue;
    }
    std::vector<int64_t> w = rngs.read_int64(name);
    words.emplace_back(w.begin(), w.end());
  }
  TrainingProgress p;
  p.step = root.attr_int("step");
  p.resumes = root.attr_int("resumes");
  p.elapsed_s = root.attr_double("elapsed_s");
  p.start_time = root.attr_string("start_time");
  p.loss_series = read_series(root.open_group("series"));
  h5::Group metrics = root.open_group("metrics");
  for (const std::string& name : metrics.children()) {
    p.metric_series[name] = read_series(metrics.open_group(name));
    if (metrics.open_group(name).has_attr("status"))
      p.metric_records[name] = read_metric_record(metrics.open_group(name));
  }
  p.snapshots = read_snapshots(root, "snapshots");

  assign_networks();
  session.procedure->load_state(procedure);
  session.dataset->load_state(dataset);
  session.set_reinitialized(static_cast<uint64_t>(reinitialized));
  session.lipschitz->load_state(lipschitz);
  for (size_t k = 0; k < network_lipschitz.size(); ++k)
    session.network_lipschitz[k].second->load_state(network_lipschitz[k]);
  for (size_t k = 0; k < metric_states.size(); ++k)
    session.metrics[k]->load_state(metric_states[k]);
  size_t i = 0;
  for (auto& [name, rng] : all) rng->set_state(words[i++]);
  return p;
}

}  // namespace

namespace {
std::vector<std::pair<std::string, Rng*>> always_stored_streams(Session& s) {
  return {{"init", &s.init_rng},
          {"data", &s.data_rng},
          {"noise", &s.noise_rng},
          {"penalty", &s.penalty_rng},
          {"metric", &s.metric_rng},
          {"ema_init", &s.ema_rng},
          {"metric_noise", &s.metric_noise_rng}};
}
}  // namespace

std::vector<std::pair<std::string, Rng*>> session_streams(Session& s) {
  std::vector<std::pair<std::string, Rng*>> out = always_stored_streams(s);
  for (const auto& o : s.optional_streams())
    if (o.rng->state() != o.fresh) out.emplace_back(o.name, o.rng);
  return out;
}

CheckpointParts network_parts(const Session& s) {
  CheckpointParts p;
  for (const auto& [name, net] : s.networks) p.modules.emplace_back(name, net.get());
  if (s.average) p.modules.emplace_back("average", s.average.get());
  return p;
}

void save_training_checkpoint(const fs::path& file, const Session& session,
                              const TrainingProgress& p) {
  const std::string config = session.config.yaml();
  write_sealed(file, kSealKind, {{"config_sha256", sha256_hex(config)}}, [&](h5::Group& root) {
    root.set_attr("format", std::string("kantorovich-training-checkpoint"));
    root.set_attr("config", config);
    root.set_attr("step", p.step);
    root.set_attr("resumes", p.resumes);
    root.set_attr("elapsed_s", p.elapsed_s);
    root.set_attr("start_time", p.start_time);
    h5::Group nets = root.create_group("networks");
    write_parts(nets, parts_of(session));
    h5::Group states = root.create_group("states");
    write_state(states.create_group("procedure"), session.procedure->state());
    write_state(states.create_group("dataset"), session.dataset->state());
    root.set_attr("reinitialized", static_cast<int64_t>(session.reinitialized()));
    write_state(states.create_group("lipschitz"), session.lipschitz->state());
    for (const auto& [network, method] : session.network_lipschitz)
      write_state(states.create_group("lipschitz." + network), method->state());
    for (size_t k = 0; k < session.metrics.size(); ++k)
      if (ComponentState s = session.metrics[k]->state(); !s.empty())
        write_state(states.create_group("metric" + std::to_string(k)), s);
    h5::Group rngs = root.create_group("streams");
    for (auto& [name, rng] : streams(const_cast<Session&>(session))) {
      std::vector<uint64_t> w = rng->state();
      rngs.write(name, std::vector<int64_t>(w.begin(), w.end()), {static_cast<int64_t>(w.size())});
    }
    write_series(root.create_group("series"), p.loss_series);
    h5::Group metrics = root.create_group("metrics");
    write_metrics(metrics, p.metric_series, p.metric_records);
    write_snapshots(root, "snapshots", p.snapshots);
  });
}

TrainingProgress load_training_checkpoint(const fs::path& file, Session& session) {
  try {
    return load_checked(file, session);
  } catch (const CheckpointUnusable&) {
    throw;
  } catch (const StorageError& e) {
    throw CheckpointUnusable(e.what());
  }
}

}  // namespace kant
