// Files that appear whole or not at all: written under a temporary name beside the target
// (created exclusively, never through a symlink), flushed to disk, then renamed over it. A
// failed write (full disk, I/O error) leaves the previous file as it was and no temporary.
#pragma once
#include <filesystem>
#include <string>

namespace kant {

/// "<target>.tmp.<host>.<pid>": this process's temporary name for `target`.
std::filesystem::path temporary_path(const std::filesystem::path& target);

/// Throws StorageError naming `target` when something other than a regular file (a symlink,
/// a folder, a device) is at that path: we never write through or over such a thing.
void check_regular_or_absent(const std::filesystem::path& target);

/// Writes `content` to `target` atomically (see above); throws StorageError naming the file
/// and the reason (e.g. "No space left on device").
void write_file_atomically(const std::filesystem::path& target, const std::string& content);

/// Renames a finished temporary over `target` after check_regular_or_absent, and flushes the
/// folder so that the rename survives a crash.
void commit_temporary(const std::filesystem::path& temporary, const std::filesystem::path& target);

/// fsync of a file's data; throws StorageError naming it.
void sync_file(const std::filesystem::path& file);

}  // namespace kant
