// Config values against parameter schemas: a YAML value converted to a parameter's type and
// checked against its range or choices, a component block's entries validated (unknown keys
// with did-you-mean, defaults filled in), a schedule given to a real parameter resolved and
// checked at every step, and the canonical text of every value.
#pragma once
#include <set>
#include <string>

#include "config/config.hpp"
#include "kant/params.hpp"

namespace kant {

/// `node` as a value of `spec`'s type, within its range; `what` names it in errors.
Value convert_value(const ParamSpec& spec, const ConfigNode& node, const std::string& what);

/// Validates the entries of `block` (a map) against `schema`, skipping keys in `skip`, and
/// fills `canonical` with every schema entry (defaults included). `component` names the
/// block in errors ("lipschitz 'gradient_penalty'"). A parameter that may follow a schedule
/// (ParamSpec::schedulable) takes `{schedule: KIND, …}`: `steps`, the cell's train.steps, is
/// its default end and the last step its values are checked at (0: no schedule is taken).
Params validate_params(const ConfigNode& block, const Schema& schema,
                       const std::set<std::string>& skip, const std::string& component,
                       ConfigNode& canonical, int64_t steps = 0);

}  // namespace kant
