"""Support bundles: written from real runs, checked again without live contact, holding no secret.

A bundle made by ``runner-doctor bundle`` must give, under ``check --bundle``, the
findings of the run that made it (rule, status, subject, message, remediation,
evidence, location) - for every fixture the rule cases use and for live runs against
the lab's daemon, after the lab's containers are gone and with every network
connection refused. Secrets planted in every input form never reach the bundle, in
plain, base64 or JSON-escaped form. Every bundle is valid against
``doctor/schemas/bundle.schema.json``.
"""

import base64
import contextlib
import glob
import io
import json
import os
import socket

import jsonschema
import pytest
import yaml

from doctor.bundle import document, hostfiles, standins
from doctor.cli import main
from doctor.dockerconfig import decode_auth, scan_positions
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.model import EnvVar, Origin, Subject
from doctor.redact import Redactor, collect_secrets
from doctor.rulebase import Context
from tests.conftest import ROOT, run_cli
from tests.lab import containers, specs
from tests.lab.canaries import IDS, RUNNER, b64, plant

SCHEMA = json.load(open(os.path.join(ROOT, "doctor", "schemas", "bundle.schema.json")))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
KEYS = ("rule", "status", "subject", "message", "remediation", "evidence", "location")


# ---------------------------------------------------------------- helpers

