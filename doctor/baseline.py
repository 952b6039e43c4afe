"""Baselines for fleet gates: record today's known findings, then report only new ones.

A finding's fingerprint is its rule, status, file and message (not its line, so that an
edit above it does not make it new). ``--write-baseline FILE`` records the warn/fail/error
findings of a run; ``--baseline FILE`` hides those from later runs' reports and exit code.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable, List, Set, Tuple

from doctor import __version__
from doctor.model import Finding, Status

VERSION = 1
PROBLEMS = (Status.WARN, Status.FAIL, Status.ERROR)


class BaselineError(Exception):
    pass


def fingerprint(f: Finding, redact=lambda s: s) -> str:
    key = "\x1f".join([f.rule, f.status.value, f.location.path or f.subject, redact(f.message)])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def write(path: str, findings: Iterable[Finding], redact) -> int:
    entries = sorted({(fingerprint(f, redact), f.rule, f.location.path or f.subject)
                      for f in findings if f.status in PROBLEMS and f.counts})
    doc = {"runner-doctor-baseline": VERSION, "tool-version": __version__,
           "findings": [{"fingerprint": fp, "rule": rule, "where": where} for fp, rule, where in entries]}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    return len(entries)


def read(path: str) -> Set[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise BaselineError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    except ValueError as exc:
        raise BaselineError(f"{path}: not a runner-doctor baseline (not JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("runner-doctor-baseline") != VERSION or \
            not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{path}: not a runner-doctor baseline (write one with --write-baseline)")
    return {e["fingerprint"] for e in doc["findings"] if isinstance(e, dict) and isinstance(e.get("fingerprint"), str)}


def filter_known(findings: List[Finding], known: Set[str], redact) -> Tuple[List[Finding], int]:
    """The findings not in the baseline, and how many were hidden."""
    kept, hidden = [], 0
    for f in findings:
        if f.status in PROBLEMS and fingerprint(f, redact) in known:
            hidden += 1
            continue
        kept.append(f)
    return kept, hidden
