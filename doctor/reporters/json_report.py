"""The JSON report: one document on stdout, described by doctor/schemas/report.schema.json (schema_version 1)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

from doctor import __version__
from doctor.engine import summarize
from doctor.model import Finding, Subject
from doctor.redact import Redactor

SCHEMA_VERSION = 1


def build(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor) -> Dict[str, Any]:
    def finding(f: Finding) -> Dict[str, Any]:
        out = f.to_json()
        out["message"] = redact(out["message"])
        out["remediation"] = redact(out["remediation"])
        out["evidence"] = redact(f.evidence)
        out["docs"] = f.docs
        if f.suppressed is not None:
            out["suppressed"] = {"reason": redact(f.suppressed), "until": f.suppressed_until}
        return out

    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "runner-doctor", "version": __version__},
        "subjects": [
            {
                "id": s.id,
                "kind": s.kind,
                "path": s.path,
                "line": s.line,
                "title": redact(s.title),
                "runner_kind": s.runner.kind.value if s.runner else None,
            }
            for s in subjects
        ],
        "findings": [finding(f) for f in findings],
        "summary": summarize(findings),
    }


def render(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, out) -> None:
    out.write(json.dumps(build(subjects, findings, redact), indent=2))  # one write: faster than json.dump
    out.write("\n")
