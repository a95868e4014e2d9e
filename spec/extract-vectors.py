#!/usr/bin/env python3
"""Extracts the spec-derived test vectors from the RFC texts into spec/vectors/.

Never retype a vector by hand: every value in spec/vectors/ is pulled by this script out of the
plain-text RFCs in ../shared/rfc/, and `make check` re-runs it and fails if the committed files differ.
One function per RFC appendix; each writes a small text file that the C tests read.
"""
import argparse, os, re, sys


def norm(text):
    """Drops RFC page breaks (form feed, the page footer and header lines) so multi-page blocks join."""
    out = []
    for line in text.split("\n"):
        if "\f" in line:
            continue
        if re.match(r"^\S.*\[Page \d+\]$", line) or re.match(r"^RFC \d+ .* \w+ \d{4}$", line):
            continue
        out.append(line)
    return "\n".join(out)


def section(text, start, end):
    """The body of a section: from the heading line `start` (not its table-of-contents entry, which
    has leader dots) to the next heading `end`."""
    m = re.search(r"^" + re.escape(start) + r"[^\n.]*$", text, re.M)
    if not m:
        sys.exit(f"section not found: {start}")
    e = re.search(r"^" + re.escape(end), text[m.end():], re.M)
    return text[m.start():m.end() + (e.start() if e else len(text))]


def num(s):
    return int(s.replace(",", ""), 0)


def rfc9000(rfc, out):
    t = norm(open(os.path.join(rfc, "rfc9000.txt")).read())
    # A.1: varint samples. "the eight-byte sequence 0x... decodes to the decimal value N"
    a1 = " ".join(section(t, "A.1.  Sample Variable-Length Integer Decoding", "A.2.  Sample Packet").split())
    pairs = re.findall(r"(?:sequence|byte) (0x[0-9a-f]+) decodes\s+to (?:the decimal value )?([\d,]+)", a1)
    m = re.search(r"decodes to ([\d,]+) \(as does the two-byte sequence (0x[0-9a-f]+)\)", a1)
    if m:
        pairs.append((m.group(2), m.group(1)))
    if len(pairs) < 5:
        sys.exit("rfc9000 A.1: expected 5 varint samples, found %d" % len(pairs))
    with open(os.path.join(out, "rfc9000-varint.txt"), "w") as f:
        f.write("# RFC 9000 Appendix A.1 (and §16): varint encodings and their values\n# hex value\n")
        for h, v in pairs:
            f.write(f"{h[2:]} {num(v)}\n")

    # A.2: packet number encoding examples.
    a2 = " ".join(section(t, "A.2.  Sample Packet Number Encoding", "A.3.  Sample Packet Number Decoding").split())
    m1 = re.search(r"acknowledgment for packet (0x[0-9a-f]+) and is sending a packet with a number of "
                   r"(0x[0-9a-f]+).*?(\d+) bits are required", a2)
    m2 = re.search(r"sending a packet with a number of (0x[0-9a-f]+) uses the (\d+)-bit encoding", a2)
    if not m1 or not m2:
        sys.exit("rfc9000 A.2: examples not found")
    with open(os.path.join(out, "rfc9000-pn-encode.txt"), "w") as f:
        f.write("# RFC 9000 Appendix A.2: largest_acked full_pn encoded_bits\n")
        f.write(f"{m1.group(1)} {m1.group(2)} {m1.group(3)}\n")
        f.write(f"{m1.group(1)} {m2.group(1)} {m2.group(2)}\n")

    # A.3 (and §17.1): packet number decoding example.
    a3 = " ".join(section(t, "A.3.  Sample Packet Number Decoding", "A.4.  Sample ECN").split())
    s171 = " ".join(section(t, "17.1.  Packet Number Encoding and Decoding", "17.2.  Long Header").split())
    ex = []
    for blob in (s171, a3):
        for m in re.finditer(r"packet number of (0x[0-9a-f]+), then a packet containing a (\d+)-bit value "
                             r"of (0x[0-9a-f]+) will be decoded as (0x[0-9a-f]+)", blob):
            ex.append(m.groups())
    if not ex:
        sys.exit("rfc9000 A.3: example not found")
    with open(os.path.join(out, "rfc9000-pn-decode.txt"), "w") as f:
        f.write("# RFC 9000 §17.1 / Appendix A.3: largest_pn truncated_bits truncated_pn expected_pn\n")
        for g in dict.fromkeys(ex):
            f.write(" ".join(g) + "\n")


EXTRACTORS = [rfc9000]


def load_plugins():
    """spec/extractors/*.py each define extract(rfc_dir, out_dir) for one RFC's vectors."""
    import importlib.util
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extractors")
    fns = []
    if os.path.isdir(d):
        for name in sorted(os.listdir(d)):
            if name.endswith(".py") and not name.startswith("_"):
                spec = importlib.util.spec_from_file_location("vq_extract_" + name[:-3], os.path.join(d, name))
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                fns.append(mod.extract)
    return fns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rfc-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "rfc"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "vectors"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for fn in EXTRACTORS + load_plugins():
        fn(a.rfc_dir, a.out)
    print("vectors written to", a.out)


if __name__ == "__main__":
    main()
