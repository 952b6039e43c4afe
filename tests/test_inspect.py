"""`docker inspect` input: committed captures (no daemon needed) and live output of the private lab dockerd."""

import json
import os

import pytest

from doctor import api
from doctor.inputs import inspect
from doctor.inputs.common import LoadOptions
from doctor.model import InputError
from tests.conftest import FIXTURES, run_cli
from tests.lab import specs
from tests.lab.dockerd import create_container, fail_or_skip

GOOD = os.path.join(FIXTURES, "inspect", "runner-container.json")
BROKEN = os.path.join(FIXTURES, "inspect", "runner-container-broken.json")
RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"


def _read(path):
    with open(path) as fh:
        return fh.read()


def _parse(text, path="inspect.json", opts=None):
    return inspect.parse(text, path, opts or LoadOptions())


def _line(text, origin):
    return text.splitlines()[origin.line - 1]


def _model(setup):
    """The parts of a runner setup the rules read, independent of positions."""
    return {
        "image": setup.image,
        "name": setup.name,
        # sorted: the daemon keeps mount points in a Go map, so Mounts[] comes out in no fixed order
        "mounts": sorted((m.type, m.source, m.target, m.read_only) for m in setup.mounts),
        "env": {v.name: v.value for v in setup.env},
        "flags": {k: v for k, (v, _o) in setup.flags.items()},
    }


def _expected(spec):
    mounts = []
    for vol in spec.volumes:
        src, dst, *opts = vol.split(":")
        mounts.append(("bind", src, dst, "ro" in opts))
    flags = {"tty": "", "interactive": ""}
    if spec.restart:
        flags["restart"] = spec.restart
    if spec.memory:
        flags["memory"] = str(256 * 1024 * 1024)
    env = dict(e.split("=", 1) for e in spec.env)
    return sorted(mounts), env, flags


# ---- committed captures: no daemon needed ----

@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.fixture)
def test_capture_matches_its_spec(spec):
    path = os.path.join(FIXTURES, "inspect", spec.fixture)
    text = _read(path)
    (setup,) = _parse(text, path)
    mounts, env, flags = _expected(spec)
    got = _model(setup)
    assert got["image"] == RUNNER
    assert got["name"] == spec.name
    assert got["mounts"] == mounts
    assert {k: got["env"][k] for k in env} == env
    assert got["flags"] == flags
    assert setup.form == "inspect" and setup.supervisor == "docker"
    assert setup.label == f"container {spec.name} in {path}"


def test_origins_point_at_the_values():
    text = _read(GOOD)
    (setup,) = _parse(text, GOOD)
    assert '"Image": "%s"' % RUNNER in _line(text, setup.image_origin)
    assert f'"Name": "/{setup.name}"' in _line(text, setup.name_origin)
    for m in setup.mounts:
        assert f'"Source": "{m.source}"' in _line(text, m.origin)
    for var in setup.env:
        assert json.dumps(f"{var.name}={var.value}") in _line(text, var.origin)
    assert '"Name": "unless-stopped"' in _line(text, setup.flags["restart"][1])
    assert '"Tty": true' in _line(text, setup.flags["tty"][1])
    assert '"OpenStdin": true' in _line(text, setup.flags["interactive"][1])
    # the column is the value's first character
    origin = setup.image_origin
    assert _line(text, origin)[origin.column - 1:].startswith('"docker-public')


def test_compact_single_object():
    """The Engine API / `--format '{{json .}}'` form: one object on one line."""
    text = json.dumps(json.loads(_read(BROKEN))[0], separators=(",", ":"))
    (setup,) = _parse(text)
    assert {m.origin.line for m in setup.mounts} == {1}
    for m in setup.mounts:
        assert text[m.origin.column - 1:].startswith(json.dumps(m.source))
    assert setup.flags["memory"][0] == "268435456"


