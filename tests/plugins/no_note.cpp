// Test plugin: a well-formed entry symbol of this ABI but no ELF note (a library written by
// hand, or any foreign library named *.so). Its static constructor would write
// $KANT_TEST_MARKER: the host must refuse the file without loading it, so the marker never
// appears.
#include <cstdio>
#include <cstdlib>

#include "kant/plugin.hpp"

__attribute__((constructor)) static void mark_loaded() {
  if (const char* marker = std::getenv("KANT_TEST_MARKER"))
    if (FILE* f = std::fopen(marker, "w")) std::fclose(f);
}

static void nothing(kant::Registrar&) {}
extern "C" __attribute__((visibility("default"))) const kant::PluginInfo* kant_plugin_entry() {
  static const kant::PluginInfo info{kant::kAbiVersion, KANT_ABI_TAG, "no_note", "1.0", &nothing};
  return &info;
}
