// Test plugin: throws while registering its components.
#include <stdexcept>

#include "kant/plugin.hpp"

KANT_PLUGIN("throwing_register", "1.0.0") { throw std::runtime_error("boom while registering"); }
