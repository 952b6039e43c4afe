"""SARIF 2.1.0: one run, the rule catalog in tool.driver.rules, one result per finding.

Passes and skips are results too (kind "pass" / "notApplicable", level "none"), so a
consumer can see what was checked; warn and fail are kind "fail" with level warning /
error; a rule that broke is level error with status "error" in its properties.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Sequence

from doctor import __version__
from doctor.model import Finding, Severity, Status, Subject
from doctor.redact import Redactor
from doctor.rulebase import DOCS_URL

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _result_level(f: Finding) -> str:
    if f.status in (Status.PASS, Status.SKIP):
        return "none"
    if f.status is Status.WARN:
        return "note" if f.severity is Severity.INFO else "warning"
    return "error"


def _kind(f: Finding) -> str:
    return {Status.PASS: "pass", Status.SKIP: "notApplicable"}.get(f.status, "fail")


def _uri(path: str) -> str:
    rel = os.path.relpath(path) if os.path.isabs(path) else path
    if rel.startswith(".."):
        rel = os.path.abspath(path)
        return "file://" + rel
    return rel.replace(os.sep, "/")


def build(subjects: Sequence[Subject], findings: List[Finding], rules, redact: Redactor) -> Dict[str, Any]:
    index = {r.id: i for i, r in enumerate(rules)}
    titles = {s.id: s.title for s in subjects}
    driver_rules = [{
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.summary},
        "helpUri": r.docs_url,
        "help": {"text": r.doc, "markdown": r.doc},
        "defaultConfiguration": {"level": LEVEL[r.severity]},
    } for r in rules]
    results = []
    for f in findings:
        text = redact(f.message)
        if f.remediation and f.status not in (Status.PASS, Status.SKIP):
            text += f"\nFix: {redact(f.remediation)}"
        result: Dict[str, Any] = {
            "ruleId": f.rule,
            "kind": _kind(f),
            "level": _result_level(f),
            "message": {"text": text},
            "properties": {"status": f.status.value, "severity": f.severity.value, "subject": f.subject,
                           "subjectTitle": redact(titles.get(f.subject, f.subject)),
                           "remediation": redact(f.remediation)},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.evidence:
            result["properties"]["evidence"] = redact(f.evidence)
        if f.location.path:
            region = {}
            if f.location.line:
                region["startLine"] = f.location.line
                if f.location.column:
                    region["startColumn"] = f.location.column
            phys: Dict[str, Any] = {"artifactLocation": {"uri": _uri(f.location.path)}}
            if region:
                phys["region"] = region
            result["locations"] = [{"physicalLocation": phys}]
        else:
            result["locations"] = [{"logicalLocations": [{"name": f.subject, "kind": "resource"}]}]
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "runner-doctor", "version": __version__, "semanticVersion": __version__,
                                "informationUri": DOCS_URL.rsplit("/blob/", 1)[0], "rules": driver_rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def render(subjects, findings, rules, redact: Redactor, out) -> None:
    json.dump(build(subjects, findings, rules, redact), out, indent=2)
    out.write("\n")
