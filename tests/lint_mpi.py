#!/usr/bin/env python3
"""lint_mpi: every MPI call in mpi/ goes through a checking macro (issue #13, item 1).

    python3 tests/lint_mpi.py DIR...      scan DIR/**/*.c and *.h; exit 1 listing each unchecked call
    python3 tests/lint_mpi.py --self-test check the checker on samples it must accept and reject

A call `MPI_Xxx(...)` or `PMPI_Xxx(...)` is checked when it is the first argument of one of
CHECKERS (comm.h; TIMED_MPI is ppo_step.c's timed form of CHECK_MPI; WATCHED, the watchdog's
interposers, returns the code to the caller, whose own call is checked). A call that must not be
checked (MPI_Abort while aborting, MPI_Error_string while reporting an error, the error handler)
carries a comment `lint-mpi: <why>` on its line: that is the allow-list, in the code, next to
the reason. Definitions of MPI functions (the watchdog's PMPI interposers) are not calls.
Comments and string literals are skipped, so a call named in a message or comment is ignored.
"""
import os
import re
import sys

CHECKERS = ("CHECK_MPI", "CHECK_MPI_GOTO", "CHECK_MPI_DIE", "OO_MPI_RC", "TIMED_MPI", "WATCHED")
CALL = re.compile(r"\bP?MPI_[A-Z][a-z][A-Za-z0-9_]*\s*\(")
ALLOW = re.compile(r"lint-mpi:\s*[A-Za-z]")


def blank(text):
    """Comments and string/char literals replaced by spaces (newlines kept, so offsets and line
    numbers hold)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            out.append(text[i])
            i += 1
            continue
        out.append(re.sub(r"[^\n]", " ", text[i:j]))
        i = j
    return "".join(out)


def enclosing_macro(code, pos):
    """Name before the innermost '(' still open at pos, and whether pos is its first argument."""
    depth = 0
    i = pos - 1
    first_arg = True
    while i >= 0:
        c = code[i]
        if c in ")]}":
            depth += 1
        elif c in "([{":
            if depth == 0:
                if c != "(":
                    return None, False
                m = re.search(r"([A-Za-z_]\w*)\s*$", code[:i])
                return (m.group(1) if m else None), first_arg
            depth -= 1
        elif c == "," and depth == 0:
            first_arg = False
        elif c == ";" and depth == 0:
            return None, False
        i -= 1
    return None, False


def unchecked(text):
    """(line number, call name, line) of every unchecked MPI call in the C source text."""
    code = blank(text)
    lines = text.split("\n")
    found = []
    for m in CALL.finditer(code):
        name = m.group(0).rstrip("( \t\n")
        line_no = code.count("\n", 0, m.start()) + 1
        before = code[code.rfind("\n", 0, m.start()) + 1:m.start()]
        if re.search(r"^\s*(static\s+)?(inline\s+)?int\s+$", before):
            continue  # a definition (the watchdog's interposers), not a call
        if ALLOW.search(lines[line_no - 1]):
            continue
        macro, first = enclosing_macro(code, m.start())
        if macro in CHECKERS and (first or macro in ("CHECK_MPI_GOTO", "TIMED_MPI", "WATCHED")):
            continue
        found.append((line_no, name, lines[line_no - 1].strip()))
    return found


def scan(dirs):
    bad = 0
    for top in dirs:
        for dirpath, _, files in os.walk(top):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for line_no, name, line in unchecked(fh.read()):
                        print(f"{path}:{line_no}: unchecked {name}: wrap it in CHECK_MPI (or CHECK_MPI_GOTO, "
                              f"CHECK_MPI_DIE, OO_MPI_RC; comm.h), or add `/* lint-mpi: why */`: {line}")
                        bad += 1
    if bad:
        print(f"lint_mpi: {bad} unchecked MPI call(s)")
        return 1
    print("lint_mpi: every MPI call is checked")
    return 0


SAMPLES = [
    # (source, number of unchecked calls it must report)
    ("int f(MPI_Comm c) { int r; MPI_Comm_rank(c, &r); return r; }", 1),
    ("int f(MPI_Comm c) {\n  int x = 0;\n  MPI_Bcast(&x, 1, MPI_INT, 0, c);\n  return x;\n}", 1),
    ("int f(MPI_Comm c) { if (MPI_Barrier(c) != MPI_SUCCESS) return 1; return 0; }", 1),
    ("int f(MPI_Comm c) { int r; CHECK(MPI_Comm_rank(c, &r)); return r; }", 1),  # CHECK is not for MPI codes
    ("int f(MPI_Comm c) { int r; CHECK_MPI(MPI_Comm_rank(c, &r)); return r; }", 0),
    ("int f(MPI_Comm c) { int rc = 0; CHECK_MPI_GOTO(rc, MPI_Barrier(c), done); done: return rc; }", 0),
    ("int f(MPI_Comm c) { int rc = OO_MPI_RC(MPI_Barrier(c)); return rc; }", 0),
    ("void f(void) { MPI_Abort(MPI_COMM_WORLD, 1); /* lint-mpi: aborting */ }", 0),
    ("void f(void) { MPI_Abort(MPI_COMM_WORLD, 1); /* lint-mpi: */ }", 1),  # a reason is required
    ("/* MPI_Bcast(&x, 1, MPI_INT, 0, c) in a comment */ const char *s = \"MPI_Barrier(c)\";", 0),
    ("int MPI_Barrier(MPI_Comm comm) { return PMPI_Barrier(comm); }", 1),  # the PMPI call inside counts
    ("int f(MPI_Comm c) { CHECK_MPI(g(MPI_Barrier(c))); return 0; }", 1),  # not the macro's own call
]


def self_test():
    failures = 0
    for src, want in SAMPLES:
        got = len(unchecked(src))
        if got != want:
            print(f"self-test FAILED: expected {want} unchecked call(s), found {got} in: {src}")
            failures += 1
    print(f"lint_mpi self-test: {len(SAMPLES) - failures}/{len(SAMPLES)} samples judged right")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(scan(sys.argv[1:]))
