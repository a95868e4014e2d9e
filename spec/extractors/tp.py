"""Transport parameter identifiers, pulled from the RFC texts into spec/vectors/tp-ids.txt:
RFC 9000 §18.2 ("name (0xNN):" entries), RFC 9368 §3/§10 (version_information, IANA "Value: 0x11"),
RFC 9221 §3 ("name=max_datagram_frame_size, value=0x20"). The C tests compare include/vquic/tp.h
against this file. The RFCs contain no byte-level transport parameter example to extract."""
import os, re, sys


def _section(text, start, end):
    m = re.search(r"^" + re.escape(start) + r"[^\n.]*$", text, re.M)
    if not m:
        sys.exit(f"tp: section not found: {start}")
    e = re.search(r"^" + re.escape(end), text[m.end():], re.M)
    return text[m.start():m.end() + (e.start() if e else len(text))]


def extract(rfc_dir, out_dir):
    t = open(os.path.join(rfc_dir, "rfc9000.txt")).read()
    s = _section(t, "18.2.  Transport Parameter Definitions", "19.  Frame Types and Formats")
    ids = re.findall(r"^   ([a-z_]+) \((0x[0-9a-f]{2})\):", s, re.M)
    if len(ids) != 17:
        sys.exit(f"tp: expected 17 parameters in RFC 9000 §18.2, found {len(ids)}")
    t = " ".join(open(os.path.join(rfc_dir, "rfc9368.txt")).read().split())
    m = re.search(r"Value: (0x[0-9a-f]+) Parameter Name: version_information", t)
    if not m:
        sys.exit("tp: version_information not found in RFC 9368")
    ids.append(("version_information", m.group(1)))
    t = " ".join(open(os.path.join(rfc_dir, "rfc9221.txt")).read().split())
    m = re.search(r"name=max_datagram_frame_size, value=(0x[0-9a-f]+)", t)
    if not m:
        sys.exit("tp: max_datagram_frame_size not found in RFC 9221")
    ids.append(("max_datagram_frame_size", m.group(1)))
    with open(os.path.join(out_dir, "tp-ids.txt"), "w") as f:
        f.write("# Transport parameter ids: RFC 9000 §18.2, RFC 9368 §3 (IANA), RFC 9221 §3\n# name id\n")
        for name, v in ids:
            f.write(f"{name} {v}\n")
