"""overopt_reader: load an overopt run, its replicates or a sweep into tables in one call.

    import sys; sys.path.insert(0, "python")
    import overopt_reader as oo
    r = oo.load("runs/quickstart")           # a run, a run with rep<i>/ replicates, or a sweep
    print(r.tables())                        # ['bon', 'bon_h5', 'fits', 'metrics', 'ppo', ...]
    bon = r["bon"]                           # pandas.DataFrame when pandas is installed, else a dict of numpy arrays

Every table of a run directory gets the same columns wherever it comes from; the replicates of a
run are stacked with a `replicate` column (rep<i>/), the points of a sweep with a `point` column
(point_<i>/). Tables:
  bon        bon.csv: objective, n, kl, proxy, gold, gold_se (best-of-n curves)
  bon_h5     bon.h5's curves/<objective> datasets, the same columns read with h5py
  ppo        every ppo_<tag>.csv with a `tag` column (one row per PPO step, every per-step
             dataset of ppo_<tag>.h5 but the wall-clock t_*: kl_k1..3, eval_*, beta, lr, ...)
  ppo_samples the decoded evaluation samples of every ppo_<tag>.h5 (samples/step_<s>/text, gold,
             proxy): tag, step, sample, text ("prompt|response", escaped), gold, proxy
  fits       fits.csv (functional-form fits)
  rm_members rm_members.csv
  winrates   winrates.csv, when present
  metrics    metrics.jsonl (one row per step and stage; missing keys are NaN)
  summary    summary.csv of the replicates, when present
  sweep      sweep.csv of a sweep directory, when present
and the dicts r.config (config.json) and r.provenance (provenance.json) of the top directory.
Only numpy and h5py are required.
"""
import csv
import glob
import json
import math
import os
import re

import numpy as np

try:
    import h5py
except ImportError:  # bon_h5 is then left out
    h5py = None
try:
    import pandas as pd
except ImportError:
    pd = None

__all__ = ["load", "Result", "read_csv", "read_jsonl"]


def _column(values):
    """A numpy array: float when every value parses as a number (empty = NaN), else str."""
    out = []
    for v in values:
        if v is None or v == "":
            out.append(math.nan)
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            return np.array(["" if x is None else str(x) for x in values])
    return np.array(out, dtype=float)


def _table(columns):
    """columns: dict name -> list. A DataFrame with pandas, else a dict of numpy arrays."""
    arrays = {k: _column(v) for k, v in columns.items()}
    return pd.DataFrame(arrays) if pd is not None else arrays


def _rows(table):
    return len(next(iter(table.values()))) if table is not None and len(table) else 0


def read_csv(path):
    """A CSV file with a header row as a table."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return _table({})
    header, body = rows[0], rows[1:]
    return _table({h: [r[i] if i < len(r) else "" for r in body] for i, h in enumerate(header)})


def read_jsonl(path):
    """metrics.jsonl as a table: one row per line, the union of keys as columns."""
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    keys = []
    for r in records:
        keys.extend(k for k in r if k not in keys)
    return _table({k: [r.get(k) for r in records] for k in keys})


def _bon_h5(path):
    """bon.h5's curves/<objective> groups as one table (objective, n, kl, proxy, gold, gold_se)."""
    cols = {"objective": [], "n": [], "kl": [], "proxy": [], "gold": [], "gold_se": []}
    with h5py.File(path, "r") as f:
        if "curves" not in f:
            return None
        for name, g in f["curves"].items():
            if not isinstance(g, h5py.Group) or "n" not in g:
                continue
            n = np.asarray(g["n"])
            cols["objective"].extend([name] * len(n))
            for k in ["n", "kl", "proxy", "gold", "gold_se"]:
                cols[k].extend(np.asarray(g[k]).tolist() if k in g else [math.nan] * len(n))
    return _table(cols)


def _ppo_samples(path):
    """The evaluation samples of a ppo_<tag>.h5: one row per sample (step, sample, text, gold, proxy)."""
    cols = {"step": [], "sample": [], "text": [], "gold": [], "proxy": []}
    with h5py.File(path, "r") as f:
        g = f.get("samples")
        for name in sorted(g or [], key=lambda k: int(k.split("_")[-1])):
            s = g[name]
            if not isinstance(s, h5py.Group) or "text" not in s:
                continue
            texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in s["text"][()]]
            cols["step"].extend([int(name.split("_")[-1])] * len(texts))
            cols["sample"].extend(range(len(texts)))
            cols["text"].extend(texts)
            cols["gold"].extend(np.asarray(s["gold"]).tolist())
            cols["proxy"].extend(np.asarray(s["proxy"]).tolist())
    return _table(cols) if cols["text"] else None


def _with(table, key, value):
    """table plus a constant column key = value."""
    if pd is not None:
        return table.assign(**{key: value})
    t = dict(table)
    t[key] = np.full(_rows(table), value, dtype=float if isinstance(value, (int, float)) else object).astype(
        float if isinstance(value, (int, float)) else str)
    return t


