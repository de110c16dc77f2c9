#!/usr/bin/env python3
"""Every f-divergence's output activation g_f(v), conjugate composition f*(g_f(v)) and their
derivatives, as kant computes them (double scalars and float tensor ops, by
tests/conjugates_dump), against a reference computed with mpmath at 40 significant digits,
on a dense grid of v ∈ [−1000, 1000].

The grid: every k/8 in [−1000, 1000], finer steps where things happen (around the float and
double overflow thresholds of exp, around the zeros and branch points of the formulas), and
±2^−e down to 2^−60. Every point is exactly a float, so the float and double results are
judged at the same v.

Error measure, per value: |x − ref| / |ref| in units of the type's ε wherever the reference
is a normal number of the type; below FLOOR times the smallest normal (4.7e−38 in float),
any result within that of it counts as exact (subnormal results and intermediates may be
flushed to zero, as oneDNN's kernels do). A derivative
may overflow to the Inf of its sign where the value itself overflows (autodiff multiplies by
the overflowed value).
A reference beyond the type's largest finite value must come out as the Inf of its sign; a
finite reference must never come out Inf, and nothing may be NaN.

The reference comes from the simplified closed forms with mpmath's own expm1/log1p/lambertw
(cancellation-free at 40 digits); on a subgrid it is also checked against the paper's table,
f* composed with g literally, at the precision the cancellations there need (~0.45 digits
per unit of |v|). References are cached in the build tree (keyed by this file's hash).

usage: conjugates_check.py DUMP_EXECUTABLE CACHE_DIR
Prints the largest error of each function in ulps (of the type) and exits 1 if one exceeds
its tolerance.
"""
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import mpmath
from mpmath import mp, mpf

DIGITS = 40
FLOOR = 4  # absolute error below FLOOR × the smallest normal
TABLE_STRIDE = 61  # every 61st point is also checked against the table composed literally
# tolerances in units of the type's ε (2^−23, 2^−52): values, then derivatives (which go
# through more ops: autodiff chains the backward rules)
TOLERANCE = {"double": 8, "float": 8, "float_grad": 16}
FLOAT = {"eps": 2.0 ** -23, "max": struct.unpack("f", struct.pack("I", 0x7F7FFFFF))[0], "tiny": 2.0 ** -126}
DOUBLE = {"eps": 2.0 ** -52, "max": sys.float_info.max, "tiny": sys.float_info.min}


def as_float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def grid():
    points = {k / 8 for k in range(-8000, 8001)}
    points |= {k / 128 for k in range(-92 * 128, -84 * 128)} | {k / 128 for k in range(84 * 128, 92 * 128)}
    points |= {k / 64 for k in range(-712 * 64, -700 * 64)} | {k / 64 for k in range(700 * 64, 712 * 64)}
    points |= {k / 1024 for k in range(-6 * 1024, 6 * 1024)}  # zeros at 0, 1, −4, branch points ±1
    for e in range(1, 61):
        for c in (0.0, 1.0, -1.0, -4.0):
            for s in (1, -1):
                points.add(c + s * 2.0 ** -e * (4 if c == -4.0 else 1))
    points = sorted(p for p in points if as_float32(p) == p and -1000 <= p <= 1000)
    return points


# ---- references ------------------------------------------------------------------------
# name → (g, F = f*∘g, g', F'), each a function of an mpf v, cancellation-free forms

def _sigmoid(v):
    return 1 / (1 + mpmath.exp(-v))


def _jeffrey(v):
    w = mpmath.lambertw(mpmath.exp(1 - v)).real
    return w, 1 / w - 1 - mpmath.log(w)  # W + 1/W + v − 2 with log W = 1 − v − W


REFERENCE = {
    "kl": lambda v: (v, mpmath.exp(v - 1), mpf(1), mpmath.exp(v - 1)),
    "reverse_kl": lambda v: (-mpmath.exp(-v), v - 1, mpmath.exp(-v), mpf(1)),
    "pearson": lambda v: (v, v * v / 4 + v, mpf(1), v / 2 + 1),
    "neyman": lambda v: (-mpmath.expm1(-v), -2 * mpmath.expm1(-v / 2), mpmath.exp(-v), mpmath.exp(-v / 2)),
    "hellinger": lambda v: (-mpmath.expm1(-v), mpmath.expm1(v), mpmath.exp(-v), mpmath.exp(v)),
    "jeffrey": lambda v: (lambda w, f: (v, f, mpf(1), 1 / w))(*_jeffrey(v)),
    "jensen_shannon": lambda v: (-mpmath.log1p(mpmath.expm1(-v) / 2), mpmath.log1p(mpmath.expm1(v) / 2),
                                 _sigmoid(-v), _sigmoid(v)),
    "gan": lambda v: (-mpmath.log1p(mpmath.exp(-v)), mpmath.log1p(mpmath.exp(v)), _sigmoid(-v), _sigmoid(v)),
    "total_variation": lambda v: (mpmath.tanh(v) / 2, mpmath.tanh(v) / 2, mpmath.sech(v) ** 2 / 2,
                                  mpmath.sech(v) ** 2 / 2),
}

