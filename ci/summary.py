#!/usr/bin/env python3
"""Adds up the `N passed, N failed` lines each stage of `make check` left in build/results/."""
import os, re, sys
d = sys.argv[1]
tp = tf = 0
for name in sorted(os.listdir(d)):
    for line in open(os.path.join(d, name)):
        m = re.search(r"(\d+) passed, (\d+) failed", line)
        if m:
            p, f = int(m.group(1)), int(m.group(2))
    print(f"  {name[:-4]:<10} {p} passed, {f} failed")
    tp += p; tf += f
print(f"{tp} passed, {tf} failed")
sys.exit(1 if tf else 0)
