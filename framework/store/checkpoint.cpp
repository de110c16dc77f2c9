// Checkpoints in sealed HDF5 files (see kant/checkpoint.hpp) and the pieces they are made of
// (store/checkpoint_io.hpp).
#include "kant/checkpoint.hpp"

#include <fmt/format.h>

#include <set>

#include "kant/error.hpp"
#include "store/checkpoint_io.hpp"
#include "store/sealed.hpp"

namespace kant {
namespace {

constexpr const char* kFormat = "kantorovich-checkpoint";
constexpr const char* kSealKind = "checkpoint";

// Reads every entry of `into` from g, checking names and shapes first.
std::vector<std::vector<double>> read_all(const h5::Group& g,
                                          const std::vector<Module::NamedTensor>& into,
                                          const std::string& file) {
  std::vector<std::vector<double>> values;
  for (const auto& [name, t] : into) {
    if (!g.exists(name))
      throw StorageError(fmt::format("{}: checkpoint has no {}/{}", file, g.path(), name));
    Shape shape;
    values.push_back(g.read(name, &shape));
    if (shape_numel(shape) != t.numel())
      throw StorageError(fmt::format("{}: {}/{} has shape {}, the model's is {}", file, g.path(),
                                     name, shape_str(shape), shape_str(t.shape())));
  }
  return values;
}

void assign(const std::vector<Module::NamedTensor>& into,
            const std::vector<std::vector<double>>& values) {
  for (size_t i = 0; i < into.size(); ++i) {
    Tensor t = into[i].second;
    float* d = t.data();
    for (size_t j = 0; j < values[i].size(); ++j) d[j] = static_cast<float>(values[i][j]);
  }
}

std::vector<Module::NamedTensor> read_tensors(const h5::Group& g) {
  std::vector<Module::NamedTensor> out;
  for (const std::string& entry : g.children()) {
    Shape shape;
    std::vector<double> v = g.read(entry, &shape);
    out.emplace_back(entry, Tensor::from(shape, std::vector<float>(v.begin(), v.end())));
  }
  return out;
}

}  // namespace

void write_tensors(h5::Group g, const std::vector<Module::NamedTensor>& tensors) {
  for (const auto& [name, t] : tensors) g.write(name, t.data(), t.shape());
}

void write_network(h5::Group& parent, const std::string& name,
                   const std::vector<Module::NamedTensor>& parameters,
                   const std::vector<Module::NamedTensor>& buffers) {
  h5::Group g = parent.create_group(name);
  write_tensors(g.create_group("parameters"), parameters);
  write_tensors(g.create_group("buffers"), buffers);
}

void write_parts(h5::Group& root, const CheckpointParts& parts) {
  for (const auto& [name, m] : parts.modules)
    write_network(root, name, m->named_parameters(), m->named_buffers());
  for (const auto& [name, o] : parts.optimizers) write_tensors(root.create_group(name), o->state());
}

std::function<void()> stage_parts(const h5::Group& root, const CheckpointParts& parts,
                                  const std::string& file) {
  using Staged =
      std::pair<const std::vector<Module::NamedTensor>*, std::vector<std::vector<double>>>;
  auto staged = std::make_shared<std::vector<Staged>>();
  for (const auto& [name, m] : parts.modules) {
    if (!root.exists(name))
      throw StorageError(fmt::format("{}: checkpoint has no module {}", file, name));
    h5::Group g = root.open_group(name);
    staged->emplace_back(&m->named_parameters(),
                         read_all(g.open_group("parameters"), m->named_parameters(), file));
    staged->emplace_back(&m->named_buffers(),
                         read_all(g.open_group("buffers"), m->named_buffers(), file));
  }
  auto optimizer_states = std::make_shared<std::vector<std::vector<Module::NamedTensor>>>();
  for (const auto& [name, o] : parts.optimizers) {
    if (!root.exists(name))
      throw StorageError(fmt::format("{}: checkpoint has no optimizer {}", file, name));
    optimizer_states->push_back(read_tensors(root.open_group(name)));
  }
  return [staged, optimizer_states, optimizers = parts.optimizers] {
    for (const auto& [into, values] : *staged) assign(*into, values);
    for (size_t i = 0; i < optimizers.size(); ++i)
      optimizers[i].second->load_state((*optimizer_states)[i]);
  };
}

void write_state(h5::Group g, const ComponentState& state) {
  h5::Group tensors = g.create_group("tensors");
  for (const auto& [name, t] : state.tensors) tensors.write(name, t.data(), t.shape());
  h5::Group words = g.create_group("words");
  for (const auto& [name, w] : state.words)
    words.write(name, std::vector<int64_t>(w.begin(), w.end()), {static_cast<int64_t>(w.size())});
}

ComponentState read_state(const h5::Group& g) {
  ComponentState s;
  for (auto& [name, t] : read_tensors(g.open_group("tensors"))) s.tensors[name] = t;
  h5::Group words = g.open_group("words");
  for (const std::string& name : words.children()) {
    std::vector<int64_t> w = words.read_int64(name);
    s.words[name] = std::vector<uint64_t>(w.begin(), w.end());
  }
  return s;
}

void write_series(h5::Group g, const Series& s) {
  const Shape shape{static_cast<int64_t>(s.step.size())};
  g.write("step", s.step, shape);
  for (const auto& [name, v] : s.values) g.write(name, v, shape);
}

Series read_series(const h5::Group& g) {
  Series s;
  s.step = g.read_int64("step");
  for (const std::string& name : g.children())
    if (name != "step") s.values[name] = g.read(name);
  return s;
}

void write_metric_record(h5::Group& g, const MetricRecord& m) {
  g.set_attr("plugin", m.plugin);
  g.set_attr("params", m.params);
  g.set_attr("every", m.every);
  g.set_attr("source", m.source);
  g.set_attr("status", m.status);
  g.set_attr("error", m.error);
  g.set_attr("failed_step", m.failed_step);
  if (!m.evaluated_at.empty()) g.set_attr("evaluated_at", m.evaluated_at);
}

MetricRecord read_metric_record(const h5::Group& g) {
  MetricRecord m;
  m.plugin = g.attr_string("plugin");
  m.params = g.attr_string("params");
  m.every = g.attr_int("every");
  m.source = g.attr_string("source");
  m.status = g.attr_string("status");
  m.error = g.attr_string("error");
  m.failed_step = g.attr_int("failed_step");
  if (g.has_attr("evaluated_at")) m.evaluated_at = g.attr_string("evaluated_at");
  return m;
}

// metrics/<name> for every metric with a series or a record: the series, the record's attributes
void write_metrics(h5::Group& metrics, const std::map<std::string, Series>& series,
                   const std::map<std::string, MetricRecord>& records) {
  std::set<std::string> names;
  for (const auto& [name, s] : series) names.insert(name);
  for (const auto& [name, r] : records) names.insert(name);
  for (const std::string& name : names) {
    h5::Group g = metrics.create_group(name);
    if (auto r = records.find(name); r != records.end()) write_metric_record(g, r->second);
    auto it = series.find(name);
    write_series(std::move(g), it != series.end() ? it->second : Series{});
  }
}

namespace {

// [K, …] from K tensors of one shape.
void write_stacked(h5::Group& g, const std::string& name, const std::vector<Tensor>& items) {
  Shape shape{static_cast<int64_t>(items.size())};
  const Shape& each = items.front().shape();
  shape.insert(shape.end(), each.begin(), each.end());
  std::vector<float> data;
  data.reserve(static_cast<size_t>(shape_numel(shape)));
  for (const Tensor& t : items) {
    if (t.shape() != each)
      throw StorageError(fmt::format("{}: snapshots of different shapes", g.path()));
    data.insert(data.end(), t.data(), t.data() + t.numel());
  }
  g.write(name, data.data(), shape);
}

std::vector<Tensor> read_stacked(const h5::Group& g, const std::string& name) {
  Shape shape;
  const std::vector<double> data = g.read(name, &shape);
  std::vector<Tensor> items;
  if (shape.empty()) return items;
  const Shape each(shape.begin() + 1, shape.end());
  const size_t n = static_cast<size_t>(shape_numel(each));
  for (int64_t k = 0; k < shape[0]; ++k)
    items.push_back(Tensor::from(
        each, std::vector<float>(data.begin() + static_cast<std::ptrdiff_t>(k * n),
                                 data.begin() + static_cast<std::ptrdiff_t>((k + 1) * n))));
  return items;
}

Tensor read_float(const h5::Group& g, const std::string& name) {
  Shape shape;
  const std::vector<double> data = g.read(name, &shape);
  return Tensor::from(shape, std::vector<float>(data.begin(), data.end()));
}

}  // namespace

void write_snapshots(h5::Group& parent, const std::string& name, const Snapshots& s) {
  if (s.empty()) return;
  h5::Group g = parent.create_group(name);
  g.write("step", s.step, {static_cast<int64_t>(s.step.size())});
  write_stacked(g, "generated", s.generated);
  if (!s.surface.empty()) {
    write_stacked(g, "critic_surface", s.surface);
    g.write("surface_x", s.surface_x.data(), s.surface_x.shape());
    g.write("surface_y", s.surface_y.data(), s.surface_y.shape());
  }
}

Snapshots read_snapshots(const h5::Group& parent, const std::string& name) {
  Snapshots s;
  if (!parent.exists(name)) return s;
  h5::Group g = parent.open_group(name);
  s.step = g.read_int64("step");
  s.generated = read_stacked(g, "generated");
  if (g.exists("critic_surface")) {
    s.surface = read_stacked(g, "critic_surface");
    s.surface_x = read_float(g, "surface_x");
    s.surface_y = read_float(g, "surface_y");
  }
  return s;
}

void save_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts) {
  write_sealed(path, kSealKind, {}, [&](h5::Group& root) {
    root.set_attr("format", std::string(kFormat));
    root.set_attr("version", int64_t{2});
    write_parts(root, parts);
  });
}

void load_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts) {
  const std::string file = path.string();
  h5::File f = open_sealed(path, kSealKind);
  h5::Group root = f.root();
  if (!root.has_attr("format") || root.attr_string("format") != kFormat)
    throw StorageError(fmt::format("{}: not a Kantorovich checkpoint", file));
  stage_parts(root, parts, file)();
}

}  // namespace kant