def cli(argv, cwd=ROOT):
    """runner-doctor in this process (the fixture sweep runs hundreds of times): (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        os.chdir(before)
    return code, out.getvalue(), err.getvalue()


def rows(findings):
    return [tuple(json.dumps(f.get(k), sort_keys=True) for k in KEYS) for f in findings]


def valid(doc):
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, f"{list(errors[0].absolute_path)}: {errors[0].message[:300]}"
    return doc


def make_bundle(args, path, cwd=ROOT):
    code, _out, err = cli(["bundle", *args, "-o", str(path)], cwd)
    assert code == 0, err
    assert "wrote the support bundle" in err and len(err.strip().splitlines()) == 1
    return valid(json.loads(path.read_text()))


def replay(path, *extra, cwd=ROOT):
    code, out, err = cli(["check", "--bundle", str(path), "--format", "json", *extra], cwd)
    assert code in (0, 1), err
    return code, json.loads(out)


def same_report(doc, report):
    mine, theirs = rows(doc["findings"]), rows(report["findings"])
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert a == b


def assert_absent(text, secrets, where="the bundle"):
    for secret in secrets:
        forms = {secret, b64(secret), b64(b64(secret)), json.dumps(secret)[1:-1],
                 base64.urlsafe_b64encode(secret.encode()).decode()}
        for form in forms:
            assert form not in text, f"{secret[:12]}... ({form[:16]}...) is in {where}"


@contextlib.contextmanager
def no_network(monkeypatch):
    """Every connection refused: a check of a bundle must not talk to a daemon, a socket or a registry."""

    def refuse(*_args, **_kw):
        raise AssertionError("a bundle check tried to connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield
    monkeypatch.undo()


# ---------------------------------------------------------------- every fixture of the rule cases

def _fixture_runs():
    runs = set()
    for case_file in sorted(glob.glob(os.path.join(ROOT, "tests", "rule_cases", "RD*.yaml"))):
        with open(case_file) as fh:
            for case in yaml.safe_load(fh)["cases"]:
                if case.get("host"):
                    continue
                targets = tuple(case.get("targets") or [case["target"]])
                runs.add(targets + (("--docker-config", case["docker_config"]) if case.get("docker_config") else ()))
    return sorted(runs)


FIXTURE_RUNS = _fixture_runs()


def test_the_sweep_covers_every_input_form():
    folders = {t.split("/")[1] for run in FIXTURE_RUNS for t in run if t.startswith("fixtures/")}
    assert {"docker-run", "compose", "systemd", "inspect", "docker-config", "kubernetes", "autoscaler", "pipelines",
            "env", "start-scripts", "suppressions", "images"} <= folders
    assert len(FIXTURE_RUNS) > 100


@pytest.mark.parametrize("args", FIXTURE_RUNS, ids=[" ".join(r) for r in FIXTURE_RUNS])
def test_fixture_bundles_round_trip(args, tmp_path):
    code, out, err = cli(["check", "--offline", "--format", "json", *args])
    assert code in (0, 1), err
    doc = make_bundle(["--offline", *args], tmp_path / "bundle.json")
    same_report(doc, json.loads(out))
    again, report = replay(tmp_path / "bundle.json")
    same_report(doc, report)
    assert again == code
    opts = LoadOptions(docker_config=args[-1] if "--docker-config" in args else None)
    targets = [a for a in args if a != "--docker-config" and a != opts.docker_config]
    text = (tmp_path / "bundle.json").read_text()
    # an auth value with an empty password holds only a user name: nothing to hide, so it may stay
    secrets = [s for s in collect_secrets(load_targets(targets, opts)) if not _only_a_user(s)]
    assert_absent(text, secrets)


def _only_a_user(value):
    try:
        return decode_auth(value)[1] == ""
    except ValueError:
        return False


def test_a_bundle_checked_from_another_folder_shows_the_same_paths(tmp_path):
    args = ["fixtures/docker-config/runner-private-images.sh"]
    doc = make_bundle(["--offline", *args], tmp_path / "bundle.json")
    elsewhere = tmp_path / "support"
    elsewhere.mkdir()
    _code, report = replay(tmp_path / "bundle.json", cwd=str(elsewhere))
    same_report(doc, report)


# ---------------------------------------------------------------- planted secrets, every input form

CANARY = {
    "script": "ATOAcanaryBundleScript000000000000000000000000000000000000001",
    "envfile": "ATOAcanaryBundleEnvFile00000000000000000000000000000000000002",
    "compose": "ATOAcanaryBundleCompose00000000000000000000000000000000000003",
    "dotenv": "ATOAcanaryBundleDotEnv0000000000000000000000000000000000000004",
    "systemd": "ATOAcanaryBundleSystemd00000000000000000000000000000000000005",
    "systemd_file": "ATOAcanaryBundleSystemdFile000000000000000000000000000000006",
    "inspect": "ATOAcanaryBundleInspect00000000000000000000000000000000000007",
    "shell_runner": "ATOAcanaryBundleStartSh00000000000000000000000000000000000008",
    "k8s_double": "ATOAcanaryBundleK8sDoubleEncoded0000000000000000000000000009",
    "k8s_string": "ATOAcanaryBundleK8sStringData000000000000000000000000000010",
    "k8s_newline": "ATOAcanaryBundleK8sNewline00000000000000000000000000000011",
    "k8s_registry": "canary-bundle-k8s-registry:pass:12",
    "registry_password": "canary-Bundle-Registry-Passw0rd:with:colons",
    "plain_password": "canary-bundle-PlainPasswordField-0013",
    "identitytoken": "canary-bundle-identity-token-eyJhbGciOiJSUzI1NiJ9.0014",
    "registrytoken": "canary-bundle-registry-token-0015",
    "pipeline_password": "canary-bundle-pipeline-password-0016",
    "pipeline_aws": "canaryBundleAwsSecretKey0017wJalrXUtnFEMIK7MDENG",
}


@pytest.fixture
def planted(tmp_path):
    d = tmp_path / "inputs"
    d.mkdir()
    plant(d, CANARY)
    registry_config = json.dumps({"auths": {"registry.acme.example:5443": {
        "auth": b64("bot:" + CANARY["k8s_registry"])}}})
    (d / "runner-k8s.yaml").write_text(f"""apiVersion: v1
kind: Secret
metadata: {{name: runner-oauth-credentials}}
data:
  oauthClientId: {b64("Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J")}
  oauthClientSecret: {b64(b64(CANARY['k8s_double']))}
  registryPassword: {b64(CANARY['k8s_newline'] + chr(10))}
---
apiVersion: v1
kind: Secret
metadata: {{name: runner-2-credentials}}
stringData:
  OAUTH_CLIENT_SECRET: {CANARY['k8s_string']}
