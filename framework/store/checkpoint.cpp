// Checkpoints in HDF5 (see checkpoint.hpp).
#include "kant/checkpoint.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "kant/error.hpp"
#include "store/h5.hpp"

namespace kant {
namespace {

constexpr const char* kFormat = "kantorovich-checkpoint";

void write_all(h5::Group g, const std::vector<Module::NamedTensor>& tensors) {
  for (const auto& [name, t] : tensors) g.write(name, t.data(), t.shape());
}

// Reads every entry of `into` from g, checking names and shapes first.
std::vector<std::vector<double>> read_all(const h5::Group& g, const std::vector<Module::NamedTensor>& into,
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

void assign(const std::vector<Module::NamedTensor>& into, const std::vector<std::vector<double>>& values) {
  for (size_t i = 0; i < into.size(); ++i) {
    Tensor t = into[i].second;
    float* d = t.data();
    for (size_t j = 0; j < values[i].size(); ++j) d[j] = static_cast<float>(values[i][j]);
  }
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts) {
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp.{}", ::getpid());  // processes writing the same file never share a temporary
  {
    h5::File f = h5::File::create(tmp);
    h5::Group root = f.root();
    root.set_attr("format", std::string(kFormat));
    root.set_attr("version", int64_t{1});
    for (const auto& [name, m] : parts.modules) {
      h5::Group g = root.create_group(name);
      write_all(g.create_group("parameters"), m->named_parameters());
      write_all(g.create_group("buffers"), m->named_buffers());
    }
    for (const auto& [name, o] : parts.optimizers) write_all(root.create_group(name), o->state());
    f.flush();
  }
  std::filesystem::rename(tmp, path);
}

void load_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts) {
  const std::string file = path.string();
  h5::File f = h5::File::open(path);
  h5::Group root = f.root();
  if (!root.has_attr("format") || root.attr_string("format") != kFormat)
    throw StorageError(fmt::format("{}: not a Kantorovich checkpoint", file));
  // check and read everything, then assign: a mismatch leaves the models untouched
  std::vector<std::pair<const std::vector<Module::NamedTensor>*, std::vector<std::vector<double>>>> staged;
  for (const auto& [name, m] : parts.modules) {
    if (!root.exists(name)) throw StorageError(fmt::format("{}: checkpoint has no module {}", file, name));
    h5::Group g = root.open_group(name);
    staged.emplace_back(&m->named_parameters(), read_all(g.open_group("parameters"), m->named_parameters(), file));
    staged.emplace_back(&m->named_buffers(), read_all(g.open_group("buffers"), m->named_buffers(), file));
  }
  std::vector<std::vector<Module::NamedTensor>> optimizer_states;
  for (const auto& [name, o] : parts.optimizers) {
    if (!root.exists(name)) throw StorageError(fmt::format("{}: checkpoint has no optimizer {}", file, name));
    h5::Group g = root.open_group(name);
    std::vector<Module::NamedTensor> state;
    for (const std::string& entry : g.children()) {
      Shape shape;
      std::vector<double> v = g.read(entry, &shape);
      std::vector<float> fv(v.begin(), v.end());
      state.emplace_back(entry, Tensor::from(shape, fv));
    }
    optimizer_states.push_back(std::move(state));
  }
  for (const auto& [into, values] : staged) assign(*into, values);
  for (size_t i = 0; i < parts.optimizers.size(); ++i)
    parts.optimizers[i].second->load_state(optimizer_states[i]);
}

}  // namespace kant
