"""Frame vectors for src/core/frame*.c, pulled out of the RFC texts (never retyped):

rfc9000-frame-types.txt  RFC 9000 §12.4 Table 3: type range, name, Pkts and Spec columns, one row
                         per frame type; plus the RFC 9221 §4 DATAGRAM types and the §12.5 list of
                         frames that cannot appear in 0-RTT packets.
rfc9001-frames.txt       RFC 9001 Appendix A: unprotected packet payloads, i.e. real frame
                         sequences (the client Initial's CRYPTO frame and its padded payload length,
                         the server Initial's ACK + CRYPTO, the short header packet's PING).
"""
import os
import re
import sys


def _norm(text):
    out = []
    for line in text.split("\n"):
        if "\f" in line:
            continue
        if re.match(r"^\S.*\[Page \d+\]$", line) or re.match(r"^RFC \d+ .* \w+ \d{4}$", line):
            continue
        out.append(line)
    return "\n".join(out)


def _section(text, start, end):
    m = re.search(r"^" + re.escape(start) + r"[^\n.]*$", text, re.M)
    if not m:
        sys.exit(f"frame vectors: section not found: {start}")
    e = re.search(r"^" + re.escape(end), text[m.end():], re.M)
    return text[m.start():m.end() + (e.start() if e else len(text))]


def _hex_after(body, marker):
    """The hex block (lines of hex groups) that follows `marker` in body."""
    flat = " ".join(body.split())
    i = flat.find(" ".join(marker.split()))
    if i < 0:
        sys.exit(f"frame vectors: marker not found: {marker}")
    m = re.match(r"\s*((?:[0-9a-f]{2,}\s+)+)", flat[i + len(" ".join(marker.split())):] + " ")
    if not m:
        sys.exit(f"frame vectors: no hex after: {marker}")
    return "".join(m.group(1).split())


def _table3(rfc_dir):
    t = _norm(open(os.path.join(rfc_dir, "rfc9000.txt")).read())
    s = _section(t, "12.4.  Frames and Frame Types", "12.5.  Frames and Number Spaces")
    rows = re.findall(r"^\s*\|\s*(0x[0-9a-f]{2})(?:-(0x[0-9a-f]{2}))?\s*\|\s*([A-Z_]+)\s*\|\s*Section [\d.]+\s*\|"
                      r"\s*([IHih_01]+)\s*\|\s*([A-Z]*)\s*\|", s, re.M)
    if len(rows) != 20:
        sys.exit(f"frame vectors: Table 3 has {len(rows)} rows, expected 20")
    s125 = " ".join(_section(t, "12.5.  Frames and Number Spaces", "13.  Packetization").split())
    m = re.search(r"not possible to send the following frames in 0-RTT packets for various reasons: ([A-Za-z_, ]+?)\.", s125)
    if not m:
        sys.exit("frame vectors: §12.5 0-RTT list not found")
    no0rtt = [x.strip() for x in re.split(r",\s*(?:and\s+)?|\s+and\s+", m.group(1)) if x.strip()]
    d = _norm(open(os.path.join(rfc_dir, "rfc9221.txt")).read())
    dm = re.search(r"values (0x[0-9a-f]+) and (0x[0-9a-f]+)", " ".join(_section(d, "4.  Datagram Frame Types", "5.  Behavior").split()))
    if not dm:
        sys.exit("frame vectors: RFC 9221 §4 DATAGRAM types not found")
    # §5: "... MUST be protected with either 0-RTT or 1-RTT keys": Pkts __01.
    if "be protected with either 0-RTT or 1-RTT keys" not in " ".join(d.split()):
        sys.exit("frame vectors: RFC 9221 §5 DATAGRAM packet types not found")
    return rows, no0rtt, (dm.group(1), dm.group(2))


def _rfc9001(rfc_dir):
    t = _norm(open(os.path.join(rfc_dir, "rfc9001.txt")).read())
    a2 = _section(t, "A.2.  Client Initial", "A.3.  Server Initial")
    client = _hex_after(a2, "contains the following CRYPTO frame, plus enough PADDING frames to make a 1162-byte payload:")
    plen = re.search(r"to make a (\d+)-byte payload", " ".join(a2.split())).group(1)
    a3 = _section(t, "A.3.  Server Initial", "A.4.  Retry")
    server = _hex_after(a3, "including an ACK frame, a CRYPTO frame, and no PADDING frames:")
    a5 = _section(t, "A.5.  ChaCha20-Poly1305 Short Header Packet", "Appendix B.")
    ping = re.search(r"payload plaintext\s*=\s*([0-9a-f]+)", a5).group(1)
    return client, plen, server, ping


def extract(rfc_dir, out_dir):
    rows, no0rtt, dg = _table3(rfc_dir)
    with open(os.path.join(out_dir, "rfc9000-frame-types.txt"), "w") as f:
        f.write("# RFC 9000 §12.4 Table 3 (+ RFC 9221 §4): first_type last_type name pkts spec\n")
        f.write("# pkts: I Initial, H Handshake, 0 0-RTT, 1 1-RTT, ih = only type 0x1c in I/H; spec: N C P F\n")
        for lo, hi, name, pkts, spec in rows:
            f.write(f"type {lo} {hi or lo} {name} {pkts} {spec or '-'}\n")
        f.write(f"type {dg[0]} {dg[1]} DATAGRAM __01 -  # RFC 9221 §4 types, §5 0-RTT/1-RTT only\n")
        f.write("# RFC 9000 §12.5: frames that cannot be sent in 0-RTT packets\n")
        f.write("no0rtt " + " ".join(no0rtt) + "\n")
    client, plen, server, ping = _rfc9001(rfc_dir)
    with open(os.path.join(out_dir, "rfc9001-frames.txt"), "w") as f:
        f.write("# RFC 9001 Appendix A: unprotected packet payloads (frame sequences)\n")
        f.write(f"client_initial_crypto = {client}\n")
        f.write(f"client_initial_payload_len = {plen}\n")
        f.write(f"server_initial_frames = {server}\n")
        f.write(f"short_header_payload = {ping}\n")
