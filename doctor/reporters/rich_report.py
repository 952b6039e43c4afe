"""The default terminal report, rendered with rich.

One section per subject, one row per finding with a mark, the rule id and
name, the message, and for anything not passing where it is and how to fix it.
Colour only on a terminal and never with NO_COLOR; reads at 80 columns.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from doctor.engine import summarize
from doctor.model import Finding, Status, Subject
from doctor.redact import Redactor

MARKS = {
    Status.PASS: ("✓", "green"),
    Status.WARN: ("!", "yellow"),
    Status.FAIL: ("✗", "bold red"),
    Status.SKIP: ("-", "dim"),
    Status.ERROR: ("E", "bold magenta"),
}
ASCII_MARKS = {Status.PASS: "ok", Status.WARN: "!", Status.FAIL: "X", Status.SKIP: "-", Status.ERROR: "E"}


def _unicode(console: Console) -> bool:
    return console.encoding.lower().replace("-", "") in ("utf8", "utf16")


def _mark(status: Status, console: Console) -> Text:
    sym, style = MARKS[status]
    if not _unicode(console):
        sym = ASCII_MARKS[status]
    return Text(sym, style=style)


def _detail(f: Finding, redact: Redactor) -> Text:
    text = Text()
    text.append(f.name, style="bold")
    text.append("  ")
    text.append(redact(f.message))
    if f.status in (Status.PASS, Status.SKIP):
        return text
    if f.location.path or f.location.line:
        text.append("\nat ", style="dim")
        text.append(str(f.location), style="cyan")
    if f.evidence:
        text.append("\ngot: ", style="dim")
        text.append(redact(f.evidence))
    if f.remediation:
        text.append("\nfix: ", style="bold")
        text.append(redact(f.remediation))
    if f.suppressed is not None:
        until = f" until {f.suppressed_until}" if f.suppressed_until else ""
        text.append(f"\nsuppressed{until}: {redact(f.suppressed)}", style="dim")
    return text


def _grouped(findings: List[Finding]):
    """Findings in order, with adjacent skips that share a reason folded into one row."""
    out: List[tuple] = []
    for f in findings:
        if out and f.status is Status.SKIP and out[-1][1].status is Status.SKIP and out[-1][1].message == f.message:
            out[-1][0].append(f.rule)
        else:
            out.append(([f.rule], f))
    return out


def render(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, console: Console,
           notes: Sequence[str] = ()) -> None:
    by_subject: Dict[str, List[Finding]] = {}
    for f in findings:
        by_subject.setdefault(f.subject, []).append(f)
    for subject in subjects:
        mine = by_subject.get(subject.id, [])
        kind = ""
        if subject.runner and subject.runner.kind.label not in subject.title:
            kind = f" ({subject.runner.kind.label} runner)"
        # a heading that wraps instead of being cut at 80 columns
        console.print(Text("▌ " if _unicode(console) else "# ", style="bold") +
                      Text(redact(subject.title) + kind, style="bold"))
        if not mine:
            console.print(Text("no rule applies to this subject", style="dim"))
            continue
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1), expand=False)
        table.add_column(width=2, no_wrap=True)
        table.add_column(no_wrap=True, style="dim")
        table.add_column(overflow="fold")
        for rules, f in _grouped(mine):
            if len(rules) > 1:
                detail = Text(", ".join(rules), style="dim")
                detail.append("  " + redact(f.message), style="dim")
                table.add_row(_mark(f.status, console), "skip", detail)
            else:
                table.add_row(_mark(f.status, console), f.rule, _detail(f, redact))
        console.print(table)
        console.print()
    counts = summarize(findings)
    what = []
    for kind, noun in (("host", "Docker host"), ("runner", "runner"), ("docker-config", "Docker config")):
        n = sum(1 for s in subjects if s.kind == kind)
        if n:
            what.append(f"{n} {noun}{'s' if n != 1 else ''}")
    others = sum(1 for s in subjects if s.kind not in ("host", "runner", "docker-config"))
    if others:
        what.append(f"{others} other subject{'s' if others != 1 else ''}")
    line = Text("Checked " + " and ".join(what or ["nothing"]) + ": ")
    parts = []
    for status in (Status.PASS, Status.WARN, Status.FAIL, Status.SKIP, Status.ERROR):
        n = counts[status.value]
        style = MARKS[status][1] if n and status is not Status.PASS else ("green" if n else "dim")
        parts.append(Text(f"{n} {status.value}", style=style))
    line.append_text(Text(", ").join(parts))
    console.print(line)
    for note in notes:
        console.print(Text(note, style="dim"))
    bad = sum(1 for f in findings if f.status in (Status.FAIL, Status.ERROR) and f.counts)
    if bad:
        console.print(Text(f"Result: FAIL ({bad} check{'s' if bad != 1 else ''} failed; see the fixes above)",
                           style="bold red"))
    elif any(f.status is Status.WARN and f.counts for f in findings):
        console.print(Text("Result: OK, with warnings worth a look", style="yellow"))
    else:
        console.print(Text("Result: OK", style="bold green"))
