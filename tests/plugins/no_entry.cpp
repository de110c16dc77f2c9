// Test plugin: a shared library with the Kantorovich note but without the entry symbol.
#include "kant/plugin.hpp"

KANT_PLUGIN_NOTE(::kant::kAbiVersion, KANT_ABI_TAG)
extern "C" __attribute__((visibility("default"))) int not_a_plugin() { return 1; }
