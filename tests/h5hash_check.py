#!/usr/bin/python3
"""h5hash_check: docs/bench/h5hash.py, which the cross-CPU claim of docs/reproducibility.md rests
on, against files whose differences are known: equal files hash equal, one changed float (a
single bit) or a changed shape is named, t_* datasets are left out, a dataset on one side only is
reported, and --compare exits 1 for any difference. Usage: h5hash_check.py SOURCE_DIR SCRATCH."""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

src, scratch = sys.argv[1], sys.argv[2]
tool = os.path.join(src, "docs", "bench", "h5hash.py")
shutil.rmtree(scratch, ignore_errors=True)
fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAILED:", what)
        fails += 1


def make(root, tweak=None):
    os.makedirs(os.path.join(root, "sub"), exist_ok=True)
    rng = np.random.default_rng(1)
    with h5py.File(os.path.join(root, "a.h5"), "w") as h:
        x = rng.standard_normal((5, 7)).astype(np.float32)
        if tweak == "bit":
            x.view(np.uint32)[2, 3] ^= 1  # the last bit of one float
        h["x"] = x.reshape(7, 5) if tweak == "shape" else x
        h["t_wall"] = np.array([float(tweak == "time")])
        g = h.create_group("g")
        g["n"] = np.arange(4, dtype=np.int64)
        if tweak == "extra":
            g["m"] = np.zeros(1)
    with h5py.File(os.path.join(root, "sub", "b.h5"), "w") as h:
        h["nan"] = np.array([np.nan, 1.0])


def hashes(root):
    out = subprocess.run([sys.executable, tool, root], check=True, capture_output=True, text=True).stdout
    path = root + ".hashes"
    with open(path, "w") as f:
        f.write(out)
    return path, out


def compare(a, b):
    r = subprocess.run([sys.executable, tool, "--compare", a, b], capture_output=True, text=True)
    return r.returncode, r.stdout


make(os.path.join(scratch, "base"))
base, base_text = hashes(os.path.join(scratch, "base"))
check(len(base_text.splitlines()) == 3, f"3 datasets hashed (t_* left out): {base_text}")
check("a.h5:/x <f4 5x7 " in base_text and "sub/b.h5:/nan " in base_text, f"lines name file, dataset, dtype, shape: {base_text}")
for tweak, rc_want, named in [(None, 0, None), ("time", 0, None), ("bit", 1, "differs: a.h5:/x"),
                              ("shape", 1, "differs: a.h5:/x"), ("extra", 1, "only in B: a.h5:/g/m")]:
    root = os.path.join(scratch, str(tweak))
    make(root, tweak)
    path, _ = hashes(root)
    rc, text = compare(base, path)
    check(rc == rc_want, f"{tweak}: --compare exit {rc}, want {rc_want}: {text}")
    if named:
        check(named in text, f"{tweak}: '{named}' not reported: {text}")
    else:
        check(text.strip().endswith("2 of 2 files equal; datasets equal 3 of 3"), f"{tweak}: {text}")
print(f"h5hash_check: {fails} failed")
sys.exit(1 if fails else 0)
