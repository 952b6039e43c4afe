"""JUnit XML: a testsuite per subject, a testcase per rule (failure for fail/error, skipped for skip).

Bitbucket Pipelines shows JUnit files found under ``test-results/`` as test reports, so a
host-provisioning pipeline gets a readable gate by writing ``--output junit=test-results/runner-doctor.xml``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence

from doctor.model import Finding, Status, Subject
from doctor.redact import Redactor


def _lines(findings: List[Finding], redact: Redactor) -> str:
    out = []
    for f in findings:
        line = f"[{f.status.value}] {redact(f.message)}"
        if f.location.path or f.location.line:
            line += f" (at {f.location})"
        if f.remediation and f.status not in (Status.PASS, Status.SKIP):
            line += f"\n  fix: {redact(f.remediation)}"
        out.append(line)
    return "\n".join(out)


def build(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor) -> ET.Element:
    by: Dict[str, Dict[str, List[Finding]]] = {}
    for f in findings:
        by.setdefault(f.subject, {}).setdefault(f"{f.rule} {f.name}", []).append(f)
    root = ET.Element("testsuites", name="runner-doctor")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in subjects:
        cases = by.get(s.id, {})
        suite = ET.SubElement(root, "testsuite", name=redact(s.title))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case_name, fs in cases.items():
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=redact(s.id), name=case_name)
            if s.path:
                case.set("file", s.path)
            statuses = {f.status for f in fs}
            text = _lines(fs, redact)
            first_bad = next((f for f in fs if f.status in (Status.ERROR, Status.FAIL)), None)
            if Status.ERROR in statuses:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=redact(first_bad.message), type="error").text = text
            elif Status.FAIL in statuses:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=redact(first_bad.message), type="fail").text = text
            elif statuses == {Status.SKIP}:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=redact(fs[0].message))
            else:
                ET.SubElement(case, "system-out").text = text
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
    for k, v in totals.items():
        root.set(k, str(v))
    return root


def render(subjects, findings, redact: Redactor, out) -> None:
    root = build(subjects, findings, redact)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
