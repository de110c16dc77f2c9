// Cell files: sealed and written atomically; read back only when they prove themselves whole.
#include "store/cell_file.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <set>

#include "config/config.hpp"
#include "core/sha256.hpp"
#include "kant/error.hpp"
#include "kant/version.hpp"
#include "store/checkpoint_io.hpp"
#include "store/h5.hpp"
#include "store/host.hpp"
#include "store/sealed.hpp"

namespace kant {

std::filesystem::path checkpoint_path(const std::filesystem::path& cell_file) {
  std::filesystem::path p = cell_file;
  return p.replace_extension(".ckpt");
}
namespace fs = std::filesystem;

void Series::add(int64_t s, const std::map<std::string, double>& row) {
  step.push_back(s);
  for (const auto& [name, v] : row) values[name].push_back(v);
}

namespace {
constexpr const char* kFormat = "kantorovich-cell";
constexpr int64_t kFormatVersion = 2;  // 2: sealed (see store/sealed.hpp)
constexpr const char* kSealKind = "cell";

std::string labels_yaml(const std::vector<std::pair<std::string, std::string>>& labels) {
  ConfigNode m = ConfigNode::make_map();
  for (const auto& [k, v] : labels) {
    ConfigNode s = ConfigNode::make_scalar(v);
    s.quoted = true;
    m.set(k, s);
  }
  return emit_yaml(m, false);
}

std::string plugins_yaml(const std::vector<PluginUse>& plugins) {
  ConfigNode m = ConfigNode::make_map();
  for (const PluginUse& p : plugins) {
    ConfigNode entry = ConfigNode::make_map();
    for (const auto& [k, v] : {std::pair<const char*, const std::string&>{"version", p.version},
                               {"library", p.library},
                               {"sha256", p.sha256}}) {
      ConfigNode s = ConfigNode::make_scalar(v);
      s.quoted = true;
      entry.set(k, s);
    }
    m.set(p.name, entry);
  }
  return emit_yaml(m, true);
}

void write_samples(h5::Group& g, const std::string& name, const Tensor& t) {
  if (t.defined()) g.write(name, t.data(), t.shape());
}

// networks/<name>/{parameters,buffers}/… (the checkpoint format, kant/checkpoint.hpp) and
// final_state/{streams/<stream>, states/<component>/…}
void write_final_state(h5::Group& root, const FinalState& f) {
  h5::Group nets = root.create_group("networks");
  for (const NetworkState& n : f.networks) write_network(nets, n.name, n.parameters, n.buffers);
  h5::Group state = root.create_group("final_state");
  state.set_attr("step", f.step);
  h5::Group streams = state.create_group("streams");
  for (const auto& [name, w] : f.streams)
    streams.write(name, std::vector<int64_t>(w.begin(), w.end()), {static_cast<int64_t>(w.size())});
  h5::Group states = state.create_group("states");
  for (const auto& [name, st] : f.states) write_state(states.create_group(name), st);
}

void write_cell(h5::Group& root, const CellInfo& info, const CellResult& r) {
  root.set_attr("format", std::string(kFormat));
  root.set_attr("format_version", kFormatVersion);
  root.set_attr("experiment", info.experiment);
  root.set_attr("cell_id", info.cell_id);
  root.set_attr("labels", labels_yaml(info.labels));
  root.set_attr("config", info.config_yaml);
  root.set_attr("seed", static_cast<int64_t>(info.seed));
  if (!is_stored(r.status))
    throw StorageError(fmt::format("cell {}: a cell file cannot store the status '{}'",
                                   info.cell_id, to_string(r.status)));
  root.set_attr("status", to_string(r.status));
  root.set_attr("status_detail", r.detail);
  root.set_attr("diverged_step", r.diverged_step);
  root.set_attr("framework_version", std::string(framework_version()));
  root.set_attr("git_commit", std::string(git_commit()));
  root.set_attr("plugins", plugins_yaml(info.plugins));
  root.set_attr("onednn_version", info.backend_version);
  root.set_attr("onednn_isa", info.backend_isa);
  root.set_attr("threads", static_cast<int64_t>(info.threads));
  root.set_attr("start_time", info.start_time);
  root.set_attr("end_time", info.end_time);
  root.set_attr("wall_time_s", r.wall_time_s);
  root.set_attr("resumes", info.resumes);
  root.set_attr("hostname", host::name());

  write_series(root.create_group("series"), r.losses);
  h5::Group metrics = root.create_group("metrics");
  write_metrics(metrics, r.metrics, r.metric_records);
  h5::Group final_group = root.create_group("final");
  for (const auto& [name, v] : r.final_metrics) final_group.set_attr(name, v);
  h5::Group arrays = root.create_group("arrays");
  for (const auto& [metric, named] : r.arrays) {
    h5::Group g = arrays.create_group(metric);
    for (const auto& [name, t] : named) write_samples(g, name, t);
  }
  h5::Group samples = root.create_group("samples");
  write_samples(samples, "generated", r.generated);
  write_samples(samples, "real", r.real);
  if (!r.generated_labels.empty())  // a conditional generator's: each sample's requested label
    samples.write("generated_labels", r.generated_labels,
                  {static_cast<int64_t>(r.generated_labels.size())});
  if (r.final_state) write_final_state(root, *r.final_state);
  write_snapshots(root, "snapshots", r.snapshots);  // only when train.sample_every asked for them
}

// A cell file checked against its seal, its name and its config; throws StorageError naming
// the file and what does not check.
h5::File open_cell(const fs::path& path) {
  Seal seal;
  h5::File file = open_sealed(path, kSealKind, &seal);
  h5::Group root = file.root();
  if (!root.has_attr("format") || root.attr_string("format") != kFormat)
    throw StorageError(fmt::format("{}: not a Kantorovich cell file (no format attribute '{}')",
                                   path.string(), kFormat));
  const std::string id = root.attr_string("cell_id");
  if (seal.fields["cell_id"] != id || path.stem().string() != id)
    throw StorageError(fmt::format("{}: holds cell {} (sealed as {}), not the cell its name says",
                                   path.string(), id, seal.fields["cell_id"]));
  if (sha256_hex(root.attr_string("config")) != seal.fields["config_sha256"])
    throw StorageError(
        fmt::format("{}: its config does not match the hash it was sealed with", path.string()));
  return file;
}

}  // namespace

fs::path cell_path(const fs::path& experiment_dir, const std::string& id) {
  return experiment_dir / "cells" / (id + ".h5");
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_cell_file(const fs::path& path, const CellInfo& info, const CellResult& r) {
  fs::create_directories(path.parent_path());
  write_sealed(path, kSealKind,
               {{"cell_id", info.cell_id}, {"config_sha256", sha256_hex(info.config_yaml)}},
               [&](h5::Group& root) { write_cell(root, info, r); });
}

void add_to_cell_file(const fs::path& path, const CellAddition& a) {
  h5::File old = open_cell(path);
  const Seal seal = read_seal(path);
  const h5::Group from = old.root();
  auto replaced = [&](const std::string& name) { return a.replace.count(name) > 0; };
  for (const auto& [name, s] : a.metrics)
    if (from.open_group("metrics").exists(name) && !replaced(name))
      throw StorageError(fmt::format("{}: already stores a metric '{}'", path.string(), name));
  write_sealed(path, kSealKind, seal.fields, [&](h5::Group& root) {
    from.copy_attributes(root);
    for (const std::string& child : from.children()) {
      if (a.final_state && (child == "networks" || child == "final_state")) continue;
      if (child != "metrics" && child != "final" && child != "arrays") {
        from.copy_child(child, root);
        continue;
      }
      // groups per metric: copied but for the replaced ones, then the new ones added
      const h5::Group src = from.open_group(child);
      h5::Group dst = root.create_group(child);
      src.copy_attributes(dst, [&](const std::string& attr) {  // final: "<metric>.<value>"
        return child == "final" && replaced(attr.substr(0, attr.find('.')));
      });
      for (const std::string& name : src.children())
        if (!replaced(name)) src.copy_child(name, dst);
      if (child == "metrics") write_metrics(dst, a.metrics, a.records);
      if (child == "final")
        for (const auto& [name, v] : a.final_metrics) dst.set_attr(name, v);
      if (child == "arrays")
        for (const auto& [metric, named] : a.arrays) {
          h5::Group g = dst.create_group(metric);
          for (const auto& [name, t] : named) write_samples(g, name, t);
        }
    }
    if (a.final_state) write_final_state(root, *a.final_state);
  });
}

FinalState load_final_state(const fs::path& path, const CheckpointParts& parts) {
  h5::File f = open_cell(path);
  h5::Group root = f.root();
  if (!root.exists("networks") || !root.exists("final_state"))
    throw StorageError(fmt::format(
        "{}: stores no networks (trained with train.store_networks: false, or by an older "
        "kant): train the cell again to evaluate it",
        path.string()));
  auto assign = stage_parts(root.open_group("networks"), parts, path.string());
  FinalState s;
  h5::Group state = root.open_group("final_state");
  s.step = state.attr_int("step");
  h5::Group streams = state.open_group("streams");
  for (const std::string& name : streams.children()) {
    std::vector<int64_t> w = streams.read_int64(name);
    s.streams.emplace_back(name, std::vector<uint64_t>(w.begin(), w.end()));
  }
  h5::Group states = state.open_group("states");
  for (const std::string& name : states.children())
    s.states[name] = read_state(states.open_group(name));
  assign();
  return s;
}

std::vector<double> read_cell_dataset(const fs::path& file, const std::string& path, Shape* shape) {
  h5::File f = open_cell(file);
  h5::Group g = f.root();
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) break;
    g = g.open_group(path.substr(start, slash - start));
    start = slash + 1;
  }
  return g.read(path.substr(start), shape);
}

