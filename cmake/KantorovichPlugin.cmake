# kant_add_plugin(TARGET SOURCE...): a Kantorovich plugin as a MODULE library, for the installed
# CMake package and for the built-in plugins of the tree alike (plugins/CMakeLists.txt includes
# this file). The plugin includes only the public headers ("kant/plugin.hpp", …), links
# Kantorovich::plugin_api, is named kant_<TARGET>.so and exports nothing but its entry symbol.
# kant loads it from a folder on KANT_PLUGIN_PATH or from Kantorovich_PLUGIN_DIR.
# The plugin's ABI tag is its compiler's: build it with the compiler Kantorovich was built with
# (Kantorovich_ABI_COMPILER), or kant refuses it with both tags named.
function(kant_add_plugin target)
  if(NOT ARGN)
    message(FATAL_ERROR "kant_add_plugin(${target} ...) needs at least one source file")
  endif()
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE Kantorovich::plugin_api)
  set_target_properties(${target} PROPERTIES PREFIX "kant_" CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
endfunction()
