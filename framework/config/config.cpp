// YAML → ConfigNode with marks (via yaml-cpp), emission, merging, dotted paths, hints.
#include "config/config.hpp"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "config/limits.hpp"

namespace kant {

std::string Mark::str() const {
  std::string src = source ? *source : "<config>";
  if (line <= 0) return src;
  return fmt::format("{}:{}:{}", src, line, column);
}

ConfigError::ConfigError(const Mark& mark, const std::string& message)
    : InputError(fmt::format("{}: error: {}", mark.str(), message)) {}

const ConfigNode* ConfigNode::find(const std::string& key) const {
  for (const ConfigEntry& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

ConfigNode* ConfigNode::find(const std::string& key) {
  for (ConfigEntry& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

void ConfigNode::set(const std::string& key, ConfigNode value, Mark key_mark) {
  if (type != Type::map) {
    type = Type::map;
    scalar.clear();
    items.clear();
  }
  if (ConfigNode* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  entries.push_back({key, std::move(key_mark), std::move(value)});
}

void ConfigNode::erase(const std::string& key) {
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&](const ConfigEntry& e) { return e.key == key; }),
                entries.end());
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> k;
  for (const ConfigEntry& e : entries) k.push_back(e.key);
  return k;
}

ConfigNode ConfigNode::make_scalar(std::string text, Mark mark) {
  ConfigNode n;
  n.type = Type::scalar;
  n.scalar = std::move(text);
  n.mark = std::move(mark);
  return n;
}

ConfigNode ConfigNode::make_map(Mark mark) {
  ConfigNode n;
  n.type = Type::map;
  n.mark = std::move(mark);
  return n;
}

ConfigNode ConfigNode::make_sequence(Mark mark) {
  ConfigNode n;
  n.type = Type::sequence;
  n.mark = std::move(mark);
  return n;
}

namespace {

Mark mark_of(const YAML::Mark& m, const std::shared_ptr<const std::string>& source) {
  Mark mark;
  mark.source = source;
  if (m.line >= 0) {
    mark.line = m.line + 1;
    mark.column = m.column + 1;
  }
  return mark;
}

// yaml-cpp shares an anchored node among its aliases; converting expands each use into a
// tree of its own, so the conversion counts nodes as it goes and stops an alias bomb (a few
// hundred bytes that expand to billions of nodes) at the limit, long before memory runs out.
class Converter {
 public:
  explicit Converter(std::shared_ptr<const std::string> source)
      : source_(std::move(source)),
        max_nodes_(limits::yaml_nodes.value()),
        max_depth_(limits::yaml_depth.value()),
        max_string_(limits::string_bytes.value()) {}

  ConfigNode convert(const YAML::Node& y, uint64_t depth) {
    ConfigNode n;
    n.mark = mark_of(y.Mark(), source_);
    if (++nodes_ > max_nodes_) throw ConfigError(n.mark, limits::yaml_nodes.exceeded(""));
    switch (y.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        n.type = ConfigNode::Type::null;
        break;
      case YAML::NodeType::Scalar:
        n.type = ConfigNode::Type::scalar;
        check_string(y.Scalar(), n.mark);
        n.scalar = y.Scalar();
        n.quoted = y.Tag() == "!";
        break;
      case YAML::NodeType::Sequence:
        n.type = ConfigNode::Type::sequence;
        check_depth(depth, n.mark);
        for (const YAML::Node& item : y) n.items.push_back(convert(item, depth + 1));
        break;
      case YAML::NodeType::Map: {
        n.type = ConfigNode::Type::map;
        check_depth(depth, n.mark);
        std::unordered_set<std::string> keys;  // ConfigNode::find is linear: large maps need this
        for (const auto& kv : y) {
          Mark key_mark = mark_of(kv.first.Mark(), source_);
          if (!kv.first.IsScalar()) throw ConfigError(key_mark, "map keys must be plain names");
          check_string(kv.first.Scalar(), key_mark);
          std::string key = kv.first.Scalar();
          if (!keys.insert(key).second)
            throw ConfigError(key_mark, fmt::format("duplicate key '{}'", key));
          n.entries.push_back({key, key_mark, convert(kv.second, depth + 1)});
        }
        break;
      }
    }
    return n;
  }

 private:
  void check_depth(uint64_t depth, const Mark& mark) const {
    if (depth >= max_depth_) throw ConfigError(mark, limits::yaml_depth.exceeded(""));
  }
  void check_string(const std::string& s, const Mark& mark) const {
    if (s.size() > max_string_)
      throw ConfigError(mark, limits::string_bytes.exceeded(std::to_string(s.size())));
  }

  std::shared_ptr<const std::string> source_;
  uint64_t max_nodes_, max_depth_, max_string_;
  uint64_t nodes_ = 0;
};

void emit(YAML::Emitter& out, const ConfigNode& n, bool sort_keys) {
  switch (n.type) {
    case ConfigNode::Type::null:
      out << YAML::Null;
      break;
    case ConfigNode::Type::scalar:
      if (n.quoted) out << YAML::DoubleQuoted;
      out << n.scalar;
      break;
    case ConfigNode::Type::sequence: {
      bool flat = std::all_of(n.items.begin(), n.items.end(),
                              [](const ConfigNode& c) { return !c.is_map() && !c.is_sequence(); });
      if (flat) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const ConfigNode& item : n.items) emit(out, item, sort_keys);
      out << YAML::EndSeq;
      break;
    }
    case ConfigNode::Type::map: {
      std::vector<const ConfigEntry*> entries;
      for (const ConfigEntry& e : n.entries) entries.push_back(&e);
      if (sort_keys)
        std::sort(entries.begin(), entries.end(),
                  [](const ConfigEntry* a, const ConfigEntry* b) { return a->key < b->key; });
      out << YAML::BeginMap;
      for (const ConfigEntry* e : entries) {
        out << YAML::Key << e->key << YAML::Value;
        emit(out, e->value, sort_keys);
      }
      out << YAML::EndMap;
      break;
    }
  }
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

ConfigNode parse_yaml(const std::string& text, const std::string& source_name) {
  auto source = std::make_shared<const std::string>(source_name);
  if (text.size() > limits::yaml_bytes.value())
    throw ConfigError(Mark{source, 0, 0}, limits::yaml_bytes.exceeded(std::to_string(text.size())));
  try {
    return Converter(source).convert(YAML::Load(text), 0);
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp's own guard, beyond ours
    throw ConfigError(mark_of(e.mark, source), limits::yaml_depth.exceeded(""));
  } catch (const YAML::Exception& e) {
    throw ConfigError(mark_of(e.mark, source), e.msg);
  }
}

ConfigNode load_yaml_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: error: cannot open the file", file.string()));
  // read at most one byte more than the limit: parse_yaml names the limit
  const uint64_t cap = limits::yaml_bytes.value();
  std::string text;
  char buf[1 << 16];
  while (text.size() <= cap && in.read(buf, sizeof buf).gcount() > 0)
    text.append(buf, static_cast<size_t>(in.gcount()));
  if (in.bad()) throw InputError(fmt::format("{}: error: cannot read the file", file.string()));
  return parse_yaml(text, file.string());
}

std::string emit_yaml(const ConfigNode& node, bool sort_keys) {
  YAML::Emitter out;
  emit(out, node, sort_keys);
  return std::string(out.c_str()) + "\n";
}

std::string flow_text(const ConfigNode& node) {
  if (node.is_scalar()) return node.scalar;
  YAML::Emitter out;
  out << YAML::Flow;
  emit(out, node, false);
  return out.c_str();
}

void merge_into(ConfigNode& base, const ConfigNode& overlay) {
  // A block that switches to another plugin starts afresh: parameters of the old plugin
  // would not fit the new one.
  auto plugin_of = [](const ConfigNode& n) -> const ConfigNode* {
    return n.is_map() ? n.find("plugin") : n.is_scalar() ? &n : nullptr;
  };
  const ConfigNode* base_plugin = plugin_of(base);
  const ConfigNode* new_plugin = overlay.is_map() ? overlay.find("plugin") : nullptr;
  if (base_plugin && new_plugin && base_plugin->scalar != new_plugin->scalar) {
    base = overlay;
    return;
  }
  // So does a schedule ({schedule: KIND, …}) that replaces a number or another kind of
  // schedule: the old one's keys would not fit it.
  const ConfigNode* new_schedule = overlay.is_map() ? overlay.find("schedule") : nullptr;
  const ConfigNode* base_schedule = base.is_map() ? base.find("schedule") : nullptr;
  if (new_schedule && (base.is_scalar() ||
                       (base_schedule && base_schedule->is_scalar() && new_schedule->is_scalar() &&
                        base_schedule->scalar != new_schedule->scalar))) {
    base = overlay;
    return;
  }
  if (base.is_scalar() && overlay.is_map() && !new_plugin) {  // shorthand + parameters
    ConfigNode shorthand = base;
    base = ConfigNode::make_map(shorthand.mark);
    base.set("plugin", shorthand, shorthand.mark);
  }
  if (base.is_map() && overlay.is_map()) {
    // key → position in base (a linear search per key would be quadratic in large maps)
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < base.entries.size(); ++i) index.emplace(base.entries[i].key, i);
    for (const ConfigEntry& e : overlay.entries) {
      auto it = index.find(e.key);
      if (it != index.end()) {
        merge_into(base.entries[it->second].value, e.value);
      } else {
        index.emplace(e.key, base.entries.size());
        base.entries.push_back(e);
      }
    }
    return;
  }
  base = overlay;
}

void set_path(ConfigNode& root, const std::string& dotted, const ConfigNode& value,
              const Mark& mark) {
  const uint64_t parts = 1 + static_cast<uint64_t>(std::count(dotted.begin(), dotted.end(), '.'));
  if (parts > limits::yaml_depth.value())
    throw ConfigError(mark, fmt::format("key '{}…' is {} levels deep: {}", dotted.substr(0, 40),
                                        parts, limits::yaml_depth.exceeded(std::to_string(parts))));
  ConfigNode* node = &root;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string key =
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError(mark, fmt::format("malformed key '{}'", dotted));
    if (node->is_scalar()) {  // plugin shorthand "objective: wasserstein"
      ConfigNode shorthand = *node;
      *node = ConfigNode::make_map(shorthand.mark);
      node->set("plugin", shorthand, shorthand.mark);
    } else if (!node->is_map()) {
      if (node->type != ConfigNode::Type::null)
        throw ConfigError(mark, fmt::format("'{}': '{}' is not a map", dotted, key));
      *node = ConfigNode::make_map(mark);
    }
    if (dot == std::string::npos) {
      node->set(key, value, mark);
      return;
    }
    if (!node->find(key)) node->set(key, ConfigNode::make_map(mark), mark);
    node = node->find(key);
    start = dot + 1;
  }
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  constexpr size_t kLongest = 256;  // no hint for longer words: the edit distance is quadratic
  if (word.size() > kLongest) return "";
  std::string best;
  size_t best_d = std::string::npos;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  if (best.empty() || best_d > std::max<size_t>(2, word.size() / 3)) return "";
  return fmt::format(" (did you mean '{}'?)", best);
}

}  // namespace kant
