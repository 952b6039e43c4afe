"""The rules engine: select rules, run each on every subject it applies to, isolate failures."""

from __future__ import annotations

import importlib
import pkgutil
import re
import traceback
from typing import Dict, Iterable, List, Optional, Sequence

from doctor.model import Finding, Origin, Severity, Status, Subject
from doctor.rulebase import Context, Result, Rule

_ID_RE = re.compile(r"^RD\d{3}$")
_registry: Optional[Dict[str, Rule]] = None


def all_rules() -> Dict[str, Rule]:
    """Every rule shipped in doctor.rules, by id, in id order."""
    global _registry
    if _registry is None:
        import doctor.rules as pkg

        found: Dict[str, Rule] = {}
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"doctor.rules.{info.name}")
            rule = getattr(module, "RULE", None)
            if not isinstance(rule, Rule):
                continue
            if not _ID_RE.match(rule.id) or rule.id in found:
                raise RuntimeError(f"rule module {info.name}: bad or duplicate id {rule.id!r}")
            found[rule.id] = rule
        _registry = dict(sorted(found.items()))
    return _registry


class SelectionError(ValueError):
    pass


def _expand(ids: Iterable[str], known: Dict[str, Rule]) -> List[str]:
    out: List[str] = []
    for raw in ids:
        for token in re.split(r"[,\s]+", raw.strip()):
            if not token:
                continue
            tok = token.upper()
            if tok == "ALL":
                out.extend(known)
                continue
            # prefixes select groups: RD1 -> RD101..RD199, RD10 -> RD100..RD109
            matches = [rid for rid in known if rid == tok or (rid.startswith(tok) and tok.startswith("RD"))]
            if not matches:
                by_name = [rid for rid, r in known.items() if r.name == token.lower()]
                matches = by_name
            if not matches:
                raise SelectionError(f"unknown rule {token!r} (see 'runner-doctor rules')")
            out.extend(matches)
    return out


def select_rules(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> List[Rule]:
    known = all_rules()
    chosen = _expand(select, known) if select else list(known)
    dropped = set(_expand(ignore, known)) if ignore else set()
    seen = set()
    result = []
    for rid in chosen:
        if rid in dropped or rid in seen:
            continue
        seen.add(rid)
        result.append(known[rid])
    return sorted(result, key=lambda r: r.id)


def _finding(rule: Rule, subject: Subject, res: Result) -> Finding:
    return Finding(
        rule=rule.id,
        name=rule.name,
        status=res.status,
        severity=res.severity or rule.severity,
        subject=subject.id,
        message=res.message,
        remediation=res.remediation,
        location=res.location if res.location.path or res.location.line else Origin(subject.path, subject.line),
        evidence=res.evidence,
        docs=rule.docs_url,
    )


def run_rule(rule: Rule, subject: Subject, ctx: Context) -> List[Finding]:
    """Run one rule on one subject. Never raises: a broken rule becomes an `error` finding."""
    try:
        why = rule.skip_reason(subject, ctx)
        if why:
            return [_finding(rule, subject, Result(Status.SKIP, why))]
        results = list(rule.check(subject, ctx) or ())
        if not results:
            results = [Result(Status.PASS, "no problem found")]
        return [_finding(rule, subject, r) for r in results]
    except Exception as exc:  # noqa: BLE001 - isolation is the point
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
        return [
            _finding(
                rule,
                subject,
                Result(
                    Status.ERROR,
                    f"the rule itself failed ({type(exc).__name__}{where}); the other rules still ran",
                    "Please report this with the input file (secrets removed) at the project's issue tracker.",
                    severity=Severity.ERROR,
                ),
            )
        ]


def run(subjects: Sequence[Subject], rules: Sequence[Rule], ctx: Context) -> List[Finding]:
    findings: List[Finding] = []
    for subject in subjects:
        for rule in rules:
            if subject.kind not in rule.applies_to:
                continue
            findings.extend(run_rule(rule, subject, ctx))
    return findings


def summarize(findings: Iterable[Finding]) -> Dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for f in findings:
        counts[f.status.value] += 1
    return counts
