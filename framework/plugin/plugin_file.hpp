// Checks on a plugin file before any of its code runs: the trust rules (owner and write
// permissions of the file and its folder, as OpenSSH's StrictModes) and its Kantorovich ELF
// note, read from the file with our own ELF64 parser (no libelf, nothing loaded).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace kant {

/// The fields of a plugin's .note.kantorovich (see kant/plugin.hpp).
struct PluginNoteFields {
  uint32_t abi_version = 0;
  std::string abi_tag;
};

/// Reads the note from the ELF64 file open as `fd`; throws PluginError naming `path` if the
/// file is not an ELF64 shared object for this machine, or has no well-formed note.
PluginNoteFields read_plugin_note(int fd, const std::string& path);

/// Throws PluginError naming `path` unless the file and the folder holding it are owned by
/// the user running kant (or root) and writable by nobody else. `fd` is the open file.
void check_plugin_trust(int fd, const std::filesystem::path& path);

/// True when $KANT_TRUST_PLUGIN_PATH is "1" (set by `kant --trust-plugin-path`).
bool trust_plugin_path_from_env();

}  // namespace kant
