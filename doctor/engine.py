"""The rules engine: select rules, run each on every subject it applies to, isolate failures."""

from __future__ import annotations

import collections
import importlib
import re

from doctor.model import Finding, Origin, Severity, Status, Subject
from doctor.rulebase import Context, Result, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

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


class RuleInfo(collections.namedtuple("RuleInfo",
                                      "id name module applies_to severity docker_only needs own_skip form_skip",
                                      defaults=("error", True, (), False, None))):
    """What selection and the engine need of a rule without importing its module: ``id``, ``name``,
    ``module`` (in doctor.rules), ``applies_to``, ``severity``, ``docker_only``, ``needs``, ``own_skip``
    (the rule decides itself when it does not apply: overrides Rule.skip_reason) and ``form_skip`` (its
    :attr:`Rule.form_skip`: the part of that decision the catalog knows). A named tuple without ``typing``
    (start-up time)."""

    __slots__ = ()


def catalog() -> Dict[str, RuleInfo]:
    """Every rule by id, in id order, from the generated doctor.rules._catalog (no rule module imported)."""
    from doctor.rules._catalog import RULES

    return {row[0]: RuleInfo(*row) for row in RULES}


def catalog_source() -> str:
    """The text of rules/_catalog.py, generated from the rule modules (a test keeps the file in sync)."""
    rows = "".join(
        f"    ({r.id!r}, {r.name!r}, {type(r).__module__.rsplit('.', 1)[-1]!r}, {tuple(r.applies_to)!r}, "
        f"{r.severity.value!r}, {bool(r.docker_only)!r}, {tuple(sorted(r.needs))!r}, "
        f"{type(r).skip_reason is not Rule.skip_reason!r}, {r.form_skip!r}),\n"
        for r in all_rules().values())
    return ('"""Generated from the rule modules; do not edit by hand. Regenerate with\n'
            "python -c \"from doctor import engine; print(engine.catalog_source(), end='')\" > rules/_catalog.py\n"
            "\n(id, name, module, applies_to, severity, docker_only, needs, own_skip, form_skip) of every rule, in id\n"
            "order: the engine imports only the rule modules that can apply to a run's subjects, and reports a\n"
            "rule that is skipped for its docker_only or needs (and has no skip_reason of its own), or for its\n"
            'form_skip, without importing it.\n"""\n'
            "\nRULES = (\n" + rows + ")\n")


class DeferredRule:
    """A selected rule whose module is imported only when the rule runs, or when more than its catalog
    entry is asked for (its documentation, for SARIF). A rule skipped for ``docker_only`` or ``needs``
    (the base :meth:`Rule.skip_reason`, which reads only those two), or for its ``form_skip`` (the
    Kubernetes rules on a runner started any other way), is reported without its module."""

    def __init__(self, info: RuleInfo):
        self.info = info
        self.id, self.name, self.applies_to = info.id, info.name, info.applies_to
        self.severity = Severity(info.severity)
        self.docker_only, self.needs = info.docker_only, frozenset(info.needs)
        self.docs_url = Rule.docs_url.fget(self)
        self._rule: Optional[Rule] = None

    @property
    def rule(self) -> Rule:
        if self._rule is None:
            self._rule = importlib.import_module(f"doctor.rules.{self.info.module}").RULE
            self.check = self._rule.check  # from now on, the rule's own methods
            if self.info.own_skip:
                self.skip_reason = self._rule.skip_reason
        return self._rule

    def skip_reason(self, subject: Subject, ctx: Context) -> Optional[str]:
        if self.info.own_skip:
            form_skip = self.info.form_skip
            if form_skip is not None and (subject.runner is None or subject.runner.form not in form_skip[0]):
                return form_skip[1]  # what the rule would say (Rule.form_skip), without importing it
            return self.rule.skip_reason(subject, ctx)
        return Rule.skip_reason(self, subject, ctx)  # type: ignore[arg-type] - reads docker_only and needs

    def check(self, subject: Subject, ctx: Context) -> Iterable[Result]:
        return self.rule.check(subject, ctx)

    def __getattr__(self, attr: str) -> Any:  # summary, doc, ...: the rule itself
        return getattr(self.rule, attr)


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


