#!/usr/bin/env python3
"""The architecture's walls, checked on every #include of the tree.

The layers and what each may use come from LAYERS_FILE, which CMake writes from each
framework/<layer>/CMakeLists.txt (kant_layer). The rules:
  - a file in framework/<layer>/ includes only headers of the layers it may use: those in
    its USES, transitively, and its PRIVATE_USES (e.g. only autodiff sees the kernels);
    public headers as "kant/x.hpp", a layer's internal headers as "<layer>/x.hpp";
  - a public header (framework/<layer>/include/kant/) includes only public headers of the
    layers its layer may use;
  - a plugin (plugins/<kind>/) includes only public headers and files of its own folder;
  - a third-party header a layer owns (hdf5.h, oneapi/dnnl, yaml-cpp …) appears only there.

usage: check_walls.py LAYERS_FILE SOURCE_DIR          check the tree (exit 1 naming each break)
       check_walls.py LAYERS_FILE SOURCE_DIR --planted  check that planted breaks are caught
"""
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def read_layers(path):
    layers = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, uses, private, headers, external = (f.split() for f in line.split("|"))
        layers[name[0]] = {"uses": uses, "private": private, "headers": headers, "external": external}
    return layers


def visible(layers):
    """Layers each layer may include: itself, its uses transitively, its private uses."""
    closure = {}

    def public(name):
        if name not in closure:
            closure[name] = {name}
            for u in layers[name]["uses"]:
                closure[name] |= public(u)
        return closure[name]

    return {name: public(name) | set(l["private"]) for name, l in layers.items()}


def check(layers_file, root):
    root = pathlib.Path(root)
    layers = read_layers(layers_file)
    allowed = visible(layers)
    external = {p: name for name, l in layers.items() for p in l["external"]}
    problems = []
    owner = {}  # public header name → its layer
    for path in sorted((root / "framework").glob("*/include/kant/*.hpp")):
        if path.name in owner:
            problems.append(f"{path.relative_to(root)}: a second public header named {path.name}")
        owner[path.name] = path.parts[-4]

    def third_party(file, lineno, target, layer):
        for prefix, own in external.items():
            if target.startswith(prefix) and own != layer:
                problems.append(f"{file}:{lineno}: includes <{target}>, which only the {own} layer may use")

    def framework_include(file, lineno, target, layer, public_only):
        first, _, rest = target.partition("/")
        if first == "kant":
            m = owner.get(rest)
            if m is None:
                problems.append(f'{file}:{lineno}: includes "{target}", which is no layer\'s public header')
            elif m not in allowed[layer]:
                problems.append(f'{file}:{lineno}: includes "{target}" (layer {m}), but {layer} may use '
                                f"only: {', '.join(sorted(allowed[layer]))}")
        elif first in layers and rest:
            if public_only:
                problems.append(f'{file}:{lineno}: public header includes internal "{target}"')
            elif first not in allowed[layer]:
                problems.append(f'{file}:{lineno}: includes "{target}" (layer {first}), but {layer} may use '
                                f"only: {', '.join(sorted(allowed[layer]))}")
            elif not (root / "framework" / target).is_file():
                problems.append(f'{file}:{lineno}: includes "{target}", which does not exist')
        else:
            problems.append(f'{file}:{lineno}: includes "{target}": write "kant/…" for a public header '
                            f'or "<layer>/…" for an internal one')

    for path in sorted((root / "framework").rglob("*.[ch]pp")):
        rel = path.relative_to(root)
        layer = rel.parts[1]
        public_only = len(rel.parts) > 2 and rel.parts[2] == "include"
        if layer not in layers:
            problems.append(f"{rel}: in framework/{layer}/, which is not a layer")
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, target = m.groups()
            if kind == "<":
                third_party(rel, n, target, layer)
            else:
                framework_include(rel, n, target, layer, public_only)

    for path in sorted((root / "plugins").rglob("*.[ch]pp")):
        rel = path.relative_to(root)
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or m.group(1) == "<":
                continue
            target = m.group(2)
            if target.startswith("kant/"):
                if target[5:] not in owner:
                    problems.append(f'{rel}:{n}: includes "{target}", which is not a public header')
            elif "/" in target or not (path.parent / target).is_file():
                problems.append(f'{rel}:{n}: includes "{target}": a plugin includes only public '
                                f'headers ("kant/…") and files of its own folder')
    return problems


def planted(layers_file, root):
    """Each break planted in a copy of the tree must be reported, naming the include."""
    plants = [
        ("framework/core/tensor.cpp", '#include "training/trainer.hpp"', "training/trainer.hpp"),
        ("framework/kernels/kernels.cpp", '#include "kant/ops.hpp"', "kant/ops.hpp"),
        ("framework/report/tables.cpp", '#include "training/trainer.hpp"', "training/trainer.hpp"),
        # the three layers of experiments: cells below training below runs
        ("framework/cells/grid.cpp", '#include "training/session.hpp"', "training/session.hpp"),
        ("framework/cells/cell_config.cpp", '#include "runs/runner.hpp"', "runs/runner.hpp"),
        ("framework/training/trainer.cpp", '#include "runs/progress.hpp"', "runs/progress.hpp"),
        ("framework/training/session.hpp", '#include "cluster/slurm.hpp"', "cluster/slurm.hpp"),
        ("framework/nn/layers.cpp", '#include "kernels/kernels.hpp"', "kernels/kernels.hpp"),
        ("framework/nn/include/kant/module.hpp", '#include "store/h5.hpp"', "store/h5.hpp"),
        ("framework/core/include/kant/tensor.hpp", '#include "kant/ops.hpp"', "kant/ops.hpp"),
        ("framework/runs/runner.cpp", "#include <hdf5.h>", "hdf5.h"),
        ("plugins/metric/mmd.cpp", '#include "../lipschitz/x.hpp"', "../lipschitz/x.hpp"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kant-walls-") as tmp:
        copy = pathlib.Path(tmp)
        for folder in ("framework", "plugins"):
            shutil.copytree(pathlib.Path(root) / folder, copy / folder)
        for file, line, needle in plants:
            target = copy / file
            original = target.read_text()
            target.write_text(original + line + "\n")
            found = [p for p in check(layers_file, copy) if needle in p and file in p]
            target.write_text(original)
            print(f"planted {line!r} in {file}: " + (found[0] if found else "NOT CAUGHT"))
            failures += not found
    return failures


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--planted"):
        print(__doc__, file=sys.stderr)
        return 2
    layers_file, root = sys.argv[1], sys.argv[2]
    if len(sys.argv) == 4:
        return 1 if planted(layers_file, root) else 0
    problems = check(layers_file, root)
    for p in problems:
        print(p)
    n = sum(1 for _ in pathlib.Path(root).rglob("*.[ch]pp"))
    print(f"{len(problems)} wall breaks" if problems else f"walls hold ({n} files checked)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
