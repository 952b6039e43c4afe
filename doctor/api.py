"""The Python API: check configurations the way `runner-doctor check` does, without printing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from doctor import engine
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.model import Finding, Status, Subject
from doctor.rulebase import Context


@dataclass
class Report:
    subjects: List[Subject]
    findings: List[Finding]
    rules: list = field(default_factory=list)

    @property
    def summary(self) -> Dict[str, int]:
        return engine.summarize(self.findings)

    def for_rule(self, rule_id: str, subject: Optional[Subject] = None) -> List[Finding]:
        return [f for f in self.findings if f.rule == rule_id and (subject is None or f.subject == subject.id)]

    @property
    def failed(self) -> bool:
        return any(f.status in (Status.FAIL, Status.ERROR) and f.counts for f in self.findings)


def check(
    targets: Sequence[str],
    docker_config: Optional[str] = None,
    offline: bool = True,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    runner_mirrors: Sequence[str] = (),
    cwd: Optional[str] = None,
) -> Report:
    """Load TARGET files and run the selected rules. Raises InputError for unusable targets."""
    opts = LoadOptions(docker_config=docker_config, runner_mirrors=tuple(runner_mirrors), cwd=cwd or os.getcwd())
    subjects = load_targets(list(targets), opts)
    rules = engine.select_rules(select, ignore)
    ctx = Context(offline=offline, runner_mirrors=tuple(runner_mirrors))
    findings = engine.run(subjects, rules, ctx)
    from doctor import suppress

    findings += suppress.apply_to_targets(list(targets), None, subjects, findings, rules, opts.texts)
    return Report(subjects, findings, rules)
