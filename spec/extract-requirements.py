#!/usr/bin/env python3
"""Extracts every BCP 14 requirement sentence from the plain-text RFCs into spec/requirements.tsv.

A requirement is a sentence that contains at least one BCP 14 keyword in capitals (MUST, MUST NOT,
SHALL, SHALL NOT, SHOULD, SHOULD NOT, MAY, REQUIRED, RECOMMENDED, NOT RECOMMENDED, OPTIONAL). Its ID is
`rfcNNNN#SECTION/ORDINAL`: ORDINAL counts the requirement sentences of that section (not of its
subsections) in document order, from 1. See spec/README.md for why these IDs are stable.

Skipped: the front matter and the table of contents (everything before the first numbered section
heading), the BCP 14 boilerplate paragraph, every "References" section and its subsections, and the
unnumbered end matter (Acknowledgments, Contributors, Authors' Addresses, Index). `--verbose` prints
every keyword occurrence that was skipped, so that nothing is dropped unnoticed.

A sentence that ends with ':' and introduces a list gets the list's items appended (" * item"), so
the requirement reads whole; the items keep their own IDs when they hold keywords themselves.

Outputs (in --out): requirements.tsv (id, keywords, line, text) and sections.tsv (rfc, section, line,
title) — the latter lets spec/audit.py check section citations without the RFC texts at hand.
Python 3 standard library only.
"""
import argparse, os, re, sys

RFCS = [8446, 8999, 9000, 9001, 9002, 9114, 9204, 9221, 9368, 9369]

# Longest alternatives first, so "MUST NOT" is not read as "MUST".
KEYWORDS = ["MUST NOT", "MUST", "SHALL NOT", "SHALL", "SHOULD NOT", "SHOULD", "NOT RECOMMENDED",
            "RECOMMENDED", "REQUIRED", "MAY", "OPTIONAL"]
KW_RE = re.compile(r"(?<![A-Za-z0-9_\-\"])(" + "|".join(k.replace(" ", r"\s+") for k in KEYWORDS) +
                   r")(?![A-Za-z0-9_\-\"])")

HEADING_RE = re.compile(r"^(?:Appendix\s+)?((?:\d+|[A-Z])(?:\.\d+)*)\.?\s{1,2}(\S.*)$")
END_MATTER = {"Acknowledgments", "Acknowledgements", "Contributors", "Authors' Addresses",
              "Author's Address", "Authors' Address", "Index"}
FOOTER_RE = re.compile(r"^\S.*\[Page \d+\]$")
HEADER_RE = re.compile(r"^RFC \d+ .*\S$")
BULLET_RE = re.compile(r"^(?:[*o\-]|\d+\.|\(\d+\)|[a-z]\))\s+")
ABBREV_RE = re.compile(r"(?:\be\.g\.|\bi\.e\.|\bet al\.|\bvs\.|\bcf\.)$")
TERM = r"[.!?][\"')\]]*"
ART_RE = re.compile(r"^\s*(?:\||\+[-=+])")  # table and figure lines


def keywords(text):
    """The distinct BCP 14 keywords of a sentence, in order of first appearance."""
    out = []
    for m in KW_RE.finditer(text):
        k = " ".join(m.group(1).split())
        if k not in out:
            out.append(k)
    return out


def depaginate(raw):
    """(line number, text) pairs without page footers, form feeds and page headers. A paragraph cut by a
    page break is rejoined: the blank padding around the break is dropped, and a blank line is kept
    only when the text before the break ended a sentence (so the split can only fall between
    sentences, never inside one)."""
    lines = raw.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if FOOTER_RE.match(line) or "\f" in line:
            while out and not out[-1][1].strip():
                out.pop()
            i += 1
            while i < len(lines) and ("\f" in lines[i] or not lines[i].strip()
                                      or HEADER_RE.match(lines[i]) and not HEADING_RE.match(lines[i])):
                i += 1
            if out and i < len(lines) and not continues(out[-1][1], lines[i]):
                out.append((i, ""))
            continue
        out.append((i + 1, line))
        i += 1
    return out


