"""The default terminal report.

One section per subject, one row per finding with a mark, the rule id and
name, the message, and for anything not passing where it is and how to fix it.
Colour only on a terminal and never with NO_COLOR; reads at 80 columns.

:func:`blocks` says what the report holds: the Text of each line and the cells
of each table. :mod:`.layout` writes them as rich would, without importing rich
(start-up time), wherever it can do exactly that - terminals, pipes, files, CI
logs; elsewhere rich writes them (:func:`render`). Tests compare the two.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from doctor.engine import summarize
from doctor.model import Finding, Status, Subject
from doctor.redact import Redactor
from doctor.reporters import layout
from doctor.reporters.layout import Styled

MARKS = {
    Status.PASS: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "bold red"),
    Status.SKIP: ("-", "dim"),
    Status.ERROR: ("E", "bold magenta"),
}
ASCII_MARKS = {Status.PASS: "ok", Status.WARN: "!", Status.FAIL: "X", Status.SKIP: "-", Status.ERROR: "E"}
# the table's columns: the mark, the rule id (a plain string, in dim), the finding
COLUMNS = (layout.Column(width=2, no_wrap=True), layout.Column(no_wrap=True, style="dim"),
           layout.Column(overflow="fold"))
Row = Tuple[Styled, str, Styled]
Block = Union[Styled, List[Row], None]  # a line (Console.print of a Text), a table, an empty line
# control characters from the input (ESC, BEL, a C1 CSI, ...) are shown as text, never sent to the terminal
_VISIBLE = {code: f"\\x{code:02x}" for code in (*range(0x00, 0x20), *range(0x7f, 0xa0)) if code not in (9, 10)}


def _text(parts: Sequence[Tuple[str, Optional[str]]], style: str = "") -> Styled:
    """``Text(style=style)`` with each (text, style) part appended, as rich's Text.append does it."""
    text, spans, at = [], [], 0
    for piece, piece_style in parts:
        piece = piece.translate(_VISIBLE)
        if piece:
            if piece_style:
                spans.append((at, at + len(piece), piece_style))
            text.append(piece)
            at += len(piece)
    return Styled("".join(text), style, tuple(spans))


def _detail(f: Finding, redact: Redactor) -> Styled:
    parts = [(f.name, "bold"), ("  ", None), (redact(f.message), None)]
    if f.status not in (Status.PASS, Status.SKIP):
        if f.location.path or f.location.line:
            parts += [("\nat ", "dim"), (str(f.location), "cyan")]
        if f.evidence:
            parts += [("\ngot: ", "dim"), (redact(f.evidence), None)]
        if f.remediation:
            parts += [("\nfix: ", "bold"), (redact(f.remediation), None)]
        if f.suppressed is not None:
            until = f" until {f.suppressed_until}" if f.suppressed_until else ""
            parts.append((f"\nsuppressed{until}: {redact(f.suppressed)}", "dim"))
    return _text(parts)


def _grouped(findings: List[Finding]):
    """Findings in order, with adjacent skips that share a reason folded into one row."""
    out: List[tuple] = []
    for f in findings:
        if out and f.status is Status.SKIP and out[-1][1].status is Status.SKIP and out[-1][1].message == f.message:
            out[-1][0].append(f.rule)
        else:
            out.append(([f.rule], f))
    return out


def _row(rules: List[str], f: Finding, redact: Redactor, unicode: bool) -> Row:
    sym, style = MARKS[f.status]
    mark = _text([(sym if unicode else ASCII_MARKS[f.status], None)], style)
    if len(rules) > 1:  # adjacent skips with one reason: their ids, then the reason
        return mark, "skip", _text([(", ".join(rules), None), ("  " + redact(f.message), "dim")], "dim")
    return mark, f.rule, _detail(f, redact)