---
apiVersion: v1
kind: Secret
metadata: {{name: regcred}}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {b64(registry_config)}
---
apiVersion: batch/v1
kind: Job
metadata: {{name: runner}}
spec:
  template:
    spec:
      containers:
        - name: runner
          image: {RUNNER}
          env:
            - {{name: ACCOUNT_UUID, value: "{{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}}"}}
            - {{name: RUNNER_UUID, value: "{{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}}"}}
            - {{name: WORKING_DIRECTORY, value: /tmp}}
            - name: OAUTH_CLIENT_ID
              valueFrom: {{secretKeyRef: {{name: runner-oauth-credentials, key: oauthClientId}}}}
            - name: OAUTH_CLIENT_SECRET
              valueFrom: {{secretKeyRef: {{name: runner-oauth-credentials, key: oauthClientSecret}}}}
            - name: REGISTRY_PASSWORD
              valueFrom: {{secretKeyRef: {{name: runner-oauth-credentials, key: registryPassword}}}}
            - {{name: PAUSE_IMAGE, value: "registry.acme.example:5443/mirror/pause:3.9"}}
          volumeMounts:
            - {{name: tmp, mountPath: /tmp}}
            - {{name: var-run, mountPath: /var/run}}
            - {{name: docker-config, mountPath: /root/.docker, readOnly: true}}
        - name: docker
          image: docker:27.3-dind
          securityContext: {{privileged: true}}
          volumeMounts:
            - {{name: tmp, mountPath: /tmp}}
            - {{name: var-run, mountPath: /var/run}}
      restartPolicy: OnFailure
      volumes:
        - {{name: tmp, emptyDir: {{}}}}
        - {{name: var-run, emptyDir: {{}}}}
        - name: docker-config
          secret:
            secretName: regcred
            items: [{{key: .dockerconfigjson, path: config.json}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: runner-2}}
spec:
  template:
    spec:
      containers:
        - name: runner
          image: {RUNNER}
          envFrom: [{{secretRef: {{name: runner-2-credentials}}}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: runners-autoscaler-config}}
data:
  runners_config.yaml: |
    constants: {{default_sleep_time_runner_setup: 10}}
    groups:
      - name: Linux runners
        workspace: "{{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}}"
        labels: [build]
        namespace: runners
        strategy: percentageRunnersIdle
        parameters: {{min: 1, max: 5, scale_up_threshold: 0.5, scale_down_threshold: 0.2,
                      scale_up_multiplier: 1.5, scale_down_multiplier: 0.5}}
""")
    (d / "bitbucket-pipelines.yml").write_text(f"""image:
  name: registry.acme.example:5443/build/jdk:17
  username: ci-pull
  password: {CANARY['pipeline_password']}
pipelines:
  default:
    - step:
        name: Publish
        runs-on: [self.hosted, linux]
        image:
          name: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools/publisher:2.3
          aws:
            access-key: $AWS_ACCESS_KEY_ID
            secret-key: {CANARY['pipeline_aws']}
        script: [publish]
