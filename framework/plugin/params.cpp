// Parameter schema builders, canonical value text, and typed access to validated values.
#include "kant/params.hpp"

#include <fmt/format.h>

#include <charconv>

#include "kant/error.hpp"
#include "kant/options.hpp"

namespace kant {

const char* param_type_name(ParamType t) {
  switch (t) {
    case ParamType::boolean:
      return "bool";
    case ParamType::integer:
      return "int";
    case ParamType::real:
      return "float";
    case ParamType::string:
      return "string";
    case ParamType::integer_list:
      return "list of int";
    case ParamType::real_list:
      return "list of float";
  }
  return "?";
}

namespace {
// Shortest text that reads back to the same double.
std::string real_str(double x) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, end);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a float in YAML
  return s;
}
}  // namespace

std::string value_str(const Value& v) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return real_str(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<int64_t>& l) const {
      return fmt::format("[{}]", fmt::join(l, ", "));
    }
    std::string operator()(const std::vector<double>& l) const {
      std::vector<std::string> parts;
      for (double d : l) parts.push_back(real_str(d));
      return fmt::format("[{}]", fmt::join(parts, ", "));
    }
    std::string operator()(const Schedule& s) const { return s.str(); }
  };
  return std::visit(Visitor{}, v);
}

std::string ParamSpec::constraint_str() const {
  if (!choices.empty()) return fmt::format("one of {}", fmt::join(choices, ", "));
  if (min && max) return fmt::format("in [{}, {}]", *min, *max);
  if (min) return fmt::format("{} {}", min_exclusive ? ">" : "≥", *min);
  if (max) return fmt::format("≤ {}", *max);
  return "";
}

namespace param {
namespace {
ParamSpec make(std::string name, ParamType type, std::optional<Value> def, std::string doc) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  p.default_value = std::move(def);
  p.doc = std::move(doc);
  return p;
}
}  // namespace

ParamSpec boolean(std::string name, bool def, std::string doc) {
  return make(std::move(name), ParamType::boolean, def, std::move(doc));
}
ParamSpec integer(std::string name, int64_t def, std::string doc) {
  return make(std::move(name), ParamType::integer, def, std::move(doc));
}
ParamSpec real(std::string name, double def, std::string doc) {
  return make(std::move(name), ParamType::real, def, std::move(doc));
}
ParamSpec string(std::string name, std::string def, std::string doc) {
  return make(std::move(name), ParamType::string, std::move(def), std::move(doc));
}
ParamSpec choice(std::string name, std::string def, std::vector<std::string> choices,
                 std::string doc) {
  ParamSpec p = make(std::move(name), ParamType::string, std::move(def), std::move(doc));
  p.choices = std::move(choices);
  return p;
}
ParamSpec integers(std::string name, std::vector<int64_t> def, std::string doc) {
  return make(std::move(name), ParamType::integer_list, std::move(def), std::move(doc));
}
ParamSpec reals(std::string name, std::vector<double> def, std::string doc) {
  return make(std::move(name), ParamType::real_list, std::move(def), std::move(doc));
}
ParamSpec required(ParamType type, std::string name, std::string doc) {
  return make(std::move(name), type, std::nullopt, std::move(doc));
}
}  // namespace param

const Value& Params::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error(fmt::format("no parameter '{}' in this component", name));
  return it->second;
}

template <typename T>
static const T& typed(const Value& v, const std::string& name, const char* type) {
  const T* p = std::get_if<T>(&v);
  if (!p) throw Error(fmt::format("parameter '{}' is not of type {}", name, type));
  return *p;
}

bool Params::boolean(const std::string& n) const { return typed<bool>(at(n), n, "bool"); }
int64_t Params::integer(const std::string& n) const { return typed<int64_t>(at(n), n, "int"); }
double Params::real(const std::string& n) const {
  if (std::holds_alternative<Schedule>(at(n)))
    throw Error(fmt::format("parameter '{}' follows a schedule: read it as a kant::Real", n));
  return typed<double>(at(n), n, "float");
}
Real Params::real_or_schedule(const std::string& n) const {
  if (const auto* s = std::get_if<Schedule>(&at(n))) return Real(*s);
  return Real(typed<double>(at(n), n, "float"));
}
const std::string& Params::string(const std::string& n) const {
  return typed<std::string>(at(n), n, "string");
}
const std::vector<int64_t>& Params::integers(const std::string& n) const {
  return typed<std::vector<int64_t>>(at(n), n, "list of int");
}
const std::vector<double>& Params::reals(const std::string& n) const {
  return typed<std::vector<double>>(at(n), n, "list of float");
}

Params defaults_of(const Schema& schema) {
  std::map<std::string, Value> values;
  for (const ParamSpec& spec : schema) {
    if (!spec.default_value) throw Error(fmt::format("parameter '{}' has no default", spec.name));
    values[spec.name] = *spec.default_value;
  }
  return Params(std::move(values));
}

}  // namespace kant
