#!/usr/bin/env python3
"""Spec conformance audit: joins the requirements of spec/requirements.tsv with the `spec:` citations
in the code and with spec/status.tsv, prints counts per RFC and per keyword, writes a browsable HTML
report, and fails on dangling citations, inconsistent status rows and a drop in tested MUST/MUST NOT
requirements below spec/audit-floor.txt.

Citations: `spec: rfcNNNN#SECTION` (a section) or `spec: rfcNNNN#SECTION/ORDINAL` (a requirement),
several separated by commas (`spec: rfc9000#16, rfc9000#A.1`). Scanned under src/ include/ tests/
harness/ proofs/. A requirement is
  implemented  when cited from src/,
  tested       when cited from tests/ or harness/,
  proved       when cited from a file listed in a PROVE_SRCS_* variable of proofs/modules/*.mk.
A section citation marks the requirements of that section and of its subsections "section-cited"; it
never makes them implemented, tested or done.

Status of a requirement (exactly one): n/a or deviation when spec/status.tsv says so; otherwise done
(implemented and tested), implemented (implemented, untested) or open. spec/status.tsv may also say
done or implemented, but only where the citations back it (an error otherwise), and may hold notes.

Usage: spec/audit.py [--html build/audit] [--check] [--print-floor] [--self-test]
Exit status 1 when there is an error (or, with --check, also a warning).
Python 3 standard library only.
"""
import argparse, html, os, re, shutil, sys, tempfile

KEYWORDS = ["MUST", "MUST NOT", "SHALL", "SHALL NOT", "SHOULD", "SHOULD NOT", "MAY", "REQUIRED",
            "RECOMMENDED", "NOT RECOMMENDED", "OPTIONAL"]
STATUSES = ["done", "implemented", "n/a", "deviation", "open"]
SCAN_DIRS = ["src", "include", "tests", "harness", "proofs"]
# A citation list cut by the line end ("spec:" or a trailing comma) continues at the start of the next
# line, after the comment's leading "*" or "//": CONT_RE reads it there.
WRAP_RE = re.compile(r"spec:\s*$|spec:\s*rfc\d+#[A-Za-z0-9./]+(?:\s*,\s*rfc\d+#[A-Za-z0-9./]+)*\s*,\s*$")
CONT_RE = re.compile(r"^\s*(?:\*|//+)?\s*(rfc\d+#[A-Za-z0-9.]+(?:/\d+)?(?:\s*,\s*rfc\d+#[A-Za-z0-9.]+(?:/\d+)?)*)(\s*,\s*$)?")
CITE_RE = re.compile(r"spec:\s*(rfc\d+#[A-Za-z0-9.]+(?:/\d+)?(?:\s*,\s*rfc\d+#[A-Za-z0-9.]+(?:/\d+)?)*)")
REF_RE = re.compile(r"(rfc\d+)#([A-Za-z0-9.]+?)\.?(?:/(\d+))?$")
COLUMNS = ["total", "done", "implemented", "tested", "proved", "n/a", "deviation", "open", "section-cited"]


class Req:
    __slots__ = ("id", "rfc", "section", "ordinal", "keywords", "line", "text", "status", "note",
                 "cites", "section_cites", "implemented", "tested", "proved", "row")

    def __init__(self, rid, kws, line, text):
        self.id = rid
        self.rfc, rest = rid.split("#", 1)
        self.section, o = rest.rsplit("/", 1)
        self.ordinal = int(o)
        self.keywords = kws.split(",") if kws else []
        self.line = int(line)
        self.text = text
        self.status, self.note = "open", ""
        self.row = None   # the status.tsv row (id) that applies, if any
        self.cites, self.section_cites = [], []
        self.implemented = self.tested = self.proved = False


class Cite:
    __slots__ = ("path", "line", "source", "ref", "kind", "proved")

    def __init__(self, path, line, source, ref, kind, proved):
        self.path, self.line, self.source, self.ref, self.kind, self.proved = \
            path, line, source, ref, kind, proved