""")
    return d


PLANTED = ["start.sh", "docker-compose.yml", "runner.service", "inspect.json", "runner-k8s.yaml",
           "bitbucket-pipelines.yml"]


def _planted_secrets():
    return list(CANARY.values()) + [b64("ci-bot:" + CANARY["registry_password"]),
                                    b64("bot:" + CANARY["k8s_registry"]), CANARY["k8s_newline"] + "\n"]


@pytest.mark.parametrize("target", PLANTED)
def test_planted_secrets_never_reach_the_bundle(planted, target, tmp_path):
    code, out, err = cli(["check", "--offline", "--format", "json", target], cwd=str(planted))
    assert code in (0, 1), err
    doc = make_bundle(["--offline", target], tmp_path / "bundle.json", cwd=str(planted))
    assert_absent((tmp_path / "bundle.json").read_text(), _planted_secrets())
    same_report(doc, json.loads(out))
    _code, report = replay(tmp_path / "bundle.json", cwd=str(planted))
    same_report(doc, report)


def test_planted_secrets_all_at_once_with_a_given_docker_config(planted, tmp_path):
    args = ["--offline", "--docker-config", "docker/config.json", *PLANTED]
    code, out, err = cli(["check", "--format", "json", *args], cwd=str(planted))
    assert code in (0, 1), err
    doc = make_bundle(args, tmp_path / "bundle.json", cwd=str(planted))
    text = (tmp_path / "bundle.json").read_text()
    assert_absent(text, _planted_secrets())
    same_report(doc, json.loads(out))
    _code, report = replay(tmp_path / "bundle.json", cwd=str(planted))
    same_report(doc, report)
    # each masked value says it is one, how long it is, and where its stand-in is
    lengths = {row["length"] for row in doc["secrets"]}
    assert len(CANARY["script"]) in lengths and len(b64("ci-bot:" + CANARY["registry_password"])) in lengths
    assert not any("$" in row["places"][0] for row in doc["secrets"])
    assert '"@secret": "set"' in text
    rd205 = [f for f in doc["findings"] if f["rule"] == "RD205" and f["status"] == "warn"]
    assert rd205 and all(f["suppressed"] for f in rd205 if f["subject"].startswith("start.sh:3"))


def test_the_secret_verdicts_survive(planted, tmp_path):
    """RD303, RD605, RD205, RD201 read secret values: their findings are the customer's, word for word."""
    doc = make_bundle(["--offline", "--docker-config", "docker/config.json", "runner-k8s.yaml", "start.sh"],
                      tmp_path / "bundle.json", cwd=str(planted))
    _code, report = replay(tmp_path / "bundle.json", cwd=str(planted))
    same_report(doc, report)
    messages = " ".join(f["message"] for f in report["findings"] if f["rule"] in ("RD303", "RD605"))
    assert "base64-encoded twice" in messages and "ends with a newline" in messages
    assert "identity token" in messages and "registry bearer token" in messages


def test_the_command_line_keeps_no_password(tmp_path):
    doc = make_bundle(["--offline", "--host", "ssh://ci:Pa55-in-url-0017@build-2.example",
                       "fixtures/docker-run/dialog.sh"], tmp_path / "bundle.json")
    assert "Pa55-in-url-0017" not in (tmp_path / "bundle.json").read_text()
    assert "ssh://ci:****@build-2.example" in doc["command"]


# ---------------------------------------------------------------- live hosts (the lab's private daemon)

LIVE = ["LIVE_GOOD", "LIVE_DEFAULT_PATHS", "LIVE_STOPPED", "LIVE_RESTARTING", "LIVE_CRASHED", "LIVE_TWIN_A",
        "LIVE_TWIN_B", "LIVE_CONFIG_MISSING"]


def _of(report, rule, name):
    return [f for f in report["findings"] if f["rule"] == rule and f["subject"].endswith(name)]


def test_a_live_host_bundle_round_trips_without_the_host(docker_lab, tmp_path, monkeypatch):
    with containers.holding(docker_lab, LIVE):
        for _attempt in range(3):  # the looping container runs a few ms every 3 s: take it between two runs
            doc = make_bundle(["--host", docker_lab.base_url], tmp_path / "bundle.json")
            if any(f["rule"] == "RD503" and f["status"] == "fail" and f["subject"].endswith(specs.LIVE_RESTARTING.name)
                   for f in doc["findings"]):
                break
    text = (tmp_path / "bundle.json").read_text()
    assert_absent(text, [specs.SECRET, specs.LOG_CANARY])
    assert doc["daemons"][0]["containers"] and doc["daemons"][0]["version"]
    assert doc["host_files"]["kinds"], "the live rules' questions about host paths are recorded"
    with no_network(monkeypatch):  # the containers are gone; nothing may be asked of the lab or anyone
        code, report = replay(tmp_path / "bundle.json")
    assert code == 1
    same_report(doc, report)
    good = _of(report, "RD101", specs.LIVE_GOOD.name)
    assert good[0]["status"] == "pass" and "is the socket of the daemon" in good[0]["message"]
    assert _of(report, "RD101", specs.LIVE_DEFAULT_PATHS.name)[0]["status"] == "fail"
    crashed = " ".join(f["message"] + f["evidence"] for f in _of(report, "RD503", specs.LIVE_CRASHED.name))
    assert "fatal: cannot reach the Docker daemon" in crashed
    looping = " ".join(f["message"] + f["evidence"] for f in _of(report, "RD503", specs.LIVE_RESTARTING.name))
    assert "client secret ****, registry password ****" in looping  # the replay masks the stand-ins as the run did


