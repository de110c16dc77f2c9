// Lipschitz method `none`: no constraint on the critic.
#include "kant/plugin.hpp"

KANT_COMPONENT(kant::LipschitzMethod, "none", "1.0.0", "no Lipschitz constraint")
