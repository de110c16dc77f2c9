// Parameter schemas: what a component accepts (name, type, default or required, range or
// choices, doc), and the typed values a validated config hands to its factory.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kant/schedule.hpp"

namespace kant {

enum class ParamType { boolean, integer, real, string, integer_list, real_list };
/// "bool", "int", "float", "string", "list of int", "list of float".
const char* param_type_name(ParamType t);

/// A parameter's value; a real parameter that may follow a schedule (ParamSpec::schedulable)
/// holds a Schedule where the config gives one.
using Value = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>,
                           std::vector<double>, Schedule>;
/// Canonical text of a value as it appears in resolved configs ("1e-04" → "0.0001").
std::string value_str(const Value& v);

/// One parameter of a component.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::real;
  std::optional<Value> default_value;  ///< none: the parameter is required
  std::optional<double> min, max;      ///< inclusive bounds (each element, for lists)
  bool min_exclusive = false;
  std::vector<std::string> choices;  ///< allowed strings (string parameters)
  std::string doc;
  /// Left out of a cell's canonical config (and so of its id) while at its default: for a
  /// parameter added after cells were stored, so that they keep their ids.
  bool omit_default = false;
  /// Cannot change a result (a checkpoint period, how errors are reported): never part of a
  /// cell's id, and left out of its stored config while at its default.
  bool outside_identity = false;
  /// Meaningful only beside another parameter of the same block: left out of the stored config
  /// (and so of the id) while that one is at its default.
  std::string only_with;
  /// A real parameter that may follow a schedule (kant/schedule.hpp): read where it is used, at
  /// the step being trained. An options struct sets it for its kant::Real members.
  bool schedulable = false;

  /// value ≥ lo (or > lo when exclusive).
  ParamSpec& at_least(double lo, bool exclusive = false) {
    min = lo;
    min_exclusive = exclusive;
    return *this;
  }
  ParamSpec& at_most(double hi) {
    max = hi;
    return *this;
  }
  ParamSpec& range(double lo, double hi) { return at_least(lo).at_most(hi); }
  /// See omit_default.
  ParamSpec& added_later() {
    omit_default = true;
    return *this;
  }
  /// See outside_identity.
  ParamSpec& not_identity() {
    outside_identity = true;
    return *this;
  }
  /// See only_with.
  ParamSpec& only_beside(std::string other) {
    only_with = std::move(other);
    return *this;
  }
  /// See schedulable (the framework's own blocks; options structs set it from the member).
  ParamSpec& may_follow_schedule() {
    schedulable = true;
    return *this;
  }
  /// "≥ 0", "in [0, 1]", "one of relu, tanh", "" when unconstrained.
  std::string constraint_str() const;
};

using Schema = std::vector<ParamSpec>;

/// Builders: param::real("lambda", 10.0, "penalty weight λ").at_least(0).
namespace param {
ParamSpec boolean(std::string name, bool def, std::string doc);
ParamSpec integer(std::string name, int64_t def, std::string doc);
ParamSpec real(std::string name, double def, std::string doc);
ParamSpec string(std::string name, std::string def, std::string doc);
ParamSpec choice(std::string name, std::string def, std::vector<std::string> choices,
                 std::string doc);
ParamSpec integers(std::string name, std::vector<int64_t> def, std::string doc);
ParamSpec reals(std::string name, std::vector<double> def, std::string doc);
/// A parameter without default: the config must give it.
ParamSpec required(ParamType type, std::string name, std::string doc);
}  // namespace param

/// Validated values of one component's parameters, every schema entry present.
class Params {
 public:
  Params() = default;
  explicit Params(std::map<std::string, Value> values) : values_(std::move(values)) {}

  bool boolean(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  /// A real parameter's constant value (an Error when it follows a schedule).
  double real(const std::string& name) const;
  /// A real parameter as a constant or its schedule.
  Real real_or_schedule(const std::string& name) const;
  const std::string& string(const std::string& name) const;
  const std::vector<int64_t>& integers(const std::string& name) const;
  const std::vector<double>& reals(const std::string& name) const;
  const std::map<std::string, Value>& values() const { return values_; }

 private:
  const Value& at(const std::string& name) const;
  std::map<std::string, Value> values_;
};

}  // namespace kant
