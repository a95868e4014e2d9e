"""RFC 9002 Appendix A.2 / B.1: the loss-recovery and congestion-control constants into
spec/vectors/rfc9002-constants.txt, for the transport's tests. Loaded by spec/extract-vectors.py.

Each constant is read from its appendix entry ("kName:  description ... is 3." / "recommends a value
of 1 ms.") and cross-checked against the body section the entry points to (e.g. §6.1.1 "(kPacket
Threshold) is 3"; for kLossReductionFactor, §7.3.2's "half"), so a misread of either place fails extraction. kInitialWindow and kMinimumWindow
have no number in Appendix B.1; their expressions are built from the sentences of §7.2 that B.1 refers
to ("ten times the maximum datagram size ... limiting the window to the larger of 14,720 bytes or
twice the maximum datagram size"; "The RECOMMENDED value is 2 * max_datagram_size").

Output, one constant a line: name value unit source. Values are written as the RFC writes them
(3, 9/8, 0.5); expressions use the pseudocode's variable max_datagram_size and no spaces.
"""
import os, re, sys

NUMBERS = {"once": 1, "twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10}


def _section(text, heading, next_heading):
    m = re.search(r"^" + re.escape(heading) + r"\s*$", text, re.M)
    if not m:
        sys.exit("rfc9002: heading not found: " + heading)
    e = re.search(r"^" + re.escape(next_heading), text[m.end():], re.M)
    if not e:
        sys.exit("rfc9002: heading not found: " + next_heading)
    return " ".join(text[m.end():m.end() + e.start()].split())


def _num(word):
    w = word.lower()
    if w in NUMBERS:
        return NUMBERS[w]
    if re.fullmatch(r"[\d,]+", w):
        return int(w.replace(",", ""))
    sys.exit("rfc9002: not a number: %r" % word)


def _entry(block, name):
    """The description of `name:` in an appendix constants list (up to the next kName: entry)."""
    m = re.search(re.escape(name) + r": (.*?)(?= k[A-Z]\w*: |$)", block)
    if not m:
        sys.exit("rfc9002: constant %s not found" % name)
    return m.group(1)


def _check(cond, what):
    if not cond:
        sys.exit("rfc9002: cross-check failed: " + what)


def constants(rfc_dir):
    t = open(os.path.join(rfc_dir, "rfc9002.txt"), encoding="utf-8").read()
    a2 = _section(t, "A.2.  Constants of Interest", "A.3.  Variables of Interest")
    b1 = _section(t, "B.1.  Constants of Interest", "B.2.  Variables of Interest")
    s611 = _section(t, "6.1.1.  Packet Threshold", "6.1.2.  Time Threshold")
    s612 = _section(t, "6.1.2.  Time Threshold", "6.2.  Probe Timeout")
    s622 = _section(t, "6.2.2.  Handshakes and New Paths", "6.2.3.  Speeding up Handshake Completion")
    s732 = _section(t, "7.3.2.  Recovery", "7.3.3.  Congestion Avoidance")
    s72 = _section(t, "7.2.  Initial and Minimum Congestion Window", "7.3.  Congestion Control States")
    s761 = _section(t, "7.6.1.  Duration", "7.6.2.  Establishing Persistent Congestion")
    out = []

    d = _entry(a2, "kPacketThreshold")
    m = re.search(r"value recommended in Section (6\.1\.1) is (\d+)\.", d)
    _check(m, "A.2 kPacketThreshold value")
    b = re.search(r"\(kPacketThreshold\) is (\d+)", s611)
    _check(b and b.group(1) == m.group(2), "kPacketThreshold A.2 vs §6.1.1")
    out.append(("kPacketThreshold", m.group(2), "packets", "A.2,6.1.1"))

    d = _entry(a2, "kTimeThreshold")
    m = re.search(r"value recommended in Section (6\.1\.2) is (\d+/\d+)\.", d)
    _check(m and "RTT multiplier" in d, "A.2 kTimeThreshold value")
    b = re.search(r"\(kTimeThreshold\), expressed as an RTT multiplier, is (\d+/\d+)\.", s612)
    _check(b and b.group(1) == m.group(2), "kTimeThreshold A.2 vs §6.1.2")
    out.append(("kTimeThreshold", m.group(2), "rtt-multiplier", "A.2,6.1.2"))

    d = _entry(a2, "kGranularity")
    m = re.search(r"Section (6\.1\.2) recommends a value of (\d+) ms\.", d)
    _check(m, "A.2 kGranularity value")
    b = re.search(r"value of the timer granularity \(kGranularity\) is (\d+) millisecond", s612)
    _check(b and b.group(1) == m.group(2), "kGranularity A.2 vs §6.1.2")
    out.append(("kGranularity", m.group(2), "ms", "A.2,6.1.2"))

    d = _entry(a2, "kInitialRtt")
    m = re.search(r"value recommended in Section (6\.2\.2) is (\d+) ms\.", d)
    _check(m, "A.2 kInitialRtt value")
    b = re.search(r"initial RTT SHOULD be set to (\d+) milliseconds", s622)
    _check(b and b.group(1) == m.group(2), "kInitialRtt A.2 vs §6.2.2")
    out.append(("kInitialRtt", m.group(2), "ms", "A.2,6.2.2"))

    d = _entry(b1, "kInitialWindow")
    _check("Section 7.2" in d, "B.1 kInitialWindow refers to §7.2")
    m = re.search(r"initial congestion window of (\w+) times the maximum datagram size \(max_datagram_size\), "
                  r"while limiting the window to the larger of ([\d,]+) bytes or (\w+)(?: times)? the maximum "
                  r"datagram size", s72)
    _check(m, "§7.2 initial window sentence")
    k, floor, k2 = _num(m.group(1)), _num(m.group(2)), _num(m.group(3))
    out.append(("kInitialWindow", "min(%d*max_datagram_size,max(%d,%d*max_datagram_size))" % (k, floor, k2),
                "bytes", "B.1,7.2"))

    d = _entry(b1, "kMinimumWindow")
    _check("Section 7.2" in d, "B.1 kMinimumWindow refers to §7.2")
    m = re.search(r"The minimum congestion window is the smallest value .*? The RECOMMENDED value is "
                  r"(\d+) \* max_datagram_size\.", s72)
    _check(m, "§7.2 minimum window sentence")
    out.append(("kMinimumWindow", "%d*max_datagram_size" % int(m.group(1)), "bytes", "B.1,7.2"))

    d = _entry(b1, "kLossReductionFactor")
    m = re.search(r"Section (7) recommends a value of ([\d.]+)\.", d)
    _check(m, "B.1 kLossReductionFactor value")
    _check(re.search(r"MUST set the slow start threshold to half the value of the congestion window", s732)
           and float(m.group(2)) == 0.5, "kLossReductionFactor B.1 vs §7.3.2 ('half')")
    out.append(("kLossReductionFactor", m.group(2), "factor", "B.1,7.3.2"))

    d = _entry(b1, "kPersistentCongestionThreshold")
    m = re.search(r"Section (7\.6) recommends a value of (\d+)\.", d)
    _check(m and "PTO multiplier" in d, "B.1 kPersistentCongestionThreshold value")
    b = re.search(r"RECOMMENDED value for kPersistentCongestionThreshold is (\d+),", s761)
    _check(b and b.group(1) == m.group(2), "kPersistentCongestionThreshold B.1 vs §7.6.1")
    out.append(("kPersistentCongestionThreshold", m.group(2), "pto-multiplier", "B.1,7.6.1"))
    return out


def extract(rfc_dir, out_dir):
    rows = constants(rfc_dir)
    with open(os.path.join(out_dir, "rfc9002-constants.txt"), "w", encoding="utf-8") as f:
        f.write("# RFC 9002 Appendix A.2 (loss recovery) and B.1 (congestion control) constants, each\n"
                "# cross-checked with the section that recommends it.\n"
                "# name value unit sections\n")
        for r in rows:
            f.write(" ".join(r) + "\n")
