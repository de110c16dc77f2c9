// Test plugin: its note declares a future ABI version (999); its static constructor would
// write $KANT_TEST_MARKER, which must never happen since the host refuses it unloaded.
#include <cstdio>
#include <cstdlib>

#include "kant/plugin.hpp"

KANT_PLUGIN_NOTE(999, KANT_ABI_TAG)

__attribute__((constructor)) static void mark_loaded() {
  if (const char* marker = std::getenv("KANT_TEST_MARKER"))
    if (FILE* f = std::fopen(marker, "w")) std::fclose(f);
}

static void nothing(kant::Registrar&) {}
extern "C" __attribute__((visibility("default"))) const kant::PluginInfo* kant_plugin_entry() {
  static const kant::PluginInfo info{999, KANT_ABI_TAG, "wrong_abi", "1.0", &nothing};
  return &info;
}
