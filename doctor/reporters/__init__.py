"""Reporters: the same findings as a terminal report or a machine format."""

from __future__ import annotations

from typing import IO, List, Sequence

FORMATS = ("rich", "json", "sarif", "junit", "markdown", "github")


def render(fmt: str, subjects: Sequence, findings: List, rules: Sequence, redact, out: IO[str],
           notes: Sequence[str] = (), console=None) -> None:
    """Write one report in ``fmt`` to ``out`` (``console`` for the rich report on stdout)."""
    if fmt == "rich":
        from rich.console import Console

        from doctor.reporters import rich_report

        con = console or Console(file=out, highlight=False, soft_wrap=False, no_color=True, width=100)
        rich_report.render(subjects, findings, redact, con, notes)
    elif fmt == "json":
        from doctor.reporters import json_report

        json_report.render(subjects, findings, redact, out)
    elif fmt == "sarif":
        from doctor.reporters import sarif

        sarif.render(subjects, findings, rules, redact, out)
    elif fmt == "junit":
        from doctor.reporters import junit

        junit.render(subjects, findings, redact, out)
    elif fmt == "markdown":
        from doctor.reporters import markdown

        markdown.render(subjects, findings, redact, out)
    elif fmt == "github":
        from doctor.reporters import github

        github.render(subjects, findings, redact, out)
    else:  # pragma: no cover - argparse and the config schema allow only FORMATS
        raise ValueError(f"unknown format {fmt!r}")