def test_files_checked_against_a_live_host_round_trip(docker_lab, tmp_path, monkeypatch):
    lab = docker_lab.root
    script = tmp_path / "start.sh"
    script.write_text(f"""#!/bin/sh
docker run -d --restart unless-stopped \\
  -v /tmp:/tmp -v {lab}/docker.sock:/var/run/docker.sock \\
  -v {lab}/data/containers:/var/lib/docker/containers:ro \\
  -v {lab}/no-docker-config:/root/.docker:ro \\
  {' '.join('-e ' + line for line in IDS.split())} \\
  -e OAUTH_CLIENT_SECRET={CANARY['script']} -e WORKING_DIRECTORY=/tmp \\
  {RUNNER}
""")
    dialog = os.path.join(ROOT, "fixtures", "docker-run", "dialog.sh")
    with containers.holding(docker_lab, ["LIVE_GOOD"]):
        doc = make_bundle(["--host", docker_lab.base_url, str(script), dialog], tmp_path / "bundle.json")
    assert_absent((tmp_path / "bundle.json").read_text(), [CANARY["script"], specs.SECRET])
    with no_network(monkeypatch):
        _code, report = replay(tmp_path / "bundle.json")
    same_report(doc, report)
    mine = [f for f in report["findings"] if f["subject"].startswith(str(script))]
    assert {f["status"] for f in mine if f["rule"] == "RD101"} == {"pass"}
    assert any("does not exist on this host" in f["message"] for f in mine if f["rule"] == "RD104")
    theirs = [f for f in report["findings"] if f["subject"].startswith(dialog) and f["rule"] == "RD101"]
    assert theirs[0]["status"] == "fail" and "is not the socket of the daemon" in theirs[0]["message"]


def test_a_bundle_of_an_unreachable_host_round_trips(tmp_path, monkeypatch):
    missing = tmp_path / "no.sock"
    doc = make_bundle(["--host", f"unix://{missing}"], tmp_path / "bundle.json")
    assert doc["daemons"][0]["problem"]["kind"] == "no-socket"
    with no_network(monkeypatch):
        code, report = replay(tmp_path / "bundle.json")
    assert code == 1
    same_report(doc, report)


@pytest.mark.parametrize("config, status", [("docker", "pass"), ("docker-old-password", "fail")])
def test_a_bundle_with_registry_results_round_trips(registry_lab, tmp_path, monkeypatch, config, status):
    from tests.lab.registry import HTPASSWD_USERS

    registry = registry_lab.htpasswd
    for ref in ("bitbucket/pause:3.9", "bitbucket/auth-proxy:prod-stable", "bitbucket/dvcs-tools:prod-stable"):
        registry.push(*ref.split(":"))
    for name in ("private-helpers.sh", f"{config}/config.json"):
        text = open(os.path.join(ROOT, "fixtures", "registry", name)).read()
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text.replace("registry.lab.example:5443", registry.host))
    args = ["--host", "unix:///nonexistent/runner-doctor-tests/docker.sock", "--docker-config",
            f"{config}/config.json", "private-helpers.sh"]
    doc = make_bundle(args, tmp_path / "bundle.json", cwd=str(tmp_path))
    assert doc["registry"]["checks"]
    rd402 = [f for f in doc["findings"] if f["rule"] == "RD402"]
    assert status in {f["status"] for f in rd402}
    [entry] = json.loads((tmp_path / config / "config.json").read_text())["auths"].values()
    written = decode_auth(entry["auth"])[1]
    assert_absent((tmp_path / "bundle.json").read_text(), [entry["auth"], written, HTPASSWD_USERS["ci-bot"]])
    with no_network(monkeypatch):
        _code, report = replay(tmp_path / "bundle.json", cwd=str(tmp_path))
    same_report(doc, report)


# ---------------------------------------------------------------- the bundle check's options

