#!/usr/bin/env python3
"""Adds up the `N passed, N failed` lines each stage of `make check` left in build/results/.
A stage whose file has no such line counts as one failure (it did not report)."""
import os, re, sys
d = sys.argv[1]
tp = tf = 0
for name in sorted(n for n in os.listdir(d) if n.endswith(".txt")):  # stages' result files; *.log are their logs
    p = f = None
    for line in open(os.path.join(d, name)):
        m = re.search(r"(\d+) passed, (\d+) failed", line)
        if m:
            p, f = int(m.group(1)), int(m.group(2))
    if p is None:
        print(f"  {name[:-4]:<10} no result line: counted as 1 failure")
        p, f = 0, 1
    else:
        print(f"  {name[:-4]:<10} {p} passed, {f} failed")
    tp += p
    tf += f
print(f"{tp} passed, {tf} failed")
sys.exit(1 if tf else 0)
