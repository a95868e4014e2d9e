"""RFC 9001 packet-protection vectors: Appendix A (A.1 keys, A.2 client Initial, A.3 server Initial,
A.4 Retry, A.5 ChaCha20-Poly1305 short header), plus the constants of §5.2 (initial salt), §5.8 (Retry
key, nonce and the secret they derive from) and the AEAD limits of §6.6.

Every value is copied verbatim out of the RFC text: wrapped hex lines are joined, nothing is retyped.
Each value is self-checked (lengths, the HkdfLabel structures of A.1 against their labels, packet sizes
against the header's Length field) so that a misparse fails here, not in a test.

rfc9369_protection.py reuses the parser below for RFC 9369 Appendix A (QUIC version 2), which has the
same layout; both write the same keys so the C tests run one code path over either file.
"""
import os
import re
import sys

HEXLINE = r"[0-9a-f]+(?: +[0-9a-f]+)*"
# A value after '=': hex groups on the same line and on following indented hex-only lines.
VALUE = r"\s*=\s*(" + HEXLINE + r"(?:\n +" + HEXLINE + r")*) *(?=\n|\Z)"
# A block of hex-only lines after a paragraph ending in ':' and a blank line.
BLOCK = r":\s*\n\s*\n( +" + HEXLINE + r"(?:\n +" + HEXLINE + r")*) *(?=\n|\Z)"


def fail(rfc, msg):
    sys.exit(f"{rfc}: {msg}")


def norm(text):
    """Drops page breaks (form feed, page footer and header lines) so that blocks split over pages
    join (same rule as spec/extract-vectors.py)."""
    out = []
    for line in text.split("\n"):
        if "\f" in line:
            continue
        if re.match(r"^\S.*\[Page \d+\]$", line) or re.match(r"^RFC \d+ .* \w+ \d{4}$", line):
            continue
        out.append(line)
    # Page breaks leave runs of blank lines; one blank line is what the parser expects.
    return re.sub(r"\n(?:[ ]*\n){2,}", "\n\n", "\n".join(out))


def section(rfc, text, start, end):
    """From the heading line `start` (not its table-of-contents entry) to the next heading `end` (or to
    the end of text if end is None)."""
    m = re.search(r"^" + re.escape(start) + r"[^\n.]*$", text, re.M)
    if not m:
        fail(rfc, f"section not found: {start}")
    if end is None:
        return text[m.start():]
    e = re.search(r"^" + re.escape(end), text[m.end():], re.M)
    if not e:
        fail(rfc, f"end of section not found: {end}")
    return text[m.start():m.end() + e.start()]


def words(s):
    """A regex for the literal phrase s, where any run of spaces may be a line break in the RFC."""
    return r"\s+".join(re.escape(w) for w in s.split())


def hexjoin(s):
    return re.sub(r"\s+", "", s)


def value(rfc, text, anchor, nbytes=None):
    """The hex value written after `anchor` (a regex) and '='."""
    m = re.search(anchor + VALUE, text)
    if not m:
        fail(rfc, f"value not found after /{anchor}/")
    h = hexjoin(m.group(1))
    check_len(rfc, anchor, h, nbytes)
    return h


def block(rfc, text, anchor, nbytes=None):
    """The hex block after the paragraph that ends with `anchor` (a regex) and ':'."""
    m = re.search(anchor + BLOCK, text)
    if not m:
        fail(rfc, f"hex block not found after /{anchor}/")
    h = hexjoin(m.group(1))
    check_len(rfc, anchor, h, nbytes)
    return h


def check_len(rfc, what, h, nbytes):
    if len(h) % 2:
        fail(rfc, f"odd number of hex digits for /{what}/")
    if nbytes is not None and len(h) // 2 != nbytes:
        fail(rfc, f"/{what}/: {len(h) // 2} bytes, expected {nbytes}")