def text_indent(line):
    """Column where a line's running text starts (after indentation and a list bullet)."""
    body = line.lstrip()
    m = BULLET_RE.match(body)
    return len(line) - len(body) + (m.end() if m else 0)


def continues(before, after):
    """Whether the line after a page break continues the paragraph of the line before it: same text
    column, and the line before does not end a sentence, a clause list, a figure or code line."""
    b = before.rstrip()
    if re.search(TERM + r"$|[:;{}|+]$", b) or ART_RE.match(b):
        return False
    return text_indent(after) == text_indent(before) or \
        len(after) - len(after.lstrip()) == text_indent(before)


def paragraphs(lines):
    """Groups (lineno, text) lines into paragraphs separated by blank lines."""
    cur = []
    for ln, t in lines:
        if t.strip():
            cur.append((ln, t))
        elif cur:
            yield cur
            cur = []
    if cur:
        yield cur


def sentences(par):
    """Splits a paragraph into (first line number, sentence) pairs. RFC text puts two spaces between
    sentences on a line; at a line end, a sentence ends when the line ends with . ! or ? (not after
    e.g./i.e./et al.) and the next line starts with a capital, a quote, a bracket or a lower-case
    identifier with an underscore (RFC 9002 starts sentences with variable names like min_rtt)."""
    pieces = []  # (lineno, text, boundary_before)
    first = par[0][1].strip()
    first = BULLET_RE.sub("", first)
    items = [(par[0][0], first)] + [(ln, t.strip()) for ln, t in par[1:]]
    for k, (ln, t) in enumerate(items):
        if k == 0 or ART_RE.match(par[k][1]) or ART_RE.match(par[k - 1][1]):
            sep = "B"
        else:
            prev = items[k - 1][1]
            if re.search(r"[A-Za-z0-9]-$", prev) and re.match(r"[A-Za-z]", t):
                sep = ""
            elif re.search(TERM + r"$", prev) and not ABBREV_RE.search(prev) and re.match(r"[A-Z\"(\[]|[a-z][a-z0-9]*_[a-z0-9_]* ", t):
                sep = "B"
            else:
                sep = " "
        # Two spaces after a sentence terminator inside a line: a sentence boundary.
        parts = re.split(r"(?<=[.!?])([\"')\]]*)\s{2,}(?=\S)", t)
        segs = []
        j = 0
        while j < len(parts):
            s = parts[j] + (parts[j + 1] if j + 1 < len(parts) else "")
            segs.append(s)
            j += 2
        for n, s in enumerate(segs):
            pieces.append((ln, s, sep if n == 0 else "B"))
    out = []
    for ln, s, sep in pieces:
        if sep == "B" or not out:
            out.append([ln, s])
        else:
            out[-1][1] += sep + s
    return [(ln, " ".join(s.split())) for ln, s in out if s.strip()]


def list_items(lead, following):
    """The list a requirement sentence ending in ':' introduces, appended to its text for context: the
    paragraphs right after it that start with a bullet or are indented deeper than the lead-in, each
    as ' * item'. Keywords in the items still make their own requirements; this only adds context."""
    base = len(lead[-1][1]) - len(lead[-1][1].lstrip())
    out = []
    for par in following:
        first = par[0][1]
        indent = len(first) - len(first.lstrip())
        if ART_RE.match(first) or not (BULLET_RE.match(first.lstrip()) and indent >= base or indent > base):
            break
        out.append(" ".join(s for _, s in sentences(par)))
    return "".join(" * " + item for item in out)


def is_boilerplate(text):
    return 'The key words "MUST"' in text and "are to be interpreted" in text


