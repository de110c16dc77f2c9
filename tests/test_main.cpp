// Catch2 entry point shared by the test executables.
#define CATCH_CONFIG_MAIN
// Catch2's implementation instantiates std::regex, where GCC 12 with -O3 and the sanitizers
// reports maybe-uninitialized inside libstdc++'s headers (GCC bug 105562): silenced for this
// third-party include only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <catch2/catch.hpp>
#pragma GCC diagnostic pop
