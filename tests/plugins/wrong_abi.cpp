// Test plugin: declares a future ABI version.
#include "kant/plugin.hpp"

static void nothing(kant::Registrar&) {}
extern "C" __attribute__((visibility("default"))) const kant::PluginInfo* kant_plugin_entry() {
  static const kant::PluginInfo info{kant::kAbiVersion + 998, KANT_ABI_TAG, "wrong_abi", "1.0", &nothing};
  return &info;
}
