// Which machine and process this is, for temporary names and claims that must never be
// mistaken for another's across processes, PID namespaces and hosts on a shared disk.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace kant::host {

/// The host name (gethostname), "unknown-host" when it has none.
const std::string& name();
/// This boot of this kernel (/proc/sys/kernel/random/boot_id): equal boot ids mean the same
/// kernel, so file locks and /proc agree between the two processes.
const std::string& boot_id();
/// This process's PID namespace ("pid:[4026531836]"): a pid means the same process only
/// within one namespace.
const std::string& pid_namespace();
/// A process's start time in clock ticks since boot (/proc/PID/stat field 22), which tells a
/// process from a later one that reused its pid; none if no such process is visible.
std::optional<uint64_t> start_ticks(long pid);

/// "<host>.<pid>": the suffix of every temporary file this process writes.
std::string temporary_tag();

}  // namespace kant::host
