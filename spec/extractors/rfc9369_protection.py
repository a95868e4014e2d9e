"""RFC 9369 (QUIC version 2) packet-protection vectors: Appendix A (A.1 keys, A.2 client Initial, A.3
server Initial, A.4 Retry, A.5 ChaCha20-Poly1305 short header), the Version field of §3.1, the initial
salt of §3.3.1 and the Retry secret/key/nonce of §3.3.3.

Appendix A has the layout of RFC 9001 Appendix A with "quicv2" labels, so the parser and self-checks of
rfc9001_protection.py are reused; the keys written are the same, so one C test runs over both files.
"""
import importlib.util
import os
import re


def _base():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("vq_extract_rfc9001_protection_base",
                                                  os.path.join(here, "rfc9001_protection.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def extract(rfc_dir, out_dir):
    b = _base()
    rfc = "rfc9369"
    t = b.norm(open(os.path.join(rfc_dir, "rfc9369.txt")).read())
    s31 = b.section(rfc, t, "3.1.  Version Field", "3.2.  ")
    m = re.search(b.words("The Version field of long headers is") + r"\s+0x([0-9a-f]{8})", s31)
    if not m:
        b.fail(rfc, "§3.1: version not found")
    kv = [("version", m.group(1))]
    kv.append(("initial_salt", b.salt(rfc, b.section(rfc, t, "3.3.1.  Initial Salt", "3.3.2.  "))))
    s333 = b.section(rfc, t, "3.3.3.  Retry Integrity Tag", "4.  ")
    for k, name, n in (("retry_key", "key", 16), ("retry_nonce", "nonce", 12), ("retry_secret", "secret", 32)):
        m = re.search(r"\b" + name + r"\s*=\s*0x([0-9a-f]+)", s333)
        if not m:
            b.fail(rfc, f"§3.3.3: {name} not found")
        b.check_len(rfc, k, m.group(1), n)
        kv.append((k, m.group(1)))
    kv += b.appendix_a(rfc, t, "quicv2")
    # The Initial and Retry examples carry the version in their long headers.
    for k in ("client_header", "server_header", "retry_packet"):
        if dict(kv)[k][2:10] != kv[0][1]:
            b.fail(rfc, f"A: {k} does not carry version {kv[0][1]}")
    b.write(out_dir, "rfc9369-protection.txt",
            "RFC 9369 §3.1 version, §3.3.1 initial salt, §3.3.3 Retry secret/key/nonce, Appendix A vectors",
            kv)
