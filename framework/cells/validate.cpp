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

// ---- schedules (kant/schedule.hpp) --------------------------------------------------------

std::vector<std::string> kind_names() {
  std::vector<std::string> names;
  for (const ScheduleKind& k : schedule_kinds()) names.push_back(k.name);
  return names;
}

// `{schedule: KIND, …}` given to `spec` (a real parameter that may follow one): every key of
// its kind filled in (start: the warm-up, end: train.steps), checked at every step in
// [1, steps] against the parameter's range. A constant without warm-up is its number.
Value schedule_value(const ParamSpec& spec, const ConfigNode& node, const std::string& what,
                     int64_t steps) {
  const ConfigNode* kind_node = node.find("schedule");
  if (!kind_node || !kind_node->is_scalar())
    throw ConfigError(node.mark, fmt::format("{} is given as a map, which must be a schedule: "
                                             "{{schedule: KIND, …}} with KIND one of {}",
                                             what, fmt::join(kind_names(), ", ")));
  const std::vector<ScheduleKind>& kinds = schedule_kinds();
  auto kind = std::find_if(kinds.begin(), kinds.end(),
                           [&](const ScheduleKind& k) { return kind_node->scalar == k.name; });
  if (kind == kinds.end())
    throw ConfigError(
        kind_node->mark,
        fmt::format("{}: unknown schedule '{}'{}; schedules: {}", what, kind_node->scalar,
                    did_you_mean(kind_node->scalar, kind_names()), fmt::join(kind_names(), ", ")));
  std::vector<std::string> keys{"schedule"};
  keys.insert(keys.end(), kind->keys.begin(), kind->keys.end());
  keys.insert(keys.end(), {"warmup", "warmup_from"});
  for (const ConfigEntry& e : node.entries)
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end())
      throw ConfigError(e.key_mark, fmt::format("{}: a {} schedule takes no '{}'{}; it takes: {}",
                                                what, kind->name, e.key, did_you_mean(e.key, keys),
                                                fmt::join(keys, ", ")));
  const std::string in = fmt::format("{} ({} schedule)", what, kind->name);
  auto key_what = [&](const char* key) { return fmt::format("'{}' of {}", key, in); };
  auto real = [&](const char* key, std::optional<double> def) {
    const ConfigNode* n = node.find(key);
    if (!n && !def) throw ConfigError(node.mark, fmt::format("{} needs '{}'", in, key));
    return n ? scalar_real(param::real(key, 0, ""), *n, key_what(key)) : *def;
  };
  auto step = [&](const char* key, int64_t def, int64_t min) {
    const ConfigNode* n = node.find(key);
    return n ? scalar_integer(param::integer(key, 0, "").at_least(static_cast<double>(min)), *n,
                              key_what(key))
             : def;
  };
  Schedule s;
  s.kind = kind->kind;
  s.warmup = step("warmup", 0, 0);
  if (s.warmup == 0 && node.find("warmup_from"))
    throw ConfigError(node.find("warmup_from")->mark,
                      fmt::format("{}: warmup_from without warmup has no effect: give warmup "
                                  "(steps ≥ 1) or remove warmup_from",
                                  in));
  s.warmup_from = real("warmup_from", 0.0);
  switch (s.kind) {
    case Schedule::Kind::constant:
      s.value = real("value", std::nullopt);
      break;
    case Schedule::Kind::linear:
    case Schedule::Kind::cosine:
      s.from = real("from", std::nullopt);
      s.to = real("to", std::nullopt);
      s.start = step("start", s.warmup, 0);
      s.end = step("end", steps, 1);
      if (s.end <= s.start)
        throw ConfigError(node.find("end") ? node.find("end")->mark : node.mark,
                          fmt::format("{}: end ({}{}) must come after start ({})", in, s.end,
                                      node.find("end") ? "" : ", train.steps", s.start));
      break;
    case Schedule::Kind::exponential:
      s.from = real("from", std::nullopt);
      if (!node.find("rate")) throw ConfigError(node.mark, fmt::format("{} needs 'rate'", in));
      s.rate = scalar_real(param::real("rate", 1, "").at_least(0, true), *node.find("rate"),
                           key_what("rate"));
      s.start = step("start", s.warmup, 0);
      break;
    case Schedule::Kind::piecewise: {
      const ConfigNode* values = node.find("values");
      const ConfigNode* boundaries = node.find("boundaries");
      if (!values || !boundaries)
        throw ConfigError(node.mark, fmt::format("{} needs 'values' and 'boundaries'", in));
      s.values = std::get<std::vector<double>>(
          convert_value(param::reals("values", {}, ""), *values, key_what("values")));
      s.boundaries = std::get<std::vector<int64_t>>(convert_value(
          param::integers("boundaries", {}, "").at_least(1), *boundaries, key_what("boundaries")));
      if (s.values.size() != s.boundaries.size() + 1)
        throw ConfigError(values->mark,
                          fmt::format("{}: {} values for {} boundaries; it needs one value more "
                                      "than boundaries (values[i] holds from boundaries[i−1] on)",
                                      in, s.values.size(), s.boundaries.size()));
      for (size_t i = 1; i < s.boundaries.size(); ++i)
        if (s.boundaries[i] <= s.boundaries[i - 1])
          throw ConfigError(boundaries->mark,
                            fmt::format("{}: boundaries must increase strictly, got {} after {}",
                                        in, s.boundaries[i], s.boundaries[i - 1]));
      break;
    }
  }
  if (std::optional<int64_t> t =
          first_step_outside(s, steps, spec.min, spec.min_exclusive, spec.max)) {
    const double v = s.at(*t);
    const bool low = spec.min && (spec.min_exclusive ? v <= *spec.min : v < *spec.min);
    throw ConfigError(
        node.mark,
        fmt::format("{}: the schedule reaches {} at step {}, {} (it must be {} at every step "
                    "from 1 to train.steps = {})",
                    what, value_str(Value(v)), *t,
                    !std::isfinite(v) ? "not a finite number"
                    : low             ? fmt::format("below the minimum {}", *spec.min)
                                      : fmt::format("above the maximum {}", *spec.max),
                    spec.constraint_str(), steps));
  }
  if (s.kind == Schedule::Kind::constant && s.warmup == 0) return s.value;  // the plain number
  return s;
}

