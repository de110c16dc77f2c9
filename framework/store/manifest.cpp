// The results folder's manifest (cells.yaml, written atomically) and the cells it lists.
#include "store/manifest.hpp"

#include <fmt/format.h>

#include "kant/error.hpp"
#include "store/atomic_file.hpp"

namespace kant {
namespace fs = std::filesystem;

namespace {

ConfigNode string_list(const std::vector<std::string>& items) {
  ConfigNode list = ConfigNode::make_sequence();
  for (const std::string& i : items) {
    ConfigNode s = ConfigNode::make_scalar(i);
    s.quoted = true;
    list.items.push_back(s);
  }
  return list;
}

std::vector<std::string> strings_of(const ConfigNode* list) {
  std::vector<std::string> out;
  if (list)
    for (const ConfigNode& i : list->items) out.push_back(i.scalar);
  return out;
}

}  // namespace

void write_manifest(const fs::path& dir, const Manifest& manifest) {
  ConfigNode m = ConfigNode::make_map();
  m.set("experiment", ConfigNode::make_scalar(manifest.name));
  ConfigNode ax = ConfigNode::make_sequence();
  for (const std::string& a : manifest.axes) ax.items.push_back(ConfigNode::make_scalar(a));
  m.set("axes", ax);
  if (manifest.report.type != ConfigNode::Type::null) m.set("report", manifest.report);
  if (manifest.reference.type != ConfigNode::Type::null) m.set("reference", manifest.reference);
  ConfigNode run = ConfigNode::make_map();
  if (!manifest.run.file.empty()) {
    ConfigNode file = ConfigNode::make_scalar(manifest.run.file);
    file.quoted = true;
    run.set("file", file);
  }
  if (!manifest.run.sets.empty()) run.set("set", string_list(manifest.run.sets));
  if (!manifest.run.sweeps.empty()) run.set("sweep", string_list(manifest.run.sweeps));
  if (!manifest.run.profile.empty())
    run.set("profile", ConfigNode::make_scalar(manifest.run.profile));
  m.set("run", run);
  ConfigNode list = ConfigNode::make_sequence();
  for (size_t i = 0; i < manifest.cell_ids.size(); ++i) {
    ConfigNode c = ConfigNode::make_map();
    c.set("id", ConfigNode::make_scalar(manifest.cell_ids[i]));
    if (i < manifest.cell_labels.size())
      for (const auto& [k, v] : manifest.cell_labels[i]) {
        ConfigNode s = ConfigNode::make_scalar(v);
        s.quoted = true;
        c.set(k, s);
      }
    list.items.push_back(c);
  }
  m.set("cells", list);
  fs::create_directories(dir);
  write_file_atomically(
      dir / "cells.yaml",
      "# Cells of the latest expansion of this experiment (written by kant run).\n" +
          emit_yaml(m, false));
}

void write_manifest(
    const fs::path& dir, const std::string& name, const std::vector<std::string>& axes,
    const ConfigNode& report, const ConfigNode& reference,
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>&
        cells) {
  Manifest m;
  m.name = name;
  m.axes = axes;
  m.report = report;
  m.reference = reference;
  for (const auto& [id, labels] : cells) {
    m.cell_ids.push_back(id);
    m.cell_labels.push_back(labels);
  }
  write_manifest(dir, m);
}

Manifest read_manifest(const fs::path& dir) {
  const fs::path file = dir / "cells.yaml";
  if (!fs::exists(file))
    throw InputError(fmt::format("{}: no cells.yaml here: not a results folder written by kant run",
                                 dir.string()));
  ConfigNode m = load_yaml_file(file);
  Manifest out;
  if (const ConfigNode* n = m.find("experiment")) out.name = n->scalar;
  if (const ConfigNode* a = m.find("axes"))
    for (const ConfigNode& i : a->items) out.axes.push_back(i.scalar);
  if (const ConfigNode* r = m.find("report")) out.report = *r;
  if (const ConfigNode* r = m.find("reference")) out.reference = *r;
  if (const ConfigNode* r = m.find("run")) {
    if (const ConfigNode* f = r->find("file")) out.run.file = f->scalar;
    out.run.sets = strings_of(r->find("set"));
    out.run.sweeps = strings_of(r->find("sweep"));
    if (const ConfigNode* f = r->find("profile")) out.run.profile = f->scalar;
  }
  if (const ConfigNode* c = m.find("cells"))
    for (const ConfigNode& i : c->items)
      if (const ConfigNode* id = i.find("id")) {
        out.cell_ids.push_back(id->scalar);
        std::vector<std::pair<std::string, std::string>> labels;
        for (const ConfigEntry& e : i.entries)
          if (e.key != "id") labels.emplace_back(e.key, e.value.scalar);
        out.cell_labels.push_back(std::move(labels));
      }
  return out;
}

std::vector<CellSummary> load_cells(const fs::path& dir, std::vector<std::string>& problems) {
  return load_cells(dir, read_manifest(dir), problems);
}

std::vector<CellSummary> load_cells(const fs::path& dir, const Manifest& m,
                                    std::vector<std::string>& problems) {
  std::vector<CellSummary> cells;
  for (size_t i = 0; i < m.cell_ids.size(); ++i) {
    const fs::path file = cell_path(dir, m.cell_ids[i]);
    if (!fs::exists(file)) {
      problems.push_back(fmt::format("{}: missing (not run yet?)", file.string()));
      continue;
    }
    try {
      cells.push_back(read_cell_summary(file));
      if (i < m.cell_labels.size() && !m.cell_labels[i].empty())
        cells.back().labels = m.cell_labels[i];
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return cells;
}

}  // namespace kant
