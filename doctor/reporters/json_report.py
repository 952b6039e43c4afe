"""The JSON report: one document on stdout, described by doctor/schemas/report.schema.json (schema_version 1).

:func:`build` is the document. :func:`render` writes the same text as ``json.dumps(build(...),
indent=2)`` three to four times faster (``json.dumps`` with ``indent`` runs in pure Python; a batch of
a thousand files has ~30,000 findings): each dict shape gets one format string, each distinct string
is encoded once, and findings of the usual shape are written from the Finding without a dict.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _string  # the C encoder of json.dumps's strings

from doctor import __version__
from doctor.engine import summarize
from doctor.model import Finding, Subject
from doctor.redact import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, Dict, List, Sequence, Tuple

SCHEMA_VERSION = 1
FINDING_KEYS = ("rule", "name", "status", "severity", "subject", "message", "remediation", "location", "evidence",
                "docs")
LOCATION_KEYS = ("path", "line", "column")


def _head(subjects: Sequence[Subject], redact: Redactor) -> Dict[str, Any]:
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
    }


def _finding(f: Finding, redact: Redactor) -> Dict[str, Any]:
    out = f.to_json()
    out["message"] = redact(out["message"])
    out["remediation"] = redact(out["remediation"])
    out["evidence"] = redact(f.evidence)
    out["docs"] = f.docs
    if f.suppressed is not None:
        out["suppressed"] = {"reason": redact(f.suppressed), "until": f.suppressed_until}
    return out


def build(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor) -> Dict[str, Any]:
    return {**_head(subjects, redact), "findings": [_finding(f, redact) for f in findings],
            "summary": summarize(findings)}


def render(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor, out) -> None:
    try:
        text = _text(subjects, findings, redact)
    except TypeError:  # a value json.dumps must decide (a float, a str subclass, ...)
        import json

        text = json.dumps(build(subjects, findings, redact), indent=2)
    out.write(text)
    out.write("\n")


class _Raw(str):
    """JSON text already written (the findings), put into the document as it is."""


def _text(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor) -> str:
    w = Writer()
    items = []
    if findings and _usual_shape(_finding(findings[0], redact)):
        shape = w.shape(FINDING_KEYS, "\n    ")
        at_shape = w.shape(LOCATION_KEYS, "\n      ")
        strings = w.strings

        def s(value: str) -> str:
            text = strings.get(value)
            if text is None:
                text = strings[value] = _string(value)
            return text

        def at(value: Any) -> str:  # a location's path, line or column
            return "null" if value is None else int.__repr__(value) if value.__class__ is int else s(value)

        for f in findings:  # (an enum's _value_ is its value, without the descriptor of .value)
            if f.suppressed is not None:
                items.append(w.object(_finding(f, redact), "\n    "))
                continue
            loc = f.location
            items.append(shape % (
                s(f.rule), s(f.name), s(f.status._value_), s(f.severity._value_), s(f.subject), s(redact(f.message)),
                s(redact(f.remediation)), at_shape % (at(loc.path), at(loc.line), at(loc.column)),
                s(redact(f.evidence)), s(f.docs)))
    else:
        items = [w.object(_finding(f, redact), "\n    ") for f in findings]
    listed = _Raw("[\n    " + ",\n    ".join(items) + "\n  ]" if items else "[]")
    return w.value({**_head(subjects, redact), "findings": listed, "summary": summarize(findings)}, "\n")


def _usual_shape(finding: Dict[str, Any]) -> bool:
    """Does a finding's dict have the keys the fast path writes (a suppressed one is written as a dict)?"""
    keys = tuple(finding)
    return keys in (FINDING_KEYS, FINDING_KEYS + ("suppressed",)) and tuple(finding["location"]) == LOCATION_KEYS


class Writer:
    """JSON text as ``json.dumps(value, indent=2)`` writes it, for dicts with string keys, lists, strings,
    integers, booleans and None (anything else raises TypeError: json.dumps decides)."""

    def __init__(self):
        self.shapes: Dict[Tuple[Tuple[str, ...], str], str] = {}  # (keys, newline) -> format string
        self.strings: Dict[str, str] = {}  # str -> its JSON text

    def shape(self, keys: Tuple[str, ...], newline: str) -> str:
        """The format string of a dict with these keys, its lines indented after ``newline``."""
        shape = self.shapes.get((keys, newline))
        if shape is None:
            if any(key.__class__ is not str for key in keys):
                raise TypeError("key")
            inner = newline + "  "
            shape = "{" + ",".join(inner + _string(key).replace("%", "%%") + ": %s" for key in keys) + newline + "}"
            self.shapes[(keys, newline)] = shape
        return shape

    def string(self, value: str) -> str:
        if value.__class__ is not str:
            raise TypeError(value.__class__.__name__)
        text = self.strings.get(value)
        if text is None:
            text = self.strings[value] = _string(value)
        return text

    def value(self, value: Any, newline: str) -> str:
        cls = value.__class__
        if cls is str:
            return self.string(value)
        if cls is dict:
            return self.object(value, newline) if value else "{}"
        if cls is list:
            if not value:
                return "[]"
            inner = newline + "  "
            return "[" + inner + ("," + inner).join([self.value(item, inner) for item in value]) + newline + "]"
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if cls is int:
            return int.__repr__(value)
        if cls is _Raw:
            return str.__str__(value)
        raise TypeError(cls.__name__)  # floats, subclasses, ...: json.dumps decides

    def object(self, value: Dict[str, Any], newline: str) -> str:
        inner = newline + "  "
        return self.shape(tuple(value), newline) % tuple([self.value(item, inner) for item in value.values()])
