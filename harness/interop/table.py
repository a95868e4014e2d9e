#!/usr/bin/env python3
"""Markdown table of interop results: which case passes against which peer.

    table.py RESULTS.txt... > interop.md

Reads the `PASS name: ...` / `FAIL name: ...` lines that harness/interop/run.sh writes (one or more
result files, later ones overriding earlier ones for the same case) and prints one row per case kind
(the name without its direction prefix) and one column per pairing: vq-client -> ngtcp2 server
(vqc-gtls-*), ngtcp2 client -> vq-server (gtc-vqs-*), Chromium -> vq-server (chromium-*). A cell is
PASS, FAIL, or "-" when that pairing has no such case (or it was not run).
"""
import re
import sys

COLS = [("vqc-gtls-", "vq-client → ngtcp2 (gtlsserver)"),
        ("gtc-vqs-", "ngtcp2 (gtlsclient) → vq-server"),
        ("chromium-", "Chromium → vq-server")]


def main(paths):
    rows, cell = [], {}
    for p in paths:
        with open(p) as f:
            for line in f:
                m = re.match(r"^(PASS|FAIL) (\S+):", line)
                if not m:
                    continue
                st, name = m.groups()
                for ci, (pre, _) in enumerate(COLS):
                    if name.startswith(pre):
                        kind = name[len(pre):]
                        if kind not in rows:
                            rows.append(kind)
                        cell[(kind, ci)] = st
                        break
    out = ["| case | " + " | ".join(h for _, h in COLS) + " |",
           "|---|" + "---|" * len(COLS)]
    for k in rows:
        out.append(f"| {k} | " + " | ".join(cell.get((k, ci), "-") for ci in range(len(COLS))) + " |")
    npass = sum(1 for v in cell.values() if v == "PASS")
    out.append("")
    out.append(f"{npass} of {len(cell)} cases pass.")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
