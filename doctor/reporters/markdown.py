"""Markdown: for support tickets and CI step summaries (e.g. $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from typing import Dict, List, Sequence

from doctor.engine import summarize
from doctor.model import Finding, Status, Subject
from doctor.redact import Redactor

MARK = {Status.PASS: "✅ pass", Status.WARN: "⚠️ warn", Status.FAIL: "❌ fail", Status.SKIP: "➖ skip",
        Status.ERROR: "💥 error"}


def _cell(text: str) -> str:
    return (text or "").replace("|", "\\|").replace("\n", "<br>")


def render(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, out) -> None:
    counts = summarize(findings)
    bad = counts["fail"] + counts["error"]
    out.write("# runner-doctor report\n\n")
    out.write(f"**Result: {'FAIL' if bad else 'OK'}** - " +
              ", ".join(f"{counts[k]} {k}" for k in ("pass", "warn", "fail", "skip", "error")) + "\n")
    by: Dict[str, List[Finding]] = {}
    for f in findings:
        by.setdefault(f.subject, []).append(f)
    for s in subjects:
        out.write(f"\n## {_cell(redact(s.title))}\n\n")
        mine = by.get(s.id, [])
        if not mine:
            out.write("No rule applies.\n")
            continue
        out.write("| status | rule | finding | where | fix |\n|---|---|---|---|---|\n")
        for f in mine:
            where = str(f.location) if (f.location.path or f.location.line) else ""
            fix = "" if f.status in (Status.PASS, Status.SKIP) else f.remediation
            out.write(f"| {MARK[f.status]} | [{f.rule} {f.name}]({f.docs}) | {_cell(redact(f.message))} | "
                      f"{_cell(where)} | {_cell(redact(fix))} |\n")
