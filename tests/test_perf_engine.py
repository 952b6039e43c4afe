"""The engine's and the rules' shortcuts (issue 7) give what the plain way gives.

- the engine works a rule's base skip reason out once per subject for the rules with the same
  ``docker_only`` and ``needs``, and makes skip and pass findings directly: the same findings as running
  each rule on its own, the plain way (``_plain_run`` below: the engine before the shortcuts);
- a deferred rule with a ``form_skip`` (the Kubernetes rules) reports that skip from the catalog without
  importing its module, and asks the rule for every other subject: the same verdict as the rule's own
  ``skip_reason``, for every input of the rule cases;
- the image rules parse each reference through ``parse_reference``, which remembers its answers;
  ``is_placeholder`` uses two patterns instead of one alternation.
"""

import glob
import os
import re

import pytest
import yaml

from doctor import engine
from doctor.imageref import InvalidReference, parse_reference
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.model import Finding, InputError, Origin, RunnerKind, RunnerSetup, Status, Subject
from doctor.rulebase import Context, Result, Rule
from doctor.rules import _env, _images
from tests.conftest import FIXTURES, ROOT


def _subjects_of(paths, docker_config=None):
    try:
        return load_targets(paths, LoadOptions(docker_config=docker_config))
    except InputError:  # a fixture that is not a runner configuration (fixtures/nasty, ...)
        return []


def _fixture_subjects():
    out = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            out.extend(_subjects_of([path]))
    return out


def _rule_case_subjects():
    """The subjects of every rule case's TARGET files (the live and registry cases' files too)."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "rule_cases", "RD*.yaml"))):
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        for case in doc["cases"]:
            targets = case.get("targets") or ([case["target"]] if "target" in case else [])
            if targets:
                config = case.get("docker_config") and os.path.join(ROOT, case["docker_config"])
                out.extend(_subjects_of([os.path.join(ROOT, t) for t in targets], config))
    return out


FIXTURE_SUBJECTS = _fixture_subjects()
CASE_SUBJECTS = _rule_case_subjects()


def _plain_run(subjects, rules, ctx):
    """engine.run as it was before its shortcuts: each rule's skip_reason and check, then one finding a result."""
    out = []
    for subject in subjects:
        where = Origin(subject.path, subject.line)
        for rule in rules:
            if subject.kind not in rule.applies_to:
                continue
            why = rule.skip_reason(subject, ctx)
            results = [Result(Status.SKIP, why)] if why else list(rule.check(subject, ctx) or ()) or \
                [Result(Status.PASS, "no problem found")]
            for res in results:
                at = res.location if res.location.path or res.location.line else where
                out.append(Finding(rule.id, rule.name, res.status, res.severity or rule.severity, subject.id,
                                   res.message, res.remediation, at, res.evidence, rule.docs_url))
    return out


class _NeedsDaemon(Rule):
    id = "RD997"
    name = "needs-daemon"
    needs = frozenset({"daemon"})

    def check(self, subject, ctx):
        yield self.ok("the daemon answered")


class _NeedsBoth(_NeedsDaemon):
    id = "RD998"
    name = "needs-both"
    docker_only = False
    needs = {"network", "daemon"}  # a set, as a rule may declare it


def test_the_fixtures_give_subjects_of_every_kind_of_runner():
    assert {s.runner.kind for s in FIXTURE_SUBJECTS if s.runner} == set(RunnerKind)
    assert {s.runner.form for s in FIXTURE_SUBJECTS if s.runner} >= {"docker-run", "compose", "kubernetes"}
    assert {s.kind for s in FIXTURE_SUBJECTS} >= {"runner", "docker-config", "pipeline-step", "autoscaler-group"}


