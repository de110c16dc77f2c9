// Plugin files before loading (see plugin_file.hpp): trust rules and the ELF note.
#include "plugin/plugin_file.hpp"

#include <elf.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "kant/error.hpp"
#include "kant/plugin.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#elif defined(__powerpc64__)
constexpr uint16_t kHostMachine = EM_PPC64;
#elif defined(__riscv) && __riscv_xlen == 64
constexpr uint16_t kHostMachine = EM_RISCV;
#else
#error "unknown host machine for the plugin ELF check"
#endif
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the ELF reader assumes a little-endian host");

// Bounds on what the reader allocates for a hostile file's headers.
constexpr uint64_t kMaxSections = 1 << 16;
constexpr uint64_t kMaxSectionNames = 1 << 24;
constexpr uint64_t kMaxNoteBytes = 1 << 16;

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  const bool said = why.rfind("cannot be loaded", 0) == 0;
  throw PluginError(fmt::format("plugin {}: {}{}", path, why, said ? "" : "; not loaded"));
}

// Reads exactly n bytes at `offset`, within the file's `size`.
void read_at(int fd, uint64_t offset, void* out, uint64_t n, uint64_t size, const std::string& path,
             const char* what) {
  if (offset > size || n > size - offset)
    refuse(path, fmt::format("malformed ELF file: the {} lies past its end", what));
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got <= 0)
      refuse(path, fmt::format("cannot read its {}: {}", what,
                               got < 0 ? std::strerror(errno) : "short read"));
    p += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<uint64_t>(got);
  }
}

uint64_t align4(uint64_t n) { return (n + 3) & ~uint64_t{3}; }

// "owned by uid 1001 (alice)"
std::string owner_str(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw ? fmt::format("uid {} ({})", uid, pw->pw_name) : fmt::format("uid {}", uid);
}

// The StrictModes rule for one file or folder: owned by us or root, writable by no one else.
void check_mode(const struct stat& st, const std::string& what, const std::string& where,
                const std::string& path) {
  const uid_t me = ::geteuid();
  constexpr const char* kHow =
      "; kant loads only plugins that nobody else can change (or pass --trust-plugin-path, "
      "or set KANT_TRUST_PLUGIN_PATH=1)";
  if (st.st_uid != me && st.st_uid != 0)
    refuse(path, fmt::format("refused: {} {} is owned by {}, not by you ({}) or root{}", what,
                             where, owner_str(st.st_uid), owner_str(me), kHow));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    refuse(path, fmt::format("refused: {} {} is writable by {} (mode {:04o}; chmod go-w {}){}",
                             what, where,
                             (st.st_mode & S_IWOTH)
                                 ? ((st.st_mode & S_IWGRP) ? "its group and others" : "others")
                                 : "its group",
                             st.st_mode & 07777, where, kHow));
}

}  // namespace

bool trust_plugin_path_from_env() {
  const char* v = std::getenv("KANT_TRUST_PLUGIN_PATH");
  return v && std::string(v) == "1";
}

void check_plugin_trust(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    refuse(path.string(), fmt::format("cannot stat it: {}", std::strerror(errno)));
  check_mode(st, "the file", path.string(), path.string());
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0)
    refuse(path.string(), fmt::format("cannot stat its folder: {}", std::strerror(errno)));
  check_mode(dst, "its folder", dir.string(), path.string());
}

