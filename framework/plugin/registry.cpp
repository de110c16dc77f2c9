// Plugin host: checks plugin files (trust rules, ELF note) before loading them with Boost.DLL,
// checks the ABI again through the entry symbol, collects registrations.
#include "plugin/registry.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kant/error.hpp"
#include "plugin/plugin_file.hpp"

namespace kant {
namespace fs = std::filesystem;

bool stored_name_matches(const std::string& documented, const std::string& name) {
  const size_t open = documented.find('<');
  if (open == std::string::npos) return documented == name;
  const size_t close = documented.find('>', open);
  const std::string prefix = documented.substr(0, open);
  const std::string suffix = close == std::string::npos ? "" : documented.substr(close + 1);
  return name.size() > prefix.size() + suffix.size() &&
         name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::architecture:
      return "architecture";
    case Kind::dataset:
      return "dataset";
    case Kind::objective:
      return "objective";
    case Kind::lipschitz:
      return "lipschitz";
    case Kind::optimizer:
      return "optimizer";
    case Kind::metric:
      return "metric";
    case Kind::procedure:
      return "procedure";
  }
  return "?";
}

namespace {

// Boost.DLL clears dlerror(); a second, diagnostic dlopen recovers the loader's reason.
std::string loader_reason(const fs::path& file) {
  void* h = dlopen(file.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (h) {
    dlclose(h);
    return "unknown loader error";
  }
  const char* e = dlerror();
  return e ? e : "unknown loader error";
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

// The folder of this library (libkant_plugin.so), where an installed tree keeps its plugins
// below: <libdir>/kantorovich/plugins.
fs::path library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&kind_name), &info) == 0 || !info.dli_fname) return {};
  std::error_code ec;
  fs::path lib = fs::canonical(info.dli_fname, ec);
  return ec ? fs::path() : lib.parent_path();
}

}  // namespace

std::vector<fs::path> Registry::default_search_path() {
  std::vector<fs::path> dirs;
  const fs::path lib_dir = library_dir();
  std::error_code ec;
  if (!lib_dir.empty() && fs::is_directory(lib_dir / "kantorovich" / "plugins", ec)) {
    dirs.push_back(lib_dir / "kantorovich" / "plugins");  // installed: only its own plugins
  } else {
    fs::path exe_dir = executable_dir();
    if (!exe_dir.empty()) dirs.push_back(exe_dir / "plugins");  // build tree
    dirs.emplace_back(KANT_DEFAULT_PLUGIN_DIR);
  }
  if (const char* extra = std::getenv("KANT_PLUGIN_PATH")) {
    std::string s = extra;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) dirs.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  // the same folder reached twice (build tree and compiled-in default) is loaded once
  std::vector<fs::path> unique;
  for (const fs::path& d : dirs) {
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(d, ec);
    if (ec) canon = d;
    if (std::find(unique.begin(), unique.end(), canon) == unique.end()) unique.push_back(canon);
  }
  return unique;
}

Registry Registry::load_default() {
  Registry r;
  for (const fs::path& d : default_search_path()) r.load_directory(d);
  return r;
}

void Registry::load_directory(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());  // deterministic load order
  for (const fs::path& f : files) load_library(f);
}