def extract(rfc_dir, num, verbose=False):
    """Returns (requirements, sections) of one RFC: requirements as (id, keywords, line, text),
    sections as (section, line, title)."""
    raw = open(os.path.join(rfc_dir, "rfc%d.txt" % num), encoding="utf-8").read()
    lines = depaginate(raw)
    # The body starts at the first column-0 "1.  " heading (table-of-contents entries are indented).
    start = next((k for k, (_, t) in enumerate(lines) if re.match(r"^1\.\s+\S", t)), None)
    if start is None:
        sys.exit("rfc%d: no section 1 heading" % num)
    skipped = []
    for ln, t in lines[:start]:
        for k in keywords(t):
            skipped.append((ln, "front matter/TOC", k, t.strip()))

    sections = []          # (section, line, title)
    bodies = {}            # section -> [(ln, text)]
    order = []
    cur = None             # current section number, or None when skipping
    skip_prefixes = []
    why = ""
    for ln, t in lines[start:]:
        m = HEADING_RE.match(t) if t[:1].strip() else None
        if m:
            sec, title = m.group(1), m.group(2).strip()
            if any(c.isdigit() or c.isupper() for c in sec):
                if sec in bodies:
                    sys.exit("rfc%d: section %s appears twice (line %d)" % (num, sec, ln))
                sections.append((sec, ln, title))
                bodies[sec] = []
                order.append(sec)
                if re.fullmatch(r"(?:Normative |Informative )?References", title):
                    skip_prefixes.append(sec)
                if any(sec == p or sec.startswith(p + ".") for p in skip_prefixes):
                    cur, why = None, "references"
                else:
                    cur = sec
                continue
        if t[:1].strip() and t.strip() in END_MATTER:
            cur, why = None, t.strip()
            continue
        if cur is None:
            for k in keywords(t):
                skipped.append((ln, why, k, t.strip()))
            continue
        bodies[cur].append((ln, t))

    reqs = []
    for sec in order:
        n = 0
        pars = list(paragraphs(bodies[sec]))
        for pi, par in enumerate(pars):
            joined = " ".join(t.strip() for _, t in par)
            if is_boilerplate(joined):
                for k in keywords(joined):
                    skipped.append((par[0][0], "BCP 14 boilerplate", k, ""))
                continue
            sents = sentences(par)
            for si, (ln, s) in enumerate(sents):
                kws = keywords(s)
                if kws:
                    n += 1
                    if si == len(sents) - 1 and s.endswith(":"):
                        s += list_items(par, pars[pi + 1:])
                    reqs.append(("rfc%d#%s/%d" % (num, sec, n), ",".join(kws), ln, s))
    if verbose:
        for ln, why_, k, t in skipped:
            print("rfc%d:%d: skipped %s (%s) %s" % (num, ln, k, why_, t[:80]), file=sys.stderr)
    return reqs, sections


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rfc-dir", default=os.path.join(here, "..", "..", "shared", "rfc"))
    ap.add_argument("--out", default=here)
    ap.add_argument("--verbose", action="store_true", help="print skipped keyword occurrences")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    allreqs, allsecs = [], []
    for num in RFCS:
        r, s = extract(a.rfc_dir, num, a.verbose)
        allreqs += r
        allsecs += [("rfc%d" % num,) + x for x in s]
        print("rfc%d: %d requirements in %d sections" % (num, len(r), len(s)))
    with open(os.path.join(a.out, "requirements.tsv"), "w", encoding="utf-8") as f:
        f.write("id\tkeywords\tline\ttext\n")
        for rid, kws, ln, text in allreqs:
            f.write("%s\t%s\t%d\t%s\n" % (rid, kws, ln, text.replace("\t", " ")))
    with open(os.path.join(a.out, "sections.tsv"), "w", encoding="utf-8") as f:
        f.write("rfc\tsection\tline\ttitle\n")
        for rfc, sec, ln, title in allsecs:
            f.write("%s\t%s\t%d\t%s\n" % (rfc, sec, ln, title.replace("\t", " ")))
    print("%d requirements written to %s" % (len(allreqs), os.path.join(a.out, "requirements.tsv")))


if __name__ == "__main__":
    main()
