#!/usr/bin/env bash
# Installed Kantorovich, as a plugin author outside the tree sees it (run by ctest):
#   1. cmake --install into a temporary prefix; the example out-of-tree plugins, a metric and
#      a procedure (examples/out_of_tree_plugin), configured and built against that prefix alone, in an
#      environment without the build tree (find_package(Kantorovich) + kant_add_plugin), and
#      a grid that uses it run by the installed kant;
#   2. the same plugin built with pkg-config and g++ only, and loaded;
#   3. cpack -G DEB: the packages' control fields (dependencies from dpkg-shlibdeps) and
#      contents checked with dpkg-deb, both unpacked into a fresh root whose kant runs the grid
#      again with the plugin built against that root; lintian where it is installed.
# Usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d /tmp/kant-install.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_check: FAIL: $*" >&2; exit 1; }
# nothing of the build tree or the user's environment: only the system's tools
clean_env=(env -i HOME="$tmp" PATH=/usr/bin:/bin LANG=C.UTF-8 OMP_NUM_THREADS=1)

# ---- 1. cmake --install + find_package --------------------------------------------------
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
for f in bin/kant lib/libkant_core.so lib/libkant_plugin.so include/kant/plugin.hpp include/kant/ops.hpp \
         lib/cmake/Kantorovich/KantorovichConfig.cmake lib/cmake/Kantorovich/KantorovichTargets.cmake \
         lib/cmake/Kantorovich/KantorovichPlugin.cmake lib/pkgconfig/kantorovich.pc \
         lib/kantorovich/plugins/kant_metric_mmd.so; do
  [ -e "$prefix/$f" ] || fail "cmake --install did not install $f"
done
# the installed kant uses its own plugins, not the build tree's
"${clean_env[@]}" "$prefix/bin/kant" plugins metric mmd > "$tmp/plugins.txt" 2>&1 || { cat "$tmp/plugins.txt"; fail "installed kant plugins"; }
grep -q "library: $prefix/lib/kantorovich/plugins/kant_metric_mmd.so" "$tmp/plugins.txt" || { cat "$tmp/plugins.txt"; fail "installed kant does not load its own plugins"; }
if grep -rq "$build" "$prefix/lib/cmake" "$prefix/lib/pkgconfig"; then fail "the installed package files name the build tree"; fi

example=$tmp/example
cp -r "$src/examples/out_of_tree_plugin" "$example"
"${clean_env[@]}" cmake -S "$example" -B "$example/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  > "$tmp/example-configure.log" 2>&1 || { cat "$tmp/example-configure.log"; fail "configuring the example against the prefix"; }
"${clean_env[@]}" cmake --build "$example/build" > "$tmp/example-build.log" 2>&1 || { cat "$tmp/example-build.log"; fail "building the example"; }
plugin=$example/build/kant_sample_spread.so
[ -f "$plugin" ] || fail "kant_add_plugin did not make kant_sample_spread.so"
[ -f "$example/build/kant_gan_repeat_generator.so" ] || fail "kant_add_plugin did not make the example procedure"
chmod -R go-w "$example"
run_grid() {  # KANT BINARY, plugin folder, results folder
  "${clean_env[@]}" KANT_PLUGIN_PATH="$2" "$1" run "$example/grid.yaml" --results "$3" > "$3.log" 2>&1 \
    || { cat "$3.log"; fail "$1 run of the example grid"; }
  grep -q "2 complete, 0 diverged, 0 failed" "$3.log" || { cat "$3.log"; fail "the example grid did not complete"; }
  grep -Eq "^\| 1\.0e-3 +\| [0-9.]+ ± 0\.000 +\| [0-9.]+ ± 0\.000" "$3.log" || { cat "$3.log"; fail "no sample_spread values in the table"; }
}
run_grid "$prefix/bin/kant" "$example/build" "$tmp/results-prefix"
"${clean_env[@]}" KANT_PLUGIN_PATH="$example/build" "$prefix/bin/kant" plugins metric sample_spread > "$tmp/sp.txt" 2>&1
grep -q "value  ratio" "$tmp/sp.txt" || { cat "$tmp/sp.txt"; fail "kant plugins metric sample_spread lists no stored values"; }
grep -q "ratio is NaN when" "$tmp/sp.txt" || { cat "$tmp/sp.txt"; fail "sample_spread does not declare that its ratio may be NaN"; }
"${clean_env[@]}" KANT_PLUGIN_PATH="$example/build" "$prefix/bin/kant" plugins procedure gan_repeat_generator > "$tmp/rg.txt" 2>&1
grep -q "generator_steps" "$tmp/rg.txt" && grep -q "series loss_generator" "$tmp/rg.txt" \
  || { cat "$tmp/rg.txt"; fail "kant plugins procedure gan_repeat_generator: no generator_steps or losses"; }
