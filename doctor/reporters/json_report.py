"""The JSON report: one document on stdout, described by doctor/schemas/report.schema.json (schema_version 1).

:func:`build` is the document. :func:`render` writes the same text as ``json.dumps(build(...),
indent=2)`` about ten times faster (``json.dumps`` with ``indent`` runs in pure Python; a batch of
a thousand files has ~33,000 findings: ~400 ms against ~40 ms): each dict shape gets one format string,
each distinct string is encoded once, and findings of the usual shape are written from the Finding,
without a dict, from one template per distinct finding (see :func:`_usual_findings`).
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
        before, parts, after = _text(subjects, findings, redact)
    except TypeError:  # a value json.dumps must decide (a float, a str subclass, ...)
        import json

        out.write(json.dumps(build(subjects, findings, redact), indent=2))
    else:
        out.write(before)
        # the findings' ~18 MB of a batch, joined and written ~64 KB at a time: in memory that is used
        # again, the text and its encoded bytes take ~2 ms to write to a file or /dev/null, against ~10 ms
        # for one 18 MB string (fresh memory to fault in, twice; issue 7)
        for start in range(0, len(parts), _PIECES_A_WRITE):
            out.write("".join(parts[start:start + _PIECES_A_WRITE]))
        out.write(after)
    out.write("\n")


class _Raw(str):
    """JSON text already written, put into the document as it is (here: the place of the findings)."""


# Where the findings go in the document's text: a character JSON text never holds raw (the C encoder
# writes every control character as \u00XX), so the document is split there.
_HOLE = "\x00"
_SEP = ",\n    "  # between two findings
_PIECES_A_WRITE = 600  # a finding is 5 pieces, ~550 characters: ~64 KB


def _text(subjects: Sequence[Subject], findings: List[Finding], redact: Redactor) -> Tuple[str, List[str], str]:
    """The document's text up to the findings, the findings' list in pieces, the rest. Everything that
    can raise TypeError (a value json.dumps must decide) has been written when it returns."""
    w = Writer()
    if findings and _usual_shape(_finding(findings[0], redact)):
        parts = _usual_findings(findings, redact, w)
    else:
        parts = []
        for f in findings:
            parts += (_SEP, w.object(_finding(f, redact), "\n    "))
    if parts:
        parts[0] = "[\n    " + parts[0][len(_SEP):]  # every finding's pieces start with the separator
        parts.append("\n  ]")
    else:
        parts = ["[]"]
    doc = w.value({**_head(subjects, redact), "findings": _Raw(_HOLE), "summary": summarize(findings)}, "\n")
    before, after = doc.split(_HOLE)
    return before, parts, after


def _usual_findings(findings: List[Finding], redact: Redactor, w: Writer) -> List[str]:
    """The findings' text, in pieces to join (each finding after a separator), written from the Finding.

    A batch of 1,000 files has ~33,000 findings but only ~1,800 distinct ones once their subject and
    their location's file are left out: the text of each distinct one is made once, as a template in
    three pieces around those two, and a finding is its template's pieces with its subject's and file's
    text between them: ~1 us a finding instead of ~4.5 us (issue 7). The key holds the classes of the
    line and column: 1, 1.0 and True are equal keys but not the same JSON (a float or bool raises
    TypeError when its template is made: json.dumps decides).
    """
    templates: Dict[tuple, Tuple[str, str, str]] = {}
    parts: List[str] = []
    extend = parts.extend
    string = w.string
    last_subject = last_path = object()  # no subject or path is this: the first finding writes its own
    subject_text = path_text = ""
    for f in findings:  # (an enum's _value_ is its value, without the descriptor of .value)
        if f.suppressed is not None:
            extend((_SEP, w.object(_finding(f, redact), "\n    ")))
            continue
        loc = f.location
        line, column = loc.line, loc.column
        key = (f.rule, f.name, f.status._value_, f.severity._value_, f.message, f.remediation, line,
               line.__class__, column, column.__class__, f.evidence, f.docs)
        template = templates.get(key)
        if template is None:
            template = templates[key] = _template(f, redact, w)
        subject = f.subject
        if subject is not last_subject:  # a subject's findings come one after the other
            subject_text, last_subject = string(subject), subject
        path = loc.path
        if path is not last_path:
            path_text, last_path = "null" if path is None else string(path), path
        extend((template[0], subject_text, template[1], path_text, template[2]))
    return parts


def _template(f: Finding, redact: Redactor, w: Writer) -> Tuple[str, str, str]:
    """A usual finding's text after a separator, in three pieces: before its subject, between its subject
    and its location's path, after the path."""
    s = w.string
    loc = f.location

    def at(value: Any) -> str:  # a location's line or column
        return "null" if value is None else int.__repr__(value) if value.__class__ is int else s(value)

    location = w.shape(LOCATION_KEYS, "\n      ") % (_HOLE, at(loc.line), at(loc.column))
    text = _SEP + w.shape(FINDING_KEYS, "\n    ") % (
        s(f.rule), s(f.name), s(f.status._value_), s(f.severity._value_), _HOLE, s(redact(f.message)),
        s(redact(f.remediation)), location, s(redact(f.evidence)), s(f.docs))
    before_subject, before_path, rest = text.split(_HOLE)
    return before_subject, before_path, rest


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
