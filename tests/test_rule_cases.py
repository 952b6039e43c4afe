"""Fixture-driven rule tests (in the spirit of sqlfluff's per-rule YAML cases).

Each ``tests/rule_cases/RDxxx.yaml`` lists realistic input files under
``fixtures/`` and the status the rule must give them::

    rule: RD101
    cases:
      - name: the socket mounted as in the Bitbucket dialog
        target: fixtures/docker-run/dialog.sh   # or targets: [a, b]
        docker_config: fixtures/...             # optional, as --docker-config
        expect: pass                            # pass | warn | fail | skip
        subject: 0                              # optional: only this subject (index, or see below)
        message: "substring"                    # optional: in one finding's message (case-insensitive)
        also: [RD205]                           # optional: rules to run besides (RD900 needs the suppressed one)

A case can also target a live Docker host (``--host``); TARGET files are then
optional, and checked against that host's daemon::

      - name: a runner container on the lab daemon
        host: lab                 # the session's lab daemon (tests/lab/dockerd.py), or a broken host:
                                  # missing-socket | not-a-socket | stale-socket | hung | refused | blackhole
                                  # | lab-log-none (a second lab daemon with log-driver none)
                                  # (tests/lab/broken.py)
        containers: [DIALOG]      # lab only: the lab holds exactly these (tests/lab/specs.py) during the case
        container: [NAME]         # optional, as --container NAME
        timeout: 1                # optional, as --timeout (default 10)
        within: 3                 # optional: the run takes at most this many seconds (the CLI gets a start-up allowance)
        subject: host             # optional: "host", a container name, a subject id or an index
        expect: fail

A case can use a registry of the registry lab (``tests/lab/registry.py``; real
Debian docker-registry instances on 127.0.0.1). The fixture files name the
registry ``registry.lab.example:5443``; the case runs on copies where that
becomes the lab registry's address::

      - name: helper images in a private registry, right password
        registry: htpasswd        # open | htpasswd | token | tls
        push: [bitbucket/pause:3.9]   # pushed to it before the case (a schema2 image)
        local: [bitbucket/clone:dev]  # with host: lab, tagged in the lab daemon's image store
        target: fixtures/registry/private-helpers.sh
        docker_config: fixtures/registry/docker/config.json
        expect: pass

Without ``host``, a registry case is checked with no daemon (the CLI gets a
``DOCKER_HOST`` where none listens).

Without ``subject``, a live case checks every subject of the kinds the rule
applies to (a host rule: the host; a runner rule: the runners and containers).
The status compared is the worst one the rule gives the subject (error > fail >
warn > pass > skip). Every case runs through the API (a ``Context`` with the
gathered live facts, as the CLI builds it) and through the CLI (``--format
json``), and every rule must have a passing and a failing case.
"""

import glob
import json
import os
import shutil
import tempfile
import time
from contextlib import ExitStack, contextmanager

import pytest
import yaml

from doctor import api, engine
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.live.run import add_live
from doctor.rulebase import Context
from tests.conftest import ROOT, run_cli
from tests.lab import broken, containers

ORDER = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 4}
CASE_FILES = sorted(glob.glob(os.path.join(ROOT, "tests", "rule_cases", "RD*.yaml")))
CLI_STARTUP = 4.0  # seconds a CLI run may take beyond a case's `within` (interpreter start, imports)


def _load():
    cases = []
    for path in CASE_FILES:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
        for case in doc["cases"]:
            cases.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}-{case['name']}"))
    return cases


CASES = _load()


REGISTRY_PLACEHOLDER = "registry.lab.example:5443"
NO_DAEMON = "unix:///nonexistent/runner-doctor-tests/docker.sock"


def _targets(case):
    if "_targets" in case:
        return case["_targets"]
    targets = case.get("targets") or ([case["target"]] if "target" in case else [])
    return [os.path.join(ROOT, t) for t in targets]


def _docker_config(case):
    if "_docker_config" in case:
        return case["_docker_config"]
    return case.get("docker_config") and os.path.join(ROOT, case["docker_config"])