def test_every_output_option_works_on_a_bundle(tmp_path):
    target = "fixtures/docker-run/tmp-remap.sh"
    make_bundle(["--offline", target], tmp_path / "bundle.json")
    code, _out, _err = cli(["check", "--offline", target])
    for fmt in ("rich", "json", "sarif", "junit", "markdown", "github"):
        again, out, err = cli(["check", "--bundle", str(tmp_path / "bundle.json"), "--format", fmt])
        assert again == code and out, (fmt, err)
    junit = tmp_path / "out" / "junit.xml"
    again, _out, err = cli(["check", "--bundle", str(tmp_path / "bundle.json"), "--output", f"junit={junit}",
                            "--select", "RD1", "--exit-zero"])
    assert again == 0 and junit.read_text().startswith("<?xml"), err
    again, out, _err = cli(["check", "--bundle", str(tmp_path / "bundle.json"), "--format", "json", "--select",
                            "RD103"])
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"RD103"}


def test_bundle_to_standard_output(tmp_path):
    proc = run_cli(["bundle", "--offline", "fixtures/docker-run/dialog.sh", "-o", "-"])
    assert proc.returncode == 0, proc.stderr
    doc = valid(json.loads(proc.stdout))
    assert doc["tool"]["name"] == "runner-doctor" and "standard output" in proc.stderr


@pytest.mark.parametrize("extra", [["fixtures/docker-run/dialog.sh"], ["--host", "unix:///nowhere.sock"],
                                   ["--container", "runner-1"], ["--docker-config", "x.json"]])
def test_a_bundle_check_takes_no_live_inputs(tmp_path, extra):
    make_bundle(["--offline", "fixtures/docker-run/dialog.sh"], tmp_path / "bundle.json")
    code, _out, err = cli(["check", "--bundle", str(tmp_path / "bundle.json"), *extra])
    assert code == 2 and err.count("\n") == 1 and "--bundle" in err


def test_help_names_the_bundle():
    proc = run_cli(["--help"])
    assert "bundle" in proc.stdout
    proc = run_cli(["bundle", "--help"])
    assert proc.returncode == 0 and "check --bundle" in proc.stdout and "-o FILE" in proc.stdout
    proc = run_cli(["check", "--help"])
    assert "--bundle FILE" in proc.stdout


# ---------------------------------------------------------------- old, newer and broken bundles

def test_an_older_bundle_with_unknown_keys_still_loads(tmp_path):
    doc = make_bundle(["--offline", "fixtures/compose/single-runner.yml", "fixtures/kubernetes/atlassian-job.yaml"],
                      tmp_path / "bundle.json")
    old = json.loads(json.dumps(doc))
    old["tool"]["version"] = "0.0.1"
    old["retired_key"] = {"anything": [1, 2]}
    old["subjects"][0]["retired_field"] = "x"
    old["subjects"][0]["runner"]["env"][0]["retired_field"] = None
    old["subjects"][0]["runner"]["mounts"][0]["retired_field"] = 3
    for key in ("cwd", "command", "objects", "host_files", "suppressions"):
        old.pop(key)
    (tmp_path / "old.json").write_text(json.dumps(old))
    _code, report = replay(tmp_path / "old.json")
    same_report(doc, report)


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a runner-doctor support bundle"),
    ('{"report": 1}', "not a runner-doctor support bundle"),
    ('{"bundle_version": 99}', "made by a newer runner-doctor"),
    ("\udcff", "not UTF-8"),
])
def test_a_broken_bundle_is_one_line_and_exit_2(tmp_path, content, reason):
    path = tmp_path / "broken.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    proc = run_cli(["check", "--bundle", str(path)])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and reason in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"runner-doctor: {path}: ")


@pytest.mark.parametrize("damage, reason", [
    (lambda d: d["subjects"][0]["runner"].update(kind="martian"), "subjects/0/runner/kind: 'martian' is not one of"),
    (lambda d: d["subjects"][0]["runner"].pop("origin"), "'origin' is a required property"),
    (lambda d: d["subjects"][0]["runner"].update(env_files=[{"path": 3, "resolved": None}]),
     "subjects/0/runner/env_files/0/path: str expected, not int"),
    (lambda d: d["subjects"][0]["runner"].update(env_files=[{"path": "x"}]), "EnvFileRef has no 'resolved'"),
    (lambda d: d["subjects"][0].update({"@type": "os.system"}), "not a runner-doctor type"),
    (lambda d: d.pop("findings"), "findings"),
    (lambda d: d["context"].update(daemon={"@ref": "#/daemons/7"}), "does not exist"),
])
def test_a_damaged_bundle_is_one_line_and_exit_2(tmp_path, damage, reason):
    doc = make_bundle(["--offline", "fixtures/docker-run/dialog.sh"], tmp_path / "bundle.json")
    damage(doc)
    (tmp_path / "bundle.json").write_text(json.dumps(doc))
    code, _out, err = cli(["check", "--bundle", str(tmp_path / "bundle.json")])
    assert code == 2 and err.count("\n") == 1 and reason in err, err