// A map given to parameter `spec` of a block with `schema`: a schedule where the parameter
// takes one, else an error saying why not and which parameters of the block do.
Value map_value(const ParamSpec& spec, const ConfigNode& node, const std::string& what,
                const Schema& schema, int64_t steps) {
  if (spec.type != ParamType::real) {
    if (!node.find("schedule")) return convert_value(spec, node, what);  // its type's error
    throw ConfigError(node.mark, fmt::format("{} is {}: only a real parameter (a float) may "
                                             "follow a schedule",
                                             what, param_type_name(spec.type)));
  }
  std::vector<std::string> schedulable;
  for (const ParamSpec& p : schema)
    if (p.schedulable) schedulable.push_back(p.name);
  if (!spec.schedulable)
    throw ConfigError(
        node.mark,
        fmt::format("{} is read once, when the component is built, so it cannot follow a "
                    "schedule; {}",
                    what,
                    schedulable.empty() ? std::string("none of this block's parameters can")
                                        : fmt::format("this block's parameters that can: {}",
                                                      fmt::join(schedulable, ", "))));
  if (steps <= 0)
    throw ConfigError(node.mark, fmt::format("{}: a schedule needs the cell's train.steps, and "
                                             "this block is read without a cell",
                                             what));
  return schedule_value(spec, node, what, steps);
}

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
  if (const auto* s = std::get_if<Schedule>(&v)) {  // every key of its kind, in the table's order
    ConfigNode map = ConfigNode::make_map();
    ConfigNode kind = ConfigNode::make_scalar(schedule_kind(s->kind).name);
    kind.quoted = true;  // as a resolved string parameter is written
    map.set("schedule", kind);
    auto put = [&](const char* key, const Value& x) { map.set(key, canonical_node(x)); };
    switch (s->kind) {
      case Schedule::Kind::constant:
        put("value", s->value);
        break;
      case Schedule::Kind::linear:
      case Schedule::Kind::cosine:
        put("from", s->from), put("to", s->to), put("start", s->start), put("end", s->end);
        break;
      case Schedule::Kind::exponential:
        put("from", s->from), put("rate", s->rate), put("start", s->start);
        break;
      case Schedule::Kind::piecewise:
        put("values", s->values), put("boundaries", s->boundaries);
        break;
    }
    if (s->warmup > 0) put("warmup", s->warmup), put("warmup_from", s->warmup_from);
    return map;
  }
  ConfigNode n = ConfigNode::make_scalar(value_str(v));
  n.quoted = std::holds_alternative<std::string>(v);
  return n;
}

}  // namespace

Params validate_params(const ConfigNode& block, const Schema& schema,
                       const std::set<std::string>& skip, const std::string& component,
                       ConfigNode& canonical, int64_t steps) {
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
    if (node && node->is_map()) {
      v = map_value(spec, *node, describe(component, spec.name), schema, steps);
    } else if (node && node->type != ConfigNode::Type::null) {
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