def read_tsv(path, ncols):
    """Rows of a tab-separated file with a header line; '#' lines and blank lines are skipped."""
    rows = []
    header_seen = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if not header_seen:
                header_seen = True
                if cols[0] in ("id", "rfc"):
                    continue
            if len(cols) < ncols:
                cols += [""] * (ncols - len(cols))
            rows.append((n, cols))
    return rows


def section_within(sec, parent):
    return sec == parent or sec.startswith(parent + ".")


def prove_sources(root):
    """Files listed in PROVE_SRCS_* variables of proofs/modules/*.mk (line continuations joined)."""
    out = set()
    d = os.path.join(root, "proofs", "modules")
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        if not name.endswith(".mk"):
            continue
        text = open(os.path.join(d, name), encoding="utf-8").read().replace("\\\n", " ")
        for m in re.finditer(r"^\s*PROVE_SRCS_\w+\s*[:+?]?=(.*)$", text, re.M):
            for w in m.group(1).split("#")[0].split():
                out.add(os.path.normpath(w))
    return out


def scan(root, proved_files):
    """Every `spec:` citation under SCAN_DIRS, as Cite objects, in path and line order."""
    cites = []
    for top in SCAN_DIRS:
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                rel = os.path.relpath(full, root)
                try:
                    with open(full, encoding="utf-8") as f:
                        lines = f.read().split("\n")
                except (UnicodeDecodeError, OSError):
                    continue
                kind = {"src": "src", "tests": "test", "harness": "test"}.get(top, top)
                for n, line in enumerate(lines, 1):
                    for m in CITE_RE.finditer(line):
                        for ref in re.split(r"\s*,\s*", m.group(1)):
                            cites.append(Cite(rel, n, line.strip(), ref, kind,
                                              os.path.normpath(rel) in proved_files))
                    k = n
                    wrapped = WRAP_RE.search(line) is not None
                    while wrapped and k < len(lines):
                        c = CONT_RE.match(lines[k])
                        if not c:
                            break
                        for ref in re.split(r"\s*,\s*", c.group(1)):
                            cites.append(Cite(rel, k + 1, lines[k].strip(), ref, kind,
                                              os.path.normpath(rel) in proved_files))
                        wrapped = c.group(2) is not None
                        k += 1
    return cites