def test_a_missing_bundle_file(tmp_path):
    code, _out, err = cli(["check", "--bundle", str(tmp_path / "nothing.json")])
    assert code == 2 and err.strip().endswith("nothing.json: no such file")


# ---------------------------------------------------------------- registry results

def test_registry_results_travel_without_password_hashes(tmp_path):
    from doctor.registry.results import ImageCheck, Probe, RegistryResults

    subject = Subject("start.sh:3", "runner", "start.sh", 3, "runner")
    ctx = Context()
    key = "registry.acme.example:5443/pause:3.9|ci-bot@0123456789ab"
    ctx.registry = RegistryResults({key: ImageCheck(key, "registry.acme.example:5443/pause:3.9",
                                                    "registry.acme.example:5443", "ci-bot (from config.json)",
                                                    direct=Probe("direct", "not-found", "no such tag"))},
                                   ["a note"], {"start.sh:3": {"PAUSE_IMAGE": key}})
    doc = valid(document.build([subject], ctx, [], [], {}, Redactor()))
    assert "0123456789ab" not in json.dumps(doc)
    (tmp_path / "bundle.json").write_text(json.dumps(doc))
    found = document.read(str(tmp_path / "bundle.json")).registry.for_subject("start.sh:3", "PAUSE_IMAGE")
    assert found.direct.outcome == "not-found" and found.key.startswith("registry.acme.example:5443/pause:3.9|ci-bot@")


# ---------------------------------------------------------------- stand-ins

AUTHS = [
    b64("ci-bot:correct-horse-battery"),  # basic
    b64("ci-bot:correct-horse-battery").rstrip("="),  # padding missing
    b64("ci-bot:correct-horse-battery??>>").replace("+", "-").replace("/", "_"),  # URL-safe alphabet
    b64("ci-bot:correct-horse-battery")[:8] + " " + b64("ci-bot:correct-horse-battery")[8:],  # a space
    b64("a-token-without-colon"),  # no ':'
    b64(":only-a-password"),  # empty user
    b64("ci-bot:"),  # empty password
    b64("ci-bot:pw-with-trailing-nul\0\0"),
    b64("ci-bot:p\u00e4ssw\u00f6rd-\u5bc6\u7801-\U0001f511"),  # non-ASCII, 2-4 bytes a character
    b64("ci-bot:line-broken-password-0123456789")[:12] + "\r\n" + b64("ci-bot:line-broken-password-0123456789")[12:],
    "",
]


@pytest.mark.parametrize("value", AUTHS)
def test_an_auth_stand_in_decodes_as_docker_decodes_the_original(value):
    s = standins.StandIns()
    stand_in = s.auth(value)
    assert standins.auth_shape(stand_in) == standins.auth_shape(value)
    assert len(stand_in) == len(value)
    if standins.auth_shape(value)[0] == "ok" and standins.auth_shape(value)[2]:
        assert stand_in != value and decode_auth(stand_in)[1] != decode_auth(value)[1]


SECRET_TEXTS = [
    "ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5jL9nQ2rS7uV4wX8zA1cE5fG3hJ6kM0pR4tV8xZ2bD",
    b64(b64("ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5")),  # encoded twice (RD605)
    b64("ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5\n"),  # with echo's newline
    " padded-secret ",
    '"quoted-secret"',
    "<client-secret>",
    "changeme",
    "****",
    "your-oauth-secret",
    "abc",
    "p\u00e4ss-\u5bc6\u7801",
    "YWJjZGVmZ2g=",  # base64 of text, short
]


