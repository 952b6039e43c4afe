"""The live parts of the rules, against the lab's real daemon (tests/lab/dockerd.py).

The lab's data-root is non-default and its socket is in a temporary folder, so
the dialog's mounts (`/var/run/docker.sock`, `/var/lib/docker/containers`) are
wrong for it: exactly the situation of a rootless or relocated daemon. Each
test puts its runner containers (tests/lab/specs.py, LIVE_*) on the lab, runs
the doctor through the API (the Context the CLI builds) and the CLI (rich and
JSON), and removes the containers again. Each scenario is written so that it
can become a YAML rule case (host: lab, containers: [...]) once the harness
fills in the "{lab}" paths of the specs.
"""

import dataclasses
import json
import os
import time
from contextlib import contextmanager

import pytest

from doctor import engine
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.live.run import add_live
from doctor.rulebase import Context
from tests.conftest import ROOT, run_cli
from tests.lab import containers, specs
from tests.lab.dockerd import RUNNER_IMAGE, RUNNER_TAG
from tests.lab.specs import (LIVE_CONFIG_MISSING, LIVE_CRASHED, LIVE_DEFAULT_PATHS, LIVE_GOOD, LIVE_RESTARTING,
                             LIVE_STOPPED, LIVE_TWIN_A, LIVE_TWIN_B, LOG_CANARY, SECRET)

ORDER = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 4}
WAIT = 20.0  # seconds a started container may take to reach the state a test needs
LIVE_RULES = ["RD101", "RD102", "RD104", "RD205", "RD206", "RD301", "RD502", "RD503", "RD504"]
DIALOG_SCRIPT = os.path.join(ROOT, "fixtures", "docker-run", "dialog.sh")


# ---------------------------------------------------------------- the lab holding a scenario

def at_lab(spec, lab):
    return dataclasses.replace(spec, volumes=[v.replace("{lab}", lab.root) for v in spec.volumes])