class Audit:
    def __init__(self, root, spec_dir=None):
        self.root = root
        spec = spec_dir or os.path.join(root, "spec")
        self.errors, self.warnings = [], []
        self.reqs = [Req(*c[:4]) for _, c in read_tsv(os.path.join(spec, "requirements.tsv"), 4)]
        self.by_id = {}
        for r in self.reqs:
            if r.id in self.by_id:
                self.errors.append("requirements.tsv: duplicate id %s" % r.id)
            self.by_id[r.id] = r
        self.sections = {}   # rfc -> {section: title}
        for _, (rfc, sec, _line, title) in read_tsv(os.path.join(spec, "sections.tsv"), 4):
            self.sections.setdefault(rfc, {})[sec] = title
        self.rfcs = sorted(self.sections, key=lambda s: int(s[3:]))
        self.by_section = {}
        for r in self.reqs:
            self.by_section.setdefault((r.rfc, r.section), []).append(r)
            if r.section not in self.sections.get(r.rfc, {}):
                self.errors.append("requirements.tsv: %s names a section missing from sections.tsv" % r.id)
        for (rfc, sec), rs in self.by_section.items():
            if [r.ordinal for r in rs] != list(range(1, len(rs) + 1)):
                self.errors.append("requirements.tsv: ordinals of %s#%s are not 1..%d" % (rfc, sec, len(rs)))
        status_path = os.path.join(spec, "status.tsv")
        self.status_rows = read_tsv(status_path, 3) if os.path.exists(status_path) else []
        floor_path = os.path.join(spec, "audit-floor.txt")
        self.floor = None
        if os.path.exists(floor_path):
            vals = [l.split("#")[0].strip() for l in open(floor_path, encoding="utf-8")]
            vals = [v for v in vals if v]
            if len(vals) != 1 or not vals[0].isdigit():
                self.errors.append("audit-floor.txt: expected one non-negative integer")
            else:
                self.floor = int(vals[0])
        self.proved_files = prove_sources(root)
        self.cites = scan(root, self.proved_files)
        self.join()

    def section_reqs(self, rfc, sec):
        return [r for (rf, s), rs in self.by_section.items() if rf == rfc and section_within(s, sec)
                for r in rs]

    def join(self):
        self.dangling = []
        for c in self.cites:
            m = REF_RE.match(c.ref)
            where = "%s:%d: spec: %s" % (c.path, c.line, c.ref)
            if not m:
                self.errors.append(where + ": malformed citation")
                self.dangling.append(c)
                continue
            rfc, sec, ordn = m.groups()
            if rfc not in self.sections:
                self.errors.append(where + ": %s is not among the extracted RFCs (%s)" %
                                   (rfc, " ".join(self.rfcs)))
                self.dangling.append(c)
            elif sec not in self.sections[rfc]:
                self.errors.append(where + ": %s has no section %s" % (rfc, sec))
                self.dangling.append(c)
            elif ordn is not None:
                rid = "%s#%s/%s" % (rfc, sec, ordn)
                r = self.by_id.get(rid)
                if r is None:
                    n = len(self.by_section.get((rfc, sec), []))
                    self.errors.append(where + ": no requirement %s (section %s has %d)" % (rid, sec, n))
                    self.dangling.append(c)
                    continue
                c.ref = rid
                r.cites.append(c)
                if c.kind == "src":
                    r.implemented = True
                if c.kind == "test":
                    r.tested = True
                if c.proved:
                    r.proved = True
            else:
                c.ref = "%s#%s" % (rfc, sec)
                for r in self.section_reqs(rfc, sec):
                    r.section_cites.append(c)

        # spec/status.tsv: the most specific row wins (requirement, then the deepest section).
        chosen = {}
        seen = set()
        for n, (rid, st, note) in self.status_rows:
            where = "status.tsv:%d: %s" % (n, rid)
            if rid in seen:
                self.errors.append(where + ": listed twice")
                continue
            seen.add(rid)
            if st not in STATUSES:
                self.errors.append(where + ": status %r is not one of %s" % (st, ", ".join(STATUSES)))
                continue
            if st in ("n/a", "deviation") and not note.strip():
                self.errors.append(where + ": %s needs a note that gives the reason" % st)
            if "/" in rid:
                targets = [self.by_id[rid]] if rid in self.by_id else None
                depth = 1000
            else:
                m = re.match(r"(rfc\d+)#([A-Za-z0-9.]+)$", rid)
                if not m or m.group(2) not in self.sections.get(m.group(1), {}):
                    targets = None
                else:
                    targets = self.section_reqs(m.group(1), m.group(2))
                    depth = m.group(2).count(".")
                    if not targets:
                        self.warnings.append(where + ": section has no requirement sentences")
            if targets is None:
                self.errors.append(where + ": no such requirement or section")
                continue
            for r in targets:
                if r.id not in chosen or chosen[r.id][0] < depth:
                    chosen[r.id] = (depth, st, note, where)
        for r in self.reqs:
            computed = "done" if r.implemented and r.tested else "implemented" if r.implemented else "open"
            st, note, where = (chosen[r.id][1:] if r.id in chosen else ("", "", ""))
            r.note = note
            r.row = where.split(": ", 1)[1] if where else None
            if st in ("n/a", "deviation"):
                r.status = st
                if st == "n/a" and r.implemented:
                    self.warnings.append("%s is n/a (%s) but cited from src/: %s" %
                                         (r.id, where, ", ".join("%s:%d" % (c.path, c.line)
                                                                  for c in r.cites if c.kind == "src")))
            else:
                r.status = computed
                if st == "done" and computed != "done":
                    self.errors.append("%s: marked done for %s, which is not cited from both src/ and "
                                       "tests/ (or harness/)" % (where, r.id))
                if st == "implemented" and not r.implemented:
                    self.errors.append("%s: marked implemented for %s, which is not cited from src/" %
                                       (where, r.id))

    def stale_rows(self):
        """status.tsv rows saying "open" although no requirement they apply to (as the most specific
        row) is open any more: the citations made them done or implemented, or more specific rows
        cover all of them. Returned as (row id, [(requirement id, computed status)])."""
        gov = {}
        for r in self.reqs:
            if r.row is not None:
                gov.setdefault(r.row, []).append(r)
        out = []
        for n, (rid, st, note) in self.status_rows:
            if st != "open":
                continue
            rs = gov.get(rid, [])
            if not any(r.status == "open" for r in rs):
                out.append((rid, [(r.id, r.status) for r in rs]))
        return out

    def tested_must(self):
        return sum(1 for r in self.reqs if r.tested and ("MUST" in r.keywords or "MUST NOT" in r.keywords))

    def counts(self, reqs):
        c = dict.fromkeys(COLUMNS, 0)
        for r in reqs:
            c["total"] += 1
            c[r.status] += 1
            c["tested"] += r.tested
            c["proved"] += r.proved
            c["section-cited"] += bool(r.section_cites)
        return c

    def tables(self):
        per_rfc = [(rfc, self.counts([r for r in self.reqs if r.rfc == rfc])) for rfc in self.rfcs]
        per_rfc.append(("all", self.counts(self.reqs)))
        per_kw = [(k, self.counts([r for r in self.reqs if k in r.keywords])) for k in KEYWORDS]
        return per_rfc, per_kw

    def must_table(self):
        """Per RFC, the requirements with MUST or MUST NOT only (what the floor counts)."""
        must = [r for r in self.reqs if "MUST" in r.keywords or "MUST NOT" in r.keywords]
        rows = [(rfc, self.counts([r for r in must if r.rfc == rfc])) for rfc in self.rfcs]
        rows.append(("all", self.counts(must)))
        return rows

    def floor_check(self):
        v = self.tested_must()
        if self.floor is not None and v < self.floor:
            self.errors.append("tested MUST/MUST NOT requirements: %d, below the floor of %d in "
                               "spec/audit-floor.txt" % (v, self.floor))
        return v


