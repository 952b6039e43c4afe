"""The rule interface.

A rule is a module in ``rules/`` (installed as ``doctor.rules``) whose module
docstring is the rule's documentation (Markdown: what, why, a failing and a
passing example, the fix) and which defines ``RULE``, an instance of a
:class:`Rule` subclass::

    class DockerSocket(Rule):
        id = "RD101"
        name = "docker-socket"
        severity = Severity.ERROR

        def check(self, subject, ctx):
            ...
            yield self.fail("...", fix="...", at=mount.origin)

    RULE = DockerSocket()

``check`` yields results built with :meth:`Rule.ok`, :meth:`Rule.warn`,
:meth:`Rule.fail` and :meth:`Rule.skip`; the engine fills in the rule id, name,
severity and subject. A rule that yields nothing is reported as a pass.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from doctor.model import NOWHERE, Origin, RunnerKind, Severity, Status, Subject
from doctor.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, FrozenSet, Iterable, Optional, Tuple

DOCS_URL = "https://github.com/runner-doctor/runner-doctor/blob/main/docs/rules.md"


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Result(Record):
    """One result a rule yields; the engine turns it into a Finding."""

    status: Status
    message: str
    remediation: str = ""
    location: Origin = NOWHERE
    evidence: str = ""
    severity: Optional[Severity] = None  # overrides the rule's default severity

    def __init__(self, status, message, remediation="", location=NOWHERE, evidence="", severity=None):
        self.status = status
        self.message = message
        self.remediation = remediation
        self.location = location
        self.evidence = evidence
        self.severity = severity


class Context:
    """What the run knows besides the subject: options and (later) live facts."""

    def __init__(self, offline: bool = False, runner_mirrors: Tuple[str, ...] = (), **extra: Any):
        self.offline = offline
        self.runner_mirrors = tuple(runner_mirrors)
        self.extra = extra
        # Live providers, attached by the live-host and registry stages when available.
        self.daemon: Any = None  # the DaemonFacts of this machine's daemon, for TARGET files
        self.daemon_tried: Any = None  # the same when it could not be reached (for the skip reason)
        self.registry: Any = None  # doctor.registry.results.RegistryResults of the registry stage

    def daemon_for(self, subject: Optional[Subject] = None):
        """The reachable daemon whose facts apply to this subject, or None.

        A host subject is its daemon; a container found on a host carries that host's daemon; a
        configuration file is checked against the daemon of the machine the doctor runs on.
        """
        facts = None
        if subject is not None:
            facts = subject.host or (subject.runner.facts.get("daemon") if subject.runner else None)
        if facts is None:
            facts = self.daemon
        return facts if facts is not None and facts.reachable else None

    def unavailable(self, need: str, subject: Optional[Subject] = None) -> Optional[str]:
        """Why a live need cannot be met for this subject, or None when it can."""
        if need == "daemon":
            if self.offline:
                return "needs the Docker daemon, and --offline was given"
            if self.daemon_for(subject) is None:
                facts = subject.host if subject is not None and subject.host is not None else self.daemon_tried
                why = f" ({facts.unreachable_reason()})" if facts is not None else ""
                return f"needs the Docker daemon, which this run could not reach{why}"
        elif need == "network":
            if self.offline:
                return "needs the network, and --offline was given"
            if self.registry is None:
                return "needs the network, which this run does not use"
        return None


CONTAINER_SKIP = (
    "{kind} runners use no containers: the Docker runner's mounts, images and "
    "registry credentials do not apply"
)


class Rule:
    id: str = ""
    name: str = ""
    severity: Severity = Severity.ERROR
    # subject kinds the rule is run on: "runner", "docker-config"
    applies_to: Tuple[str, ...] = ("runner",)
    # True: on a Linux Shell/Windows/macOS runner the rule is reported "skip"
    docker_only: bool = True
    # live data the rule needs: "daemon", "network". Without it: "skip" with the reason.
    needs: FrozenSet[str] = frozenset()
    # (forms, reason) for a rule whose own skip_reason gives ``reason`` for every subject that is not a runner
    # of one of these forms (RunnerSetup.form): in the catalog, so that the engine reports that skip without
    # importing the rule's module (issue 7); for the other subjects the rule decides.
    form_skip: Optional[Tuple[Tuple[str, ...], str]] = None

    # ---- documentation ----
    @property
    def doc(self) -> str:
        module = sys.modules.get(type(self).__module__)
        return ((module.__doc__ if module else None) or type(self).__doc__ or "").strip()

    @property
    def summary(self) -> str:
        doc = self.doc
        return doc.splitlines()[0].strip().rstrip(".") if doc else self.name

    @property
    def docs_url(self) -> str:
        return f"{DOCS_URL}#{self.id.lower()}-{self.name}"

    # ---- applicability ----
    def skip_reason(self, subject: Subject, ctx: Context) -> Optional[str]:
        """Why the rule does not run on this subject, or None. Only called for applicable kinds.

        Reads only the rule's ``docker_only`` and ``needs``: the engine works the reason out once per subject
        for all the rules that have the same two (doctor.engine._plan)."""
        runner = subject.runner
        if runner is not None and self.docker_only and runner.kind is not RunnerKind.LINUX_DOCKER:
            return CONTAINER_SKIP.format(kind=runner.kind.label)
        for need in sorted(self.needs):
            why = ctx.unavailable(need, subject)
            if why:
                return why
        return None

    def check(self, subject: Subject, ctx: Context) -> Iterable[Result]:  # pragma: no cover
        raise NotImplementedError

    # ---- result builders ----
    def ok(self, message: str, at: Origin = NOWHERE, evidence: str = "") -> Result:
        return Result(Status.PASS, message, "", at, evidence)

    def warn(self, message: str, fix: str = "", at: Origin = NOWHERE, evidence: str = "",
             severity: Optional[Severity] = None) -> Result:
        return Result(Status.WARN, message, fix, at, evidence, severity)

    def fail(self, message: str, fix: str = "", at: Origin = NOWHERE, evidence: str = "",
             severity: Optional[Severity] = None) -> Result:
        return Result(Status.FAIL, message, fix, at, evidence, severity)

    def skip(self, reason: str, at: Origin = NOWHERE) -> Result:
        return Result(Status.SKIP, reason, "", at)
