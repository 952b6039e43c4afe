"""GitHub Actions workflow commands: one annotation per warn/fail/error finding."""

from __future__ import annotations

from typing import List, Sequence

from doctor.model import Finding, Status, Subject
from doctor.redact import Redactor

COMMAND = {Status.WARN: "warning", Status.FAIL: "error", Status.ERROR: "error"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, out) -> None:
    for f in findings:
        cmd = COMMAND.get(f.status)
        if cmd is None:
            continue
        props = []
        if f.location.path:
            props.append(f"file={_prop(f.location.path)}")
            if f.location.line:
                props.append(f"line={f.location.line}")
                if f.location.column:
                    props.append(f"col={f.location.column}")
        props.append(f"title={_prop(f'{f.rule} {f.name}')}")
        message = redact(f.message) + (f"\nfix: {redact(f.remediation)}" if f.remediation else "")
        out.write(f"::{cmd} {','.join(props)}::{_data(message)}\n")