# ---- text report -----------------------------------------------------------------------------------
def text_table(title, rows):
    w = max(len(t) for t, _ in rows + [(title, None)])
    out = ["%-*s " % (w, title) + " ".join("%*s" % (max(len(c), 5), c) for c in COLUMNS)]
    for name, c in rows:
        out.append("%-*s " % (w, name) + " ".join("%*d" % (max(len(k), 5), c[k]) for k in COLUMNS))
    return "\n".join(out)


# ---- HTML report -----------------------------------------------------------------------------------
CSS = """body{font-family:sans-serif;margin:1.5em;max-width:80em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}th{background:#eee}td.n{text-align:right}
.done{background:#c8f0c8}.implemented{background:#fff3b0}.na{background:#ddd}.deviation{background:#f5c6a0}
.open{background:#fff}pre{margin:0}code{font-size:90%}.src{font-family:monospace;white-space:pre}
.src a{color:#888;text-decoration:none}.hl{background:#ffef9e}"""


def esc(s):
    return html.escape(s, quote=True)


def page(title, body):
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style>"
            "</head><body>%s</body></html>\n" % (esc(title), CSS, body))


def html_table(title, rows, link=None):
    h = ["<table><tr><th>%s</th>" % esc(title) + "".join("<th>%s</th>" % esc(c) for c in COLUMNS) + "</tr>"]
    for name, c in rows:
        label = '<a href="%s">%s</a>' % (esc(link(name)), esc(name)) if link and link(name) else esc(name)
        h.append("<tr><td>%s</td>" % label + "".join('<td class="n">%d</td>' % c[k] for k in COLUMNS) + "</tr>")
    return "\n".join(h) + "</table>"


def anchor(ref):
    """HTML id of a requirement or section: rfc9000#19.8/2 -> r19.8-2, rfc9000#16 -> s16 (per RFC page)."""
    rest = ref.split("#", 1)[1]
    return "r" + rest.replace("/", "-") if "/" in rest else "s" + rest


def ref_link(ref):
    return '<a href="%s.html#%s">%s</a>' % (esc(ref.split("#")[0]), esc(anchor(ref)), esc(ref))


