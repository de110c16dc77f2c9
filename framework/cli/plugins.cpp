// kant plugins [KIND [NAME]]: the loaded components with their parameters, formulas and papers.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "kant/error.hpp"
#include "plugin/registry.hpp"

namespace kant::cli {
namespace {

void print_param(const ParamSpec& p) {
  std::string def =
      p.default_value ? fmt::format("default {}", value_str(*p.default_value)) : "required";
  std::string c = p.constraint_str();
  fmt::print("      {:<18} {:<14} {}{}\n", p.name, param_type_name(p.type), def,
             c.empty() ? "" : fmt::format(", {}", c));
  fmt::print("      {:<18} {}\n", "", p.doc);
  if (p.schedulable)
    fmt::print(
        "      {:<18} may follow a schedule: {{schedule: KIND, …}} (README, \"Schedules\")\n", "");
}

// A metric's requirements (or another component's rules, where it declares some): the rules a
// cell must meet (checked by kant validate) and the values that may be NaN.
void print_requirements(const Component& c) {
  const MetricRequirements& r = c.registration.requirements;
  if (c.kind() != Kind::metric && r.rules.empty()) return;
  if (r.rules.empty()) {
    fmt::print("    applies to: every cell\n");
  } else {
    fmt::print("    applies to cells with (checked by kant validate):\n");
    for (const MetricRule& rule : r.rules) fmt::print("      - {}\n", rule.rule);
  }
  for (const auto& [value, when] : r.may_be_nan) fmt::print("    {} is NaN when {}\n", value, when);
}

// What a component stores, each with its meaning, and where in a cell file it goes.
void print_stores(const Component& c) {
  const std::vector<StoredValue>& stores = c.registration.stores;
  if (stores.empty()) return;
  fmt::print("    stores:\n");
  bool values = false, arrays = false, series = false;
  for (const StoredValue& v : stores) {
    const char* where = v.where == StoredValue::Where::value   ? "value"
                        : v.where == StoredValue::Where::array ? "array"
                                                               : "series";
    values = values || v.where == StoredValue::Where::value;
    arrays = arrays || v.where == StoredValue::Where::array;
    series = series || v.where == StoredValue::Where::series;
    fmt::print("      {:<6} {:<28} {}\n", where, v.name, v.doc);
  }
  const std::string& n = c.name();
  if (values)
    fmt::print(
        "    a value is final/{0}.<value> (attribute, at the end) and metrics/{0}/<value> (with "
        "metrics/{0}/step, at each evaluation); `name:` in the YAML replaces '{0}'\n",
        n);
  if (arrays) fmt::print("    an array is arrays/{}/<array>, computed at the end\n", n);
  if (series)
    fmt::print("    a series is series/<name> beside series/step, one value per generator step\n");
}

}  // namespace

Command add_plugins(CLI::App& kant) {
  struct Args {
    std::string kind, name;
  };
  auto a = std::make_shared<Args>();
  CLI::App* app = kant.add_subcommand(
      "plugins",
      "loaded plugins with their parameters, and the rules each metric needs of a cell "
      "(KIND: architecture, dataset, objective, lipschitz, optimizer, metric, procedure); "
      "with NAME, also what it stores in a cell file and what each value means");
  app->group("Commands");
  app->allow_extras();
  app->add_option("KIND", a->kind, "only this kind");
  app->add_option("NAME", a->name, "only this component, with its library and what it stores");
  return {app, [a] {
            Registry registry = Registry::load_default();
            const Kind* kind = nullptr;
            if (!a->kind.empty()) {
              std::vector<std::string> names;
              for (const Kind& k : kAllKinds) {
                names.push_back(kind_name(k));
                if (a->kind == kind_name(k)) kind = &k;
              }
              if (!kind)
                throw InputError(fmt::format("unknown plugin kind '{}'{}; kinds: {}", a->kind,
                                             did_you_mean(a->kind, names), fmt::join(names, ", ")));
            }
            std::vector<const Component*> list = registry.list(kind);
            if (!a->name.empty()) {
              const Component* c = registry.find(*kind, a->name);
              if (!c)
                throw InputError(fmt::format("no {} plugin '{}'{}", a->kind, a->name,
                                             did_you_mean(a->name, registry.names(*kind))));
              list = {c};
            }
            const Kind* current = nullptr;
            for (const Component* c : list) {
              if (!current || *current != c->kind()) {
                fmt::print("{}:\n", kind_name(c->kind()));
                current = &kAllKinds[static_cast<int>(c->kind())];
              }
              fmt::print("  {} {}  — {}\n", c->name(), c->registration.version,
                         c->registration.summary);
              if (!a->name.empty()) fmt::print("    library: {}\n", c->library_path);
              for (const ParamSpec& p : c->schema()) print_param(p);
              print_requirements(*c);
              if (!a->name.empty()) print_stores(*c);
            }
            return 0;
          }};
}

}  // namespace kant::cli
