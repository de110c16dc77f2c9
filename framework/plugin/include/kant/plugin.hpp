// Writing a plugin. The common plugin is one component class whose parameters are an options
// struct (kant/options.hpp), registered in one line that states its name, version and summary
// once; the kind follows from the class's base:
//
//   class Hinge : public kant::Objective {
//    public:
//     struct Options { double margin; static void declare(kant::Declare<Options>& d) { … } };
//     explicit Hinge(const Options& o);
//     …
//   };
//   KANT_COMPONENT(Hinge, "hinge", "1.0.0", "hinge loss (Lim & Ye 2017)")
//
// A metric adds `static std::vector<StoredValue> stored()` (what it stores, each with its
// meaning) and `static MetricRequirements requirements()` (kant/metric_rules.hpp); a procedure
// declares its losses once in a `Losses` struct (DeclareLosses below). A component made by a
// function rather than a constructor: KANT_COMPONENT_FN(make_ring, …); a Lipschitz method that
// is only a penalty may be that function, KANT_COMPONENT_FN(r1, …). A library of several
// components registers each inside KANT_PLUGIN(NAME, VERSION) { registrar.add(component<T>(…)); }.
// The macros also put an ELF note (magic, ABI version, ABI tag) in the library's
// .note.kantorovich section, which the host reads from the file before loading it: a file
// without the note never runs.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "kant/components.hpp"
#include "kant/options.hpp"
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
  /// Rules between parameters (options structs' d.check): "" when `params` meet them, else
  /// what is wrong; `kant validate` reports it at the component's block. None: no rules.
  std::function<std::string(const Params&)> check = {};
  Kind kind() const { return static_cast<Kind>(factory.index()); }
};

/// A loss a procedure reports every generator step (stored as series/<name>), declared once:
/// a member of the procedure's losses struct bound to its name and meaning.
///
///   struct Losses {
///     double loss = 0, kl = 0;
///     static void declare(kant::DeclareLosses<Losses>& d) {
///       d(&Losses::loss, "loss", "−ELBO");
///       d(&Losses::kl, "kl", "KL(q(z|x) ‖ p(z))");
///     }
///   };
///
/// The declaration feeds loss_names(), the step's outcome, checkpoints and `kant plugins`.
template <typename L>
class DeclareLosses {
 public:
  void operator()(double L::*member, std::string name, std::string doc) {
    members_.push_back(member);
    stores_.push_back(stored::series(std::move(name), std::move(doc)));
  }
  const std::vector<StoredValue>& stores() const { return stores_; }
  const std::vector<double L::*>& members() const { return members_; }

 private:
  std::vector<double L::*> members_;
  std::vector<StoredValue> stores_;
};

template <typename L>
const DeclareLosses<L>& losses_of() {
  static const DeclareLosses<L> d = [] {
    DeclareLosses<L> out;
    L::declare(out);
    return out;
  }();
  return d;
}

/// The declared losses' names, in declaration order (a procedure's loss_names()).
template <typename L>
std::vector<std::string> loss_names_of() {
  std::vector<std::string> names;
  for (const StoredValue& s : losses_of<L>().stores()) names.push_back(s.name);
  return names;
}
/// Each declared loss with its value in `l`, in declaration order (a step's outcome).
template <typename L>
std::vector<std::pair<std::string, double>> loss_values(const L& l) {
  std::vector<std::pair<std::string, double>> out;
  const auto& d = losses_of<L>();
  for (size_t i = 0; i < d.members().size(); ++i)
    out.emplace_back(d.stores()[i].name, l.*(d.members()[i]));
  return out;
}

