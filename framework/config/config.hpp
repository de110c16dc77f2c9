// Config trees read from YAML that keep file:line:column marks through merges and overrides,
// so every validation error can point at the text the user wrote.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kant/error.hpp"

namespace kant {

/// Where a config value came from: a file position (1-based) or a command-line argument.
struct Mark {
  std::shared_ptr<const std::string> source;  ///< file path or "--set ..."
  int line = 0;                               ///< 0: no position (whole source)
  int column = 0;
  /// "file.yaml:12:5", or the source alone without a position.
  std::string str() const;
};

/// A config error: "file:line:column: error: message".
class ConfigError : public InputError {
 public:
  ConfigError(const Mark& mark, const std::string& message);
};

struct ConfigEntry;

/// A YAML value: null, scalar, sequence or map (map order preserved).
struct ConfigNode {
  enum class Type { null, scalar, sequence, map };
  Type type = Type::null;
  std::string scalar;
  bool quoted = false;  ///< a quoted scalar is always a string
  Mark mark;
  std::vector<ConfigNode> items;
  std::vector<ConfigEntry> entries;

  bool is_map() const { return type == Type::map; }
  bool is_sequence() const { return type == Type::sequence; }
  bool is_scalar() const { return type == Type::scalar; }
  /// The entry's value, or nullptr.
  const ConfigNode* find(const std::string& key) const;
  ConfigNode* find(const std::string& key);
  /// Sets (replacing or appending) a map entry.
  void set(const std::string& key, ConfigNode value, Mark key_mark = {});
  /// Removes a map entry if present.
  void erase(const std::string& key);
  std::vector<std::string> keys() const;

  static ConfigNode make_scalar(std::string text, Mark mark = {});
  static ConfigNode make_map(Mark mark = {});
  static ConfigNode make_sequence(Mark mark = {});
};

struct ConfigEntry {
  std::string key;
  Mark key_mark;
  ConfigNode value;
};

/// Parses a YAML file; syntax errors and duplicate keys are ConfigErrors with a position.
ConfigNode load_yaml_file(const std::filesystem::path& file);
/// Parses YAML text; `source` names it in marks.
ConfigNode parse_yaml(const std::string& text, const std::string& source);
/// Block-style YAML text of a node (map keys sorted when `sort_keys`).
std::string emit_yaml(const ConfigNode& node, bool sort_keys);
/// Flow-style one-line text of a node ("[1, 2]", "{a: 1}"), for labels.
std::string flow_text(const ConfigNode& node);

/// Merges `overlay` into `base`: maps merge key by key, anything else replaces; so do a map whose
/// `plugin` differs from base's, and a {schedule: KIND} over a number or another KIND.
void merge_into(ConfigNode& base, const ConfigNode& overlay);
/// Sets the value at a dotted path ("optimizer.lr"), creating maps on the way. A scalar
/// found where a map is needed is a plugin shorthand and becomes {plugin: scalar}.
void set_path(ConfigNode& root, const std::string& dotted, const ConfigNode& value,
              const Mark& mark);

/// " (did you mean 'x'?)" for the closest candidate within a small edit distance, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kant
