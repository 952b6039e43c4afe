"""The rules engine: select rules, run each on every subject it applies to, isolate failures."""

from __future__ import annotations

import importlib
import re
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from doctor.model import Finding, Origin, Severity, Status, Subject
from doctor.rulebase import Context, Result, Rule

_ID_RE = re.compile(r"^RD\d{3}$")
_registry: Optional[Dict[str, Rule]] = None


def all_rules() -> Dict[str, Rule]:
    """Every rule shipped in doctor.rules, by id, in id order."""
    global _registry
    if _registry is None:
        import pkgutil

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


class RuleInfo(NamedTuple):
    """What selection and the engine need of a rule without importing its module."""

    id: str
    name: str
    module: str  # in doctor.rules
    applies_to: Tuple[str, ...]


def catalog() -> Dict[str, RuleInfo]:
    """Every rule by id, in id order, from the generated doctor.rules._catalog (no rule module imported)."""
    from doctor.rules._catalog import RULES

    return {row[0]: RuleInfo(*row) for row in RULES}


def catalog_source() -> str:
    """The text of rules/_catalog.py, generated from the rule modules (a test keeps the file in sync)."""
    rows = "".join(
        f"    ({r.id!r}, {r.name!r}, {type(r).__module__.rsplit('.', 1)[-1]!r}, {tuple(r.applies_to)!r}),\n"
        for r in all_rules().values())
    return ('"""Generated from the rule modules; do not edit by hand. Regenerate with\n'
            "python -c \"from doctor import engine; print(engine.catalog_source(), end='')\" > rules/_catalog.py\n"
            '\n(id, name, module, applies_to) of every rule, in id order: the engine imports\n'
            'only the rule modules that can apply to a run\'s subjects.\n"""\n\nRULES = (\n' + rows + ")\n")


class SelectionError(ValueError):
    pass


def _expand(ids: Iterable[str], known: Mapping[str, Any]) -> List[str]:
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


def selected(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> List[RuleInfo]:
    """The selected rules' catalog entries, in id order, without importing any rule module."""
    known = catalog()
    chosen = _expand(select, known) if select else list(known)
    dropped = set(_expand(ignore, known)) if ignore else set()
    return [known[rid] for rid in sorted(set(chosen) - dropped)]


def load(infos: Sequence[RuleInfo], kinds: Optional[Iterable[str]] = None) -> List[Rule]:
    """The rules of these entries; with ``kinds``, only those that apply to one of these subject kinds."""
    wanted = None if kinds is None else set(kinds)
    return [importlib.import_module(f"doctor.rules.{info.module}").RULE for info in infos
            if wanted is None or wanted.intersection(info.applies_to)]


def select_rules(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> List[Rule]:
    known = all_rules()
    return [known[info.id] for info in selected(select, ignore)]


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
        import traceback

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
