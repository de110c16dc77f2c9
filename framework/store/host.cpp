// Host and process identity from the kernel (see host.hpp).
#include "store/host.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kant::host {
namespace {

std::string first_line(const char* file, const char* fallback) {
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line) || line.empty()) return fallback;
  return line;
}

}  // namespace

const std::string& name() {
  static const std::string n = [] {
    char buf[256] = {0};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return std::string("unknown-host");
    return std::string(buf);
  }();
  return n;
}

const std::string& boot_id() {
  static const std::string id = first_line("/proc/sys/kernel/random/boot_id", "unknown-boot");
  return id;
}

const std::string& pid_namespace() {
  static const std::string ns = [] {
    char buf[128] = {0};
    ssize_t n = readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("unknown-ns");
  }();
  return ns;
}

std::optional<uint64_t> start_ticks(long pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // the command name (field 2) is in parentheses and may hold spaces: count after the last ')'
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return std::nullopt;
    if (i == 22) return std::stoull(field);
  }
  return std::nullopt;
}

std::string temporary_tag() { return fmt::format("{}.{}", name(), static_cast<long>(getpid())); }

}  // namespace kant::host
