"""Inline suppressions, written in the inputs themselves with a reason and an optional expiry date.

    # runner-doctor: ignore RD205 until 2027-03-01 -- secret is rotated by the vault agent

in shell scripts, systemd units (``#`` or ``;``) and compose files. A suppression
applies to the runner defined right below it (only blank or comment lines in
between), else to the runner whose definition it sits in (the nearest one that
starts above it), else to the first runner after it. A suppressed finding keeps
its status and is reported as suppressed with its reason; it no longer counts
for the exit code. An expired suppression stops working and says so; a
suppression that matches no problem warns. Both are reported under RD900.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from doctor.model import Finding, Origin, Severity, Status, Subject
from doctor.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # datetime is imported where a date is made (most runs have no suppression), typing never
    import datetime as dt
    from typing import Dict, Iterable, List, Optional, Sequence

META_RULE, META_NAME = "RD900", "suppressions"
_RE = re.compile(
    r"(?:^|\s)(?:#|;)\s*runner-doctor:\s*ignore\s+(?P<rules>[A-Za-z0-9][A-Za-z0-9,\s-]*?)"
    r"(?:\s+until\s+(?P<until>\S+))?\s*(?:--\s*(?P<reason>.*?))?\s*$")


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Suppression(Record):
    """One inline suppression comment: the rules it ignores, until when, why, and the findings it covered."""

    path: str
    line: int
    rules: List[str]
    until: Optional[dt.date]
    reason: str
    problem: str = ""  # a malformed suppression (bad date, unknown rule)
    used: List[Finding] = field(default_factory=list)

    def __init__(self, path, line, rules, until, reason, problem="", used=None):
        self.path = path
        self.line = line
        self.rules = rules
        self.until = until
        self.reason = reason
        self.problem = problem
        self.used = [] if used is None else used

    @property
    def origin(self) -> Origin:
        return Origin(self.path, self.line, 1)


def scan(path: str, text: str, known: Dict[str, object]) -> List[Suppression]:
    import datetime as dt

    out = []
    names = None  # rule name -> id, made when a suppression names a rule by its name
    for n, line in enumerate(text.splitlines(), 1):
        if "runner-doctor:" not in line:
            continue
        m = _RE.search(line)
        if not m:
            continue
        ids, problem = [], ""
        for token in re.split(r"[,\s]+", m.group("rules").strip()):
            if not token:
                continue
            if token.upper() in known:
                rid = token.upper()
            else:
                if names is None:
                    names = {getattr(r, "name", ""): rid for rid, r in known.items()}
                rid = names.get(token.lower())
            if rid is None:
                problem = f"{token!r} is not a rule"
            else:
                ids.append(rid)
        until = None
        if m.group("until"):
            try:
                until = dt.date.fromisoformat(m.group("until"))
            except ValueError:
                problem = f"the expiry {m.group('until')!r} is not a date (YYYY-MM-DD)"
        out.append(Suppression(path, n, ids, until, (m.group("reason") or "").strip(), problem))
    return out


def _in_files(subjects: Sequence[Subject], paths: Iterable[str]) -> Dict[str, List[Subject]]:
    """The subjects with a line of each of these files, in line order."""
    paths = set(paths)
    mine: Dict[str, List[Subject]] = {}
    for x in subjects:
        if x.line and x.path in paths:
            mine.setdefault(x.path, []).append(x)
    for found in mine.values():
        found.sort(key=lambda x: x.line)
    return mine


def _target(s: Suppression, lines: Sequence[str], mine: Sequence[Subject]) -> Optional[Subject]:
    """The subject a suppression applies to, of ``mine``: the subjects of its file, in line order."""
    for x in mine:
        if x.line > s.line:
            between = lines[s.line: x.line - 1]
            if all(not ln.strip() or ln.lstrip().startswith(("#", ";")) for ln in between):
                return x
            break
    above = [x for x in mine if x.line <= s.line]
    if above:
        return above[-1]
    after = [x for x in mine if x.line > s.line]
    return after[0] if after else None


def _meta(subject_id: str, status: Status, message: str, fix: str, at: Origin) -> Finding:
    from doctor.rulebase import DOCS_URL

    return Finding(META_RULE, META_NAME, status, Severity.WARNING, subject_id, message, fix, at,
                   docs=f"{DOCS_URL}#{META_RULE.lower()}-{META_NAME}")


def apply(findings: List[Finding], subjects: Sequence[Subject], texts: Dict[str, str], selected: Iterable[str],
          today: Optional[dt.date] = None) -> List[Finding]:
    """Mark suppressed findings (in place) and return the RD900 findings about the suppressions."""
    import datetime as dt

    from doctor import engine

    today = today or dt.date.today()
    known = engine.catalog()
    selected = set(selected)
    meta: List[Finding] = []
    # a batch of 1,000 files has ~33,000 findings and a few files with suppressions: the subjects of those
    # files are found in one pass, and only their findings are grouped (~7 ms -> ~3 ms; issue 7)
    mine = _in_files(subjects, texts)
    wanted = {x.id for found in mine.values() for x in found}
    by_subject: Dict[str, List[Finding]] = {}  # in finding order
    for f in findings:
        if f.subject in wanted:
            by_subject.setdefault(f.subject, []).append(f)
    for path, text in texts.items():
        sups = scan(path, text, known)
        if not sups:
            continue
        lines = text.splitlines()
        healthy = 0
        first_subject = None
        for s in sups:
            subject = _target(s, lines, mine.get(path, ()))
            sid = subject.id if subject else (subjects[0].id if subjects else path)
            first_subject = first_subject or sid
            rules = ", ".join(s.rules) or "(none)"
            if s.problem:
                meta.append(_meta(sid, Status.WARN, f"the suppression at {path}:{s.line} is ignored: {s.problem}",
                                  "write: # runner-doctor: ignore RD205 until 2027-03-01 -- the reason", s.origin))
                continue
            if not s.reason:
                meta.append(_meta(sid, Status.WARN, f"the suppression of {rules} at {path}:{s.line} gives no reason",
                                  "add the reason after '--', so that the next reader knows why", s.origin))
            if s.until is not None and s.until < today:
                meta.append(_meta(sid, Status.WARN,
                                  f"the suppression of {rules} at {path}:{s.line} expired on {s.until.isoformat()}: "
                                  "it no longer applies", "fix the finding, or renew the date if the reason still "
                                  "holds", s.origin))
                continue
            if not set(s.rules) & selected:
                continue  # its rules did not run: nothing to say about it
            for f in by_subject.get(subject.id, []) if subject is not None else ():
                if f.rule in s.rules and \
                        f.status in (Status.WARN, Status.FAIL, Status.ERROR) and f.suppressed is None:
                    f.suppressed = s.reason or "(no reason given)"
                    f.suppressed_until = s.until.isoformat() if s.until else None
                    s.used.append(f)
            if s.used:
                healthy += 1
            else:
                meta.append(_meta(sid, Status.WARN,
                                  f"the suppression of {rules} at {path}:{s.line} matches no problem: the rule "
                                  "passes there (or the suppression is not next to the runner it means)",
                                  "remove the suppression if the problem is fixed, or move it right above the runner "
                                  "command or service", s.origin))
        if healthy and not any(m.location.path == path for m in meta):
            meta.append(_meta(first_subject, Status.PASS,
                              f"{healthy} suppression{'s' if healthy != 1 else ''} in {path}: each has a reason, "
                              "is current and matches a problem", "", Origin(path)))
    return meta


def apply_to_targets(targets: Sequence[str], stdin_text: Optional[str], subjects: Sequence[Subject],
                     findings: List[Finding], rules: Sequence, read: Optional[Dict[str, str]] = None) -> List[Finding]:
    """Apply the suppressions written in the TARGET files (``-`` is standard input); the RD900 findings.

    ``read``: the TARGET texts as the inputs read them (LoadOptions.texts); others are read here.
    """
    from doctor.inputs import STDIN
    from doctor.inputs.files import read_text

    texts: Dict[str, str] = {}
    for path in targets:
        if path == "-":
            text: Optional[str] = stdin_text or ""
            path = STDIN
        elif read and path in read:
            text = read[path]
        else:
            text, _err, _mode = read_text(path)
        if text is not None and "runner-doctor:" in text:
            texts[path] = text
    if not texts:
        return []
    return apply(findings, subjects, texts, [r.id for r in rules])
