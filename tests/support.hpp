// Test helpers: built-in plugins through the real registry, small networks, running `kant`.
#pragma once
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kant/components.hpp"
#include "kant/error.hpp"
#include "kant/ops.hpp"
#include "plugin/registry.hpp"

namespace kant::testing {

/// The registry with every built-in plugin (loaded once per test process).
const Registry& builtin_registry();

/// Creates a component of `kind` by name with its schema defaults overridden by `values`.
template <typename T, typename F, typename... Args>
std::shared_ptr<T> make_component(Kind kind, const std::string& name,
                                  std::map<std::string, Value> values, Args&&... args) {
  const Component* c = builtin_registry().find(kind, name);
  if (!c) throw Error("test: no component " + name);
  for (const ParamSpec& s : c->schema())
    if (!values.count(s.name) && s.default_value) values.emplace(s.name, *s.default_value);
  return builtin_registry().create<T, F>(*c, Params(values), std::forward<Args>(args)...);
}

/// A built-in data set, metric or objective by name, its defaults overridden by `values` (a data
/// set's finite samples fixed by `seed`).
inline std::shared_ptr<Dataset> make_dataset(const std::string& name,
                                             std::map<std::string, Value> values = {},
                                             uint64_t seed = 3) {
  return make_component<Dataset, DatasetFactory>(Kind::dataset, name, std::move(values), seed);
}
inline std::shared_ptr<Metric> make_metric(const std::string& name,
                                           std::map<std::string, Value> values = {}) {
  return make_component<Metric, MetricFactory>(Kind::metric, name, std::move(values));
}
inline std::shared_ptr<Objective> make_objective(const std::string& name,
                                                 std::map<std::string, Value> values = {}) {
  return make_component<Objective, ObjectiveFactory>(Kind::objective, name, std::move(values));
}

/// A built-in architecture for `role` with per-sample shapes `in` → `out`, its defaults
/// overridden by `values`, initialised from `rng`; `classes` labels (0: none).
inline std::shared_ptr<Network> make_network(const std::string& name, Role role, const Shape& in,
                                             const Shape& out, std::map<std::string, Value> values,
                                             Rng& rng, int64_t classes = 0) {
  NetworkSpec spec{role, in, out, &rng, classes};
  return make_component<Network, ArchitectureFactory>(Kind::architecture, name, std::move(values),
                                                      spec);
}

/// Sets a network's parameter by name to `values` (an Error when it has none of that name or
/// size).
inline void set_parameter(Network& net, const std::string& name, const std::vector<float>& values) {
  for (auto [n, t] : net.named_parameters())
    if (n == name) {
      if (static_cast<size_t>(t.numel()) != values.size())
        throw Error("test: parameter " + name + " has " + std::to_string(t.numel()) + " entries");
      std::copy(values.begin(), values.end(), t.data());
      return;
    }
  throw Error("test: no parameter " + name);
}

/// G(z) = μ + σz for z ∈ R¹: a Gaussian generator.
class AffineGenerator : public Network {
 public:
  AffineGenerator(float mu, float sigma) {
    w_ = register_parameter("w", Tensor::from({1, 1}, {sigma}));
    b_ = register_parameter("b", Tensor::from({1}, {mu}));
  }
  Tensor forward(const Tensor& z) override { return linear(z, use(w_), use(b_)); }

 private:
  size_t w_, b_;
};

/// D(x) = x·wᵀ: a linear critic without bias (w has shape [1, d]).
class LinearCritic : public Network {
 public:
  explicit LinearCritic(Tensor w) { w_ = register_parameter("w", w); }
  Tensor forward(const Tensor& x) override { return linear(x, use(w_), Tensor()); }

 private:
  size_t w_;
};

/// D(x) = (x·wᵀ)²: its input gradient 2(x·w)w differs from sample to sample.
class QuadraticCritic : public Network {
 public:
  explicit QuadraticCritic(Tensor w) { w_ = register_parameter("w", w); }
  Tensor forward(const Tensor& x) override { return square(linear(x, use(w_), Tensor())); }

 private:
  size_t w_;
};

/// Output and exit code of a shell command (stderr merged into stdout unless the command
/// redirects it).
struct CommandResult {
  int exit_code;
  std::string output;
};
CommandResult run_command(const std::string& command);

/// Starts `/bin/sh -c command` in the background in a process group of its own (its pid is
/// the group's id), stdout and stderr to `log`.
int spawn_command(const std::string& command, const std::filesystem::path& log);
/// Waits for a spawned command: its exit code, or 128 + the signal that killed it.
int wait_command(int pid);
/// Pids of live processes whose command line contains `needle` (from /proc).
std::vector<int> processes_matching(const std::string& needle);
/// Files below `dir` whose name contains `needle`.
/// The one cell file (cells/*.h5) of an experiment folder; an Error when there are none or several.
std::filesystem::path only_cell(const std::filesystem::path& experiment);
std::vector<std::filesystem::path> files_matching(const std::filesystem::path& dir,
                                                  const std::string& needle);
/// The contents of a file ("" if it cannot be read).
std::string read_text(const std::filesystem::path& file);

/// Path of the built `kant` executable.
std::string kant_exe();
/// A fresh empty temporary directory, removed with its contents when the test process exits.
std::filesystem::path temp_dir(const std::string& prefix);

}  // namespace kant::testing