# The paper's table (Nowozin et al. 2016, Table 2): f*(t) and g(v), composed literally.
TABLE = {
    "kl": (lambda t: mpmath.exp(t - 1), lambda v: v),
    "reverse_kl": (lambda t: -1 - mpmath.log(-t), lambda v: -mpmath.exp(-v)),
    "pearson": (lambda t: t * t / 4 + t, lambda v: v),
    "neyman": (lambda t: 2 - 2 * mpmath.sqrt(1 - t), lambda v: 1 - mpmath.exp(-v)),
    "hellinger": (lambda t: t / (1 - t), lambda v: 1 - mpmath.exp(-v)),
    "jeffrey": (lambda t: (lambda w: w + 1 / w + t - 2)(mpmath.lambertw(mpmath.exp(1 - t)).real), lambda v: v),
    "jensen_shannon": (lambda t: -mpmath.log(2 - mpmath.exp(t)), lambda v: mpmath.log(2) - mpmath.log(1 + mpmath.exp(-v))),
    "gan": (lambda t: -mpmath.log(1 - mpmath.exp(t)), lambda v: -mpmath.log(1 + mpmath.exp(-v))),
    "total_variation": (lambda t: t, lambda v: mpmath.tanh(v) / 2),
}


def split(x):
    """An mpf as a double-double (hi, lo): hi = x rounded to double (±inf beyond its range)."""
    hi = float(x)
    return [hi, float(x - mpf(hi)) if math.isfinite(hi) else 0.0]


def references(points, cache_dir):
    key = hashlib.sha256(open(__file__, "rb").read()).hexdigest()[:16]
    cache = os.path.join(cache_dir, f"conjugates_reference_{key}.json")
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    mp.dps = DIGITS
    out = {name: [[split(x) for x in ref(mpf(v))] for v in points] for name, ref in REFERENCE.items()}
    # the table, literally, at the precision its cancellations need, on a subgrid
    worst = 0.0
    for name, (fstar, g) in TABLE.items():
        for i in range(0, len(points), TABLE_STRIDE):
            v = points[i]
            with mp.workdps(DIGITS + int(0.45 * abs(v)) + 10):
                literal = fstar(g(mpf(v)))
                simple = mpf(REFERENCE[name](mpf(v))[1])
                if literal != simple:
                    worst = max(worst, float(abs(literal - simple) / max(abs(simple), mpf(10) ** -300)))
    if worst > 1e-20:
        raise SystemExit(f"conjugates_check: the simplified references differ from the paper's table by {worst:.2e}")
    for old in os.listdir(cache_dir):  # references of earlier versions of this script
        if old.startswith("conjugates_reference_"):
            os.unlink(os.path.join(cache_dir, old))
    tmp = cache + f".tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, cache)
    return out


# ---- comparison --------------------------------------------------------------------------

def error(x, ref, kind, value_overflows=False):
    """x (a float) against ref (a double-double [hi, lo]), in units of the type's ε; inf for a
    wrong Inf or a NaN."""
    t = FLOAT if kind == "float" else DOUBLE
    hi, lo = ref
    if math.isnan(x):
        return math.inf
    if abs(hi) > t["max"]:  # the true value overflows: ±Inf (or the largest finite) is right
        return 0.0 if (math.isinf(x) or abs(x) >= t["max"] * (1 - t["eps"])) and (x > 0) == (hi > 0) else math.inf
    if math.isinf(x):
        near = abs(hi) >= t["max"] * (1 - 2 * t["eps"]) or value_overflows
        return 0.0 if near and (x > 0) == (hi > 0) else math.inf
    diff = abs((x - hi) - lo)  # x − hi is exact when x is near hi (Sterbenz)
    if abs(hi) < FLOOR * t["tiny"]:
        return 0.0 if diff <= FLOOR * t["tiny"] else math.inf
    return diff / abs(hi) / t["eps"]


def main():
    dump, cache_dir = sys.argv[1], sys.argv[2]
    points = grid()
    with tempfile.NamedTemporaryFile("w", suffix=".grid", delete=False) as f:
        f.write("".join(float.hex(p) + "\n" for p in points))
        grid_file = f.name
    try:
        lines = subprocess.run([dump, grid_file], check=True, capture_output=True, text=True).stdout.splitlines()
    finally:
        os.unlink(grid_file)
    refs = references(points, cache_dir)
    index = {p: i for i, p in enumerate(points)}
    # (name, column) → (worst error in ulps, at v, value, reference)
    columns = [("g", "double", 2, 0), ("f*(g)", "double", 3, 1), ("g", "float", 4, 0), ("f*(g)", "float", 5, 1),
               ("g'", "float_grad", 6, 2), ("f*(g)'", "float_grad", 7, 3)]
    worst = {}
    for line in lines:
        fields = line.split("\t")
        name, v = fields[0], float.fromhex(fields[1])
        ref = refs[name][index[v]]
        for label, kind, col, r in columns:
            x = float.fromhex(fields[col]) if "nan" not in fields[col] else math.nan
            overflows = kind == "float_grad" and abs(ref[r - 2][0]) > FLOAT["max"]
            e = error(x, ref[r], "double" if kind == "double" else "float", overflows)
            key = (name, label, kind)
            if key not in worst or e > worst[key][0]:
                worst[key] = (e, v, x, ref[r])
    failed = False
    print(f"{len(points)} points in [{points[0]:g}, {points[-1]:g}], {len(lines)} values per column; "
          "largest error in ulps of the type (relative; absolute below the smallest normal)")
    print(f"{'divergence':<16} {'function':<8} {'type':<11} {'ulps':>9}  {'rel. error':>10}  at v")
    overall = {}
    for (name, label, kind), (e, v, x, ref) in sorted(worst.items()):
        eps = DOUBLE["eps"] if kind == "double" else FLOAT["eps"]
        bad = e > TOLERANCE[kind]
        failed |= bad
        overall[kind] = max(overall.get(kind, 0.0), e * eps)
        print(f"{name:<16} {label:<8} {kind:<11} {e:9.2f}  {e * eps:10.2e}  {v:g}"
              + (f"   FAILED: {x!r} vs {ref[0]!r}" if bad else ""))
    for kind, rel in sorted(overall.items()):
        print(f"max relative error, {kind}: {rel:.2e} (tolerance {TOLERANCE[kind]} ulps)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
