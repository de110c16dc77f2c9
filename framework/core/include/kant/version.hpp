// Framework version, ABI version and the git commit this build came from.
#pragma once

namespace kant {

/// Bumped whenever a change to the public headers breaks binary compatibility of plugins.
constexpr unsigned kAbiVersion = 2;  // 2: component state for checkpoints

/// Semantic version of the framework ("0.1.0").
const char* framework_version();
/// Git commit of the source tree at build time ("…-dirty" with local changes).
const char* git_commit();

}  // namespace kant
