// The words of a cell's status (see store/cell_status.hpp): the one place they are spelt.
#include "store/cell_status.hpp"

#include <array>
#include <utility>

namespace kant {
namespace {

const std::array<std::pair<CellStatus, std::string>, 6>& words() {
  static const std::array<std::pair<CellStatus, std::string>, 6> w{{
      {CellStatus::complete, "complete"},
      {CellStatus::diverged, "diverged"},
      {CellStatus::failed, "failed"},
      {CellStatus::elsewhere, "elsewhere"},
      {CellStatus::interrupted, "interrupted"},
      {CellStatus::stopped, "stopped"},
  }};
  return w;
}

}  // namespace

const std::string& to_string(CellStatus status) {
  for (const auto& [s, word] : words())
    if (s == status) return word;
  return words()[static_cast<size_t>(CellStatus::failed)].second;  // not reached
}

std::optional<CellStatus> parse_cell_status(std::string_view word) {
  for (const auto& [s, w] : words())
    if (w == word) return s;
  return std::nullopt;
}

}  // namespace kant
