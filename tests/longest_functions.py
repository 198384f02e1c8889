#!/usr/bin/env python3
"""Lists the longest C function bodies under the given folders (brace counting, for the issue #13
before/after figures): `python3 tests/longest_functions.py [--most N] DIR...`.

A function is a top-level `{ ... }` block whose opening line (or the line before it) ends a
parameter list `)`; strings, characters and comments are skipped so their braces do not count."""
import os
import re
import sys


def strip(text):
    """Blanks comments, strings and character literals, keeping newlines (line numbers hold)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = strip(open(path, encoding="utf-8", errors="replace").read())
    lines = text.split("\n")
    depth, start, name = 0, None, None
    for no, line in enumerate(lines, 1):
        for ch in line:
            if ch == "{":
                if depth == 0:
                    head = (lines[no - 2] if no >= 2 else "") + " " + line.split("{")[0]
                    m = re.search(r"(\w+)\s*\([^;]*\)\s*$", head.strip())
                    start, name = no, (m.group(1) if m else None)
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0 and name:
                    yield name, start, no - start + 1
                    name = None


def main(argv):
    most = 10
    if len(argv) > 2 and argv[1] == "--most":
        most, argv = int(argv[2]), argv[:1] + argv[3:]
    rows = []
    for top in argv[1:]:
        for dirpath, _, files in os.walk(top):
            for f in sorted(files):
                if f.endswith(".c"):
                    p = os.path.join(dirpath, f)
                    rows += [(n, p, name, s) for name, s, n in functions(p)]
    rows.sort(key=lambda r: (-r[0], r[1], r[3]))
    for n, p, name, s in rows[:most]:
        print(f"{n:5d}  {p}:{s}  {name}")


if __name__ == "__main__":
    main(sys.argv)
