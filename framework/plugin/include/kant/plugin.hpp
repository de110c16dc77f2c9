// Writing a plugin: register components (kind, name, version, summary, schema, factory)
// inside KANT_PLUGIN(...) { ... } in one .cpp built as a shared library. The macro also puts
// an ELF note (magic, ABI version, ABI tag) in the library's .note.kantorovich section, which
// the host reads from the file before loading it: a file without the note never runs.
//
//   KANT_PLUGIN("my_objectives", "1.0.0") {
//     registrar.add({"hinge", "1.0.0", "hinge loss (Lim & Ye 2017)", {}, ObjectiveFactory(...)});
//   }
//
// After its factory a metric or procedure lists what it stores (stored::value/array/series),
// and a metric then its requirements (kant/metric_rules.hpp):
//   registrar.add({"m", "1.0.0", "…", {…}, MetricFactory(...),
//                  {stored::value("v", "what v means")}, {{rules::needs_critic()}}});
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "kant/components.hpp"
#include "kant/version.hpp"

namespace kant {

enum class Kind { architecture, dataset, objective, lipschitz, optimizer, metric, procedure };
inline constexpr Kind kAllKinds[] = {Kind::architecture, Kind::dataset,   Kind::objective,
                                     Kind::lipschitz,    Kind::optimizer, Kind::metric,
                                     Kind::procedure};
const char* kind_name(Kind k);

/// One factory per kind; the alternative held decides the component's kind.
using Factory = std::variant<ArchitectureFactory, DatasetFactory, ObjectiveFactory,
                             LipschitzFactory, OptimizerFactory, MetricFactory, ProcedureFactory>;

/// Something a component stores in a cell file, with its meaning: `kant plugins KIND NAME`
/// lists them. A name may hold a pattern in angle brackets ("activation_grad_<layer>") that
/// stands for any text.
struct StoredValue {
  enum class Where {
    value,   ///< a metric's value: final/<metric>.<name> and metrics/<metric>/<name> over steps
    array,   ///< a metric's array computed at the end: arrays/<metric>/<name>
    series,  ///< a procedure's loss per generator step: series/<name>
  };
  Where where;
  std::string name;
  std::string doc;  ///< what it means, its formula and unit where it has them
};

namespace stored {
inline StoredValue value(std::string name, std::string doc) {
  return {StoredValue::Where::value, std::move(name), std::move(doc)};
}
inline StoredValue array(std::string name, std::string doc) {
  return {StoredValue::Where::array, std::move(name), std::move(doc)};
}
inline StoredValue series(std::string name, std::string doc) {
  return {StoredValue::Where::series, std::move(name), std::move(doc)};
}
}  // namespace stored

/// Whether `name` is `documented` or matches its pattern ("grad_<layer>" matches "grad_d1").
bool stored_name_matches(const std::string& documented, const std::string& name);

/// A component as a plugin declares it.
struct Registration {
  std::string name;
  std::string version;
  std::string summary;  ///< one line: what it is, its formula and paper where it has them
  Schema schema;
  Factory factory;
  /// What it stores (metrics: values and arrays; procedures: their loss series), each with its
  /// meaning.
  std::vector<StoredValue> stores = {};
  /// Metrics only: the rules a cell must meet and the values that may be NaN.
  MetricRequirements requirements = {};
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

/// The ELF section that holds a plugin's note, and the note's fields. The section is a
/// standard ELF note (namesz, descsz, type, name padded to 4 bytes, descriptor), so
/// `readelf -n plugin.so` shows it; the descriptor is the magic, the ABI version and the ABI
/// tag, NUL-terminated. Its layout is fixed for every ABI, so any host can read any plugin's.
inline constexpr const char* kPluginNoteSection = ".note.kantorovich";
inline constexpr char kPluginNoteName[12] = "Kantorovich";
inline constexpr uint32_t kPluginNoteType = 1;
inline constexpr uint32_t kPluginNoteMagic = 0x544e414b;  ///< "KANT" in little-endian bytes
inline constexpr uint32_t kAbiTagBytes = 128;             ///< room for KANT_ABI_TAG

/// What KANT_PLUGIN places in the note section.
struct PluginNote {
  uint32_t namesz;  ///< sizeof kPluginNoteName
  uint32_t descsz;  ///< sizeof magic + abi_version + abi_tag
  uint32_t type;    ///< kPluginNoteType
  char name[sizeof kPluginNoteName];
  uint32_t magic;
  uint32_t abi_version;
  char abi_tag[kAbiTagBytes];
};
static_assert(sizeof(PluginNote) == 12 + sizeof kPluginNoteName + 8 + kAbiTagBytes,
              "no padding in the note");

}  // namespace kant

/// The note alone, with a given ABI version and tag (KANT_PLUGIN uses the host's; tests plant
/// others).
#define KANT_PLUGIN_NOTE(ABI_VERSION, ABI_TAG)                                             \
  static_assert(sizeof(ABI_TAG) <= ::kant::kAbiTagBytes, "ABI tag too long for the note"); \
  [[gnu::section(".note.kantorovich"), gnu::used,                                          \
    gnu::aligned(4)]] static const ::kant::PluginNote kant_plugin_note{                    \
      sizeof ::kant::kPluginNoteName,                                                      \
      8 + ::kant::kAbiTagBytes,                                                            \
      ::kant::kPluginNoteType,                                                             \
      "Kantorovich",                                                                       \
      ::kant::kPluginNoteMagic,                                                            \
      ABI_VERSION,                                                                         \
      ABI_TAG};

/// Defines a plugin library's note and entry symbol; the braces that follow fill `registrar`.
#define KANT_PLUGIN(NAME, VERSION)                                                         \
  KANT_PLUGIN_NOTE(::kant::kAbiVersion, KANT_ABI_TAG)                                      \
  static void kant_register_components(::kant::Registrar& registrar);                      \
  extern "C" __attribute__((visibility("default"))) const ::kant::PluginInfo*              \
  kant_plugin_entry() {                                                                    \
    static const ::kant::PluginInfo info{::kant::kAbiVersion, KANT_ABI_TAG, NAME, VERSION, \
                                         &kant_register_components};                       \
    return &info;                                                                          \
  }                                                                                        \
  static void kant_register_components([[maybe_unused]] ::kant::Registrar& registrar)