def test_two_containers_one_not_a_runner():
    good, broken = json.loads(_read(GOOD))[0], json.loads(_read(BROKEN))[0]
    other = json.loads(json.dumps(good))
    other["Name"] = "/nginx"
    other["Config"]["Image"] = "nginx:1.27"
    other["Config"]["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    text = json.dumps([good, other, broken], indent=4)
    setups = _parse(text)
    assert [s.name for s in setups] == [specs.DIALOG.name, specs.BROKEN.name]
    assert setups[1].origin.line > setups[0].origin.line


def test_runner_recognised_by_its_variables(tmp_path):
    """An image built FROM the runner (extra CA certificates) is still a runner container; RD002 warns."""
    data = json.loads(_read(GOOD))
    data[0]["Config"]["Image"] = "registry.acme.example/ci/bb-runner-with-ca:2024.05"
    target = tmp_path / "inspect.json"
    target.write_text(json.dumps(data, indent=4))
    (setup,) = _parse(target.read_text())
    assert setup.image == "registry.acme.example/ci/bb-runner-with-ca:2024.05"
    (finding,) = api.check([str(target)], select=["RD002"], offline=True).findings
    assert finding.status.value == "warn" and "not the Bitbucket runner image" in finding.message


def test_mirror_image_is_a_runner():
    data = json.loads(_read(GOOD))
    data[0]["Config"]["Image"] = "harbor.acme.example/proxy/runner:1"
    data[0]["Config"]["Env"] = ["WORKING_DIRECTORY=/tmp"]
    text = json.dumps(data)
    assert _parse(text) == []
    (setup,) = _parse(text, opts=LoadOptions(runner_mirrors=("harbor.acme.example/proxy/runner",)))
    assert setup.image == "harbor.acme.example/proxy/runner:1"


def test_volume_tmpfs_and_policies():
    data = json.loads(_read(GOOD))
    c = data[0]
    c["Mounts"] = [
        {"Type": "volume", "Name": "runner-work", "Source": "/var/lib/docker/volumes/runner-work/_data",
         "Destination": "/tmp", "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""},
        {"Type": "tmpfs", "Source": "", "Destination": "/run", "Mode": "", "RW": True, "Propagation": ""},
    ]
    c["HostConfig"]["RestartPolicy"] = {"Name": "on-failure", "MaximumRetryCount": 5}
    c["HostConfig"]["NetworkMode"] = "host"
    c["HostConfig"]["Privileged"] = True
    c["Config"]["Tty"] = False
    (setup,) = _parse(json.dumps(data, indent=4))
    assert [(m.type, m.source, m.target, m.read_only, m.options) for m in setup.mounts] == [
        ("volume", "runner-work", "/tmp", False, ("z",)), ("tmpfs", None, "/run", False, ())]
    assert setup.flags["restart"][0] == "on-failure:5"
    assert setup.flags["network"][0] == "host"
    assert setup.flags["privileged"][0] == ""
    assert "tty" not in setup.flags


def test_no_restart_policy_is_not_a_flag():
    data = json.loads(_read(GOOD))
    data[0]["HostConfig"]["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
    (setup,) = _parse(json.dumps(data))
    assert "restart" not in setup.flags


@pytest.mark.parametrize("text,reason", [
    ('[\n  {"Id": "abc",\n   "Config": {"Image": "x"}\n', "(line 4, column 1) - the text ends early"),
    ('[{"Id": "abc",, "Config": {}}]', "line 1, column 15"),
    ('{"Config": {"Env": [1, 2]}, "HostConfig": {}}', "Config.Env[0] should be a string"),
    ('[{"Config": {"Env": "RUNNER_UUID=x"}, "HostConfig": {}}]', "Config.Env should be a list"),
    ('[\n  "runner"\n]', "line 2, column 3"),
    ('"runner"', "expected a JSON list of containers"),
])
def test_malformed(text, reason):
    with pytest.raises(InputError) as info:
        _parse(text, "support-ticket.json")
    assert reason in info.value.reason
    assert info.value.path == "support-ticket.json"


def test_mount_with_wrong_types():
    data = json.loads(_read(GOOD))
    data[0]["Mounts"][1]["RW"] = "yes"
    with pytest.raises(InputError) as info:
        _parse(json.dumps(data, indent=2))
    assert "Mounts[1].RW should be true or false" in info.value.reason


def test_cli_no_runner_and_broken_json(tmp_path):
    only_nginx = tmp_path / "nginx.json"
    only_nginx.write_text(json.dumps([{"Name": "/nginx", "Config": {"Image": "nginx", "Env": []},
                                       "HostConfig": {}, "Mounts": []}]))
    proc = run_cli(["check", "--offline", str(only_nginx)])
    assert proc.returncode == 2
    assert "no Bitbucket runner container" in proc.stderr and "Traceback" not in proc.stderr
    cut = tmp_path / "cut.json"
    cut.write_text(_read(GOOD)[:2000])
    proc = run_cli(["check", "--offline", str(cut)])
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr and "ends early" in proc.stderr and "Traceback" not in proc.stderr


def test_checks_on_the_captures():
    report = api.check([GOOD, BROKEN], offline=True)
    good, broken = report.subjects
    status = {(f.subject, f.rule): f.status.value for f in report.findings}
    for rule in ("RD002", "RD101", "RD102", "RD103", "RD401"):
        assert status[(good.id, rule)] == "pass", rule
    assert status[(broken.id, "RD102")] == "fail"
    assert status[(broken.id, "RD103")] == "fail"
    out = json.dumps([f.to_json() for f in report.findings])
    assert specs.SECRET not in out


# ---- the real daemon (the lab) ----

def _create(lab, spec):
    if spec.name not in lab.containers:
        create_container(lab, spec.name, RUNNER, spec.volumes, spec.env, spec.restart,
                         spec.memory)
    return lab.containers[spec.name]


@pytest.mark.parametrize("spec", specs.SPECS, ids=lambda s: s.name)
def test_daemon_inspect_via_sdk(docker_lab, spec):
    cid = _create(docker_lab, spec)
    attrs = docker_lab.api.inspect_container(cid)
    text = json.dumps(attrs, indent=2)
    (setup,) = _parse(text, "api.json")
    mounts, env, flags = _expected(spec)
    got = _model(setup)
    assert (got["image"], got["name"], got["mounts"], got["flags"]) == (RUNNER, spec.name, mounts, flags)
    assert {k: got["env"][k] for k in env} == env
    # what the captures in fixtures/inspect/ were made of still comes out of a real daemon the same way
    capture = _model(_parse(_read(os.path.join(FIXTURES, "inspect", spec.fixture)))[0])
    assert capture == got


def test_daemon_inspect_via_cli_then_check(docker_lab, tmp_path):
    for spec in specs.SPECS:
        _create(docker_lab, spec)
    proc = docker_lab.cli("inspect", specs.DIALOG.name, specs.BROKEN.name)
    assert proc.returncode == 0, proc.stderr
    target = tmp_path / "inspect.json"
    target.write_text(proc.stdout)
    report = api.check([str(target)], offline=True)
    good, broken = report.subjects
    assert good.title == f"container {specs.DIALOG.name} in {target}"
    status = {(f.subject, f.rule): f.status.value for f in report.findings}
    assert status[(good.id, "RD101")] == status[(good.id, "RD102")] == status[(good.id, "RD103")] == "pass"
    assert status[(good.id, "RD002")] == "pass"
    assert status[(broken.id, "RD102")] == "fail"
    assert status[(broken.id, "RD103")] == "fail"
    lines = proc.stdout.splitlines()
    rd102 = [f for f in report.findings if f.subject == broken.id and f.rule == "RD102"][0]
    assert '"Source": "/var/lib/docker/containers"' in lines[rd102.location.line - 1]


@pytest.mark.parametrize("ci,outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_lab_unavailable_fails_in_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="dockerd is not installed"):
        fail_or_skip("dockerd is not installed (apt-get install docker.io)")