void Registry::load_library(const fs::path& file) {
  const std::string path = file.string();
  // Before any of its code runs: the file is opened once, checked against the trust rules and
  // for its ELF note; only then does the dynamic loader see it (and run its constructors).
  std::error_code canon_ec;
  const fs::path real = fs::canonical(file, canon_ec);
  if (canon_ec)
    throw PluginError(fmt::format("plugin {}: cannot be loaded: {}", path, canon_ec.message()));
  const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    throw PluginError(fmt::format("plugin {}: cannot be loaded: {}", path, std::strerror(errno)));
  PluginNoteFields note;
  try {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      throw PluginError(fmt::format("plugin {}: cannot be loaded: not a regular file", path));
    if (!trust_path_) check_plugin_trust(fd, real);
    note = read_plugin_note(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (note.abi_version != kAbiVersion)
    throw PluginError(fmt::format(
        "plugin {}: built for Kantorovich ABI {}, this kant has ABI {}; rebuild the plugin "
        "against the installed headers; not loaded",
        path, note.abi_version, kAbiVersion));
  if (note.abi_tag != KANT_ABI_TAG)
    throw PluginError(
        fmt::format("plugin {}: built with '{}', this kant with '{}'; rebuild it with the same "
                    "compiler; not loaded",
                    path, note.abi_tag, KANT_ABI_TAG));

  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  lib->load(real, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, ec);
  if (ec)
    throw PluginError(fmt::format("plugin {}: cannot be loaded: {}", path, loader_reason(real)));
  if (!lib->has(kPluginEntrySymbol))
    throw PluginError(fmt::format(
        "plugin {}: not a Kantorovich plugin (no entry symbol '{}'; define it with KANT_PLUGIN)",
        path, kPluginEntrySymbol));
  const PluginInfo* info = lib->get<const PluginInfo*()>(kPluginEntrySymbol)();
  if (info == nullptr)
    throw PluginError(fmt::format("plugin {}: entry symbol returned null", path));
  if (info->abi_version != note.abi_version || info->abi_tag == nullptr ||
      note.abi_tag != info->abi_tag)
    throw PluginError(
        fmt::format("plugin {}: its entry symbol declares ABI {}, its ELF note ABI {}: a "
                    "hand-made or damaged plugin",
                    path, info->abi_version, note.abi_version));

  Registrar registrar;
  try {
    info->register_components(registrar);
  } catch (const std::exception& e) {
    throw PluginError(
        fmt::format("plugin {}: registering its components failed: {}", path, e.what()));
  }
  std::vector<std::unique_ptr<Component>> added;
  for (const Registration& r : registrar.items()) {
    if (r.name.empty()) throw PluginError(fmt::format("plugin {}: a component has no name", path));
    auto clash = [&](const std::unique_ptr<Component>& c) {
      return c->kind() == r.kind() && c->name() == r.name;
    };
    auto prev = std::find_if(components_.begin(), components_.end(), clash);
    if (prev == components_.end()) prev = std::find_if(added.begin(), added.end(), clash);
    if (prev != components_.end() && prev != added.end())
      throw PluginError(fmt::format("plugin {}: {} '{}' is already registered by {}", path,
                                    kind_name(r.kind()), r.name, (*prev)->library_path));
    auto c = std::make_unique<Component>();
    c->library = lib;
    c->library_path = path;
    c->library_name = info->name;
    c->registration = r;
    added.push_back(std::move(c));
  }
  for (auto& c : added) components_.push_back(std::move(c));
}

const Component* Registry::find(Kind kind, const std::string& name) const {
  for (const auto& c : components_)
    if (c->kind() == kind && c->name() == name) return c.get();
  return nullptr;
}

std::vector<const Component*> Registry::list(const Kind* kind) const {
  std::vector<const Component*> out;
  for (const auto& c : components_)
    if (!kind || c->kind() == *kind) out.push_back(c.get());
  std::sort(out.begin(), out.end(), [](const Component* a, const Component* b) {
    return std::pair(static_cast<int>(a->kind()), a->name()) <
           std::pair(static_cast<int>(b->kind()), b->name());
  });
  return out;
}

std::vector<std::string> Registry::names(Kind kind) const {
  std::vector<std::string> out;
  for (const Component* c : list(&kind)) out.push_back(c->name());
  return out;
}

void Registry::rethrow_factory_error(const Component& c) {
  std::string what = "wrong factory type for its kind";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
      what = "unknown exception";
    }
  }
  throw PluginError(fmt::format("{} '{}' (plugin {}) could not be created: {}", kind_name(c.kind()),
                                c.name(), c.library_path, what));
}

}  // namespace kant
