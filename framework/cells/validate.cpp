// Config values against parameter schemas (see validate.hpp).
#include "cells/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

namespace kant {
namespace {

// ---- scalar conversion against a ParamSpec ---------------------------------------------

std::string describe(const std::string& component, const std::string& param) {
  return component.empty() ? fmt::format("'{}'", param)
                           : fmt::format("parameter '{}' of {}", param, component);
}

// An integer exactly as 64 bits: decimal digits (with an optional sign) through from_chars,
// never through a double; float notation ("1e5", "3.0") only for integral values a double
// holds exactly (|x| ≤ 2^53). Out of range is an error, never a wrapped value.
enum class IntParse { ok, not_integer, out_of_range };

IntParse parse_int(const std::string& text, int64_t& out) {
  std::string_view s = text;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (!s.empty() && (s[0] == '+' || (s[0] == '-' && text[0] == '+'))) return IntParse::not_integer;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (p == s.data() + s.size() && !s.empty()) {
    if (ec == std::errc()) return IntParse::ok;
    if (ec == std::errc::result_out_of_range) return IntParse::out_of_range;
  }
  constexpr double kExact = 9007199254740992.0;  // 2^53: every integer up to it is a double
  double d;
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (q != s.data() + s.size() || s.empty()) return IntParse::not_integer;
  const bool underflow =
      s.find("e-") != std::string_view::npos || s.find("E-") != std::string_view::npos;
  if (ec2 == std::errc::result_out_of_range)
    return underflow ? IntParse::not_integer : IntParse::out_of_range;
  if (ec2 != std::errc() || !std::isfinite(d) || d != std::floor(d)) return IntParse::not_integer;
  if (std::abs(d) > kExact) return IntParse::out_of_range;
  out = static_cast<int64_t>(d);
  return IntParse::ok;
}

// i < bound, i > bound exactly (a double bound may be beyond int64's range).
bool int_below(int64_t i, double bound) {
  constexpr double k2to63 = 9223372036854775808.0;
  if (bound >= k2to63) return true;
  if (bound < -k2to63) return false;
  const double c = std::ceil(bound);  // i < bound ⇔ i < ceil(bound) for integers
  return i < static_cast<int64_t>(c);
}
bool int_above(int64_t i, double bound) {
  constexpr double k2to63 = 9223372036854775808.0;
  if (bound >= k2to63) return false;
  if (bound < -k2to63) return true;
  return i > static_cast<int64_t>(std::floor(bound));
}

// A finite double; "1e400" is out of range (from_chars does not round it to Inf).
enum class RealParse { ok, not_real, out_of_range };

RealParse parse_real(const std::string& s, double& out) {
  std::string_view t = s;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  if (t.empty() || t[0] == '+' || (t[0] == '-' && s[0] == '+')) return RealParse::not_real;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (p != t.data() + t.size()) return RealParse::not_real;
  if (ec == std::errc::result_out_of_range) return RealParse::out_of_range;
  return ec == std::errc() && std::isfinite(out) ? RealParse::ok : RealParse::not_real;
}

void check_range(const ParamSpec& spec, double v, const ConfigNode& node, const std::string& what) {
  bool low = spec.min && (spec.min_exclusive ? v <= *spec.min : v < *spec.min);
  bool high = spec.max && v > *spec.max;
  if (low || high)
    throw ConfigError(
        node.mark, fmt::format("{} must be {}, got {}", what, spec.constraint_str(), node.scalar));
}

void require_number_scalar(const ConfigNode& node, const std::string& what, bool integer) {
  if (!node.is_scalar() || node.quoted)
    throw ConfigError(node.mark, fmt::format("{} must be {}, got {}", what,
                                             integer ? "an int" : "a float", flow_text(node)));
}

int64_t scalar_integer(const ParamSpec& spec, const ConfigNode& node, const std::string& what) {
  require_number_scalar(node, what, true);
  int64_t i = 0;
  switch (parse_int(node.scalar, i)) {
    case IntParse::ok:
      break;
    case IntParse::out_of_range:
      throw ConfigError(
          node.mark, fmt::format("{} must be an int in [-9223372036854775808, 9223372036854775807] "
                                 "(64 bits; float notation only up to 2^53), got '{}'",
                                 what, node.scalar));
    case IntParse::not_integer:
      throw ConfigError(node.mark, fmt::format("{} must be an int, got '{}'", what, node.scalar));
  }
  const bool low =
      spec.min && (spec.min_exclusive ? !int_above(i, *spec.min) : int_below(i, *spec.min));
  const bool high = spec.max && int_above(i, *spec.max);
  if (low || high)
    throw ConfigError(
        node.mark, fmt::format("{} must be {}, got {}", what, spec.constraint_str(), node.scalar));
  return i;
}

double scalar_real(const ParamSpec& spec, const ConfigNode& node, const std::string& what) {
  require_number_scalar(node, what, false);
  double v;
  switch (parse_real(node.scalar, v)) {
    case RealParse::ok:
      break;
    case RealParse::out_of_range:
      throw ConfigError(node.mark,
                        fmt::format("{} must be a float a double can hold (|x| ≤ 1.8e308, and 0 or "
                                    "|x| ≥ 4.9e-324), got '{}'",
                                    what, node.scalar));
    case RealParse::not_real:
      throw ConfigError(node.mark, fmt::format("{} must be a float, got '{}'", what, node.scalar));
  }
  check_range(spec, v, node, what);
  return v;
}

}  // namespace

Value convert_value(const ParamSpec& spec, const ConfigNode& node, const std::string& what) {
  switch (spec.type) {
    case ParamType::boolean: {
      if (node.is_scalar() && !node.quoted) {
        if (node.scalar == "true" || node.scalar == "True" || node.scalar == "TRUE") return true;
        if (node.scalar == "false" || node.scalar == "False" || node.scalar == "FALSE")
          return false;
      }
      throw ConfigError(node.mark,
                        fmt::format("{} must be true or false, got '{}'", what, flow_text(node)));
    }
    case ParamType::integer:
      return scalar_integer(spec, node, what);
    case ParamType::real:
      return scalar_real(spec, node, what);
    case ParamType::string: {
      if (!node.is_scalar())
        throw ConfigError(node.mark,
                          fmt::format("{} must be a string, got {}", what, flow_text(node)));
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), node.scalar) == spec.choices.end())
        throw ConfigError(node.mark, fmt::format("{} must be one of {}, got '{}'{}", what,
                                                 fmt::join(spec.choices, ", "), node.scalar,
                                                 did_you_mean(node.scalar, spec.choices)));
      return node.scalar;
    }
    case ParamType::integer_list:
    case ParamType::real_list: {
      if (!node.is_sequence())
        throw ConfigError(node.mark, fmt::format("{} must be a {}, got {}", what,
                                                 param_type_name(spec.type), flow_text(node)));
      const bool ints = spec.type == ParamType::integer_list;
      std::vector<int64_t> is;
      std::vector<double> ds;
      for (const ConfigNode& item : node.items) {
        if (ints)
          is.push_back(scalar_integer(spec, item, what + " (element)"));
        else
          ds.push_back(scalar_real(spec, item, what + " (element)"));
      }
      if (ints) return is;
      return ds;
    }
  }
  throw ConfigError(node.mark, "unsupported parameter type");
}

