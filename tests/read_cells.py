#!/usr/bin/env python3
"""Reads a Kantorovich results folder with h5py alone, following results/README.md.

Prints one JSON object per cell: id, labels, status, final metrics, series lengths.
Exit code 1 if a cell file does not have the documented layout.
"""
import glob
import json
import os
import sys

import h5py

folder = sys.argv[1]
for path in sorted(glob.glob(os.path.join(folder, "cells", "*.h5"))):
    with h5py.File(path, "r") as f:
        a = f.attrs
        assert a["format"] == "kantorovich-cell", path
        cell = {
            "id": a["cell_id"],
            "labels": a["labels"],
            "status": a["status"],
            "seed": int(a["seed"]),
            "final": {k: float(v) for k, v in f["final"].attrs.items()},
            "steps": len(f["series/step"]),
            "loss_critic_last": float(f["series/loss_critic"][-1]) if len(f["series/step"]) else None,
            "metrics": sorted(f["metrics"].keys()),
            "samples": list(f["samples/generated"].shape) if "generated" in f["samples"] else None,
            "config_has_seed": "seed:" in a["config"],
        }
    print(json.dumps(cell, sort_keys=True))
