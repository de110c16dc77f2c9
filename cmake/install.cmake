# Installation and packaging: `cmake --install build [--prefix P]` installs kant, the layer
# libraries, the public headers, the built-in plugins, a CMake package (find_package(Kantorovich)
# + kant_add_plugin) and a pkg-config file; `cpack -G DEB` makes Debian packages of the same
# tree: kantorovich (the command, libraries and plugins; dependencies from dpkg-shlibdeps, i.e.
# the Debian packages we link) and kantorovich-dev (headers, CMake package, pkg-config file).
include(CMakePackageConfigHelpers)

get_property(kant_layer_targets GLOBAL PROPERTY KANT_LAYER_TARGETS)
get_property(kant_plugin_targets GLOBAL PROPERTY KANT_PLUGIN_TARGETS)

install(TARGETS kant_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS ${kant_layer_targets} kant_plugin_api EXPORT KantorovichTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${kant_plugin_targets} LIBRARY DESTINATION ${KANT_INSTALL_PLUGINDIR} COMPONENT runtime)

# the public headers of every layer (framework/<layer>/include/kant/*.hpp) in include/kant/
file(GLOB kant_public_headers ${PROJECT_SOURCE_DIR}/framework/*/include/kant/*.hpp)
install(FILES ${kant_public_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kant COMPONENT dev)

install(EXPORT KantorovichTargets NAMESPACE Kantorovich:: DESTINATION ${KANT_INSTALL_CMAKEDIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/KantorovichConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/KantorovichConfig.cmake
  INSTALL_DESTINATION ${KANT_INSTALL_CMAKEDIR}
  PATH_VARS KANT_INSTALL_PLUGINDIR CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor version may break the plugin ABI (kAbiVersion), so only the same minor matches
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/KantorovichConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/KantorovichConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/KantorovichConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/KantorovichPlugin.cmake
        DESTINATION ${KANT_INSTALL_CMAKEDIR} COMPONENT dev)

# pkg-config: relative to its own folder (${pcfiledir}), so it holds wherever the tree is installed
file(RELATIVE_PATH kant_pc_to_prefix ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" kant_pc_to_prefix "${kant_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/kantorovich.pc.in ${CMAKE_CURRENT_BINARY_DIR}/kantorovich.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kantorovich.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Debian packages
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kantorovich)
set(CPACK_PACKAGE_VENDOR "Kantorovich")
set(CPACK_PACKAGE_CONTACT "Kantorovich maintainers <kantorovich@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "GAN and Lipschitz-constraint experiments on the CPU (oneDNN)")
set(CPACK_PACKAGE_DESCRIPTION
    "Kantorovich expands a YAML grid of GAN experiments, trains every cell through oneDNN in child\n"
    "processes, stores one sealed HDF5 file per cell and reports tables and an HTML page.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME kantorovich)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME kantorovich-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)  # the Debian packages of the libraries we link
# building a plugin: the headers include fmt's, the CMake package finds fmt, and the ABI tag
# is the compiler's, so plugins are built with the same g++
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "kantorovich (= ${PROJECT_VERSION}), libfmt-dev, g++")
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "the kant command, the framework's libraries and the built-in plugins")
set(CPACK_COMPONENT_DEV_DESCRIPTION "headers, CMake package and pkg-config file for building plugins")
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)  # quick to make; the packages are small
include(CPack)
