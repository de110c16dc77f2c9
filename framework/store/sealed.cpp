// Sealed HDF5 files (see sealed.hpp).
#include "store/sealed.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>
#include <tuple>

#include "core/sha256.hpp"
#include "kant/error.hpp"
#include "store/atomic_file.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMagic = "kantorovich-seal 1";

std::string seal_text(const std::string& kind, const std::string& digest,
                      const std::map<std::string, std::string>& fields) {
  std::string text = fmt::format("{}\nkind {}\nsha256 {}\n", kMagic, kind, digest);
  for (const auto& [k, v] : fields) {
    if (k.find_first_of(" \n") != std::string::npos || v.find('\n') != std::string::npos)
      throw StorageError(fmt::format("seal field '{}' cannot hold spaces or line breaks", k));
    text += fmt::format("{} {}\n", k, v);
  }
  if (text.size() >= kSealBytes) throw StorageError("seal longer than its block");
  return text;
}

}  // namespace

void write_sealed(const fs::path& target, const std::string& kind,
                  const std::map<std::string, std::string>& fields,
                  const std::function<void(h5::Group&)>& fill) {
  std::string bytes;
  {
    h5::File file = h5::File::create_in_memory(temporary_path(target).string(), kSealBytes);
    {
      h5::Group root = file.root();
      fill(root);
    }
    bytes = file.image();
    file.close();
  }
  // the image starts at the superblock; the user block in front of it is ours to fill
  if (bytes.empty()) throw StorageError(fmt::format("{}: empty HDF5 image", target.string()));
  Sha256 digest;
  digest.update(bytes.data(), bytes.size());
  std::string file = seal_text(kind, digest.hex(), fields);
  file.resize(kSealBytes, '\0');
  file += bytes;
  write_file_atomically(target, file);  // every write, flush and close checked
}

Seal read_seal(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw StorageError(fmt::format("{}: cannot be read: {}", file.string(), std::strerror(errno)));
  std::string block(kSealBytes, '\0');
  const ssize_t n = ::pread(fd, block.data(), block.size(), 0);
  ::close(fd);
  if (n < static_cast<ssize_t>(kSealBytes) || block.compare(0, std::strlen(kMagic), kMagic) != 0)
    throw StorageError(
        fmt::format("{}: not a sealed Kantorovich file (foreign, or written by a kant "
                    "before 0.2, whose files carry no checksum)",
                    file.string()));
  const size_t end = block.find('\0');
  if (end == std::string::npos || block.find_first_not_of('\0', end) != std::string::npos)
    throw StorageError(fmt::format("{}: damaged seal", file.string()));
  // the text is whole lines ("key value\n"), each key a non-empty word
  if (end == 0 || block[end - 1] != '\n')
    throw StorageError(fmt::format("{}: damaged seal", file.string()));
  std::istringstream lines(block.substr(0, end));
  std::string line;
  std::getline(lines, line);  // the magic
  Seal s;
  while (std::getline(lines, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0)
      throw StorageError(fmt::format("{}: damaged seal", file.string()));
    const std::string key = line.substr(0, space), value = line.substr(space + 1);
    if (key == "kind")
      s.kind = value;
    else if (key == "sha256")
      s.sha256 = value;
    else
      s.fields[key] = value;
  }
  if (s.kind.empty() || s.sha256.size() != 64)
    throw StorageError(fmt::format("{}: damaged seal", file.string()));
  return s;
}

h5::File open_sealed(const fs::path& file, const std::string& kind, Seal* seal_out) {
  // files already checked by this process and unchanged since (same inode, size, mtime)
  static std::mutex mutex;
  static std::set<std::tuple<dev_t, ino_t, off_t, int64_t, std::string>> verified;
  Seal seal = read_seal(file);
  if (seal.kind != kind)
    throw StorageError(
        fmt::format("{}: a sealed {} file, not a {} file", file.string(), seal.kind, kind));
  struct stat st;
  if (::stat(file.c_str(), &st) != 0)
    throw StorageError(fmt::format("{}: cannot be read: {}", file.string(), std::strerror(errno)));
  if (static_cast<uint64_t>(st.st_size) <= kSealBytes)
    throw StorageError(fmt::format("{}: truncated (nothing after its seal)", file.string()));
  const auto key =
      std::make_tuple(st.st_dev, st.st_ino, st.st_size,
                      int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, seal.sha256);
  bool known;
  {
    std::lock_guard<std::mutex> lock(mutex);
    known = verified.count(key) > 0;
  }
  if (!known) {
    if (sha256_file(file, kSealBytes) != seal.sha256)
      throw StorageError(
          fmt::format("{}: damaged: its content does not match its checksum (a changed "
                      "or truncated file)",
                      file.string()));
    std::lock_guard<std::mutex> lock(mutex);
    verified.insert(key);
  }
  if (seal_out) *seal_out = seal;
  return h5::File::open(file);
}

}  // namespace kant