@contextmanager
def _registry(case, request):
    """A registry case: its images pushed (and tagged locally), its files copied with the lab registry's address."""
    if "registry" not in case:
        yield case
        return
    lab = request.getfixturevalue("registry_lab")
    registry = getattr(lab, case["registry"])
    for ref in case.get("push", []):
        repo, _, tag = ref.partition(":")
        registry.push(repo, tag or "latest")
    tagged = []
    if case.get("local"):
        assert case.get("host") == "lab", "local: needs host: lab"
        from tests.lab.dockerd import RUNNER_IMAGE, RUNNER_TAG

        daemon = request.getfixturevalue("docker_lab")
        for ref in case["local"]:
            name = f"{registry.host}/{ref}"
            proc = daemon.cli("tag", f"{RUNNER_IMAGE}:{RUNNER_TAG}", name)
            assert proc.returncode == 0, proc.stderr
            tagged.append((daemon, name))
    folder = tempfile.mkdtemp(prefix="rdregcase-")
    try:
        def copy(path):
            with open(path, encoding="utf-8") as fh:
                text = fh.read().replace(REGISTRY_PLACEHOLDER, registry.host)
            out = os.path.join(folder, f"{len(os.listdir(folder))}-{os.path.basename(path)}")
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text)
            return out

        prepared = dict(case)
        prepared["_targets"] = [copy(t) for t in _targets(case)]
        if case.get("docker_config"):
            prepared["_docker_config"] = copy(_docker_config(case))
        yield prepared
    finally:
        for daemon, name in tagged:
            daemon.cli("rmi", name)
        shutil.rmtree(folder, ignore_errors=True)


def _registry_report(rule, case, url):
    """A registry case through the API: the registry stage (and the lab daemon with host: lab), as the CLI runs it."""
    from doctor.registry.stage import check_images

    opts = LoadOptions(docker_config=_docker_config(case))
    subjects = load_targets(_targets(case), opts)
    ctx = Context()
    if url is not None:
        subjects = add_live(subjects, ctx, opts, [url], case.get("container", []), case.get("timeout", 10.0))
    ctx.registry = check_images(subjects, ctx, case.get("timeout", 10.0))
    return subjects, engine.run(subjects, engine.select_rules([rule, *case.get("also", [])]), ctx)


@contextmanager
def _host(case, request):
    """The --host URL of a live case, with the lab holding the case's containers or the broken host made."""
    kind = case["host"]
    if kind == "lab-log-none":  # a second lab daemon whose default log driver is none
        assert not case.get("containers"), "containers: needs host: lab"
        yield request.getfixturevalue("docker_lab_log_none").base_url
        return
    if kind == "lab":
        lab = request.getfixturevalue("docker_lab")
        with containers.holding(lab, case.get("containers", [])):
            yield lab.base_url
        return
    assert not case.get("containers"), "containers: needs host: lab"
    folder = tempfile.mkdtemp(prefix="rdcase-", dir="/tmp")  # short: unix socket paths are limited to 108 bytes
    try:
        with broken.broken_host(kind, folder) as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chosen(rule, case, subjects, url):
    """The subject ids a case checks; subjects: (id, kind) in report order."""
    ids = [sid for sid, _kind in subjects]
    wanted = case.get("subject")
    if isinstance(wanted, int):
        return [ids[wanted]]
    if isinstance(wanted, str):
        matches = [sid for sid, kind in subjects if wanted in (sid, kind) or sid == f"{url}/{wanted}"]
        assert matches, f"no subject {wanted!r} among {ids}"
        return matches
    if url is None:
        return ids
    kinds = engine.all_rules()[rule].applies_to
    return [sid for sid, kind in subjects if kind in kinds]


def _check_case(rule, case, subjects, findings, url=None):
    """subjects: (id, kind) pairs; findings: (rule, subject, status, message) tuples."""
    chosen = _chosen(rule, case, subjects, url)
    assert chosen, "the case gave no subject the rule applies to"
    for sid in chosen:
        mine = [(status, msg) for (rid, subj, status, msg) in findings if rid == rule and subj == sid]
        assert mine, f"{rule} gave no finding for subject {sid}"
        worst = max((status for status, _ in mine), key=ORDER.__getitem__)
        assert worst == case["expect"], mine
        if "message" in case:
            assert any(case["message"].lower() in msg.lower() for _, msg in mine), mine


