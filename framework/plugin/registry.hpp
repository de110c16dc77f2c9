// The plugin host: finds plugin libraries, checks their ABI, and creates components by name.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kant/plugin.hpp"
#include "plugin/plugin_file.hpp"

namespace kant {

/// A registered component and the library it came from (kept loaded while it is used).
struct Component {
  std::shared_ptr<void> library;  ///< declared first: released last
  std::string library_path;
  std::string library_name;
  Registration registration;

  Kind kind() const { return registration.kind(); }
  const std::string& name() const { return registration.name; }
  const Schema& schema() const { return registration.schema; }
};

class Registry {
 public:
  /// Loads every plugin library on the default path: the build tree's plugins folder, the
  /// folder beside the installed `kant`, then each folder of $KANT_PLUGIN_PATH (':'-separated).
  static Registry load_default();
  /// Directories load_default() searches, in order.
  static std::vector<std::filesystem::path> default_search_path();

  /// Loads every lib*.so / *.so directly in `dir`. A missing directory is skipped.
  void load_directory(const std::filesystem::path& dir);
  /// Loads one plugin library; throws PluginError naming the file on any problem. Before the
  /// dynamic loader sees the file: unless the path is trusted, the file and its folder must
  /// be owned by the user or root and writable by nobody else; and the file must carry the
  /// Kantorovich ELF note of this ABI (read from the file, so a foreign library's code never
  /// runs).
  void load_library(const std::filesystem::path& file);
  /// Skips the ownership and permission checks (`kant --trust-plugin-path`); the default is
  /// $KANT_TRUST_PLUGIN_PATH == "1". The ELF note is checked either way.
  void trust_plugin_path(bool trust) { trust_path_ = trust; }

  /// The component, or nullptr.
  const Component* find(Kind kind, const std::string& name) const;
  /// Components of one kind (all kinds when null), sorted by kind then name.
  std::vector<const Component*> list(const Kind* kind = nullptr) const;
  /// Names of one kind, for "did you mean" hints.
  std::vector<std::string> names(Kind kind) const;
  /// Versions of the components used, as "kind/name" → "version (library file)".
  const std::vector<std::unique_ptr<Component>>& components() const { return components_; }

  /// Calls the component's factory; the object keeps its library loaded. A factory that
  /// throws becomes a PluginError naming the component and its library.
  template <typename T, typename FactoryT, typename... Args>
  std::shared_ptr<T> create(const Component& c, Args&&... args) const;

 private:
  std::vector<std::unique_ptr<Component>> components_;
  bool trust_path_ = trust_plugin_path_from_env();
  [[noreturn]] static void rethrow_factory_error(const Component& c);
};

template <typename T, typename FactoryT, typename... Args>
std::shared_ptr<T> Registry::create(const Component& c, Args&&... args) const {
  const FactoryT* factory = std::get_if<FactoryT>(&c.registration.factory);
  if (!factory) rethrow_factory_error(c);
  std::unique_ptr<T> object;
  try {
    object = (*factory)(std::forward<Args>(args)...);
  } catch (...) {
    rethrow_factory_error(c);
  }
  std::shared_ptr<void> keep = c.library;
  return std::shared_ptr<T>(object.release(), [keep](T* p) { delete p; });
}

}  // namespace kant
