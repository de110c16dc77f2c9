// Atomic file writes (see atomic_file.hpp): O_CREAT|O_EXCL|O_NOFOLLOW, fsync, rename.
#include "store/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kant/error.hpp"
#include "store/host.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& file, const char* what, int err) {
  throw StorageError(fmt::format("{}: cannot {}: {}", file.string(), what, std::strerror(err)));
}

}  // namespace

fs::path temporary_path(const fs::path& target) {
  return target.string() + ".tmp." + host::temporary_tag();
}

void check_regular_or_absent(const fs::path& target) {
  struct stat st;
  if (::lstat(target.c_str(), &st) != 0) return;  // absent (or unreachable: the write will say)
  if (S_ISREG(st.st_mode)) return;
  const char* kind = S_ISLNK(st.st_mode)   ? "a symbolic link"
                     : S_ISDIR(st.st_mode) ? "a folder"
                                           : "not a regular file";
  throw StorageError(fmt::format("{}: is {}; refusing to write there (remove or rename it)",
                                 target.string(), kind));
}

void sync_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) fail(file, "open for sync", errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail(file, "flush to disk", err);
}

void commit_temporary(const fs::path& temporary, const fs::path& target) {
  check_regular_or_absent(target);
  if (::rename(temporary.c_str(), target.c_str()) != 0)
    fail(target, "rename its temporary into place", errno);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >=
      0) {  // the rename is durable once the folder is flushed (best effort on odd file systems)
    ::fsync(fd);
    ::close(fd);
  }
}

void write_file_atomically(const fs::path& target, const std::string& content) {
  check_regular_or_absent(target);
  const fs::path tmp = temporary_path(target);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, "create", errno);
  auto give_up = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(target, what, err);
  };
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) give_up("write", errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) give_up("flush to disk", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(target, "close", err);
  }
  try {
    commit_temporary(tmp, target);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace kant