@pytest.mark.parametrize("deferred", [True, False], ids=["deferred", "imported"])
@pytest.mark.parametrize("offline", [True, False], ids=["offline", "live-less"])
def test_the_engine_gives_what_running_each_rule_the_plain_way_gives(deferred, offline):
    rules = engine.load(engine.selected(), deferred=deferred) + [_NeedsDaemon(), _NeedsBoth()]
    ctx = Context(offline=offline)
    found = engine.run(FIXTURE_SUBJECTS, rules, ctx)
    assert found == _plain_run(FIXTURE_SUBJECTS, rules, ctx)
    assert {f.status for f in found} >= {Status.PASS, Status.SKIP, Status.WARN, Status.FAIL}
    # run_rule, one rule and one subject at a time, the same again
    assert found == [f for s in FIXTURE_SUBJECTS for r in rules if s.kind in r.applies_to
                     for f in engine.run_rule(r, s, ctx)]


def test_the_base_skip_reason_is_the_one_of_each_rule_even_when_rules_share_it():
    """A docker_only rule and one that is not, with the same needs, on a Linux Shell runner and a Docker one."""
    subjects = []
    for kind in (RunnerKind.LINUX_SHELL, RunnerKind.LINUX_DOCKER):
        setup = RunnerSetup(kind=kind, form="docker-run", origin=Origin("x.sh", 1, 1))
        subjects.append(Subject(f"x.sh:{kind.value}", "runner", "x.sh", 1, "x", runner=setup))
    from doctor.live.daemon import DaemonFacts

    ctx = Context()
    ctx.daemon = DaemonFacts("unix:///var/run/docker.sock", "default", version={"Version": "28.2.2"})
    rules = [_NeedsDaemon(), _NeedsBoth(), _NeedsDaemon()]
    found = engine.run(subjects, rules, ctx)
    assert found == _plain_run(subjects, rules, ctx)
    assert [f.status for f in found] == [Status.SKIP, Status.SKIP, Status.SKIP, Status.PASS, Status.SKIP, Status.PASS]
    assert "Linux Shell" in found[0].message and "network" in found[1].message


class _Raises(Rule):
    id = "RD996"
    name = "raises-late"

    def check(self, subject, ctx):
        yield self.ok("first")
        raise ValueError("OAUTH_CLIENT_SECRET=do-not-print-me")


class _YieldsNonsense(Rule):
    id = "RD995"
    name = "yields-nonsense"

    def check(self, subject, ctx):
        yield self.ok("first")
        yield "not a result"


@pytest.mark.parametrize("rule", [_Raises(), _YieldsNonsense()], ids=lambda r: r.name)
def test_a_rule_that_breaks_half_way_gives_one_error_finding_and_nothing_else(rule):
    subject = next(s for s in FIXTURE_SUBJECTS if s.kind == "runner")
    [error, after] = engine.run([subject], [rule, engine.all_rules()["RD001"]], Context(offline=True))
    assert error.status is Status.ERROR and error.rule == rule.id and "do-not-print-me" not in error.message
    assert after.rule == "RD001"


def test_the_catalog_knows_the_skip_the_kubernetes_rules_give_to_other_runners():
    infos = engine.catalog()
    with_form_skip = sorted(rid for rid, info in infos.items() if info.form_skip)
    assert with_form_skip == ["RD601", "RD602", "RD603", "RD604", "RD605", "RD606"]
    for rid in with_form_skip:
        assert infos[rid].own_skip and infos[rid].form_skip == engine.all_rules()[rid].form_skip


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "live-less"])
def test_a_deferred_rule_skips_as_the_rule_itself_for_every_rule_case_input(offline):
    ctx = Context(offline=offline)
    rules = engine.all_rules()
    shortcut = fallback = 0
    for info in engine.catalog().values():
        if not info.own_skip:
            continue
        for subject in CASE_SUBJECTS + FIXTURE_SUBJECTS:
            if subject.kind not in info.applies_to:
                continue
            deferred = engine.DeferredRule(info)
            assert deferred.skip_reason(subject, ctx) == rules[info.id].skip_reason(subject, ctx), \
                (info.id, subject.id)
            if deferred._rule is None:
                shortcut += 1
            else:
                fallback += 1
    assert shortcut and fallback  # both ways were taken: other runners, and Kubernetes pods


