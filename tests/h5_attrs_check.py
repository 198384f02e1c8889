#!/usr/bin/env python3
"""h5_attrs_check.py DIR...: every dataset of every .h5 under DIR carries the string attributes
`units` and `description` (issue #14; the catalogue is src/io/h5_catalog.c). Prints the files and
datasets checked; exit 1 naming each dataset without both, or when no .h5 was found."""
import os
import sys

import h5py

missing, n_files, n_sets = [], 0, 0
for top in sys.argv[1:]:
    for root, _, files in os.walk(top):
        for name in sorted(files):
            if not name.endswith(".h5"):
                continue
            path = os.path.join(root, name)
            n_files += 1

            def visit(obj_name, obj, path=path):
                global n_sets
                if not isinstance(obj, h5py.Dataset):
                    return
                n_sets += 1
                for a in ("units", "description"):
                    v = obj.attrs.get(a)
                    if isinstance(v, bytes):
                        v = v.decode()
                    if not isinstance(v, str) or (a == "description" and not v):
                        missing.append(f"{path}: /{obj_name} has no '{a}'")

            with h5py.File(path, "r") as f:
                f.visititems(visit)
for m in missing[:40]:
    print("FAILED:", m)
if len(missing) > 40:
    print(f"FAILED: ... {len(missing) - 40} more")
print(f"h5_attrs_check: {n_sets} datasets in {n_files} files, {len(missing)} without units and description")
sys.exit(1 if missing or n_files == 0 else 0)
