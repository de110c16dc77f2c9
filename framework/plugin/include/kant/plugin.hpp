// Writing a plugin: register components (kind, name, version, summary, schema, factory)
// inside KANT_PLUGIN(...) { ... } in one .cpp built as a shared library.
//
//   KANT_PLUGIN("my_objectives", "1.0.0") {
//     registrar.add({"hinge", "1.0.0", "hinge loss (Lim & Ye 2017)", {}, ObjectiveFactory(...)});
//   }
#pragma once
#include <string>
#include <variant>
#include <vector>

#include "kant/components.hpp"
#include "kant/version.hpp"

namespace kant {

enum class Kind { architecture, dataset, objective, lipschitz, optimizer, metric };
inline constexpr Kind kAllKinds[] = {Kind::architecture, Kind::dataset,   Kind::objective,
                                     Kind::lipschitz,    Kind::optimizer, Kind::metric};
const char* kind_name(Kind k);

/// One factory per kind; the alternative held decides the component's kind.
using Factory = std::variant<ArchitectureFactory, DatasetFactory, ObjectiveFactory,
                             LipschitzFactory, OptimizerFactory, MetricFactory>;

/// A component as a plugin declares it.
struct Registration {
  std::string name;
  std::string version;
  std::string summary;  ///< one line: what it is, its formula and paper where it has them
  Schema schema;
  Factory factory;
  Kind kind() const { return static_cast<Kind>(factory.index()); }
};

/// Collects the registrations of one plugin library.
class Registrar {
 public:
  void add(Registration r) { items_.push_back(std::move(r)); }
  const std::vector<Registration>& items() const { return items_; }

 private:
  std::vector<Registration> items_;
};

#define KANT_STR2(x) #x
#define KANT_STR(x) KANT_STR2(x)
/// Compiler and standard-library ABI a plugin was built with; the host must match it.
#define KANT_ABI_TAG "gcc-" __VERSION__ " cxx11abi-" KANT_STR(_GLIBCXX_USE_CXX11_ABI)

/// What a plugin library's entry symbol returns. abi_version stays the first member in every
/// ABI so that a host can read it from any plugin.
struct PluginInfo {
  unsigned abi_version;
  const char* abi_tag;
  const char* name;
  const char* version;
  void (*register_components)(Registrar&);
};

/// Name of the entry symbol every plugin library exports.
inline constexpr const char* kPluginEntrySymbol = "kant_plugin_entry";

}  // namespace kant

/// Defines a plugin library's entry symbol; the braces that follow fill `registrar`.
#define KANT_PLUGIN(NAME, VERSION)                                                          \
  static void kant_register_components(::kant::Registrar& registrar);                       \
  extern "C" __attribute__((visibility("default"))) const ::kant::PluginInfo*               \
  kant_plugin_entry() {                                                                     \
    static const ::kant::PluginInfo info{::kant::kAbiVersion, KANT_ABI_TAG, NAME, VERSION,  \
                                         &kant_register_components};                        \
    return &info;                                                                           \
  }                                                                                         \
  static void kant_register_components([[maybe_unused]] ::kant::Registrar& registrar)
