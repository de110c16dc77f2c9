// Test plugin: an objective whose factory throws.
#include <stdexcept>

#include "kant/plugin.hpp"

KANT_PLUGIN("throwing_factory", "1.0.0") {
  using namespace kant;
  registrar.add({"explodes",
                 "1.0.0",
                 "always fails to construct",
                 {},
                 ObjectiveFactory([](const Params&) -> std::unique_ptr<Objective> {
                   throw std::runtime_error("boom in the factory");
                 })});
}
