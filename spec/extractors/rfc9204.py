"""RFC 9204 Appendix A: the QPACK static table (index, name, value; 99 entries) into
spec/vectors/rfc9204-static-table.tsv. Loaded by spec/extract-vectors.py, which calls extract().

The table is read from the RFC's ASCII table: one entry per `| index | name | value |` row, with the
continuation rows of a wrapped cell joined back. xml2rfc wraps a cell at a space (which it drops) or
right after a hyphen or a slash (which it keeps), so a continuation is joined without a space after
"-" or "/" and with one space otherwise.
"""
import os, re, sys

EXPECTED_ENTRIES = 99  # Appendix A lists indexes 0..98; checked, not assumed.


def _appendix_a(text):
    m = re.search(r"^Appendix A\.\s+Static Table\s*$", text, re.M)
    if not m:
        sys.exit("rfc9204: Appendix A heading not found")
    e = re.search(r"^Appendix B\.", text[m.end():], re.M)
    if not e:
        sys.exit("rfc9204: Appendix B heading not found")
    return text[m.end():m.end() + e.start()]


def _join(a, b):
    if not a:
        return b
    if not b:
        return a
    return a + b if a.endswith(("-", "/")) else a + " " + b


def static_table(rfc_dir):
    """[(index, name, value)] of RFC 9204 Appendix A, in order."""
    text = open(os.path.join(rfc_dir, "rfc9204.txt"), encoding="utf-8").read()
    rows = []
    header = False
    for line in _appendix_a(text).split("\n"):
        s = line.strip()
        if not s.startswith("|"):
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if len(cells) != 3:
            sys.exit("rfc9204 A: unexpected table row: %r" % line)
        idx, name, value = cells
        if idx == "Index":
            header = (name, value) == ("Name", "Value")
            continue
        if idx:
            if not idx.isdigit():
                sys.exit("rfc9204 A: bad index %r" % idx)
            rows.append([int(idx), name, value])
        else:
            if not rows:
                sys.exit("rfc9204 A: continuation row before the first entry")
            rows[-1][1] = _join(rows[-1][1], name)
            rows[-1][2] = _join(rows[-1][2], value)
    if not header:
        sys.exit("rfc9204 A: table header | Index | Name | Value | not found")
    if len(rows) != EXPECTED_ENTRIES:
        sys.exit("rfc9204 A: expected %d static table entries, found %d" % (EXPECTED_ENTRIES, len(rows)))
    if [r[0] for r in rows] != list(range(EXPECTED_ENTRIES)):
        sys.exit("rfc9204 A: indexes are not 0..%d in order" % (EXPECTED_ENTRIES - 1))
    for i, name, value in rows:
        if not name or name != name.lower() or " " in name or "\t" in name + value:
            sys.exit("rfc9204 A: entry %d has a malformed name %r" % (i, name))
    return [tuple(r) for r in rows]


def extract(rfc_dir, out_dir):
    rows = static_table(rfc_dir)
    with open(os.path.join(out_dir, "rfc9204-static-table.tsv"), "w", encoding="utf-8") as f:
        f.write("# RFC 9204 Appendix A: QPACK static table, %d entries (index 0-based).\n" % len(rows))
        f.write("# index<TAB>name<TAB>value (value may be empty)\n")
        for i, name, value in rows:
            f.write("%d\t%s\t%s\n" % (i, name, value))
