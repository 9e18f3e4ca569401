"""The teacher's report of a grading run: one self-contained, deterministic HTML page.

``render_report(rows, info)`` turns gradebook rows (one per student, notebook and
exercise; exercise ``""`` for a whole submission that could not be graded) into
``report.html``: what was graded and how the sandbox confined it, the pass counts
per exercise, the class's mistakes ranked by how many students they hit, an
inline SVG figure of the class, and each student's line. Inline CSS, no script,
nothing fetched; every string read from a submission is escaped; the same rows
and info give the same bytes.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from html import escape

STATUSES = ("pass", "fail", "not_implemented", "error", "timeout")
WORDS = {"pass": "pass", "fail": "fail", "not_implemented": "not implemented",
         "error": "error", "timeout": "timeout"}
SYMBOLS = {"pass": "✓", "fail": "✗", "not_implemented": "○", "error": "⚠", "timeout": "◷"}
# Okabe-Ito colours (told apart by colour-blind readers); the patterns tell them apart in grey.
COLOURS = {"pass": "#009E73", "fail": "#D55E00", "not_implemented": "#C8C8C8",
           "error": "#CC79A7", "timeout": "#E69F00"}
PATTERNS = {"fail": '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#fff" stroke-width="1.6"/>',
            "error": '<path d="M3,0 v6 M0,3 h6" stroke="#fff" stroke-width="1.4"/>',
            "timeout": '<circle cx="3" cy="3" r="1.3" fill="#fff"/>'}
PROBLEMS = ("fail", "error", "timeout")
WHOLE = "(whole submission)"

_HINT = re.compile(r"\s*\bHint:\s*")
_INDEX = re.compile(r"\[\s*[-+]?\d+(?:\s*,\s*[-+]?\d+)*\s*\]")
#: Where a diagnosis names the case or the values: one student's, not the mistake's.
_PRINTED = re.compile(r"\s*\bWhile checked it printed\b")
_ON_CASE_PAREN = re.compile(r"\s*\(on [^()]*(?:\([^()]*\)[^()]*)*\)")
_ON_CASE = re.compile(r"\s+on (?:the|a|an) [^:;]*?(?=:|;|\.\s|\.$|$)")
_EXPECTED = re.compile(r"\bexpected [^,;:]+, got [^,;:]+?(?=[,;:]|\.\s|\.$|$| on )")

CSS = """
body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;color:#222;line-height:1.4;padding:0 1rem}
h1{margin-bottom:.2rem} h2{margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0} th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555;margin:.2rem 0} ol.diag li{margin-bottom:.7rem} .where{color:#555;font-size:.9em}
.hint{margin:.1rem 0 0 1rem} .example{margin:.1rem 0 0 1rem;color:#555;font-size:.9em}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.9em} svg{max-width:100%;height:auto}
td.st details{display:inline} td.st summary{cursor:pointer}
.s-pass{background:#e3f4ee} .s-fail{background:#fbe6d9} .s-not_implemented{background:#f0f0f0}
.s-error{background:#f7e6f0} .s-timeout{background:#fcf0d6}
"""


def render_report(rows: list[dict], info: dict) -> str:
    """The whole report.html as one string.

    Parameters
    ----------
    rows : list of dict
        Gradebook rows with keys student, notebook, exercise (``""`` for a
        notebook-level row), status (one of ``STATUSES``), points, max_points
        (floats) and detail (a one-line diagnosis, maybe ending in ``" Hint: ..."``).
    info : dict
        ``title`` (str), ``generated`` (str, shown as given), ``sandbox``
        (dict of str to str) and ``n_submissions`` (int); optionally ``order``, a dict of
        notebook to its exercise names in course order (else exercises sort by name).

    Returns
    -------
    str
        A valid HTML5 page, byte-identical for identical arguments.
    """
    table = _by_notebook(rows)
    order = info.get("order", {})
    counts = _exercise_counts(table, order)
    sandbox = "; ".join(f"{escape(k)}: {escape(v)}" for k, v in info.get("sandbox", {}).items())
    n_students = len({row["student"] for row in rows})
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{escape(info['title'])}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>{escape(info['title'])}</h1>",
        f'<p class="meta">Generated {escape(info["generated"])}. {plural(info["n_submissions"], "submission")} '
        f"from {plural(n_students, 'student')}.</p>",
        f'<p class="meta">Each submission ran in a sandbox: {sandbox or "none described"}.</p>',
        "<h2>Exercises</h2>", _counts_table(counts),
        "<h2>What the class gets wrong</h2>", _diagnoses(rows, table),
        "<h2>The class at a glance</h2>", _class_figure(counts, _totals(rows)),
        "<h2>Each student</h2>", _student_table(table, order), "</body>", "</html>", "",
    ]
    return "\n".join(parts)


def _by_notebook(rows):
    """``{notebook: {student: {exercise: row}}}``; exercise ``""`` is a whole-submission row."""
    table = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        table[row["notebook"]][row["student"]][row["exercise"]] = row
    return table


def plural(n: int, noun: str) -> str:
    """``"1 student"``, ``"2 students"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _exercises(students, order=()):
    """A notebook's exercise names in ``order`` (course order), others after by name; ``[""]`` if none ran."""
    names = {ex for by_ex in students.values() for ex in by_ex if ex}
    order = list(order)
    return sorted(names, key=lambda ex: (order.index(ex) if ex in order else len(order), ex)) or [""]


def _exercise_counts(table, order):
    """``[(notebook, exercise, Counter of statuses, students who submitted)]``, sorted.

    A student whose whole submission failed counts with that row's status for
    every exercise of the notebook.
    """
    out = []
    for nb in sorted(table):
        for ex in _exercises(table[nb], order.get(nb, ())):
            found = (by_ex.get(ex) or by_ex.get("") for by_ex in table[nb].values())
            out.append((nb, ex, Counter(row["status"] for row in found if row), len(table[nb])))
    return out


def _totals(rows):
    """``{notebook: [(student, points, max_points)]}`` sorted by student."""
    sums = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        total = sums[row["notebook"], row["student"]]
        total[0] += row["points"]
        total[1] += row["max_points"]
    out = defaultdict(list)
    for (nb, student), (points, most) in sorted(sums.items()):
        out[nb].append((student, points, most))
    return out


def split_detail(detail):
    """``(headline, hint)``: a diagnosis cut before ``" Hint: "`` (hint ``""`` when none).

    What the student's function printed while checked (``" While checked it printed ..."``)
    belongs to one student, so it is left out of both.
    """
    detail = _PRINTED.split(detail, maxsplit=1)[0]
    parts = _HINT.split(detail, maxsplit=1)
    return parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")


def normalise(headline):
    """The headline without what differs from student to student, to group them.

    The case it happened on (``"(on the fixed 3x2 problem with lam=0)"``, ``"on a random
    4x5 problem ..."``), the values (``"expected 3.5, got 2"``) and array locations
    (``X_grad[3, 1]``) go; every other word and number stays, so the line still reads.
    """
    text = _ON_CASE_PAREN.sub("", headline)
    text = _ON_CASE.sub("", text)
    text = _EXPECTED.sub("expected …, got …", text)
    return " ".join(_INDEX.sub("[…]", text).split()).replace("?.", "?")


def _diagnoses(rows, table):
    """The fail/error/timeout diagnoses grouped and ranked by distinct students hit."""
    groups = defaultdict(list)
    for row in rows:
        if row["status"] in PROBLEMS:
            headline, _ = split_detail(row["detail"])
            groups[row["notebook"], row["exercise"], normalise(headline)].append(row)
    ranked = sorted(groups.items(), key=lambda kv: (-len({r["student"] for r in kv[1]}), kv[0]))
    items = []
    for (nb, ex, headline), members in ranked:
        example = min(members, key=lambda r: (r["student"], r["detail"]))
        hint = split_detail(example["detail"])[1]
        n_hit, n_sub = len({r["student"] for r in members}), len(table[nb])
        items.append(
            f'<li><span class="where"><code>{escape(nb)}</code> · <code>{escape(ex or WHOLE)}</code>'
            f"</span><br><strong>{n_hit} of {n_sub}</strong>: {escape(headline)}"
            + (f'<div class="hint">Hint: {escape(hint)}</div>' if hint else "")
            + f'<div class="example">For example, {escape(example["student"])}: '
            f"{escape(example['detail'])}</div></li>")
    return '<ol class="diag">\n' + "\n".join(items) + "\n</ol>" if items else "<p>No mistakes.</p>"


def _counts_table(counts):
    """Per notebook and exercise: passed of submitted, then each status's count."""
    head = "".join(f"<th>{SYMBOLS[s]} {WORDS[s]}</th>" for s in STATUSES)
    lines = [f"<table><tr><th>Notebook</th><th>Exercise</th><th>Passed</th>{head}</tr>"]
    for nb, ex, c, n in counts:
        cells = "".join(f'<td class="n">{c[s]}</td>' for s in STATUSES)
        lines.append(f"<tr><td><code>{escape(nb)}</code></td><td><code>{escape(ex or WHOLE)}</code></td>"
                     f'<td class="n">{c["pass"]} of {n}</td>{cells}</tr>')
    return "\n".join(lines + ["</table>"])


def _status_cell(row, label, colspan=1):
    """One exercise's cell: name, symbol and word, the detail in a title and a <details>."""
    status, detail = row["status"], escape(row["detail"])
    word = f"{SYMBOLS.get(status, '?')} {escape(WORDS.get(status, status))}"
    body = word if status == "pass" else f"<details><summary>{word}</summary>{detail}</details>"
    span = f' colspan="{colspan}"' if colspan > 1 else ""
    return (f'<td class="st s-{escape(status)}"{span} title="{detail}"><code>{escape(label)}</code>'
            f"<br>{body}</td>")


def _student_table(table, order):
    """One row per (student, notebook), sorted: points of max and a cell per exercise in course order."""
    lines, width = [], max((len(_exercises(t)) for t in table.values()), default=1)
    for student, nb in sorted((s, nb) for nb in table for s in table[nb]):
        by_ex, names = table[nb][student], _exercises(table[nb], order.get(nb, ()))
        points = sum(r["points"] for r in by_ex.values())
        most = sum(r["max_points"] for r in by_ex.values())
        if set(by_ex) == {""}:
            cells = [_status_cell(by_ex[""], WHOLE, width)]
        else:
            cells = [_status_cell(by_ex[ex], ex) if ex in by_ex
                     else f"<td><code>{escape(ex)}</code><br>— no result</td>" for ex in names]
            cells += [_status_cell(by_ex[""], WHOLE)] if "" in by_ex else []
            cells += ["<td></td>"] * (width - len(cells))
        lines.append(f"<tr><td>{escape(student)}</td><td><code>{escape(nb)}</code></td>"
                     f'<td class="n">{points:g} / {most:g}</td>{"".join(cells)}</tr>')
    return "\n".join([f'<table><tr><th>Student</th><th>Notebook</th><th>Points</th>'
                      f'<th colspan="{width}">Exercises</th></tr>'] + lines + ["</table>"])


def _fill(status):
    return f"url(#p-{status})" if status in PATTERNS else COLOURS.get(status, "#888")


def _text(x, y, s, size=12, anchor="start", extra=""):
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{s}</text>'


def _short(s, n):
    return escape(s if len(s) <= n else s[: n - 1] + "…")


def _ticks(top):
    """Whole-number ticks from 0 to at least ``top``, at most about 10 of them."""
    step = max(1, -(-top // 10))
    return list(range(0, top + step, step))


def _class_figure(counts, totals, width=820):
    """An inline SVG: a stacked bar of statuses per exercise, then a histogram per notebook."""
    left, right, bar_h = 190, 110, 20
    ticks = _ticks(max((n for *_, n in counts), default=1))
    scale = (width - left - right) / ticks[-1]
    defs = "".join(f'<pattern id="p-{s}" width="6" height="6" patternUnits="userSpaceOnUse">'
                   f'<rect width="6" height="6" fill="{COLOURS[s]}"/>{p}</pattern>'
                   for s, p in PATTERNS.items())
    out = [_text(width / 2, 20, "Students per exercise by result, and total points per notebook",
                 15, "middle", ' font-weight="bold"')]
    x, y, notebook = left, 36, None
    for s in STATUSES:
        out.append(f'<rect x="{x}" y="30" width="14" height="14" fill="{_fill(s)}" stroke="#333"/>')
        out.append(_text(x + 19, 42, f"{SYMBOLS[s]} {WORDS[s]}"))
        x += 44 + 7.5 * len(WORDS[s])
    for nb, ex, c, n in counts:
        if nb != notebook:
            notebook, y = nb, y + 36
            out.append(_text(8, y, _short(nb, 60), 12, "start", ' font-weight="bold"'))
            y -= 22
        y += bar_h + 8
        out.append(_text(left - 8, y + 14, _short(ex or WHOLE, 24), 12, "end"))
        x = left
        for s in STATUSES:
            w = c[s] * scale
            if w:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_fill(s)}" '
                           f'stroke="#333" stroke-width="0.5"><title>{escape(nb)} · {escape(ex or WHOLE)}: '
                           f"{c[s]} {WORDS[s]}</title></rect>")
                chip = 7 * len(str(c[s])) + 6
                if w >= chip + 4:
                    out.append(f'<rect x="{x + (w - chip) / 2:.1f}" y="{y + 3}" width="{chip}" '
                               f'height="{bar_h - 6}" rx="3" fill="#fff"/>')
                    out.append(_text(x + w / 2, y + 14, c[s], 11, "middle"))
            x += w
        out.append(_text(width - right + 8, y + 14, f"{c['pass']} of {n} pass"))
    y += bar_h + 12
    out.append(f'<line x1="{left}" y1="{y}" x2="{left + ticks[-1] * scale:.1f}" y2="{y}" stroke="#333"/>')
    for t in ticks:
        out.append(f'<line x1="{left + t * scale:.1f}" y1="{y}" x2="{left + t * scale:.1f}" y2="{y + 4}" stroke="#333"/>')
        out.append(_text(left + t * scale, y + 16, t, 11, "middle"))
    out.append(_text(left + ticks[-1] * scale / 2, y + 32, "number of students (all bars on one scale, from 0)",
                     12, "middle"))
    hist, y = _histograms(totals, width, y + 70)
    return (f'<svg id="class-figure" role="img" width="{width}" height="{y}" viewBox="0 0 {width} {y}" '
            f'font-family="DejaVu Sans, sans-serif">'
            f"<title>The class: results per exercise and total points per notebook</title>"
            f"<defs>{defs}</defs>\n" + "\n".join(out + hist) + "</svg>")


def _bins(most):
    """``(edges, labels)`` of a points histogram: one bar per whole point up to 12, else 5 ranges."""
    if most == int(most) and most <= 12:
        return [float(k) for k in range(int(most) + 2)], [f"{k}" for k in range(int(most) + 1)]
    edges = [most * b / 5 for b in range(6)]
    return edges, [f"{lo:.3g}–{hi:.3g}" for lo, hi in zip(edges, edges[1:])]


def _histograms(totals, width, top, per_row=3):
    """One histogram of students' total points (rounded down into bins) per notebook, one count scale.

    A notebook worth no points (a file no grader recognised) gets none.
    """
    out, panel_w, panel_h, binned = [], width / per_row, 110, {}
    for nb, students in sorted(totals.items()):
        most = max((m for _, _, m in students), default=0.0)
        if most <= 0:
            continue
        edges, labels = _bins(most)
        tally = [sum(lo <= p < hi or (i == len(labels) - 1 and p >= lo) for _, p, _ in students)
                 for i, (lo, hi) in enumerate(zip(edges, edges[1:]))]
        binned[nb] = (most, labels, tally)
    ticks = _ticks(max((max(t) for _, _, t in binned.values()), default=1))
    for i, (nb, (most, labels, tally)) in enumerate(binned.items()):
        x0, y0 = (i % per_row) * panel_w + 50, top + (i // per_row) * (panel_h + 80)
        plot_w, scale, bw = panel_w - 70, panel_h / ticks[-1], (panel_w - 70) / len(labels)
        out.append(_text(x0 + plot_w / 2, y0 - 10, _short(nb, 30), 12, "middle", ' font-weight="bold"'))
        for t in ticks:
            ty = y0 + panel_h - t * scale
            out.append(f'<line x1="{x0 - 4}" y1="{ty:.1f}" x2="{x0 + plot_w:.1f}" y2="{ty:.1f}" stroke="#ddd"/>')
            out.append(_text(x0 - 7, ty + 4, t, 10, "end"))
        for b, (k, label) in enumerate(zip(tally, labels)):
            out.append(f'<rect x="{x0 + b * bw + 1:.1f}" y="{y0 + panel_h - k * scale:.1f}" width="{bw - 2:.1f}" '
                       f'height="{k * scale:.1f}" fill="#0072B2"><title>{escape(nb)}: {k} students with '
                       f"{label} points</title></rect>")
            out.append(_text(x0 + b * bw + bw / 2, y0 + panel_h + 14, label, 10, "middle"))
        out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + panel_h}" stroke="#333"/>')
        out.append(f'<line x1="{x0}" y1="{y0 + panel_h}" x2="{x0 + plot_w:.1f}" y2="{y0 + panel_h}" stroke="#333"/>')
        out.append(_text(x0 + plot_w / 2, y0 + panel_h + 30, f"total points (of {most:g})", 11, "middle"))
        out.append(_text(x0 - 30, y0 + panel_h / 2, "students", 11, "middle",
                         f' transform="rotate(-90 {x0 - 30} {y0 + panel_h / 2:.1f})"'))
    return out, top + -(-len(binned) // per_row) * (panel_h + 80) - 30