def _live_report(rule, case, url):
    """What `runner-doctor check --host URL [TARGET...]` computes, through the API."""
    opts = LoadOptions(docker_config=_docker_config(case))
    subjects = load_targets(_targets(case), opts) if _targets(case) else []
    ctx = Context()
    subjects = add_live(subjects, ctx, opts, [url], case.get("container", []), case.get("timeout", 10.0))
    return subjects, engine.run(subjects, engine.select_rules([rule]), ctx)


@pytest.mark.parametrize("rule,case", CASES)
def test_rule_case_api(rule, case, request):
    with ExitStack() as stack:
        url = stack.enter_context(_host(case, request)) if "host" in case else None
        case = stack.enter_context(_registry(case, request))
        started = time.monotonic()
        if "registry" in case:
            subjects, findings = _registry_report(rule, case, url)
        elif url is None:
            report = api.check(_targets(case), docker_config=_docker_config(case),
                               select=[rule, *case.get("also", [])], offline=True)
            subjects, findings = report.subjects, report.findings
        else:
            subjects, findings = _live_report(rule, case, url)
        elapsed = time.monotonic() - started
    if "within" in case:
        assert elapsed <= case["within"], f"the run took {elapsed:.1f} s"
    _check_case(rule, case, [(s.id, s.kind) for s in subjects],
                [(f.rule, f.subject, f.status.value, f.message) for f in findings], url)


@pytest.mark.parametrize("rule,case", CASES)
def test_rule_case_cli(rule, case, request):
    args = ["check", "--format", "json", "--select", ",".join([rule, *case.get("also", [])])]
    if case.get("docker_config"):
        args += ["--docker-config", _docker_config(case)]
    env = None
    with ExitStack() as stack:
        url = stack.enter_context(_host(case, request)) if "host" in case else None
        case = stack.enter_context(_registry(case, request))
        if case.get("_docker_config"):
            args[args.index("--docker-config") + 1] = case["_docker_config"]
        if url is None and "registry" in case:
            env = {"DOCKER_HOST": NO_DAEMON}
            args += ["--timeout", str(case.get("timeout", 10.0))]
        elif url is None:
            args.append("--offline")
        else:
            args += ["--host", url, "--timeout", str(case.get("timeout", 10.0))]
            for name in case.get("container", []):
                args += ["--container", name]
        started = time.monotonic()
        proc = run_cli(args + _targets(case), env=env)
        elapsed = time.monotonic() - started
    assert proc.returncode in (0, 1), proc.stderr
    if "within" in case:
        assert elapsed <= case["within"] + CLI_STARTUP, f"the run took {elapsed:.1f} s"
    doc = json.loads(proc.stdout)
    _check_case(rule, case, [(s["id"], s["kind"]) for s in doc["subjects"]],
                [(f["rule"], f["subject"], f["status"], f["message"]) for f in doc["findings"]], url)
    has_fail = any(f["status"] in ("fail", "error") and "suppressed" not in f for f in doc["findings"])
    assert proc.returncode == (1 if has_fail else 0)


def test_every_rule_has_a_passing_and_a_failing_case():
    covered = {}
    for param in CASES:
        rule, case = param.values
        covered.setdefault(rule, set()).add(case["expect"])
    missing = []
    for rid in engine.all_rules():
        got = covered.get(rid, set())
        if "pass" not in got or not ({"fail", "warn"} & got):
            missing.append(f"{rid}: has {sorted(got) or 'no cases'}")
    assert not missing, "rules without a pass and a fail/warn case:\n" + "\n".join(missing)


def test_every_rule_is_documented():
    for rid, rule in engine.all_rules().items():
        doc = rule.doc
        assert doc, rid
        for heading in ("Why", "Fails", "Passes", "Fix"):
            assert f"**{heading}" in doc or f"## {heading}" in doc, f"{rid} docstring lacks a '{heading}' part"


def test_rule_docstrings_keep_their_backslashes():
    """A `\\` at the end of a line in a normal docstring joins the lines: examples must be raw strings."""
    import ast

    for rid, rule in engine.all_rules().items():
        module = __import__(type(rule).__module__, fromlist=["_"])
        with open(module.__file__, encoding="utf-8") as fh:
            source = fh.read()
        tree = ast.parse(source)
        first = tree.body[0]
        seg = ast.get_source_segment(source, first)
        if "\\\n" in seg:
            assert seg.lstrip().lower().startswith('r"""'), f"{rid}: make the module docstring a raw string (r\"\"\")"