def _wait(lab, name, ready, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        data = lab.api.inspect_container(name)
        if ready(data):
            return
        time.sleep(0.1)
    pytest.fail(f"{name} did not become {what} within {WAIT:.0f} s: {data.get('State')}")


@contextmanager
def holding(lab, *chosen):
    """The lab holds exactly these containers (started ones in their settled state); all removed afterwards."""
    containers.clear(lab)
    try:
        for spec in chosen:
            containers.create(lab, at_lab(spec, lab))
        for spec in chosen:
            if spec is LIVE_RESTARTING:
                # docker doubles the delay between restarts (0.1 s, 0.2 s, ...): after 5 the container spends
                # 3.2 s "restarting" for each few milliseconds "running"
                _wait(lab, spec.name, lambda d: d["State"]["Restarting"] and d["RestartCount"] >= 5,
                      "restarting (5 restarts)")
            elif spec.start and spec.command:
                _wait(lab, spec.name, lambda d: d["State"]["Status"] == "exited", "exited")
            elif spec.start:
                _wait(lab, spec.name, lambda d: d["State"]["Status"] == "running", "running")
        yield
    finally:
        containers.clear(lab)


# ---------------------------------------------------------------- running the doctor

@dataclasses.dataclass
class Outcome:
    subjects: list  # (id, kind)
    findings: list  # dicts: rule, subject, status, message, remediation, evidence

    def of(self, rule, subject):
        """The findings of a rule for the subject whose id ends with `subject` ("host": the host)."""
        ids = [sid for sid, kind in self.subjects if (kind == "host" if subject == "host" else sid.endswith(subject))]
        assert len(ids) == 1, (subject, self.subjects)
        mine = [f for f in self.findings if f["rule"] == rule and f["subject"] == ids[0]]
        assert mine, f"{rule} gave no finding for {ids[0]}"
        return mine

    def worst(self, rule, subject):
        return max((f["status"] for f in self.of(rule, subject)), key=ORDER.__getitem__)

    def text(self, rule, subject):
        return "\n".join(f"{f['message']}\n{f['remediation']}\n{f['evidence']}" for f in self.of(rule, subject))


def via_api(lab, targets=(), container=(), rules=LIVE_RULES):
    """What `runner-doctor check --host LAB [--container N] [TARGET...]` computes, without the reporters."""
    opts = LoadOptions()
    subjects = load_targets(list(targets), opts) if targets else []
    ctx = Context()
    subjects = add_live(subjects, ctx, opts, [lab.base_url], list(container), 10.0)
    findings = engine.run(subjects, engine.select_rules(rules), ctx)
    return Outcome([(s.id, s.kind) for s in subjects],
                   [{"rule": f.rule, "subject": f.subject, "status": f.status.value, "message": f.message,
                     "remediation": f.remediation, "evidence": f.evidence} for f in findings])


def via_cli(lab, *args, rules=LIVE_RULES, env=None):
    proc = run_cli(["check", "--host", lab.base_url, "--format", "json", "--select", ",".join(rules), *args], env=env)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    failed = any(f["status"] in ("fail", "error") for f in doc["findings"])
    assert proc.returncode == (1 if failed else 0)
    return Outcome([(s["id"], s["kind"]) for s in doc["subjects"]],
                   [dict(f, evidence=f.get("evidence", "")) for f in doc["findings"]])


def rich(lab, *args, rules=LIVE_RULES, env=None):
    proc = run_cli(["check", "--host", lab.base_url, "--select", ",".join(rules), *args], env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def both(lab, **kw):
    """The API's and the CLI's outcome of the same run."""
    container = kw.pop("container", ())
    cli_args = [a for name in container for a in ("--container", name)]
    return [via_api(lab, container=container, **kw), via_cli(lab, *cli_args, **kw)]


def no_secret_in(text):
    flat = "".join(text.split())  # a wrapped line must not hide a secret either
    assert SECRET not in flat and LOG_CANARY not in flat


# ---------------------------------------------------------------- scenarios

def test_a_good_runner_passes_every_live_check(docker_lab):
    with holding(docker_lab, LIVE_GOOD):
        for out in both(docker_lab):
            name = LIVE_GOOD.name
            assert out.worst("RD101", name) == "pass"
            assert "is the socket of the daemon" in out.text("RD101", name)
            assert out.worst("RD102", name) == "pass"
            assert "containers folder of the daemon" in out.text("RD102", name)
            assert out.worst("RD502", name) == "pass" and "1.0 GiB" in out.text("RD502", name)
            assert out.worst("RD503", name) == "pass" and "is running" in out.text("RD503", name)
            assert out.worst("RD205", name) == "skip"
            assert out.worst("RD206", name) == "pass"
            assert out.worst("RD502", "host") == "pass" and "cgroup v" in out.text("RD502", "host")
            assert out.worst("RD503", "host") == "pass" and "1 runner container" in out.text("RD503", "host")
            assert out.worst("RD504", "host") == "pass" and "json-file" in out.text("RD504", "host")


def test_the_dialog_mounts_on_a_daemon_that_lives_elsewhere(docker_lab):
    lab_root = docker_lab.root
    with holding(docker_lab, LIVE_DEFAULT_PATHS):
        for out in both(docker_lab):
            name = LIVE_DEFAULT_PATHS.name
            assert out.worst("RD101", name) == "fail"
            assert "/var/run/docker.sock is not the socket of the daemon" in out.text("RD101", name)
            assert f"-v {lab_root}/docker.sock:/var/run/docker.sock" in out.text("RD101", name)
            assert out.worst("RD102", name) == "fail"
            rd102 = out.text("RD102", name)
            assert f"data-root is {lab_root}/data" in rd102
            assert f"-v {lab_root}/data/containers:/var/lib/docker/containers:ro" in rd102
            assert f"-v {lab_root}/data/containers:{lab_root}/data/containers:ro" in rd102
            assert "not documented" in rd102
            assert out.worst("RD502", name) == "fail" and "256 MiB" in out.text("RD502", name)
            assert out.worst("RD503", name) == "warn" and "never started" in out.text("RD503", name)
        report = rich(docker_lab)
        assert "RD101" in report and "RD102" in report and "Result: FAIL" in report


def test_a_stopped_runner_warns(docker_lab):
    with holding(docker_lab, LIVE_STOPPED):
        for out in both(docker_lab):
            assert out.worst("RD503", LIVE_STOPPED.name) == "warn"
            text = out.text("RD503", LIVE_STOPPED.name)
            assert "is stopped (exit code 0" in text and f"docker start {LIVE_STOPPED.name}" in text
            assert "1 exited" in out.text("RD503", "host")


def test_a_crashed_runner_fails_with_its_last_log_lines(docker_lab):
    with holding(docker_lab, LIVE_CRASHED):
        for out in both(docker_lab):
            assert out.worst("RD503", LIVE_CRASHED.name) == "fail"
            text = out.text("RD503", LIVE_CRASHED.name)
            assert "exited with code 2" in text
            assert "fatal: cannot reach the Docker daemon" in text


def _caught_restarting(run, name):
    """A run that saw the looping container between two starts, not in its few milliseconds of running."""
    for _attempt in range(3):
        out = run()
        if "is running" not in out.text("RD503", name):
            return out
    pytest.fail(f"{name} was seen running on every attempt")


def test_a_restarting_runner_fails_and_its_log_is_masked(docker_lab):
    name = LIVE_RESTARTING.name
    with holding(docker_lab, LIVE_RESTARTING):
        outcomes = [_caught_restarting(lambda: via_api(docker_lab), name),
                    _caught_restarting(lambda: via_cli(docker_lab), name)]
        for _attempt in range(3):
            report = rich(docker_lab)
            if "restarting in a loop" in " ".join(report.split()):
                break
    for out in outcomes:
        assert out.worst("RD503", name) == "fail"
        finding = next(f for f in out.of("RD503", name) if f["status"] == "fail")
        assert "restarting in a loop" in finding["message"] and "exited with code 3" in finding["message"]
        evidence = finding["evidence"]
        assert "login failed: client secret ****, registry password ****" in evidence
        assert len(evidence.splitlines()) <= 11  # a heading and at most 10 lines
        no_secret_in(json.dumps(out.findings))
    assert "restarting in a loop" in " ".join(report.split())
    assert "login failed: client secret ****" in report
    no_secret_in(report)


def test_two_runners_with_one_runner_uuid_both_fail(docker_lab):
    with holding(docker_lab, LIVE_TWIN_A, LIVE_TWIN_B):
        for out in both(docker_lab):
            for me, other in ((LIVE_TWIN_A, LIVE_TWIN_B), (LIVE_TWIN_B, LIVE_TWIN_A)):
                assert out.worst("RD503", me.name) == "fail"
                assert f"also used by {other.name} (running)" in out.text("RD503", me.name)


def test_a_stopped_twin_only_warns(docker_lab):
    twin = dataclasses.replace(LIVE_STOPPED, name="runner-twin-stopped", env=LIVE_TWIN_A.env)
    with holding(docker_lab, LIVE_TWIN_A, twin):
        out = via_api(docker_lab)
        assert out.worst("RD503", LIVE_TWIN_A.name) == "warn"
        assert "only one of them may run" in out.text("RD503", LIVE_TWIN_A.name)


def test_a_container_named_but_missing_fails_on_the_host(docker_lab):
    with holding(docker_lab, LIVE_GOOD):
        for out in both(docker_lab, container=[LIVE_GOOD.name, "runner-nowhere"]):
            assert out.worst("RD503", "host") == "fail"
            assert "no container named runner-nowhere" in out.text("RD503", "host")
            assert out.worst("RD503", LIVE_GOOD.name) == "pass"


def test_a_missing_config_folder_fails_instead_of_skipping(docker_lab):
    name = LIVE_CONFIG_MISSING.name
    with holding(docker_lab, LIVE_CONFIG_MISSING):
        for out in both(docker_lab):
            assert out.worst("RD104", name) == "fail"
            assert f"{docker_lab.root}/no-docker-config does not exist on this host" in out.text("RD104", name)
            assert out.worst("RD301", name) == "fail"
            assert "the runner finds no /root/.docker/config.json" in out.text("RD301", name)


def test_an_empty_config_folder_fails(docker_lab):
    folder = os.path.join(docker_lab.root, "empty-docker-config")
    os.makedirs(folder, exist_ok=True)
    spec = dataclasses.replace(LIVE_CONFIG_MISSING, volumes=specs.LIVE_MOUNTS + [f"{folder}:/root/.docker:ro"])
    with holding(docker_lab, spec):
        out = via_api(docker_lab)
        assert out.worst("RD104", spec.name) == "fail"
        assert "holds no config.json" in out.text("RD104", spec.name)


# ---------------------------------------------------------------- configuration files checked against the lab

def _script(tmp_path, lab, name, runner_uuid, lab_paths=True):
    """A start script for the lab: its own socket and containers folder (at both paths), or the dialog's."""
    if lab_paths:
        mounts = (f"  -v {lab.root}/docker.sock:/var/run/docker.sock \\\n"
                  f"  -v {lab.root}/data/containers:/var/lib/docker/containers:ro \\\n"
                  f"  -v {lab.root}/data/containers:{lab.root}/data/containers:ro \\\n")
    else:
        mounts = ("  -v /var/run/docker.sock:/var/run/docker.sock \\\n"
                  "  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \\\n")
    env = "".join(f"  -e {e} \\\n" for e in specs.live_env(runner_uuid) if not e.startswith("OAUTH_CLIENT_SECRET"))
    path = tmp_path / f"{name}.sh"
    path.write_text("#!/bin/sh\ndocker container run -d --restart unless-stopped \\\n  -v /tmp:/tmp \\\n" + mounts +
                    env + '  -e OAUTH_CLIENT_SECRET="$OAUTH_CLIENT_SECRET" \\\n' + f"  --name {name} \\\n"
                    "  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1\n")
    return str(path)


def _docker_host(lab):
    return {"DOCKER_HOST": lab.base_url}


def file_outcomes(lab, target):
    """The API's and the CLI's outcome for a TARGET file checked on a host whose DOCKER_HOST is the lab."""
    api_out = via_api(lab, targets=[target])
    proc = run_cli(["check", "--format", "json", "--select", ",".join(LIVE_RULES), target], env=_docker_host(lab))
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    cli_out = Outcome([(s["id"], s["kind"]) for s in doc["subjects"]],
                      [dict(f, evidence=f.get("evidence", "")) for f in doc["findings"]])
    return [api_out, cli_out]


def test_the_dialog_script_checked_with_docker_host_at_the_lab(docker_lab):
    with holding(docker_lab):
        for out in file_outcomes(docker_lab, DIALOG_SCRIPT):
            assert out.worst("RD101", "dialog.sh:3") == "fail"
            assert "(DOCKER_HOST)" in out.text("RD101", "dialog.sh:3") or "(--host)" in out.text("RD101", "dialog.sh:3")
            assert out.worst("RD102", "dialog.sh:3") == "fail"
            assert f"{docker_lab.root}/data/containers" in out.text("RD102", "dialog.sh:3")
            assert out.worst("RD503", "dialog.sh:3") == "skip"
            assert "no container" in out.text("RD503", "dialog.sh:3")
    # the same file offline: the static checks only, as before
    proc = run_cli(["check", "--offline", "--format", "json", "--select", "RD101,RD102", DIALOG_SCRIPT])
    assert {f["status"] for f in json.loads(proc.stdout)["findings"]} == {"pass"}


def test_a_script_with_the_labs_own_paths_passes(docker_lab, tmp_path):
    target = _script(tmp_path, docker_lab, "runner-5e1f0010-0000-4000-8000-000000000010",
                     "{5e1f0010-0000-4000-8000-000000000010}")
    with holding(docker_lab):
        for out in file_outcomes(docker_lab, target):
            sid = os.path.basename(target) + ":2"
            assert out.worst("RD101", sid) == "pass"
            assert out.worst("RD102", sid) == "pass"
            assert out.worst("RD206", sid) == "pass"


def test_a_script_whose_container_runs_reports_its_state(docker_lab, tmp_path):
    target = _script(tmp_path, docker_lab, LIVE_GOOD.name, "{5e1f0001-0000-4000-8000-000000000001}")
    sid = os.path.basename(target) + ":2"
    with holding(docker_lab, LIVE_GOOD):
        for out in file_outcomes(docker_lab, target):
            assert out.worst("RD503", sid) == "pass"
            assert f"the container {LIVE_GOOD.name} on {docker_lab.base_url} is running" in out.text("RD503", sid)
            # the name is held, by this very runner: fine, with how to start it anew
            assert out.worst("RD206", sid) == "pass"
            assert "already exists" in out.text("RD206", sid)


def test_a_name_held_by_another_runner_fails(docker_lab, tmp_path):
    target = _script(tmp_path, docker_lab, LIVE_GOOD.name, "{5e1f0011-0000-4000-8000-000000000011}")
    sid = os.path.basename(target) + ":2"
    with holding(docker_lab, LIVE_GOOD):
        for out in file_outcomes(docker_lab, target):
            assert out.worst("RD206", sid) == "fail"
            assert "already taken" in out.text("RD206", sid) and "another RUNNER_UUID" in out.text("RD206", sid)


def test_a_name_held_by_a_container_that_is_no_runner_fails(docker_lab, tmp_path):
    name = "runner-5e1f0012-0000-4000-8000-000000000012"
    target = _script(tmp_path, docker_lab, name, "{5e1f0012-0000-4000-8000-000000000012}")
    sid = os.path.basename(target) + ":2"
    image = "lab/not-the-runner"
    docker_lab.api.tag(f"{RUNNER_IMAGE}:{RUNNER_TAG}", image, "1")
    try:
        with holding(docker_lab):
            docker_lab.api.create_container(f"{image}:1", name=name)
            for out in file_outcomes(docker_lab, target):
                assert out.worst("RD206", sid) == "fail"
                assert "not a runner" in out.text("RD206", sid)
                assert out.worst("RD503", sid) == "skip"
    finally:
        docker_lab.api.remove_image(f"{image}:1")


def test_a_script_whose_runner_uuid_already_runs_elsewhere_warns(docker_lab, tmp_path):
    target = _script(tmp_path, docker_lab, "runner-other-name", "{5e1f0001-0000-4000-8000-000000000001}")
    sid = os.path.basename(target) + ":2"
    with holding(docker_lab, LIVE_GOOD):
        out = via_api(docker_lab, targets=[target])
        assert out.worst("RD503", sid) == "warn"
        assert f"{LIVE_GOOD.name} on {docker_lab.base_url} already runs with this RUNNER_UUID" in \
            out.text("RD503", sid)


# ---------------------------------------------------------------- a daemon with another log driver

@pytest.fixture
def quiet_lab(docker_lab_log_none):
    """A second lab daemon whose default log driver keeps no files (log-driver none)."""
    return docker_lab_log_none


def test_a_log_driver_without_files_warns(quiet_lab):
    for out in (via_api(quiet_lab, rules=["RD504"]), via_cli(quiet_lab, rules=["RD504"])):
        assert out.worst("RD504", "host") == "warn"
        assert "default log driver is none" in out.text("RD504", "host")
        assert "inference" in out.text("RD504", "host")


# ---------------------------------------------------------------- no daemon

def test_host_rules_skip_with_the_reason_when_the_daemon_cannot_be_reached(tmp_path):
    url = f"unix://{tmp_path}/no-daemon.sock"
    ctx = Context()
    subjects = add_live([], ctx, LoadOptions(), [url], [], 2.0)
    findings = engine.run(subjects, engine.select_rules(["RD502", "RD503", "RD504"]), ctx)
    assert [(f.rule, f.status.value) for f in findings] == [("RD502", "skip"), ("RD503", "skip"), ("RD504", "skip")]
    assert all(f"no Docker socket at {tmp_path}/no-daemon.sock" in f.message for f in findings)
