#!/usr/bin/env python3
"""UDP fault injector for the interop harness: a relay between a QUIC client and server on loopback.

    udpfault.py --listen PORT --server PORT [--loss P] [--corrupt P] [--long-only]
                [--blackhole-after N --blackhole-ms MS] [--seed S] [--log FILE]

The client sends to 127.0.0.1:LISTEN; datagrams go on to 127.0.0.1:SERVER from one relay socket, and
what comes back is returned to the client's address. Each datagram, either way, is dropped with
probability --loss, or has one byte XORed with a non-zero value with probability --corrupt (the UDP
checksum is the kernel's, so the receiver's QUIC stack sees the damaged payload; the relay can only
damage what it forwards). --long-only restricts loss and corruption to long-header packets (first
byte's top bit set: Initial, 0-RTT, Handshake, Retry), i.e. the handshake flights. --blackhole-after N:
once N datagrams have been relayed, everything is dropped for --blackhole-ms, then relaying resumes
(a path outage mid-transfer). Counters go to --log (one line) and to stderr when it stops. Runs until killed (SIGINT/SIGTERM).
"""
import argparse
import random
import select
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--server", type=int, required=True)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--corrupt", type=float, default=0.0)
    ap.add_argument("--long-only", action="store_true")
    ap.add_argument("--blackhole-after", type=int, default=0)
    ap.add_argument("--blackhole-ms", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", a.listen))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    server = ("127.0.0.1", a.server)
    client = None
    n = {"relayed": 0, "dropped": 0, "corrupted": 0, "blackholed": 0}
    bh_start = None
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    def report(out):
        line = " ".join(f"{k} {v}" for k, v in n.items())
        if out is None:
            print("udpfault: " + line, file=sys.stderr)
        else:
            with open(out, "w") as f:
                f.write(line + "\n")

    while not stop:
        try:
            r, _, _ = select.select([front, back], [], [], 0.2)
        except InterruptedError:
            continue
        for s in r:
            data, src = s.recvfrom(65535)
            if s is front:
                client = src  # the client's latest address (it may migrate)
                dst, out = server, back
            else:
                if client is None:
                    continue
                dst, out = client, front
            now = time.monotonic()
            if a.blackhole_after and bh_start is None and n["relayed"] >= a.blackhole_after:
                bh_start = now
            if bh_start is not None and now - bh_start < a.blackhole_ms / 1000.0:
                n["blackholed"] += 1
                continue
            eligible = not a.long_only or (len(data) > 0 and data[0] & 0x80)
            if eligible and a.loss > 0 and rnd.random() < a.loss:
                n["dropped"] += 1
                continue
            if eligible and a.corrupt > 0 and rnd.random() < a.corrupt and len(data) > 0:
                b = bytearray(data)
                b[rnd.randrange(len(b))] ^= rnd.randrange(1, 256)
                data = bytes(b)
                n["corrupted"] += 1
            out.sendto(data, dst)
            n["relayed"] += 1
    report(None)
    if a.log:
        report(a.log)


if __name__ == "__main__":
    main()
