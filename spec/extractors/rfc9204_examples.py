#!/usr/bin/env python3
"""RFC 9204 Appendix B (Encoding and Decoding Examples): the bytes of every stream chunk, pulled from
the RFC text into spec/vectors/rfc9204-examples.txt. Never retyped.

Each example is a sequence of "Stream: X" blocks (X = Encoder, Decoder, or a request stream ID); a
block's data is the hex before '|' on its lines. Output, one chunk per line, in RFC order:
    <example> <stream> <hex>
e.g. "B.2 Encoder 3fbd01c00f...". The expected decoded fields are the "(name=value)" interpretations
on the request-stream lines, written as
    <example> <stream> field <name>=<value>
"""
import os, re, sys


def norm(text):
    out = []
    for line in text.split("\n"):
        if "\f" in line:
            continue
        if re.match(r"^\S.*\[Page \d+\]$", line) or re.match(r"^RFC \d+ .* \w+ \d{4}$", line):
            continue
        out.append(line)
    return "\n".join(out)


def extract(rfc_dir, out_dir):
    t = norm(open(os.path.join(rfc_dir, "rfc9204.txt"), encoding="utf-8").read())
    a = re.search(r"^Appendix B\.  Encoding and Decoding Examples$", t, re.M)
    c = re.search(r"^Appendix C\.", t[a.end():], re.M)
    body = t[a.end():a.end() + c.start()]
    lines = []
    example = None
    stream = None
    chunk = []
    fields = []

    def flush():
        if stream is not None and chunk:
            lines.append(f"{example} {stream} {''.join(chunk)}")
            for f in fields:
                lines.append(f"{example} {stream} field {f}")

    for line in body.split("\n"):
        m = re.match(r"^(B\.\d+)\.  ", line)
        if m:
            flush()
            example, stream, chunk, fields = m.group(1), None, [], []
            continue
        m = re.match(r"^   Stream: (\S+)\s*$", line)
        if m:
            flush()
            stream, chunk, fields = m.group(1), [], []
            continue
        if stream is None:
            continue
        m = re.match(r"^   ((?:[0-9a-f]{2,4} ?)+)\s*\|(.*)$", line)
        if m:
            chunk.append(m.group(1).replace(" ", ""))
        if "|" in line:
            f = re.search(r"\(([^=()]+)=([^()]*)\)\s*$", line.split("|", 1)[1])
            if f and stream not in ("Encoder", "Decoder"):
                fields.append(f"{f.group(1)}={f.group(2)}")
    flush()
    if len([l for l in lines if " field " not in l]) != 10:
        sys.exit("rfc9204 Appendix B: expected 10 stream chunks, found:\n" + "\n".join(lines))
    with open(os.path.join(out_dir, "rfc9204-examples.txt"), "w") as f:
        f.write("# RFC 9204 Appendix B: <example> <stream> <hex>, then the fields a request stream decodes to\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    extract(sys.argv[1], sys.argv[2])