def load(infos: Sequence[RuleInfo], kinds: Optional[Iterable[str]] = None, deferred: bool = False) -> List[Rule]:
    """The rules of these entries; with ``kinds``, only those that apply to one of these subject kinds.
    ``deferred``: as :class:`DeferredRule`, which import their module only when they run."""
    wanted = None if kinds is None else set(kinds)
    chosen = [info for info in infos if wanted is None or wanted.intersection(info.applies_to)]
    if deferred:
        return [DeferredRule(info) for info in chosen]  # type: ignore[misc] - a Rule to the engine and reporters
    return [importlib.import_module(f"doctor.rules.{info.module}").RULE for info in chosen]


def select_rules(select: Sequence[str] = (), ignore: Sequence[str] = ()) -> List[Rule]:
    known = all_rules()
    return [known[info.id] for info in selected(select, ignore)]


def _failed(rule: Rule, subject: Subject, exc: Exception, where: Origin) -> Finding:
    """The `error` finding of a rule that raised: where it failed, never the exception's text (secrets)."""
    import traceback

    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
    return Finding(rule.id, rule.name, Status.ERROR, Severity.ERROR, subject.id,
                   f"the rule itself failed ({type(exc).__name__}{at}); the other rules still ran",
                   "Please report this with the input file (secrets removed) at the project's issue tracker.",
                   where, "", rule.docs_url)


def _plan(rule: Rule) -> Tuple[Any, ...]:
    """What every finding of a rule shares, read once per run: (rule, id, name, severity, docs URL, base).

    ``base`` is None for a rule with a skip_reason of its own; else the two things the base
    :meth:`Rule.skip_reason` reads, ``(docker_only, needs)``, so that its reason is worked out once per
    subject for all the rules that have the same two (issue 7: 26,000 calls per 1,000 files, ~15 ms).
    """
    own = rule.info.own_skip if isinstance(rule, DeferredRule) else type(rule).skip_reason is not Rule.skip_reason
    base = None if own else (bool(rule.docker_only), tuple(sorted(rule.needs)))
    return rule, rule.id, rule.name, rule.severity, rule.docs_url, base


def _run_planned(subject: Subject, plan: Iterable[Tuple[Any, ...]], ctx: Context, where: Origin,
                 out: List[Finding]) -> None:
    """Run these planned rules on one subject, adding their findings to ``out``. Never raises: a broken
    rule becomes an `error` finding. (A skip or a pass is made into a finding without a :class:`Result`:
    they are most of the 32,000 findings of 1,000 files, issue 7.)"""
    sid = subject.id
    base_skips: Dict[Any, Optional[str]] = {}  # this subject's base skip reason by (docker_only, needs)
    for rule, rid, name, severity, docs, base in plan:
        try:
            if base is None:
                why = rule.skip_reason(subject, ctx)
            elif base in base_skips:
                why = base_skips[base]
            else:
                why = base_skips[base] = Rule.skip_reason(rule, subject, ctx)
            if why:
                out.append(Finding(rid, name, Status.SKIP, severity, sid, why, "", where, "", docs))
                continue
            results = list(rule.check(subject, ctx) or ())
            if not results:
                out.append(Finding(rid, name, Status.PASS, severity, sid, "no problem found", "", where, "", docs))
                continue
            made = []
            for res in results:
                at = res.location
                made.append(Finding(rid, name, res.status, res.severity or severity, sid, res.message,
                                    res.remediation, at if at.path or at.line else where, res.evidence, docs))
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            made = [_failed(rule, subject, exc, where)]
        out.extend(made)


def run_rule(rule: Rule, subject: Subject, ctx: Context, where: Optional[Origin] = None) -> List[Finding]:
    """Run one rule on one subject. Never raises: a broken rule becomes an `error` finding."""
    out: List[Finding] = []
    _run_planned(subject, (_plan(rule),), ctx, where or Origin(subject.path, subject.line), out)
    return out


def run(subjects: Sequence[Subject], rules: Sequence[Rule], ctx: Context) -> List[Finding]:
    findings: List[Finding] = []
    plans: Dict[str, List[Tuple[Any, ...]]] = {}  # subject kind -> the rules that apply to it, planned
    for subject in subjects:
        plan = plans.get(subject.kind)
        if plan is None:
            plan = plans[subject.kind] = [_plan(rule) for rule in rules if subject.kind in rule.applies_to]
        where = Origin(subject.path, subject.line)  # one for the subject's findings that have no place of their own
        _run_planned(subject, plan, ctx, where, findings)
    return findings


def summarize(findings: Iterable[Finding]) -> Dict[str, int]:
    statuses = [f.status for f in findings]
    return {s.value: statuses.count(s) for s in Status}  # list.count: no Enum.__hash__ per finding