@pytest.mark.parametrize("value", SECRET_TEXTS)
def test_a_text_stand_in_keeps_every_verdict(value):
    s = standins.StandIns()
    stand_in = s.text(value)
    assert standins.shape(stand_in) == standins.shape(value)
    assert len(stand_in.encode("utf-8")) == len(value.encode("utf-8"))
    assert s.text(value) == stand_in  # equal secrets, equal stand-ins


def test_a_real_secret_is_replaced_and_placeholders_stay():
    s = standins.StandIns()
    assert s.text(SECRET_TEXTS[0]) != SECRET_TEXTS[0]
    assert s.text("changeme") == "changeme" and s.text("****") == "****"
    assert s.text("<client-secret>").startswith("<") and s.text("<client-secret>") != "<client-secret>"


def test_fingerprints_are_keyed_per_bundle():
    import hashlib

    one, two = standins.StandIns(), standins.StandIns()
    assert one.fingerprint("hunter2") == one.fingerprint("hunter2")
    assert one.fingerprint("hunter2") != two.fingerprint("hunter2")
    assert one.fingerprint("hunter2") != hashlib.sha256(b"hunter2").hexdigest()[:16]
    assert one.text("a-secret-value-1") != two.text("a-secret-value-1")


def test_a_config_keeps_its_positions_when_masked():
    text = ('{\n\t"auths": {\n\t\t"r.example": {"auth": "%s", "email": "x"},\n'
            '\t\t"r2.example": {"Password": "p\\u00e4ss\\"w\\/rd", "username": "u"}\n\t}\n}\n'
            % b64("user:secret-password"))
    masked = standins.StandIns().config_text(text)
    assert "secret-password" not in masked and b64("user:secret-password") not in masked
    assert scan_positions(masked) == scan_positions(text)
    assert json.loads(masked)["auths"]["r2.example"]["username"] == "u"


# ---------------------------------------------------------------- host files

def test_recorded_host_files_answer_only_what_was_asked(tmp_path):
    sock = tmp_path / "a-folder"
    sock.mkdir()
    recording = hostfiles.Recording()
    assert recording.kind(str(sock)) == "folder" and recording.resolve("./x", str(tmp_path)) == str(tmp_path / "x")
    assert recording.same_file(str(sock), str(sock))
    recorded = hostfiles.Recorded(json.loads(json.dumps(recording.to_dict())))
    sock.rmdir()
    assert recorded.kind(str(sock)) == "folder" and recorded.exists(str(sock))
    assert recorded.same_file(str(sock), str(sock)) and recorded.resolve("./x", str(tmp_path)) == str(tmp_path / "x")
    assert recorded.resolve("/elsewhere", None) is None  # not asked then: not known now
    assert recorded.kind("/elsewhere") == hostfiles.NOT_RECORDED and not recorded.exists("/elsewhere")


def test_a_masked_env_var_keeps_its_reference_forms():
    from doctor.bundle import masking
    from doctor.model import RunnerKind, RunnerSetup

    setup = RunnerSetup(RunnerKind.LINUX_DOCKER, "docker-run", Origin("s.sh", 1), env=[
        EnvVar("OAUTH_CLIENT_SECRET", "${SECRET}", Origin("s.sh", 2), "reference", raw="${SECRET}"),
        EnvVar("OAUTH_CLIENT_SECRET", None, Origin("s.sh", 3), "inherited", raw="OAUTH_CLIENT_SECRET"),
        EnvVar("OAUTH_CLIENT_SECRET", "lit-secret-value", Origin("s.sh", 4), "literal",
               raw="OAUTH_CLIENT_SECRET=lit-secret-value")])
    s = standins.StandIns()
    [subject], _ = masking.masked_copy([Subject("s.sh:1", "runner", "s.sh", 1, "t", runner=setup)], [], s)
    ref, inherited, literal = subject.runner.env
    assert (ref.value, ref.raw) == ("${SECRET}", "${SECRET}")
    assert (inherited.value, inherited.raw) == (None, "OAUTH_CLIENT_SECRET")
    assert literal.value == s.text("lit-secret-value") and literal.raw == f"OAUTH_CLIENT_SECRET={literal.value}"
    assert setup.env[2].value == "lit-secret-value"  # the run's own objects are not touched
