// Lipschitz method `none`: no constraint on the critic.
#include "kant/plugin.hpp"

KANT_PLUGIN("none", "1.0.0") {
  using namespace kant;
  registrar.add(
      {"none", "1.0.0", "no Lipschitz constraint", {}, LipschitzFactory([](const Params&) {
         return std::make_unique<LipschitzMethod>();
       })});
}
