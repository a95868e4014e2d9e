#!/usr/bin/env python3
"""FF1 (NIST SP 800-38G, Algorithm 7) written directly from the standard for any radix, checked
against NIST's published FF1-AES128 samples 1-3, then run with radix 2 on the bits of a connection ID
to give the known answers of tests/test_cidperm.c (cidperm_known_answers). Kept to show how those
constants were computed: `python3 tests/ff1_kat.py` checks the samples and prints the vectors.
Needs the `cryptography` package (AES)."""
import hashlib
import hmac
import math

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def aes(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def num(x, radix):
    v = 0
    for d in x:
        v = v * radix + d
    return v


def strm(v, radix, m):
    out = []
    for _ in range(m):
        out.append(v % radix)
        v //= radix
    return out[::-1]


def ff1(key, tweak, x, radix, decrypt=False):
    n, t = len(x), len(tweak)
    u = n // 2
    v = n - u
    a, b = x[:u], x[u:]
    bb = math.ceil(math.ceil(v * math.log2(radix)) / 8)
    d = 4 * math.ceil(bb / 4) + 4
    p = bytes([1, 2, 1]) + radix.to_bytes(3, "big") + bytes([10, u % 256]) + n.to_bytes(4, "big") \
        + t.to_bytes(4, "big")
    rounds = range(9, -1, -1) if decrypt else range(10)
    for i in rounds:
        src = a if decrypt else b
        q = tweak + bytes((-t - bb - 1) % 16) + bytes([i]) + num(src, radix).to_bytes(bb, "big")
        r = bytes(16)
        msg = p + q
        for j in range(0, len(msg), 16):
            r = aes(key, bytes(x ^ y for x, y in zip(r, msg[j:j + 16])))
        s = r
        j = 1
        while len(s) < d:
            s += aes(key, bytes(x ^ y for x, y in zip(r, j.to_bytes(16, "big"))))
            j += 1
        y = int.from_bytes(s[:d], "big")
        m = u if i % 2 == 0 else v
        if decrypt:
            c = (num(b, radix) - y) % radix ** m
            b, a = a, strm(c, radix, m)
        else:
            c = (num(a, radix) + y) % radix ** m
            a, b = b, strm(c, radix, m)
    return a + b


def digits(s, radix):
    return [int(ch, radix) for ch in s]


def text(x):
    return "".join("0123456789abcdefghijklmnopqrstuvwxyz"[d] for d in x)


def check_nist():
    key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    samples = [  # SP 800-38G examples, FF1-AES128 samples 1, 2, 3
        (b"", 10, "0123456789", "2433477484"),
        (bytes.fromhex("39383736353433323130"), 10, "0123456789", "6124200773"),
        (bytes.fromhex("3737373770717273373737"), 36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
    ]
    for tw, radix, pt, ct in samples:
        got = text(ff1(key, tw, digits(pt, radix), radix))
        assert got == ct, (got, ct)
        assert text(ff1(key, tw, digits(ct, radix), radix, True)) == pt


def bits(bs):
    return [(byte >> (7 - k)) & 1 for byte in bs for k in range(8)]


def unbits(x):
    return bytes(num(x[i:i + 8], 2) for i in range(0, len(x), 8))


def cid_key(reset_key):
    # the CID key of src/transport/cidperm.c: HKDF-Extract(salt "vq cid", reset_key), then
    # HKDF-Expand-Label(PRK, "vq cid key", "", 16) (RFC 8446 §7.1: label "tls13 vq cid key")
    prk = hmac.new(b"vq cid", reset_key, hashlib.sha256).digest()
    label = b"tls13 vq cid key"
    info = (16).to_bytes(2, "big") + bytes([len(label)]) + label + bytes([0])
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:16]


def counter_block(counter, n):
    if n >= 8:
        return bytes(n - 8) + counter.to_bytes(8, "big")
    return (counter % (1 << (8 * n))).to_bytes(n, "big")


if __name__ == "__main__":
    check_nist()
    key = bytes(range(16))
    for n in (1, 2, 3, 8, 9, 20):
        pt = bytes((0x11 * (k + 1)) & 0xff for k in range(n))
        ct = unbits(ff1(key, b"", bits(pt), 2))
        assert unbits(ff1(key, b"", bits(ct), 2, True)) == pt
        print(f"key 00..0f len {n:2} in {pt.hex()} out {ct.hex()}")
    rk = bytes([0xa5] * 32)
    k = cid_key(rk)
    print(f"cid key of reset key a5*32: {k.hex()}")
    for c in (0, 1, 2**40 + 7):
        print(f"  counter {c} len 8 -> {unbits(ff1(k, b'', bits(counter_block(c, 8)), 2)).hex()}")