std::vector<StoredSeries> read_cell_series(const fs::path& path) {
  std::vector<StoredSeries> out;
  h5::File file = open_cell(path);
  h5::Group root = file.root();
  auto add = [&](const h5::Group& g, const std::string& prefix) {
    const std::vector<int64_t> step = g.read_int64("step");
    for (const std::string& name : g.children())
      if (name != "step") out.push_back({prefix + name, step, g.read(name)});
  };
  if (root.exists("series")) add(root.open_group("series"), "");
  if (root.exists("metrics")) {
    h5::Group metrics = root.open_group("metrics");
    for (const std::string& m : metrics.children()) add(metrics.open_group(m), m + ".");
  }
  return out;
}

CellSummary read_cell_summary(const fs::path& path) {
  CellSummary s;
  s.path = path;
  try {
    h5::File file = open_cell(path);
    h5::Group root = file.root();
    for (const std::string& a : root.attr_names()) {
      try {
        s.attrs[a] = root.attr_string(a);
      } catch (const StorageError&) {
        // numeric attribute: read below where needed
      }
    }
    s.cell_id = root.attr_string("cell_id");
    s.experiment = root.attr_string("experiment");
    const std::string status = root.attr_string("status");
    const std::optional<CellStatus> known = parse_cell_status(status);
    if (!known || !is_stored(*known))
      throw StorageError(fmt::format("{}: unknown status '{}'", path.string(), status));
    s.status = *known;
    s.detail = root.attr_string("status_detail");
    s.config_yaml = root.attr_string("config");
    s.diverged_step = root.attr_int("diverged_step");
    s.resumes = root.attr_int("resumes");
    ConfigNode labels = parse_yaml(root.attr_string("labels"), path.string());
    for (const ConfigEntry& e : labels.entries) s.labels.emplace_back(e.key, e.value.scalar);
    h5::Group final_group = root.open_group("final");
    for (const std::string& name : final_group.attr_names())
      s.final_metrics[name] = final_group.attr_double(name);
    h5::Group metrics = root.open_group("metrics");
    for (const std::string& name : metrics.children()) {
      h5::Group g = metrics.open_group(name);
      if (g.has_attr("status")) s.metrics[name] = read_metric_record(g);
    }
    s.has_networks = root.exists("networks") && root.exists("final_state");
    if (root.has_attr("threads")) s.threads = root.attr_int("threads");
  } catch (const StorageError& e) {
    std::string what = e.what();
    if (what.find(path.string()) == std::string::npos) what = path.string() + ": " + what;
    throw StorageError(what);
  } catch (const ConfigError& e) {
    throw StorageError(fmt::format("{}: unreadable labels: {}", path.string(), e.what()));
  }
  return s;
}

}  // namespace kant