namespace {

// The canonical config text of a value.
ConfigNode canonical_node(const Value& v) {
  if (const auto* l = std::get_if<std::vector<int64_t>>(&v)) {
    ConfigNode seq = ConfigNode::make_sequence();
    for (int64_t i : *l) seq.items.push_back(ConfigNode::make_scalar(std::to_string(i)));
    return seq;
  }
  if (const auto* l = std::get_if<std::vector<double>>(&v)) {
    ConfigNode seq = ConfigNode::make_sequence();
    for (double d : *l) seq.items.push_back(ConfigNode::make_scalar(value_str(Value(d))));
    return seq;
  }
  ConfigNode n = ConfigNode::make_scalar(value_str(v));
  n.quoted = std::holds_alternative<std::string>(v);
  return n;
}

}  // namespace

Params validate_params(const ConfigNode& block, const Schema& schema,
                       const std::set<std::string>& skip, const std::string& component,
                       ConfigNode& canonical) {
  std::vector<std::string> known(skip.begin(), skip.end());
  for (const ParamSpec& s : schema) known.push_back(s.name);
  for (const ConfigEntry& e : block.entries) {
    if (skip.count(e.key)) continue;
    bool found = std::any_of(schema.begin(), schema.end(),
                             [&](const ParamSpec& s) { return s.name == e.key; });
    if (!found) {
      std::string hint = did_you_mean(e.key, known);
      throw ConfigError(e.key_mark,
                        fmt::format("unknown parameter '{}' for {}{}{}", e.key, component, hint,
                                    hint.empty() && !schema.empty()
                                        ? fmt::format("; it accepts: {}", fmt::join(known, ", "))
                                        : ""));
    }
  }
  std::map<std::string, Value> values;
  for (const ParamSpec& spec : schema) {
    const ConfigNode* node = block.find(spec.name);
    Value v;
    if (node && node->type != ConfigNode::Type::null) {
      v = convert_value(spec, *node, describe(component, spec.name));
    } else if (spec.default_value) {
      v = *spec.default_value;
    } else {
      throw ConfigError(block.mark,
                        fmt::format("{} needs parameter '{}' ({}), which has no default", component,
                                    spec.name, spec.doc));
    }
    const bool at_default = spec.default_value && v == *spec.default_value;
    if (!((spec.omit_default || spec.outside_identity) && at_default))
      canonical.set(spec.name, canonical_node(v));
    values.emplace(spec.name, std::move(v));
  }
  for (const ParamSpec& spec : schema) {  // only_with: out while the other is at its default
    if (spec.only_with.empty()) continue;
    auto other = std::find_if(schema.begin(), schema.end(),
                              [&](const ParamSpec& s) { return s.name == spec.only_with; });
    if (other != schema.end() && other->default_value &&
        values.at(other->name) == *other->default_value)
      canonical.erase(spec.name);
  }
  return Params(std::move(values));
}

}  // namespace kant
