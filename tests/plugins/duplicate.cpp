// Test plugin: registers an objective named like a built-in one.
#include "kant/plugin.hpp"

KANT_PLUGIN("duplicate", "1.0.0") {
  using namespace kant;
  registrar.add(
      {"wasserstein",
       "9.9.9",
       "a second wasserstein",
       {},
       ObjectiveFactory([](const Params&) -> std::unique_ptr<Objective> { return nullptr; })});
}
