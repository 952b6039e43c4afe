"""Reporters: the same findings as a terminal report or a machine format."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import IO, Any, Callable, List, Optional, Sequence


FORMATS = ("rich", "json", "sarif", "junit", "markdown", "github")


def render(fmt: str, subjects: Sequence, findings: List, rules: Sequence, redact, out: IO[str],
           notes: Sequence[str] = (), console: Optional[Callable[[], Any]] = None) -> None:
    """Write one report in ``fmt`` to ``out``. ``console`` makes the rich Console of the rich report on
    stdout, when rich itself writes it (a terminal); for a file: 100 columns, no colour."""
    if fmt == "rich":
        from doctor.reporters import rich_report

        rich_report.write(subjects, findings, redact, out, notes, console)
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
