// Test plugin: right ABI version, built (its note claims) by another compiler.
#include "kant/plugin.hpp"

KANT_PLUGIN_NOTE(::kant::kAbiVersion, "clang-3.0 cxx11abi-0")

static void nothing(kant::Registrar&) {}
extern "C" __attribute__((visibility("default"))) const kant::PluginInfo* kant_plugin_entry() {
  static const kant::PluginInfo info{kant::kAbiVersion, "clang-3.0 cxx11abi-0", "wrong_tag", "1.0",
                                     &nothing};
  return &info;
}
