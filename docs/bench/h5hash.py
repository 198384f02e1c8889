#!/usr/bin/env python3
"""h5hash.py: one SHA-256 per dataset of a run directory, to compare runs made on two machines
without moving their files.

Usage: h5hash.py RUN_DIR > RUN.hashes        (on each machine)
       h5hash.py --compare A.hashes B.hashes  (anywhere)
Each line is "file.h5:/dataset dtype shape sha256" over the dataset's raw bytes in C order, for
every *.h5 under RUN_DIR, leaving out the wall-time datasets t_* as h5compare.py does. Equal
hashes mean bitwise equal values (NaN payloads included). --compare prints the datasets that
differ or exist on one side only, the counts, and exits 1 unless every dataset is equal.
Needs h5py and numpy. docs/reproducibility.md, "Across CPUs", used it."""
import hashlib
import os
import sys

import h5py
import numpy as np

from h5compare import datasets, h5_files  # the same files and datasets (t_* left out) it compares


def hashes(root):
    out = []
    for rel in h5_files(root):
        with h5py.File(os.path.join(root, rel), "r") as h:
            for n in sorted(datasets(h)):
                a = np.ascontiguousarray(h[n][()])
                digest = hashlib.sha256(a.tobytes()).hexdigest()
                out.append(f"{rel}:/{n} {a.dtype.str} {'x'.join(map(str, a.shape)) or 'scalar'} {digest}")
    return out


def load(path):
    with open(path) as f:  # dataset -> "dtype shape sha256"
        return dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())


def compare(a_path, b_path):
    a, b = load(a_path), load(b_path)
    differ = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
    only = sorted(a.keys() ^ b.keys())
    for k in differ:
        print(f"differs: {k}")
    for k in only:
        print(f"only in {'A' if k in a else 'B'}: {k}")
    files = {k.split(':/')[0] for k in a.keys() | b.keys()}
    bad_files = {k.split(':/')[0] for k in differ + only}
    print(f"{len(files) - len(bad_files)} of {len(files)} files equal; datasets equal "
          f"{len(a.keys() & b.keys()) - len(differ)} of {len(a.keys() | b.keys())}")
    return 0 if not differ and not only else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    print("\n".join(hashes(sys.argv[1])))