def src_page_name(path):
    return "src/" + path.replace("/", "__") + ".html"


def cite_link(c, prefix=""):
    return '<a href="%s%s#L%d">%s:%d</a> <code>%s</code>' % (
        prefix, esc(src_page_name(c.path)), c.line, esc(c.path), c.line, esc(c.source[:160]))


def write_html(a, outdir):
    os.makedirs(os.path.join(outdir, "src"), exist_ok=True)
    per_rfc, per_kw = a.tables()
    legend = ("<p>Status (each requirement has exactly one): <b>done</b> = cited from src/ and from tests/ "
              "or harness/; <b>implemented</b> = cited from src/ only; <b>n/a</b>, <b>deviation</b> = from "
              "spec/status.tsv with its reason; <b>open</b> = everything else. <b>tested</b>, <b>proved</b> "
              "(cited from a file under proof) and <b>section-cited</b> (a citation names the section, not "
              "the requirement) are counted separately and overlap the statuses. A requirement with "
              "several keywords counts under each of them in the keyword table.</p>")
    body = ["<h1>vquic spec conformance audit</h1>", legend,
            "<p>Tested MUST/MUST NOT requirements: <b>%d</b> (floor %s). Citations: %d, dangling: %d.</p>"
            % (a.tested_must(), a.floor, len(a.cites), len(a.dangling))]
    if a.errors or a.warnings:
        body.append("<h2>Problems</h2><ul>" + "".join("<li>error: %s</li>" % esc(e) for e in a.errors) +
                    "".join("<li>warning: %s</li>" % esc(w) for w in a.warnings) + "</ul>")
    body.append("<h2>Per RFC</h2>" + html_table("RFC", per_rfc, lambda n: n + ".html" if n != "all" else None))
    body.append("<h2>Per keyword</h2>" + html_table("keyword", per_kw))
    body.append("<h2>MUST / MUST NOT per RFC</h2>" + html_table("RFC", a.must_table(),
                                                                  lambda n: n + ".html" if n != "all" else None))
    body.append("<h2>Citations</h2><table><tr><th>where</th><th>cites</th><th>kind</th></tr>")
    for c in a.cites:
        body.append("<tr><td>%s</td><td>%s%s</td><td>%s%s</td></tr>" % (
            cite_link(c), esc(c.ref) if c in a.dangling else ref_link(c.ref),
            " <b>(dangling)</b>" if c in a.dangling else "", esc(c.kind),
            ", proved" if c.proved else ""))
    body.append("</table>")
    with open(os.path.join(outdir, "index.html"), "w", encoding="utf-8") as f:
        f.write(page("vquic spec audit", "\n".join(body)))

    for rfc in a.rfcs:
        num = rfc[3:]
        b = ['<p><a href="index.html">index</a></p><h1>%s</h1>' % esc(rfc.upper())]
        b.append(html_table("RFC", [x for x in per_rfc if x[0] == rfc]))
        b.append("<table><tr><th>id</th><th>keywords</th><th>status</th><th>text</th><th>citations</th></tr>")
        for sec, title in a.sections[rfc].items():
            secname = ("Appendix " if sec[0].isalpha() else "") + sec
            b.append('<tr><th colspan="5" id="%s" style="text-align:left">%s. %s '
                     '<a href="https://www.rfc-editor.org/rfc/rfc%s#%s-%s">[rfc-editor]</a></th></tr>' % (
                         esc(anchor(rfc + "#" + sec)), esc(secname), esc(title), num,
                         "appendix" if sec[0].isalpha() else "section", esc(sec)))
            for r in a.by_section.get((rfc, sec), []):
                cls = "na" if r.status == "n/a" else r.status
                st = esc(r.status) + (" tested" if r.tested and r.status != "done" else "") + \
                    (" proved" if r.proved else "")
                cites = "<br>".join(cite_link(c) + " (%s)" % c.kind for c in r.cites)
                if r.section_cites:
                    cites += ("<br>" if cites else "") + "section-cited: " + "<br>".join(
                        cite_link(c) for c in r.section_cites)
                note = ("<br><i>%s</i>" % esc(r.note)) if r.note else ""
                b.append('<tr class="%s" id="%s"><td><a href="#%s">%s</a></td><td>%s</td><td>%s</td>'
                         '<td>%s <small>(line %d)</small>%s</td><td>%s</td></tr>' % (
                             cls, esc(anchor(r.id)), esc(anchor(r.id)), esc(r.id), esc(", ".join(r.keywords)), st,
                             esc(r.text), r.line, note, cites))
        b.append("</table>")
        with open(os.path.join(outdir, rfc + ".html"), "w", encoding="utf-8") as f:
            f.write(page(rfc.upper() + " requirements", "\n".join(b)))

    for path in sorted({c.path for c in a.cites}):
        marked = {c.line for c in a.cites if c.path == path}
        lines = open(os.path.join(a.root, path), encoding="utf-8").read().split("\n")
        rows = ['<div id="L%d"%s><a href="#L%d">%5d</a>  %s</div>' % (
            n, ' class="hl"' if n in marked else "", n, n, esc(l)) for n, l in enumerate(lines, 1)]
        with open(os.path.join(outdir, src_page_name(path)), "w", encoding="utf-8") as f:
            f.write(page(path, '<p><a href="../index.html">index</a></p><h1>%s</h1><div class="src">%s'
                         '</div>' % (esc(path), "\n".join(rows))))


