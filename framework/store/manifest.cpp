// The results folder's manifest (cells.yaml, written atomically) and the cells it lists.
#include "store/manifest.hpp"

#include <fmt/format.h>

#include "kant/error.hpp"
#include "store/atomic_file.hpp"

namespace kant {
namespace fs = std::filesystem;

void write_manifest(const fs::path& dir, const std::string& name, const std::vector<std::string>& axes,
                    const ConfigNode& report, const ConfigNode& reference,
                    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>& cells) {
  ConfigNode m = ConfigNode::make_map();
  m.set("experiment", ConfigNode::make_scalar(name));
  ConfigNode ax = ConfigNode::make_sequence();
  for (const std::string& a : axes) ax.items.push_back(ConfigNode::make_scalar(a));
  m.set("axes", ax);
  if (report.type != ConfigNode::Type::null) m.set("report", report);
  if (reference.type != ConfigNode::Type::null) m.set("reference", reference);
  ConfigNode list = ConfigNode::make_sequence();
  for (const auto& [id, labels] : cells) {
    ConfigNode c = ConfigNode::make_map();
    c.set("id", ConfigNode::make_scalar(id));
    for (const auto& [k, v] : labels) {
      ConfigNode s = ConfigNode::make_scalar(v);
      s.quoted = true;
      c.set(k, s);
    }
    list.items.push_back(c);
  }
  m.set("cells", list);
  fs::create_directories(dir);
  write_file_atomically(dir / "cells.yaml", "# Cells of the latest expansion of this experiment (written by kant run).\n" +
                                                emit_yaml(m, false));
}

Manifest read_manifest(const fs::path& dir) {
  const fs::path file = dir / "cells.yaml";
  if (!fs::exists(file))
    throw InputError(fmt::format("{}: no cells.yaml here: not a results folder written by kant run", dir.string()));
  ConfigNode m = load_yaml_file(file);
  Manifest out;
  if (const ConfigNode* n = m.find("experiment")) out.name = n->scalar;
  if (const ConfigNode* a = m.find("axes"))
    for (const ConfigNode& i : a->items) out.axes.push_back(i.scalar);
  if (const ConfigNode* r = m.find("report")) out.report = *r;
  if (const ConfigNode* r = m.find("reference")) out.reference = *r;
  if (const ConfigNode* c = m.find("cells"))
    for (const ConfigNode& i : c->items)
      if (const ConfigNode* id = i.find("id")) out.cell_ids.push_back(id->scalar);
  return out;
}

std::vector<CellSummary> load_cells(const fs::path& dir, std::vector<std::string>& problems) {
  Manifest m = read_manifest(dir);
  std::vector<CellSummary> cells;
  for (const std::string& id : m.cell_ids) {
    const fs::path file = cell_path(dir, id);
    if (!fs::exists(file)) {
      problems.push_back(fmt::format("{}: missing (not run yet?)", file.string()));
      continue;
    }
    try {
      cells.push_back(read_cell_summary(file));
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return cells;
}

}  // namespace kant
