// The caps on input sizes and their environment overrides (see limits.hpp).
#include "config/limits.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "kant/error.hpp"

namespace kant {

uint64_t Limit::value() const {
  const char* text = std::getenv(env);
  if (!text || !*text) return default_value;
  uint64_t v = 0;
  const char* end = text + std::strlen(text);
  auto [p, ec] = std::from_chars(text, end, v);
  if (ec != std::errc() || p != end || v == 0)
    throw InputError(
        fmt::format("{} must be a positive integer (the limit on {}), got '{}'", env, what, text));
  return v;
}

std::string Limit::exceeded(const std::string& got) const {
  const uint64_t limit = value();
  if (got.empty())
    return fmt::format("too many {}: more than {} (raise the limit with {}=N)", what, limit, env);
  return fmt::format("too many {}: {}, the limit is {} (raise it with {}=N)", what, got, limit,
                     env);
}

namespace limits {
// Defaults: generous for hand-written experiments, small enough that the largest input they
// admit is validated in seconds and megabytes (10,000 cells validate in about 3 s and 200 MB).
const Limit yaml_bytes{"bytes of YAML", "KANT_MAX_YAML_BYTES", 16ull << 20};
const Limit yaml_nodes{"YAML nodes after alias expansion", "KANT_MAX_YAML_NODES", 100'000};
const Limit yaml_depth{"levels of YAML nesting", "KANT_MAX_YAML_DEPTH", 64};
const Limit string_bytes{"bytes in one YAML string", "KANT_MAX_STRING_BYTES", 65'536};
const Limit cells{"cells (grid points × seeds)", "KANT_MAX_CELLS", 10'000};
const Limit seeds{"seeds", "KANT_MAX_SEEDS", 1'000};
const Limit grid_nodes{"config nodes over the grid's cells", "KANT_MAX_GRID_NODES", 5'000'000};
}  // namespace limits

}  // namespace kant
