"""Unprotected packet headers (and the Retry packet) of RFC 9001 Appendix A and RFC 9369 Appendix A,
used as test data by tests/test_packet.c. Writes spec/vectors/rfc9001-headers.txt and
spec/vectors/rfc9369-headers.txt as `key = hex` lines. (The packet-protection vectors themselves are
extracted by rfc9001_protection.py.)"""
import os, re, sys


def _norm(text):
    out = []
    for line in text.split("\n"):
        if "\f" in line:
            continue
        if re.match(r"^\S.*\[Page \d+\]$", line) or re.match(r"^RFC \d+ .* \w+ \d{4}$", line):
            continue
        out.append(line)
    return "\n".join(out)


def _section(t, start, end):
    m = re.search(r"^" + re.escape(start) + r"[^\n.]*$", t, re.M)
    if not m:
        sys.exit(f"rfc9001_headers: section not found: {start}")
    e = re.search(r"^" + re.escape(end), t[m.end():], re.M)
    return t[m.start():m.end() + (e.start() if e else len(t))]


def _hexblock_after(body, marker):
    """The hex lines that follow the paragraph containing marker, joined."""
    i = body.find(marker)
    if i < 0:
        sys.exit(f"rfc9001_headers: marker not found: {marker}")
    lines = body[i:].split("\n")
    out, started = [], False
    for l in lines[1:]:
        s = l.strip()
        if re.fullmatch(r"[0-9a-f ]+", s) and len(s.replace(" ", "")) >= 8:
            out.append(s.replace(" ", ""))
            started = True
        elif started:
            break
    if not out:
        sys.exit(f"rfc9001_headers: no hex after: {marker}")
    return "".join(out)


def _one(rfc_dir, name, out_path):
    t = _norm(open(os.path.join(rfc_dir, name)).read())
    a2 = _section(t, "A.2.  Client Initial", "A.3.  Server Initial")
    a3 = _section(t, "A.3.  Server Initial", "A.4.  Retry")
    a4 = _section(t, "A.4.  Retry", "A.5.  ChaCha20-Poly1305")
    a5 = _section(t, "A.5.  ChaCha20-Poly1305", "A.6")
    vec = {
        "client_initial_header": _hexblock_after(a2, "The unprotected header indicates a length"),
        "client_initial_length": re.search(r"indicates a length of (\d+) bytes", a2).group(1),
        "client_initial_pn": re.search(r"packet number of (\d+)", a2).group(1),
        "server_initial_header": _hexblock_after(a3, "The header from the server includes"),
        "server_initial_pn": re.search(r"packet number of (\d+)", a3).group(1),
        "retry_packet": _hexblock_after(a4, "value is not included in the final Retry packet"),
        "retry_odcid": re.search(r"connection ID value of 0x([0-9a-f]+)", a4).group(1),
        "short_header": re.search(r"unprotected header = ([0-9a-f]+)", a5).group(1),
        "short_header_pn": re.search(r"pn\s+= (\d+)", a5).group(1),
    }
    with open(out_path, "w") as f:
        f.write(f"# {name} Appendix A: unprotected headers (A.2, A.3, A.5) and the Retry packet (A.4)\n")
        for k, v in vec.items():
            f.write(f"{k} = {v}\n")


def extract(rfc_dir, out_dir):
    _one(rfc_dir, "rfc9001.txt", os.path.join(out_dir, "rfc9001-headers.txt"))
    _one(rfc_dir, "rfc9369.txt", os.path.join(out_dir, "rfc9369-headers.txt"))
