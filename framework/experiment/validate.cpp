// Config values against parameter schemas (see validate.hpp).
#include "experiment/validate.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace kant {
namespace {

// ---- scalar conversion against a ParamSpec ---------------------------------------------

std::string describe(const std::string& component, const std::string& param) {
  return component.empty() ? fmt::format("'{}'", param)
                           : fmt::format("parameter '{}' of {}", param, component);
}

bool parse_int(const std::string& s, int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc() && p == s.data() + s.size()) return true;
  double d;  // 1e5 is a fine way to write 100000
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && q == s.data() + s.size() && std::isfinite(d) && d == std::floor(d) &&
      std::abs(d) < 9.0e15) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool parse_real(const std::string& s, double& out) {
  std::string t = s;
  if (!t.empty() && t[0] == '+') t.erase(0, 1);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && p == t.data() + t.size() && std::isfinite(out);
}

void check_range(const ParamSpec& spec, double v, const ConfigNode& node, const std::string& what) {
  bool low = spec.min && (spec.min_exclusive ? v <= *spec.min : v < *spec.min);
  bool high = spec.max && v > *spec.max;
  if (low || high)
    throw ConfigError(node.mark, fmt::format("{} must be {}, got {}", what, spec.constraint_str(),
                                             node.scalar));
}

double scalar_number(const ParamSpec& spec, const ConfigNode& node, const std::string& what,
                     bool integer) {
  if (!node.is_scalar() || node.quoted)
    throw ConfigError(node.mark, fmt::format("{} must be {}, got {}", what,
                                             integer ? "an int" : "a float", flow_text(node)));
  double v;
  if (integer) {
    int64_t i;
    if (!parse_int(node.scalar, i))
      throw ConfigError(node.mark, fmt::format("{} must be an int, got '{}'", what, node.scalar));
    v = static_cast<double>(i);
  } else if (!parse_real(node.scalar, v)) {
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
        if (node.scalar == "false" || node.scalar == "False" || node.scalar == "FALSE") return false;
      }
      throw ConfigError(node.mark, fmt::format("{} must be true or false, got '{}'", what,
                                               flow_text(node)));
    }
    case ParamType::integer:
      return static_cast<int64_t>(scalar_number(spec, node, what, true));
    case ParamType::real:
      return scalar_number(spec, node, what, false);
    case ParamType::string: {
      if (!node.is_scalar())
        throw ConfigError(node.mark, fmt::format("{} must be a string, got {}", what,
                                                 flow_text(node)));
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
        double v = scalar_number(spec, item, what + " (element)", ints);
        if (ints) is.push_back(static_cast<int64_t>(v));
        else ds.push_back(v);
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
      throw ConfigError(block.mark, fmt::format("{} needs parameter '{}' ({}), which has no default",
                                                component, spec.name, spec.doc));
    }
    canonical.set(spec.name, canonical_node(v));
    values.emplace(spec.name, std::move(v));
  }
  return Params(std::move(values));
}

}  // namespace kant