echo "install_check: cmake --install + find_package + kant_add_plugin: ok"

# ---- 2. pkg-config ------------------------------------------------------------------------
pc=$tmp/pc
mkdir -p "$pc"
flags=$("${clean_env[@]}" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs kantorovich) \
  || fail "pkg-config --cflags --libs kantorovich"
# shellcheck disable=SC2086
"${clean_env[@]}" g++ -std=c++20 -O1 -shared -fPIC -fvisibility=hidden "$example/sample_spread.cpp" \
  -o "$pc/kant_sample_spread.so" $flags -Wl,-rpath,"$prefix/lib" || fail "g++ with pkg-config's flags"
"${clean_env[@]}" KANT_PLUGIN_PATH="$pc" "$prefix/bin/kant" plugins metric sample_spread > "$tmp/pc.txt" 2>&1 \
  || { cat "$tmp/pc.txt"; fail "the pkg-config build does not load"; }
grep -q "library: $pc/kant_sample_spread.so" "$tmp/pc.txt" || { cat "$tmp/pc.txt"; fail "pkg-config build not loaded"; }
echo "install_check: pkg-config: ok"

# ---- 3. cpack -G DEB --------------------------------------------------------------------
(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/deb" > "$tmp/cpack.log" 2>&1) \
  || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
runtime=$(ls "$tmp"/deb/kantorovich_*.deb) || fail "no kantorovich_*.deb"
dev=$(ls "$tmp"/deb/kantorovich-dev_*.deb) || fail "no kantorovich-dev_*.deb"
depends=$(dpkg-deb -f "$runtime" Depends)
echo "install_check: kantorovich Depends: $depends"
for lib in libdnnl libhdf5 libfmt libyaml-cpp libc6 libstdc++6 libgomp1; do
  [[ $depends == *"$lib"* ]] || fail "the runtime package does not depend on $lib"
done
[[ $(dpkg-deb -f "$dev" Depends) == *"kantorovich (="* ]] || fail "kantorovich-dev does not depend on kantorovich"
dpkg-deb -c "$runtime" > "$tmp/runtime.txt"
dpkg-deb -c "$dev" > "$tmp/dev.txt"
grep -q "\./usr/bin/kant$" "$tmp/runtime.txt" || fail "no /usr/bin/kant in the package"
grep -q "\./usr/lib/kantorovich/plugins/kant_metric_mmd.so$" "$tmp/runtime.txt" || fail "no plugins in the package"
grep -q "\./usr/include/kant/plugin.hpp$" "$tmp/dev.txt" || fail "no headers in kantorovich-dev"
grep -q "\./usr/lib/cmake/Kantorovich/KantorovichConfig.cmake$" "$tmp/dev.txt" || fail "no CMake package in kantorovich-dev"
if grep -q "include/kant" "$tmp/runtime.txt"; then fail "headers in the runtime package"; fi
root=$tmp/root
dpkg-deb -x "$runtime" "$root"
dpkg-deb -x "$dev" "$root"
"${clean_env[@]}" cmake -S "$example" -B "$tmp/example-deb" -DCMAKE_PREFIX_PATH="$root/usr" > "$tmp/deb-configure.log" 2>&1 \
  || { cat "$tmp/deb-configure.log"; fail "configuring the example against the unpacked packages"; }
"${clean_env[@]}" cmake --build "$tmp/example-deb" > "$tmp/deb-build.log" 2>&1 || { cat "$tmp/deb-build.log"; fail "building against the packages"; }
chmod -R go-w "$tmp/example-deb"
run_grid "$root/usr/bin/kant" "$tmp/example-deb" "$tmp/results-deb"
# the same cells, whichever tree trained them
cmp <(cd "$tmp/results-prefix/out_of_tree/cells" && ls) <(cd "$tmp/results-deb/out_of_tree/cells" && ls) \
  || fail "the packaged kant made other cell ids"
if command -v lintian > /dev/null; then
  lintian --no-tag-display-limit "$runtime" "$dev" > "$tmp/lintian.txt" 2>&1 || true
  echo "install_check: lintian: $(grep -c '^E:' "$tmp/lintian.txt" || true) errors, $(grep -c '^W:' "$tmp/lintian.txt" || true) warnings"
fi
echo "install_check: cpack -G DEB (dpkg-deb, unpacked into a fresh root): ok"