def test_a_kubernetes_rule_on_a_docker_run_is_reported_without_importing_it():
    subject = next(s for s in CASE_SUBJECTS if s.runner is not None and s.runner.form == "docker-run")
    deferred = engine.DeferredRule(engine.catalog()["RD601"])
    [skip] = engine.run([subject], [deferred], Context(offline=True))
    assert skip.status is Status.SKIP and skip.message == "not a Kubernetes pod: the pod checks do not apply"
    assert deferred._rule is None


def test_remembered_image_references_are_the_parsed_ones():
    unremembered = parse_reference.__wrapped__  # the function under imageref's lru_cache
    texts = ["ubuntu", "ubuntu:22.04", "docker.io/library/ubuntu", "registry.acme.example:5443/team/app:1",
             "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1",
             "Localhost/app", "app@sha256:" + "a" * 64]
    for text in texts + texts:
        assert parse_reference(text) == unremembered(text)
    assert parse_reference(texts[0]) is parse_reference(texts[0])
    for bad in ["", "team/App", "app:", " app", "app@sha256:abc"]:
        for _ in range(2):  # not remembered: raised each time, with the message the parse gives
            with pytest.raises(InvalidReference) as got:
                parse_reference(bad)
            with pytest.raises(InvalidReference) as want:
                unremembered(bad)
            assert str(got.value) == str(want.value)


_ONE_PLACEHOLDER_RE = re.compile(  # is_placeholder's pattern as one alternation (before issue 7)
    r"<[^<>]*>|^\{?(your[-_ ].*|changeme|change[-_]me|replace[-_]?me|todo|tbd|x{4,}|\.\.\.|…)\}?$", re.I)


def test_is_placeholder_gives_what_the_single_pattern_gives():
    values = {v.value for s in FIXTURE_SUBJECTS + CASE_SUBJECTS if s.runner for v in s.runner.env if v.value}
    values |= {"", " ", "<x>", "a<b>c", "<", "<<>", "{<workspace-uuid>}", "your-id", "YOUR_ID", "your id\n",
               "changeme", "{changeme}", "ChangeMe ", "replaceme", "replace-me", "todo", "TBD", "xxxx", "xxx",
               "...", "…", "{...}", "x your-id", "changeme!", "tbd\nx", "\ttodo\n", "<a\nb>", "{todo"}
    assert len(values) > 100
    for value in values:
        assert _env.is_placeholder(value) is bool(_ONE_PLACEHOLDER_RE.search(value.strip())), repr(value)


def test_an_offline_check_of_a_docker_run_script_imports_no_kubernetes_rule(tmp_path):
    from tests.test_imports import START, _modules_after

    loaded = _modules_after(["check", "--offline", "--format", "json", START], tmp_path)
    assert not {m for m in loaded if m.startswith(("doctor.rules.rd60", "doctor.rules._kubernetes"))}
    assert "doctor.rules.rd201_required_env" in loaded  # the rules that run are imported


def test_named_image_writes_out_the_init_dataclass_would_write():
    """tests/test_records.py walks doctor/ only; the rules' own records (rules/, installed as doctor.rules)."""
    import dataclasses
    import inspect

    from tests.test_records import _generated

    cls = _images.NamedImage
    assert not cls.__dataclass_params__.init and "__init__" in vars(cls)
    mine = list(inspect.signature(cls.__init__).parameters.values())[1:]
    theirs = list(inspect.signature(_generated(cls).__init__).parameters.values())[1:]
    assert [(p.name, p.kind, p.default) for p in mine] == [(p.name, p.kind, p.default) for p in theirs]
    given = {f.name: object() for f in dataclasses.fields(cls)}
    made = cls(**given)
    assert {name: getattr(made, name) for name in given} == given
    assert cls("PAUSE_IMAGE", "a", Origin()) == cls("PAUSE_IMAGE", "a", Origin()) != cls("PAUSE_IMAGE", "b", Origin())
    assert repr(cls("x", None, Origin())) == "NamedImage(what='x', text=None, origin=Origin(path=None, line=None, " \
        "column=None), var=None)"