PluginNoteFields read_plugin_note(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) refuse(path, fmt::format("cannot stat it: {}", std::strerror(errno)));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  Elf64_Ehdr eh{};
  unsigned char ident[EI_NIDENT] = {};
  if (size < EI_NIDENT) refuse(path, "cannot be loaded: not an ELF file (too short)");
  read_at(fd, 0, ident, EI_NIDENT, size, path, "identification");
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) refuse(path, "cannot be loaded: not an ELF file");
  if (ident[EI_CLASS] != ELFCLASS64)
    refuse(path, "cannot be loaded: a 32-bit ELF file, this kant is 64-bit");
  if (ident[EI_DATA] != ELFDATA2LSB)
    refuse(path, "cannot be loaded: a big-endian ELF file, this machine is little-endian");
  read_at(fd, 0, &eh, sizeof eh, size, path, "ELF header");
  if (eh.e_type != ET_DYN)
    refuse(path, fmt::format("cannot be loaded: not a shared library (ELF type {})", eh.e_type));
  if (eh.e_machine != kHostMachine)
    refuse(path, fmt::format(
                     "cannot be loaded: built for another machine (ELF machine {}, this one is {})",
                     eh.e_machine, kHostMachine));
  if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr))
    refuse(path, "malformed ELF file: no section header table");
  // section count and name table index, with the extended forms for ≥ 0xff00 sections
  Elf64_Shdr first{};
  read_at(fd, eh.e_shoff, &first, sizeof first, size, path, "section header table");
  const uint64_t count = eh.e_shnum ? eh.e_shnum : first.sh_size;
  const uint64_t names_index = eh.e_shstrndx == SHN_XINDEX ? first.sh_link : eh.e_shstrndx;
  if (count == 0 || count > kMaxSections || names_index >= count)
    refuse(path,
           fmt::format("malformed ELF file: {} sections, names in section {}", count, names_index));
  std::vector<Elf64_Shdr> sections(count);
  read_at(fd, eh.e_shoff, sections.data(), count * sizeof(Elf64_Shdr), size, path,
          "section header table");
  const Elf64_Shdr& names_header = sections[names_index];
  if (names_header.sh_type != SHT_STRTAB || names_header.sh_size > kMaxSectionNames)
    refuse(path, "malformed ELF file: bad section name table");
  std::vector<char> names(names_header.sh_size + 1,
                          '\0');  // NUL-terminated even if the file is not
  read_at(fd, names_header.sh_offset, names.data(), names_header.sh_size, size, path,
          "section name table");

  const Elf64_Shdr* note = nullptr;
  for (const Elf64_Shdr& s : sections) {
    if (s.sh_name >= names_header.sh_size ||
        std::strcmp(names.data() + s.sh_name, kPluginNoteSection) != 0)
      continue;
    if (note) refuse(path, fmt::format("malformed plugin: two {} sections", kPluginNoteSection));
    note = &s;
  }
  if (!note)
    refuse(
        path,
        fmt::format(
            "not a Kantorovich plugin (no ELF note section {}; define the plugin with KANT_PLUGIN "
            "from kant/plugin.hpp)",
            kPluginNoteSection));
  if (note->sh_type != SHT_NOTE || note->sh_size > kMaxNoteBytes)
    refuse(path, fmt::format("malformed plugin: section {} is not an ELF note of at most {} bytes",
                             kPluginNoteSection, kMaxNoteBytes));
  std::vector<char> bytes(note->sh_size);
  read_at(fd, note->sh_offset, bytes.data(), bytes.size(), size, path, "plugin note");
  // the section may hold several notes; ours has the name "Kantorovich" and type 1
  for (uint64_t at = 0; at + 12 <= bytes.size();) {
    uint32_t hdr[3];
    std::memcpy(hdr, bytes.data() + at, sizeof hdr);
    const uint64_t name_at = at + 12, desc_at = name_at + align4(hdr[0]),
                   end = desc_at + align4(hdr[1]);
    if (end > bytes.size()) break;
    if (hdr[0] == sizeof kPluginNoteName && hdr[2] == kPluginNoteType &&
        std::memcmp(bytes.data() + name_at, kPluginNoteName, sizeof kPluginNoteName) == 0) {
      if (hdr[1] < 9) break;
      uint32_t magic, abi;
      std::memcpy(&magic, bytes.data() + desc_at, 4);
      std::memcpy(&abi, bytes.data() + desc_at + 4, 4);
      if (magic != kPluginNoteMagic) break;
      const char* tag = bytes.data() + desc_at + 8;
      const size_t tag_room = hdr[1] - 8;
      const size_t tag_len = strnlen(tag, tag_room);
      if (tag_len == tag_room)
        refuse(path, "malformed plugin note: the ABI tag is not NUL-terminated");
      return {abi, std::string(tag, tag_len)};
    }
    at = end;
  }
  refuse(path,
         fmt::format("malformed plugin: section {} holds no Kantorovich note with the magic 'KANT'",
                     kPluginNoteSection));
}

}  // namespace kant