def blocks(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, unicode: bool,
           notes: Sequence[str] = ()) -> Iterator[Block]:
    """What the report holds: each subject's heading and table, the summary, the notes, the result."""
    by_subject: Dict[str, List[Finding]] = {}
    for f in findings:
        by_subject.setdefault(f.subject, []).append(f)
    for subject in subjects:
        mine = by_subject.get(subject.id, [])
        kind = ""
        if subject.runner and subject.runner.kind.label not in subject.title:
            kind = f" ({subject.runner.kind.label} runner)"
        # a heading that wraps instead of being cut at 80 columns
        yield _text([("▌ " if unicode else "# ", None), (redact(subject.title) + kind, "bold")], "bold")
        if not mine:
            yield _text([("no rule applies to this subject", None)], "dim")
            continue
        yield [_row(rules, f, redact, unicode) for rules, f in _grouped(mine)]
        yield None
    counts = summarize(findings)
    what = []
    for kind, noun in (("host", "Docker host"), ("runner", "runner"), ("docker-config", "Docker config")):
        n = sum(1 for s in subjects if s.kind == kind)
        if n:
            what.append(f"{n} {noun}{'s' if n != 1 else ''}")
    others = sum(1 for s in subjects if s.kind not in ("host", "runner", "docker-config"))
    if others:
        what.append(f"{others} other subject{'s' if others != 1 else ''}")
    parts: List[Tuple[str, Optional[str]]] = [("Checked " + " and ".join(what or ["nothing"]) + ": ", None)]
    for status in (Status.PASS, Status.WARN, Status.FAIL, Status.SKIP, Status.ERROR):
        n = counts[status.value]
        style = MARKS[status][1] if n and status is not Status.PASS else ("green" if n else "dim")
        parts += [(", ", None)] * (status is not Status.PASS) + [(f"{n} {status.value}", style)]
    yield _text(parts)
    for note in notes:
        yield _text([(note, None)], "dim")
    bad = sum(1 for f in findings if f.status in (Status.FAIL, Status.ERROR) and f.counts)
    if bad:
        yield _text([(f"Result: FAIL ({bad} check{'s' if bad != 1 else ''} failed; see the fixes above)", None)],
                    "bold red")
    elif any(f.status is Status.WARN and f.counts for f in findings):
        yield _text([("Result: OK, with warnings worth a look", None)], "yellow")
    else:
        yield _text([("Result: OK", None)], "bold green")


def render(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, console,
           notes: Sequence[str] = ()) -> None:
    """The report on a rich Console."""
    from rich.table import Table
    from rich.text import Span, Text

    def rich_text(st: Styled) -> Text:
        return Text(st.text, style=st.style, spans=[Span(*span) for span in st.spans])

    unicode = console.encoding.lower().replace("-", "") in ("utf8", "utf16")
    for block in blocks(subjects, findings, redact, unicode, notes):
        if block is None:
            console.print()
        elif isinstance(block, Styled):
            console.print(rich_text(block))
        else:
            table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1), expand=False)
            table.add_column(width=2, no_wrap=True)
            table.add_column(no_wrap=True, style="dim")
            table.add_column(overflow="fold")
            for mark, rule, detail in block:
                table.add_row(rich_text(mark), rule, rich_text(detail))
            console.print(table)


def render_layout(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, console: layout.Console,
                  unicode: bool, notes: Sequence[str] = ()) -> Optional[str]:
    """The bytes rich writes for the report on such a console; None when only rich can lay it out."""
    out: List[str] = []
    for block in blocks(subjects, findings, redact, unicode, notes):
        if block is None:
            out.append("\n")
        elif isinstance(block, Styled):
            if not layout.fits(block.text):
                return None
            out.append(layout.print_text(block, console))
        else:
            # a rule id is a plain string to rich (markup): only ids without markup are laid out here
            rows = [(mark, Styled(rule), detail) for mark, rule, detail in block]
            if not all(layout.fits(cell.text) for row in rows for cell in row) or \
                    any("[" in rule or ":" in rule for _mark, rule, _detail in block):
                return None
            table = layout.table(rows, COLUMNS, console)
            if table is None:
                return None
            out.append(table)
    return "".join(out)


def write(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, out,
          notes: Sequence[str] = (), console: Optional[Callable[[], object]] = None) -> None:
    """The report on ``out``: laid out here when that gives what rich would write, else by rich, on the
    Console that ``console()`` makes (default: one for the file, 100 columns, no colour)."""
    target = layout.console_for(out, width=None if console else 100, no_color=console is None)
    if target is not None:
        text = render_layout(subjects, findings, redact, target, layout.is_unicode(out), notes)
        if text is not None:
            out.write(text)
            out.flush()
            return
    if console is None:
        from rich.console import Console

        con = Console(file=out, highlight=False, soft_wrap=False, no_color=True, width=100)
    else:
        con = console()
    render(subjects, findings, redact, con, notes)