def hkdf_label(length, label):
    """RFC 8446 §7.1 HkdfLabel with an empty context, as A.1 prints it."""
    full = b"tls13 " + label.encode()
    return (length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00").hex()


def appendix_a(rfc, text, prefix):
    """Parses Appendix A of RFC 9001 (prefix "quic") or RFC 9369 (prefix "quicv2"); returns a list of
    (key, value) pairs."""
    kv = []
    app = section(rfc, text, "Appendix A.  Sample Packet Protection", "Appendix B.")
    a1 = section(rfc, app, "A.1.  Keys", "A.2.  ")
    a2 = section(rfc, app, "A.2.  Client Initial", "A.3.  ")
    a3 = section(rfc, app, "A.3.  Server Initial", "A.4.  ")
    a4 = section(rfc, app, "A.4.  Retry", "A.5.  ")
    a5 = section(rfc, app, "A.5.  ChaCha20-Poly1305 Short Header Packet", None)

    m = re.search(r"Connection\s+ID\s+of\s+0x([0-9a-f]+)", app)
    if not m:
        fail(rfc, "A: Destination Connection ID not found")
    dcid = m.group(1)
    kv.append(("dcid", dcid))

    # A.1: the HkdfLabel structures, checked against the label they spell.
    for label, length in (("client in", 32), ("server in", 32), (prefix + " key", 16),
                          (prefix + " iv", 12), (prefix + " hp", 16)):
        m = re.search(r"^ +" + re.escape(label) + r": +([0-9a-f]+)$", a1, re.M)
        if not m:
            fail(rfc, f"A.1: HkdfLabel for '{label}' not found")
        if m.group(1) != hkdf_label(length, label):
            fail(rfc, f"A.1: HkdfLabel for '{label}' does not encode ({length}, '{label}')")
        kv.append(("hkdf_label." + label.replace(" ", "_"), m.group(1)))
    kv.append(("initial_secret", value(rfc, a1, words("initial_secret = HKDF-Extract(initial_salt, cid)"), 32)))
    for side in ("client", "server"):
        kv.append((f"{side}_initial_secret",
                   value(rfc, a1, words(f'{side}_initial_secret = HKDF-Expand-Label(initial_secret, "{side} in", "", 32)'), 32)))
        for what, n in (("key", 16), ("iv", 12), ("hp", 16)):
            kv.append((f"{side}_{what}", value(rfc, a1, r"\b" + what + r"\s+" + words(
                f'= HKDF-Expand-Label({side}_initial_secret, "{prefix} {what}", "", {n})'), n)))

    # A.2: the client Initial.
    m = re.search(words("plus enough PADDING frames to make a") + r"\s+(\d+)-byte\s+payload", a2)
    if not m:
        fail(rfc, "A.2: padded payload length not found")
    plen = int(m.group(1))
    kv.append(("client_payload_len", str(plen)))
    crypto = block(rfc, a2, r"\d+-byte\s+payload")
    if len(crypto) // 2 >= plen:
        fail(rfc, "A.2: CRYPTO frame longer than the padded payload")
    kv.append(("client_payload", crypto))
    pn, hdr, sample, mask, phdr, pkt = initial_packet(rfc, a2, "The resulting protected packet is", plen)
    m = re.search(r"uses\s+a\s+(\d)-byte\s+packet\s+number\s+encoding", a2)
    if not m or int(m.group(1)) != (int(hdr[:2], 16) & 3) + 1:
        fail(rfc, "A.2: packet number length in the text does not match the header")
    kv += [("client_pn", pn), ("client_header", hdr), ("client_sample", sample), ("client_mask", mask),
           ("client_protected_header", phdr), ("client_packet", pkt)]

    # A.3: the server Initial (no padding: the payload is exactly what is shown).
    payload = block(rfc, a3, words("and no PADDING frames"))
    kv.append(("server_payload", payload))
    pn, hdr, sample, mask, phdr, pkt = initial_packet(rfc, a3, "The final protected packet is then",
                                                      len(payload) // 2)
    m = re.search(r"(\d)-byte\s+packet\s+number\s+encoding", a3)
    if not m or int(m.group(1)) != (int(hdr[:2], 16) & 3) + 1:
        fail(rfc, "A.3: packet number length in the text does not match the header")
    kv += [("server_pn", pn), ("server_header", hdr), ("server_sample", sample), ("server_mask", mask),
           ("server_protected_header", phdr), ("server_packet", pkt)]

    # A.4: Retry, in response to the client Initial (whose DCID is the ODCID).
    m = re.search(words("connection ID value of") + r"\s+0x([0-9a-f]+)", a4)
    if not m:
        fail(rfc, "A.4: original destination connection ID not found")
    kv.append(("retry_odcid", m.group(1)))
    retry = block(rfc, a4, words("final Retry packet"))
    if len(retry) // 2 < 7 + 16 or (int(retry[:2], 16) & 0xc0) != 0xc0:
        fail(rfc, "A.4: not a long-header packet with a 16-byte tag")
    kv.append(("retry_packet", retry))

    # A.5: ChaCha20-Poly1305 short header.
    kv.append(("chacha_secret", value(rfc, a5, r"\n +secret", 32)))
    for what, n in (("key", 32), ("iv", 12), ("hp", 32), ("ku", 32)):
        kv.append((f"chacha_{what}", value(rfc, a5, r"\b" + what + r"\s+" + words(
            f'= HKDF-Expand-Label(secret, "{prefix} {what}", "", {n})'), n)))
    m = re.search(r"\bpn\s+=\s+(\d+)\s+\(decimal\)", a5)
    if not m:
        fail(rfc, "A.5: packet number not found")
    kv.append(("chacha_pn", m.group(1)))
    kv.append(("chacha_nonce", value(rfc, a5, r"\bnonce", 12)))
    hdr = value(rfc, a5, words("unprotected header"))
    kv.append(("chacha_header", hdr))
    pt = value(rfc, a5, words("payload plaintext"))
    kv.append(("chacha_plaintext", pt))
    kv.append(("chacha_ciphertext", value(rfc, a5, words("payload ciphertext"), len(pt) // 2 + 16)))
    kv.append(("chacha_sample", value(rfc, a5, r"\bsample", 16)))
    kv.append(("chacha_mask", value(rfc, a5, r"\bmask", 5)))
    kv.append(("chacha_protected_header", value(rfc, a5, r"\n +header", len(hdr) // 2)))
    m = re.search(words("smallest possible packet size of") + r"\s+(\d+)\s+bytes", a5)
    kv.append(("chacha_packet", value(rfc, a5, r"\n +packet", int(m.group(1)) if m else None)))
    return kv


def initial_packet(rfc, sec, final_anchor, payload_len):
    """pn, header, sample, mask, protected header and packet of an Initial example (A.2 / A.3)."""
    m = re.search(words("packet number of") + r"\s+(\d+):", sec)
    if not m:
        fail(rfc, "Initial: packet number not found")
    pn = m.group(1)
    hdr = block(rfc, sec, words("packet number of") + r"\s+\d+")
    pn_len = (int(hdr[:2], 16) & 3) + 1
    if int(hdr[-2 * pn_len:], 16) != int(pn):
        fail(rfc, "Initial: header's packet number field does not hold the packet number")
    # The Length field (a 2-byte varint before the packet number) covers pn, payload and tag.
    length = int(hdr[-2 * pn_len - 4:-2 * pn_len], 16) & 0x3fff
    if length != pn_len + payload_len + 16:
        fail(rfc, f"Initial: Length {length} != {pn_len} + {payload_len} + 16")
    sample = value(rfc, sec, r"\bsample", 16)
    mask = value(rfc, sec, r"\bmask\s*=\s*(?:AES-ECB\(hp,\s*sample\)\[0\.\.4\]\s*)?", 5) \
        if re.search(r"\bmask\s*=\s*AES-ECB", sec) else value(rfc, sec, r"\bmask", 5)
    phdr = value(rfc, sec, r"\n +header", len(hdr) // 2)
    pkt = block(rfc, sec, words(final_anchor), len(hdr) // 2 + payload_len + 16)
    if not pkt.startswith(phdr):
        fail(rfc, "Initial: protected packet does not start with the protected header")
    return pn, hdr, sample, mask, phdr, pkt


def write(out, name, title, kv):
    keys = [k for k, _ in kv]
    if len(keys) != len(set(keys)):
        sys.exit(f"{name}: duplicate keys")
    with open(os.path.join(out, name), "w") as f:
        f.write(f"# {title}\n# Extracted verbatim by spec/extractors/; key = value (hex unless said otherwise).\n")
        for k, v in kv:
            f.write(f"{k} = {v}\n")


def extract(rfc_dir, out_dir):
    rfc = "rfc9001"
    t = norm(open(os.path.join(rfc_dir, "rfc9001.txt")).read())
    kv = [("version", "00000001")]
    s52 = section(rfc, t, "5.2.  Initial Secrets", "5.3.  ")
    kv.append(("initial_salt", salt(rfc, s52)))
    s58 = section(rfc, t, "5.8.  Retry Packet Integrity", "6.  ")
    m_k = re.search(words("The secret key, K, is 128 bits equal to") + r"\s+0x([0-9a-f]+)", s58)
    m_n = re.search(words("The nonce, N, is 96 bits equal to") + r"\s+0x([0-9a-f]+)", s58)
    m_s = re.search(r"0x([0-9a-f]+)\s+" + words("as the secret"), s58)
    if not (m_k and m_n and m_s):
        fail(rfc, "§5.8: Retry key, nonce or secret not found")
    for k, m, n in (("retry_key", m_k, 16), ("retry_nonce", m_n, 12), ("retry_secret", m_s, 32)):
        check_len(rfc, k, m.group(1), n)
        kv.append((k, m.group(1)))
    kv += appendix_a(rfc, t, "quic")

    # §6.6: AEAD limits, as powers of two.
    s66 = " ".join(section(rfc, t, "6.6.  Limits on AEAD Usage", "6.7.  ").split())
    pats = {
        "limit.aes_gcm.confidentiality_log2":
            r"For AEAD_AES_128_GCM and AEAD_AES_256_GCM, the confidentiality limit is 2\^(\d+) encrypted packets",
        "limit.aes_gcm.integrity_log2":
            r"For AEAD_AES_128_GCM and AEAD_AES_256_GCM, the integrity limit is 2\^(\d+) invalid packets",
        "limit.chacha20.confidentiality_disregarded_above_log2":
            r"For AEAD_CHACHA20_POLY1305, the confidentiality limit is greater than the number of possible "
            r"packets \(2\^(\d+)\) and so can be disregarded",
        "limit.chacha20.integrity_log2":
            r"For AEAD_CHACHA20_POLY1305, the integrity limit is 2\^(\d+) invalid packets",
    }
    for k, p in pats.items():
        m = re.search(p, s66)
        if not m:
            fail(rfc, f"§6.6: {k} not found")
        kv.append((k, m.group(1)))
    write(out_dir, "rfc9001-protection.txt",
          "RFC 9001 §5.2 initial salt, §5.8 Retry key/nonce/secret, §6.6 AEAD limits, Appendix A vectors", kv)


def salt(rfc, sec):
    m = re.search(r"initial_salt\s*=\s*0x([0-9a-f]+)", sec)
    if not m:
        fail(rfc, "initial_salt not found")
    check_len(rfc, "initial_salt", m.group(1), 20)
    return m.group(1)