# ---- self-test -------------------------------------------------------------------------------------
def self_test():
    """Runs the audit on a small made-up tree and checks each rule, including the failures."""
    fails = []

    def expect(cond, what):
        if not cond:
            fails.append(what)

    def build(root, status="", floor="0\n", files=None):
        os.makedirs(os.path.join(root, "spec"), exist_ok=True)
        with open(os.path.join(root, "spec", "requirements.tsv"), "w") as f:
            f.write("id\tkeywords\tline\ttext\n"
                    "rfc9000#16/1\tMUST\t10\tA varint MUST be read.\n"
                    "rfc9000#16/2\tSHOULD,MAY\t11\tIt SHOULD be short and MAY be long.\n"
                    "rfc9000#16.1/1\tMUST NOT\t20\tIt MUST NOT be odd.\n"
                    "rfc9000#A.1/1\tMAY\t30\tAn appendix MAY say so.\n"
                    "rfc8446#5/1\tMUST\t40\tRecords MUST be framed.\n")
        with open(os.path.join(root, "spec", "sections.tsv"), "w") as f:
            f.write("rfc\tsection\tline\ttitle\nrfc9000\t16\t9\tVarint\nrfc9000\t16.1\t19\tSub\n"
                    "rfc9000\t17\t25\tNone here\nrfc9000\tA.1\t29\tSamples\nrfc8446\t5\t39\tRecords\n")
        with open(os.path.join(root, "spec", "status.tsv"), "w") as f:
            f.write("id\tstatus\tnote\n" + status)
        with open(os.path.join(root, "spec", "audit-floor.txt"), "w") as f:
            f.write(floor)
        for p, t in (files or {}).items():
            os.makedirs(os.path.dirname(os.path.join(root, p)), exist_ok=True)
            with open(os.path.join(root, p), "w") as f:
                f.write(t)
        return Audit(root)

    good = {
        "src/core/v.c": "/* spec: rfc9000#16/1 */\nint x;\n/* spec: rfc9000#16.1/1, rfc9000#A.1 */\n",
        "tests/t.c": "// spec: rfc9000#16/1\n// spec: rfc9000#16.\n",
        "harness/h.c": "// spec: rfc9000#A.1/1\n",
        "include/v.h": "// spec: rfc9000#16/2\n",
        "proofs/modules/v.mk": "PROVE_MODULES += v\nPROVE_SRCS_v = \\\n  src/core/v.c\n",
    }
    with tempfile.TemporaryDirectory() as d:
        a = build(d, "rfc8446#5\tn/a\tQUIC has no TLS records (RFC 9001 §4).\n"
                     "rfc9000#16/1\tdone\tvarint\n", "1\n", good)
        s = {r.id: r for r in a.reqs}
        expect(not a.errors and not a.warnings, "clean tree has no problems: %s %s" % (a.errors, a.warnings))
        expect(s["rfc9000#16/1"].status == "done", "src+test citations make done")
        expect(s["rfc9000#16/1"].proved, "citation from a PROVE_SRCS file makes proved")
        expect(s["rfc9000#16.1/1"].status == "implemented", "src only makes implemented")
        expect(s["rfc9000#A.1/1"].status == "open" and s["rfc9000#A.1/1"].tested, "harness makes tested")
        expect(s["rfc9000#A.1/1"].section_cites, "section citation with a comma list is seen")
        expect(s["rfc9000#16/2"].status == "open", "include/ does not make implemented")
        expect(len(s["rfc9000#16.1/1"].section_cites) == 1, "trailing dot on a section citation ignored; "
               "section citation covers subsections")
        expect(s["rfc8446#5/1"].status == "n/a" and s["rfc8446#5/1"].note, "section row applies n/a")
        expect(a.floor_check() == 1 and not a.errors, "tested MUST count is 1, at the floor")
        c = a.counts(a.reqs)
        expect((c["total"], c["done"], c["implemented"], c["n/a"], c["open"], c["tested"], c["proved"],
                c["section-cited"]) == (5, 1, 1, 1, 2, 2, 2, 4), "counts: %s" % c)
        per_rfc, per_kw = a.tables()
        expect(dict(per_kw)["MAY"]["total"] == 2, "a requirement counts under each of its keywords")
        mt = dict(a.must_table())
        expect(mt["rfc9000"]["total"] == 2 and mt["rfc9000"]["done"] == 1 and mt["rfc8446"]["n/a"] == 1 and
               mt["all"]["total"] == 3, "MUST/MUST NOT table: %s" % mt)
        write_html(a, os.path.join(d, "out"))
        idx = open(os.path.join(d, "out", "index.html")).read()
        r9000 = open(os.path.join(d, "out", "rfc9000.html")).read()
        expect("src/src__core__v.c.html#L1" in r9000 and "It MUST NOT be odd." in r9000,
               "HTML links requirements to citing lines")
        expect(os.path.exists(os.path.join(d, "out", "src", "src__core__v.c.html")), "source page written")
        expect("rfc9000.html" in idx, "index links RFC pages")
        expect('href="rfc9000.html#r16-1"' in idx and 'id="r16-1"' in r9000 and 'id="s16.1"' in r9000,
               "index links each citation to its requirement's anchor")

    bad_cases = [
        ({"src/a.c": "// spec: rfc9000#16/3\n"}, "", "no requirement rfc9000#16/3"),
        ({"src/a.c": "// spec: rfc9000#99\n"}, "", "has no section 99"),
        ({"src/a.c": "// spec: rfc7541#5\n"}, "", "not among the extracted RFCs"),
        ({}, "rfc9000#16/1\tdone\tclaimed\n", "marked done"),
        ({"src/a.c": "// spec: rfc9000#16/1\n"}, "rfc9000#16/1\tdone\tclaimed\n", "marked done"),
        ({}, "rfc9000#16.1/1\timplemented\tclaimed\n", "marked implemented"),
        ({}, "rfc9000#16/9\tn/a\tx\n", "no such requirement"),
        ({}, "rfc9000#16/1\tn/a\t\n", "needs a note"),
        ({}, "rfc9000#16/1\tfinished\tx\n", "is not one of"),
        ({}, "rfc9000#16/1\tn/a\tx\nrfc9000#16/1\tn/a\tx\n", "listed twice"),
    ]
    for files, status, msg in bad_cases:
        with tempfile.TemporaryDirectory() as d:
            a = build(d, status, "0\n", files)
            expect(any(msg in e for e in a.errors), "expected error %r, got %s" % (msg, a.errors))
    with tempfile.TemporaryDirectory() as d:
        a = build(d, "", "2\n", {"tests/t.c": "// spec: rfc9000#16/1\n"})
        expect(a.floor_check() == 1 and any("below the floor" in e for e in a.errors), "floor drop fails")
    with tempfile.TemporaryDirectory() as d:
        a = build(d, "", "0\n", {"src/a.c": "/* x. spec:\n * rfc9000#16/1, rfc9000#16.1/1,\n * rfc8446#5/1 -- y\n"
                                            " * rfc9000#A.1/1 is prose */\n"})
        s = {r.id: r for r in a.reqs}
        expect(s["rfc9000#16/1"].implemented and s["rfc9000#16.1/1"].implemented and
               s["rfc8446#5/1"].implemented and not s["rfc9000#A.1/1"].implemented and not a.errors,
               "a citation list cut by line ends is read on the following lines, and only there")
    with tempfile.TemporaryDirectory() as d:
        a = build(d, "rfc9000#16/1\topen\tnot yet\nrfc9000#16.1/1\topen\tnot yet\n", "0\n",
                  {"src/a.c": "// spec: rfc9000#16/1\n", "tests/t.c": "// spec: rfc9000#16/1\n"})
        stale = [rid for rid, _ in a.stale_rows()]
        expect(stale == ["rfc9000#16/1"] and not a.errors,
               "an 'open' row of a requirement now done is reported stale, one still open is not: %s" % stale)
    with tempfile.TemporaryDirectory() as d:
        a = build(d, "rfc9000#16/1\tn/a\tnot for us\n", "0\n", {"src/a.c": "// spec: rfc9000#16/1\n"})
        expect(a.warnings and not a.errors, "n/a requirement cited from src/ is a warning")
    for f in fails:
        print("self-test FAILED: " + f)
    print("audit self-test: %d checks failed" % len(fails) if fails else "audit self-test: ok")
    return 1 if fails else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="repository root")
    ap.add_argument("--html", metavar="DIR", help="write the HTML report (index.html) into DIR")
    ap.add_argument("--check", action="store_true", help="quiet; warnings are errors too")
    ap.add_argument("--print-floor", action="store_true",
                    help="print the current number of tested MUST/MUST NOT requirements and exit")
    ap.add_argument("--self-test", action="store_true", help="test the audit rules on a made-up tree")
    ap.add_argument("--list", metavar="RFCS", nargs="?", const="rfc9000,rfc9001,rfc9002,rfc9114,rfc9204",
                    help="list the MUST/MUST NOT requirements that are open or implemented-untested "
                         "(of the given comma-separated RFCs; default the QUIC and HTTP/3 ones) and exit")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    au = Audit(a.root)
    v = au.floor_check()
    if a.print_floor:
        print(v)
        return 0
    if a.list:
        rfcs = a.list.split(",")
        for r in au.reqs:
            if r.rfc in rfcs and r.status in ("open", "implemented") and \
                    ("MUST" in r.keywords or "MUST NOT" in r.keywords):
                print("%s\t%s\t%s\t%s" % (r.id, r.status + (" (tested)" if r.tested else ""),
                                           r.note or "-", r.text))
        return 0
    per_rfc, per_kw = au.tables()
    if not a.check:
        print("status (one per requirement): done, implemented (untested), n/a, deviation, open; tested, "
              "proved and section-cited overlap them. Keyword rows count a requirement under each of its "
              "keywords.\n")
        print(text_table("RFC", per_rfc))
        print()
        print(text_table("keyword", per_kw))
        print()
        print(text_table("MUST/MUST NOT", au.must_table()))
        print()
    print("audit: %d requirements, %d citations (%d dangling), tested MUST/MUST NOT: %d (floor %s)" %
          (len(au.reqs), len(au.cites), len(au.dangling), v, au.floor))
    if a.html:
        write_html(au, a.html)
        print("audit: report in %s" % os.path.join(a.html, "index.html"))
    for rid, rs in ([] if a.check else au.stale_rows()):
        print("audit: note: status.tsv row %s says open, but %s" %
              (rid, "no requirement it covers is: " + ", ".join("%s %s" % x for x in rs) if rs
               else "more specific rows cover every requirement of it"))
    for w in au.warnings:
        print("audit: warning: " + w)
    for e in au.errors:
        print("audit: error: " + e)
    return 1 if au.errors or (a.check and au.warnings) else 0


if __name__ == "__main__":
    sys.exit(main())