namespace detail {
/// A component without parameters.
struct NoOptions {
  static void declare(Declare<NoOptions>&) {}
};
template <typename T>
struct options_type {
  using type = NoOptions;
};
template <typename T>
requires requires { typename T::Options; }
struct options_type<T> {
  using type = typename T::Options;
};

// The factory of kind X, calling `make(options, extra…)`.
template <typename O, typename X, typename Make>
Factory factory_for(Make make) {
  if constexpr (std::is_base_of_v<Network, X>)
    return ArchitectureFactory(
        [make](const Params& p, const NetworkSpec& spec) -> std::unique_ptr<Network> {
          return make(options_from<O>(p), spec);
        });
  else if constexpr (std::is_base_of_v<Dataset, X>)
    return DatasetFactory([make](const Params& p, uint64_t seed) -> std::unique_ptr<Dataset> {
      return make(options_from<O>(p), seed);
    });
  else if constexpr (std::is_base_of_v<Objective, X>)
    return ObjectiveFactory(
        [make](const Params& p) -> std::unique_ptr<Objective> { return make(options_from<O>(p)); });
  else if constexpr (std::is_base_of_v<LipschitzMethod, X>)
    return LipschitzFactory([make](const Params& p) -> std::unique_ptr<LipschitzMethod> {
      return make(options_from<O>(p));
    });
  else if constexpr (std::is_base_of_v<Optimizer, X>)
    return OptimizerFactory(
        [make](const Params& p) -> std::unique_ptr<Optimizer> { return make(options_from<O>(p)); });
  else if constexpr (std::is_base_of_v<Metric, X>)
    return MetricFactory(
        [make](const Params& p) -> std::unique_ptr<Metric> { return make(options_from<O>(p)); });
  else {
    static_assert(std::is_base_of_v<Procedure, X>, "not a component of any plugin kind");
    return ProcedureFactory(
        [make](const Params& p) -> std::unique_ptr<Procedure> { return make(options_from<O>(p)); });
  }
}

template <typename O>
Registration registration_for(std::string name, std::string version, std::string summary,
                              Factory factory) {
  Registration r{std::move(name), std::move(version), std::move(summary), schema_of<O>(),
                 std::move(factory)};
  if (declaration_of<O>().has_rules())
    r.check = [](const Params& p) {
      return declaration_of<O>().broken_rule(declaration_of<O>().fill(p));
    };
  return r;
}
}  // namespace detail

/// The registration of component class T: its parameters from T::Options (none without one),
/// made as T(options, extra…) — extra is the NetworkSpec of an architecture, the seed of a
/// data set — or T(extra…) without options. What it stores comes from T::stored() (metrics)
/// or T::Losses (procedures), a metric's requirements from T::requirements().
template <typename T>
Registration component(std::string name, std::string version, std::string summary) {
  using O = typename detail::options_type<T>::type;
  auto make = [](const O& o, auto&&... extra) {
    if constexpr (std::is_same_v<O, detail::NoOptions>)
      return std::make_unique<T>(extra...);
    else
      return std::make_unique<T>(o, extra...);
  };
  Registration r = detail::registration_for<O>(std::move(name), std::move(version),
                                               std::move(summary), detail::factory_for<O, T>(make));
  if constexpr (requires { T::stored(); }) r.stores = T::stored();
  if constexpr (requires { typename T::Losses; })
    r.stores = losses_of<typename T::Losses>().stores();
  if constexpr (requires { T::requirements(); }) r.requirements = T::requirements();
  return r;
}

/// The registration of a component made by a function `make(const Options&, extra…)` that
/// returns a std::unique_ptr to the component (a Network, a Dataset, …).
template <typename R, typename O, typename... Extra>
requires requires { typename R::element_type; }
Registration component(R (*make)(const O&, Extra...), std::string name, std::string version,
                       std::string summary) {
  using X = typename R::element_type;
  return detail::registration_for<O>(std::move(name), std::move(version), std::move(summary),
                                     detail::factory_for<O, X>(make));
}

/// The registration of a Lipschitz method that is only a term added to the critic's loss,
/// given as a function `Tensor penalty(const Options&, const CriticBatch&)`.
template <typename O>
Registration component(Tensor (*penalty)(const O&, const CriticBatch&), std::string name,
                       std::string version, std::string summary) {
  class Penalty : public LipschitzMethod {
   public:
    Penalty(const O& o, Tensor (*f)(const O&, const CriticBatch&)) : o_(o), f_(f) {}
    Tensor penalty(const CriticBatch& b) override { return f_(o_, b); }

   private:
    O o_;
    Tensor (*f_)(const O&, const CriticBatch&);
  };
  auto make = [penalty](const O& o) { return std::make_unique<Penalty>(o, penalty); };
  return detail::registration_for<O>(std::move(name), std::move(version), std::move(summary),
                                     detail::factory_for<O, Penalty>(make));
}

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

/// A plugin library of one component class, its name, version and summary stated once:
///   KANT_COMPONENT(SpectralNorm, "spectral_norm", "1.0.0", "W/σ(W) (Miyato et al. 2018)")
#define KANT_COMPONENT(TYPE, NAME, VERSION, SUMMARY) \
  KANT_PLUGIN(NAME, VERSION) { registrar.add(::kant::component<TYPE>(NAME, VERSION, SUMMARY)); }
/// A plugin library of one component made by a function `make(const Options&, extra…)`, or
/// of one penalty `Tensor penalty(const Options&, const CriticBatch&)`:
///   KANT_COMPONENT_FN(make_ring, "ring", "1.0.0", "K Gaussians on a circle")
#define KANT_COMPONENT_FN(FUNCTION, NAME, VERSION, SUMMARY)              \
  KANT_PLUGIN(NAME, VERSION) {                                           \
    registrar.add(::kant::component(&FUNCTION, NAME, VERSION, SUMMARY)); \
  }

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
