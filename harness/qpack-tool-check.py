#!/usr/bin/env python3
"""qpack-tool-check: vq-qpack against the offline QPACK interop data.

  qpack-tool-check.py VQ_QPACK INTEROP_DIR RESULT_FILE

1. decodes every file of encoded/{ls-qpack,nghttp3,examples} and compares the output with the QIF the
   file name names (<qif>.out.<table_size>.<max_blocked>.<immediate_ack>; no suffix: the file sets its
   own capacity, decoded with 4096 100; examples.out.* has no QIF: it must decode to 3 sections);
2. encodes every QIF with several table sizes, blocked-stream limits and ack modes, decodes the result
   again with vq-qpack and compares with the QIF;
3. decodes encoded/errors/err* (must exit 1 with the RFC 9204 error name the interop README gives) and a
   few malformed files made here (must exit 1, never crash).
QIF comparison: comment lines dropped, blocks (separated by blank lines) compared in order.
Prints a summary and writes "qpack-tool: N passed, N failed" to RESULT_FILE. Exits 1 on any failure."""
import os, re, subprocess, sys, tempfile

tool, idir, result = sys.argv[1], sys.argv[2], sys.argv[3]
passed, failed = 0, 0
failures = []


def blocks(data):
    out, cur = [], []
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"#"):
            continue
        if line == b"":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        out.append(cur)
    return out


def record(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        failures.append(what)


def run(args):
    return subprocess.run([tool] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60)


qif_cache = {}


def qif(name):
    if name not in qif_cache:
        with open(os.path.join(idir, "qifs", name + ".qif"), "rb") as f:
            qif_cache[name] = blocks(f.read())
    return qif_cache[name]


def check_decode(path, table, blocked, want, what):
    r = run(["decode", path, table, blocked])
    if r.returncode != 0:
        record(False, f"{what}: exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
        return
    got = blocks(r.stdout)
    heads = r.stdout.count(b"# stream ")
    if isinstance(want, int):
        record(heads == want, f"{what}: {heads} sections, want {want}")
    else:
        n = sum(1 for a, b in zip(got, want) if a == b)
        record(got == want and heads == len(want),
               f"{what}: {n} of {len(want)} blocks match ({len(got)} decoded, {heads} '# stream' lines)")


# 1. the interop files
dec_files = 0
for enc in ("ls-qpack", "nghttp3", "examples"):
    d = os.path.join(idir, "encoded", enc)
    if not os.path.isdir(d):
        record(False, f"{d}: missing")
        continue
    for fn in sorted(os.listdir(d)):
        m = re.fullmatch(r"(.+)\.out(?:\.(\d+)\.(\d+)\.([01]))?", fn)
        if not m:
            continue
        name, table, blocked = m.group(1), m.group(2), m.group(3)
        if table is None:
            table, blocked = 4096, 100
        want = 3 if name == "examples" else qif(name)
        check_decode(os.path.join(d, fn), table, blocked, want, f"decode {enc}/{fn}")
        dec_files += 1

# 2. encode every QIF and decode it back
rt_runs = 0
with tempfile.TemporaryDirectory() as tmp:
    names = sorted(f[:-4] for f in os.listdir(os.path.join(idir, "qifs")) if f.endswith(".qif"))
    for name in names:
        for table in (0, 256, 4096):
            for blocked in (0, 16, 100):
                for ack in (0, 1):
                    what = f"encode {name}.qif {table} {blocked} {ack}"
                    r = run(["encode", os.path.join(idir, "qifs", name + ".qif"), table, blocked, ack])
                    rt_runs += 1
                    if r.returncode != 0:
                        record(False, f"{what}: exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
                        continue
                    out = os.path.join(tmp, f"{name}.out.{table}.{blocked}.{ack}")
                    with open(out, "wb") as f:
                        f.write(r.stdout)
                    check_decode(out, table, blocked, qif(name), what + " -> decode")

    # 3. inputs a decoder must reject
    err_files = 0
    ed = os.path.join(idir, "encoded", "errors")
    if os.path.isdir(ed):
        for fn in sorted(os.listdir(ed)):
            m = re.fullmatch(r"err(\d+)", fn)
            want = None
            if m:
                want = "QPACK_ENCODER_STREAM_ERROR" if int(m.group(1)) >= 11 else "QPACK_DECOMPRESSION_FAILED"
            r = run(["decode", os.path.join(ed, fn), 4096, 100])
            err = r.stderr.decode(errors="replace").strip()
            record(r.returncode == 1 and (want is None or want in err),
                   f"errors/{fn}: exit {r.returncode}, want 1{' and ' + want if want else ''}: {err}")
            err_files += 1

    def be(v, n):
        return v.to_bytes(n, "big")

    ins = bytes([0x3f, 0xe1, 0x1f])  # Set Dynamic Table Capacity 4096
    ins += bytes([0xc0 | 1, 0x01]) + b"a"  # Insert With Name Reference: static 1 (:path), value "a"
    blocked_sec = bytes([0x02, 0x00, 0x80])  # Required Insert Count 1, Base 1, dynamic relative 0
    bad = {
        "short-header": be(1, 8) + be(3, 2),
        "long-length": be(1, 8) + be(100, 4) + b"\x00\x00",
        "two-sections": be(1, 8) + be(2, 4) + b"\x00\x00" + be(1, 8) + be(2, 4) + b"\x00\x00",
        "never-unblocked": be(1, 8) + be(3, 4) + blocked_sec,
        "too-many-blocked": be(1, 8) + be(3, 4) + blocked_sec + be(2, 8) + be(3, 4) + blocked_sec,
        "huge-capacity": be(0, 8) + be(3, 4) + bytes([0x3f, 0xe1, 0x3f]),
    }
    for label, data in bad.items():
        p = os.path.join(tmp, label)
        with open(p, "wb") as f:
            f.write(data)
        r = run(["decode", p, 4096, 1])
        record(r.returncode == 1 and r.stderr.startswith(b"vq-qpack: "),
               f"malformed {label}: exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
    # The same section after the insert arrives decodes: blocked, then resumed.
    p = os.path.join(tmp, "blocked-then-insert")
    with open(p, "wb") as f:
        f.write(be(4, 8) + be(3, 4) + blocked_sec + be(0, 8) + be(len(ins), 4) + ins)
    r = run(["decode", p, 4096, 1])
    record(r.returncode == 0 and r.stdout == b"# stream 4\n:path\ta\n\n",
           f"blocked-then-insert: exit {r.returncode}, output {r.stdout!r}")
    # Usage errors exit 2.
    for args in (["decode"], ["decode", p, "x", "1"], ["encode", p, 0, 0, 2], ["frobnicate", p, 0, 0]):
        r = run(args)
        record(r.returncode == 2, f"usage {args[0]} ...: exit {r.returncode}, want 2")

for f in failures[:20]:
    print("  FAILED", f)
if len(failures) > 20:
    print(f"  ... {len(failures) - 20} more")
line = f"qpack-tool: {passed} passed, {failed} failed"
print(f"qpack-tool: {dec_files} interop files decoded, {rt_runs} encode/decode round trips, "
      f"{err_files} error files, malformed inputs and usage checks")
print(line)
os.makedirs(os.path.dirname(result) or ".", exist_ok=True)
with open(result, "w") as f:
    f.write(line + "\n")
sys.exit(1 if failed else 0)