def _stack(tables):
    """Rows of several tables; a column missing from one is NaN there."""
    tables = [t for t in tables if t is not None and _rows(t)]
    if not tables:
        return None
    if pd is not None:
        return pd.concat(tables, ignore_index=True)
    names = []
    for t in tables:
        names.extend(k for k in t if k not in names)
    out = {}
    for k in names:
        parts = [t[k] if k in t else np.full(_rows(t), math.nan) for t in tables]
        if any(p.dtype.kind in "US" for p in parts):
            parts = [p.astype(str) for p in parts]
        out[k] = np.concatenate(parts)
    return out


def _concat(tables, key, values):
    """Stack tables of one kind, adding column key with one value per table."""
    return _stack([_with(t, key, v) for t, v in zip(tables, values) if t is not None and _rows(t)])


def _load_dir(d):
    """The tables of one run (or replicate) directory."""
    t = {}
    for name in ["bon", "fits", "rm_members", "winrates", "summary", "sweep"]:
        p = os.path.join(d, name + ".csv")
        if os.path.exists(p):
            t[name] = read_csv(p)
    ppo = sorted(glob.glob(os.path.join(d, "ppo_*.csv")))
    tags = [os.path.basename(p)[4:-4] for p in ppo]
    if ppo:
        t["ppo"] = _concat([read_csv(p) for p in ppo], "tag", tags)
    h5s = [os.path.join(d, "ppo_%s.h5" % tag) for tag in tags]
    if h5py is not None and ppo and all(os.path.exists(p) for p in h5s):
        t["ppo_samples"] = _concat([_ppo_samples(p) for p in h5s], "tag", tags)
    if h5py is not None and os.path.exists(os.path.join(d, "bon.h5")):
        b = _bon_h5(os.path.join(d, "bon.h5"))
        if b is not None:
            t["bon_h5"] = b
    if os.path.exists(os.path.join(d, "metrics.jsonl")):
        t["metrics"] = read_jsonl(os.path.join(d, "metrics.jsonl"))
    return t


def _numbered(d, prefix):
    """Subdirectories prefix<i> of d, in order of i: [(i, path)]."""
    found = []
    for p in glob.glob(os.path.join(d, prefix + "*")):
        m = re.fullmatch(re.escape(prefix) + r"(\d+)", os.path.basename(p))
        if m and os.path.isdir(p):
            found.append((int(m.group(1)), p))
    return sorted(found)


def _merge(groups, key):
    """groups: [(value, {table: t})] -> {table: stacked with column key}."""
    names = []
    for _, t in groups:
        names.extend(k for k in t if k not in names)
    return {n: _concat([t.get(n) for _, t in groups], key, [v for v, _ in groups]) for n in names}


class Result:
    """Tables of a run, replicates or sweep: r[name], r.tables(), r.kind, r.config, r.provenance."""

    def __init__(self, path, kind, tables, config, provenance):
        self.path, self.kind, self._t = path, kind, {k: v for k, v in tables.items() if v is not None}
        self.config, self.provenance = config, provenance

    def __getitem__(self, name):
        return self._t[name]

    def __contains__(self, name):
        return name in self._t

    def tables(self):
        return sorted(self._t)

    def __repr__(self):
        return "Result(%r, kind=%r, tables=%r)" % (self.path, self.kind, self.tables())


def _json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _load_run(d):
    """A run directory: its own tables plus its replicates' (rep<i>/) with a replicate column."""
    own = _load_dir(d)
    reps = _numbered(d, "rep")
    if not reps:
        return "run", own
    merged = _merge([(i, _load_dir(p)) for i, p in reps], "replicate")
    for k, v in own.items():  # the world's own tables (pretrain's metrics, summary.csv): replicate NaN
        merged[k] = _stack([_with(v, "replicate", math.nan), merged.get(k)])
    return "replicates", merged


def load(path):
    """Loads a run directory, a run with replicates (rep<i>/) or a sweep directory (point_<i>/)."""
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError("%s is not a directory (a run or sweep directory under run.out_dir)" % path)
    points = _numbered(path, "point_")
    if points:
        groups = []
        for i, p in points:
            _, t = _load_run(p)
            groups.append((i, t))
        tables = _merge(groups, "point")
        if os.path.exists(os.path.join(path, "sweep.csv")):
            tables["sweep"] = read_csv(os.path.join(path, "sweep.csv"))
        if os.path.exists(os.path.join(path, "fits.csv")):
            tables["sweep_fits"] = read_csv(os.path.join(path, "fits.csv"))
        first = points[0][1]
        return Result(path, "sweep", tables, _json(os.path.join(first, "config.json")),
                      _json(os.path.join(first, "provenance.json")))
    kind, tables = _load_run(path)
    return Result(path, kind, tables, _json(os.path.join(path, "config.json")),
                  _json(os.path.join(path, "provenance.json")))
