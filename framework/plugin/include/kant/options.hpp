// Options structs: a component's parameters declared once, as the members of a struct with one
// line each binding the member to its schema entry (name, type, default, range, doc), in the
// spirit of LibTorch's TORCH_ARG. The same declaration yields the schema `kant plugins` prints
// and `kant validate` checks, and fills the struct from a validated config:
//
//   struct Options {
//     int64_t iterations;
//     float eps;
//     static void declare(kant::Declare<Options>& d) {
//       d(&Options::iterations, kant::param::integer("iterations", 1, "steps").at_least(1));
//       d(&Options::eps, kant::param::real("eps", 1e-12, "added to norms").at_least(0));
//     }
//   };
//   const kant::Schema& s = kant::schema_of<Options>();
//   Options o = kant::options_from<Options>(params);  // every member set
//
// A member's type decides which parameter types it takes: bool ← bool, an integer ← int, float
// or double ← float (read once: a schedule is refused), kant::Real ← float or a schedule (read
// as o.lr() at the step being trained, kant/schedule.hpp), std::string ← string (choices too),
// std::vector<int64_t> ← list of int, std::vector<double> ← list of float; a mismatch is an
// Error when the schema is first built.
// A rule between parameters is declared with them: d.check([](const Options& o) { return
// o.a <= o.b ? "" : "a must not exceed b"; }) — `kant validate` reports a broken rule at the
// component's block. Settings several components share are a struct of their own, declared
// once and included with d.nested(&Options::member).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "kant/error.hpp"
#include "kant/params.hpp"

namespace kant {

namespace detail {
template <typename M>
constexpr bool takes(ParamType t) {
  if constexpr (std::is_same_v<M, bool>)
    return t == ParamType::boolean;
  else if constexpr (std::is_integral_v<M>)
    return t == ParamType::integer;
  else if constexpr (std::is_floating_point_v<M> || std::is_same_v<M, Real>)
    return t == ParamType::real;
  else if constexpr (std::is_same_v<M, std::string>)
    return t == ParamType::string;
  else if constexpr (std::is_same_v<M, std::vector<int64_t>>)
    return t == ParamType::integer_list;
  else if constexpr (std::is_same_v<M, std::vector<double>>)
    return t == ParamType::real_list;
  else
    return false;
}

template <typename M>
M read(const Params& p, const std::string& name) {
  if constexpr (std::is_same_v<M, bool>)
    return p.boolean(name);
  else if constexpr (std::is_integral_v<M>)
    return static_cast<M>(p.integer(name));
  else if constexpr (std::is_floating_point_v<M>)
    return static_cast<M>(p.real(name));
  else if constexpr (std::is_same_v<M, Real>)
    return p.real_or_schedule(name);
  else if constexpr (std::is_same_v<M, std::string>)
    return p.string(name);
  else if constexpr (std::is_same_v<M, std::vector<int64_t>>)
    return p.integers(name);
  else
    return p.reals(name);
}
}  // namespace detail

template <typename O>
class Declare;
template <typename O>
const Declare<O>& declaration_of();

/// Collects an options struct's declaration: the schema, a setter per member, the rules.
template <typename O>
class Declare {
 public:
  /// Binds `member` to the parameter `spec`; returns the stored spec for further chaining.
  template <typename M>
  ParamSpec& operator()(M O::*member, ParamSpec spec) {
    if (!detail::takes<M>(spec.type))
      throw Error("option '" + spec.name + "' is declared as " + param_type_name(spec.type) +
                  " but its member cannot hold one");
    if constexpr (std::is_same_v<M, Real>) spec.schedulable = true;
    const std::string name = spec.name;
    setters_.push_back(
        [member, name](O& o, const Params& p) { o.*member = detail::read<M>(p, name); });
    schema_.push_back(std::move(spec));
    return schema_.back();
  }
  /// A parameter read by a setter of its own (e.g. into a member of a nested struct that
  /// several components share); returns the stored spec.
  ParamSpec& custom(ParamSpec spec, std::function<void(O&, const Params&)> set) {
    setters_.push_back(std::move(set));
    schema_.push_back(std::move(spec));
    return schema_.back();
  }
  /// The parameters (and rules) of a nested options struct S, declared by S::declare, read
  /// into `member`: settings that several components share, declared once.
  template <typename S>
  void nested(S O::*member) {
    const Declare<S>& sub = declaration_of<S>();
    schema_.insert(schema_.end(), sub.schema_.begin(), sub.schema_.end());
    for (const auto& set : sub.setters_)
      setters_.push_back([member, set](O& o, const Params& p) { set(o.*member, p); });
    for (const auto& rule : sub.rules_)
      rules_.push_back([member, rule](const O& o) { return rule(o.*member); });
  }
  /// A rule between parameters: "" when `o` meets it, else what is wrong.
  void check(std::function<std::string(const O&)> rule) { rules_.push_back(std::move(rule)); }

  const Schema& schema() const { return schema_; }
  bool has_rules() const { return !rules_.empty(); }
  O fill(const Params& p) const {
    O o{};
    for (const auto& set : setters_) set(o, p);
    return o;
  }
  /// "" when every rule holds, else the first broken rule's message.
  std::string broken_rule(const O& o) const {
    for (const auto& rule : rules_)
      if (std::string why = rule(o); !why.empty()) return why;
    return "";
  }

 private:
  template <typename>
  friend class Declare;
  Schema schema_;
  std::vector<std::function<void(O&, const Params&)>> setters_;
  std::vector<std::function<std::string(const O&)>> rules_;
};

/// The declaration of `O` (built once).
template <typename O>
const Declare<O>& declaration_of() {
  static const Declare<O> d = [] {
    Declare<O> out;
    O::declare(out);
    return out;
  }();
  return d;
}

/// The schema an options struct declares.
template <typename O>
const Schema& schema_of() {
  return declaration_of<O>().schema();
}

/// The options struct filled from validated parameters (each schema entry present); an
/// InputError when a rule between parameters is broken.
template <typename O>
O options_from(const Params& p) {
  O o = declaration_of<O>().fill(p);
  if (std::string why = declaration_of<O>().broken_rule(o); !why.empty()) throw InputError(why);
  return o;
}

/// The parameters of a schema at their defaults (every parameter must have one).
Params defaults_of(const Schema& schema);

/// The options struct at its declared defaults (tests, and components built in code).
template <typename O>
O default_options() {
  return options_from<O>(defaults_of(schema_of<O>()));
}

}  // namespace kant
