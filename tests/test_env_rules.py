"""The environment rules (RD201-RD206) on what the YAML rule cases cannot express.

Env-file permissions (git keeps no modes: the files are made here and chmod-ed),
YAML mappings, `docker inspect` subjects built directly, and that no secret from
any input ever reaches a finding.
"""

import glob
import os

import pytest

from doctor import api, engine
from doctor.model import EnvVar, Origin, RunnerKind, RunnerSetup, Status, Subject
from doctor.rulebase import Context
from doctor.rules._env import is_placeholder
from doctor.rules.rd204_unknown_env import suggestion
from tests.conftest import FIXTURES

ENV_RULES = ["RD201", "RD202", "RD203", "RD204", "RD205", "RD206"]
IMAGE = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"
ACCOUNT = "{4d7863e7-e0b6-4b17-b5c0-0897e3a9b45f}"
RUNNER = "{cee306c0-124f-5cb2-a2aa-5bf42b5e9f1e}"
SECRET = "ATOAq7Wm2Xk9Lp4Rt6Vy8Zb1Cd3Fg5Hj0Kn2Mq4Ps6Ru8Tw0Yx2Za4Bc6De8Gf0Hi2Jk4Lm6No8Pq"


def _run(rule_id, setup):
    subject = Subject("s", "runner", setup.origin.path, setup.origin.line, "test", runner=setup)
    return engine.run_rule(engine.all_rules()[rule_id], subject, Context(offline=True))


def _worst(findings):
    order = [Status.SKIP, Status.PASS, Status.WARN, Status.FAIL, Status.ERROR]
    return max((f.status for f in findings), key=order.index)


def _write_env_setup(tmp_path, mode, env_text=None):
    env = tmp_path / "runner.env"
    env.write_text(env_text or (f"ACCOUNT_UUID={ACCOUNT}\nRUNNER_UUID={RUNNER}\nRUNTIME_PREREQUISITES_ENABLED=true\n"
                                f"OAUTH_CLIENT_ID=bpQpDNW70lmmaauSEGRS9WKk3kFtYSA9\nOAUTH_CLIENT_SECRET={SECRET}\n"
                                "WORKING_DIRECTORY=/tmp\n"))
    os.chmod(env, mode)
    script = tmp_path / "start-runner.sh"
    script.write_text("#!/bin/sh\n"
                      "docker container run -d --restart unless-stopped \\\n"
                      "  -v /tmp:/tmp -v /var/run/docker.sock:/var/run/docker.sock \\\n"
                      "  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \\\n"
                      "  --env-file runner.env \\\n"
                      f"  --name runner-{RUNNER.strip('{}')} \\\n"
                      f"  {IMAGE}\n")
    return str(script)


# ---------------------------------------------------------------- RD205: env-file permissions

def test_secret_in_env_file_with_mode_0600_passes(tmp_path):
    report = api.check([_write_env_setup(tmp_path, 0o600)], select=["RD205"], cwd=str(tmp_path))
    [finding] = report.findings
    assert finding.status is Status.PASS
    assert "OAUTH_CLIENT_SECRET comes from" in finding.message and finding.message.endswith("runner.env")


@pytest.mark.parametrize("mode,who", [(0o644, "others"), (0o640, "its group"), (0o604, "others")])
def test_secret_in_env_file_readable_by_others_warns(tmp_path, mode, who):
    report = api.check([_write_env_setup(tmp_path, mode)], select=["RD205"], cwd=str(tmp_path))
    [finding] = report.findings
    assert finding.status is Status.WARN
    assert f"readable by {who} (mode {mode:04o})" in finding.message
    assert finding.remediation == f"chmod 600 {tmp_path / 'runner.env'}"
    assert finding.location.path.endswith("start-runner.sh") and finding.location.line == 5


def test_env_file_without_secrets_is_not_flagged(tmp_path):
    script = _write_env_setup(tmp_path, 0o644, env_text="TZ=Europe/Berlin\nWORKING_DIRECTORY=/tmp\n")
    report = api.check([script], select=["RD205"], cwd=str(tmp_path))
    assert [f.status for f in report.findings] == [Status.PASS]


def test_env_file_mode_does_not_change_the_other_rules(tmp_path):
    report = api.check([_write_env_setup(tmp_path, 0o644)], select=["RD201", "RD202", "RD203", "RD204", "RD206"],
                       cwd=str(tmp_path))
    assert {f.status for f in report.findings} == {Status.PASS}


# ---------------------------------------------------------------- RD202: YAML mappings

COMPOSE = """\
services:
  runner:
    image: {image}
    restart: unless-stopped
    volumes:
      - /tmp:/tmp
      - /var/run/docker.sock:/var/run/docker.sock
      - /var/lib/docker/containers:/var/lib/docker/containers:ro
    environment:
      ACCOUNT_UUID: {account}
      RUNNER_UUID: "{runner}"
      RUNTIME_PREREQUISITES_ENABLED: "true"
      OAUTH_CLIENT_ID: bpQpDNW70lmmaauSEGRS9WKk3kFtYSA9
      OAUTH_CLIENT_SECRET: ${{OAUTH_CLIENT_SECRET}}
      WORKING_DIRECTORY: /tmp
"""


def _compose_runner(account):
    return RunnerSetup(
        kind=RunnerKind.LINUX_DOCKER, form="compose", origin=Origin("docker-compose.yml", 2, 3), image=IMAGE,
        env=[EnvVar("ACCOUNT_UUID", None, Origin("docker-compose.yml", 10, 7), "literal", raw=account,
                    yaml_type="mapping"),
             EnvVar("RUNNER_UUID", RUNNER, Origin("docker-compose.yml", 11, 7), "literal", raw=RUNNER)])


def test_unquoted_uuid_in_a_yaml_mapping_fails_and_says_to_quote_it():
    findings = _run("RD202", _compose_runner(ACCOUNT))
    [bad] = [f for f in findings if f.status is Status.FAIL]
    assert "flow mapping" in bad.message
    assert bad.remediation == f'quote it: ACCOUNT_UUID: "{ACCOUNT}"'
    assert bad.location == Origin("docker-compose.yml", 10, 7)


def test_unquoted_uuid_through_the_compose_parser(tmp_path):
    pytest.importorskip("doctor.inputs.compose")
    path = tmp_path / "docker-compose.yml"
    path.write_text(COMPOSE.format(image=IMAGE, account=ACCOUNT, runner=RUNNER))
    report = api.check([str(path)], select=["RD201", "RD202"], cwd=str(tmp_path))
    rd202 = report.for_rule("RD202")
    assert _worst(rd202) is Status.FAIL
    assert any(f'ACCOUNT_UUID: "{ACCOUNT}"' in f.remediation for f in rd202)
    # the object is RD202's to explain; RD201 does not call it missing
    assert _worst(report.for_rule("RD201")) is Status.PASS

    path.write_text(COMPOSE.format(image=IMAGE, account=f'"{ACCOUNT}"', runner=RUNNER))
    report = api.check([str(path)], select=["RD202"], cwd=str(tmp_path))
    assert _worst(report.findings) is Status.PASS


# ---------------------------------------------------------------- RD205 / RD206 on docker inspect

def _inspect_runner(secret, name=f"/runner-{RUNNER.strip('{}')}"):
    origin = Origin("inspect.json", 40, 13)
    return RunnerSetup(
        kind=RunnerKind.LINUX_DOCKER, form="inspect", origin=Origin("inspect.json", 2, 5), image=IMAGE,
        name=name, name_origin=Origin("inspect.json", 5, 9), supervisor="docker",
        env=[EnvVar("ACCOUNT_UUID", ACCOUNT, origin, "inspect"), EnvVar("RUNNER_UUID", RUNNER, origin, "inspect"),
             EnvVar("OAUTH_CLIENT_ID", "bpQpDNW70lmmaauSEGRS9WKk3kFtYSA9", origin, "inspect"),
             EnvVar("OAUTH_CLIENT_SECRET", secret, origin, "inspect"),
             EnvVar("WORKING_DIRECTORY", "/tmp", origin, "inspect")])


def test_inspect_output_with_the_secret_must_be_redacted():
    [finding] = _run("RD205", _inspect_runner(SECRET))
    assert finding.status is Status.WARN
    assert "redact" in finding.message and "Config.Env" in finding.message
    assert SECRET not in finding.message + finding.remediation + finding.evidence


@pytest.mark.parametrize("redacted", ["****", "<redacted>", "REDACTED"])
def test_redacted_inspect_output_passes(redacted):
    [finding] = _run("RD205", _inspect_runner(redacted))
    assert finding.status is Status.PASS
    [rd201] = _run("RD201", _inspect_runner(redacted))
    assert rd201.status is Status.PASS and "OAUTH_CLIENT_SECRET is redacted in this output" in rd201.message


def test_inspect_name_with_leading_slash_is_valid():
    [finding] = _run("RD206", _inspect_runner(SECRET))
    assert finding.status is Status.PASS
    assert finding.message == f"the container is named runner-{RUNNER.strip('{}')}"


def test_compose_service_without_container_name_passes():
    [finding] = _run("RD206", _compose_runner(f'"{ACCOUNT}"'))
    assert finding.status is Status.PASS and "compose names the container" in finding.message


# ---------------------------------------------------------------- RD201 details

def _script(tmp_path, *env_lines, name="start.sh"):
    path = tmp_path / name
    lines = "".join(f"  {line} \\\n" for line in env_lines)
    path.write_text(f"docker container run -it \\\n  -v /tmp:/tmp \\\n{lines}  {IMAGE}\n")
    return str(path)


def test_empty_secret_fails_without_printing_anything(tmp_path):
    path = _script(tmp_path, f"-e ACCOUNT_UUID={ACCOUNT}", f"-e RUNNER_UUID={RUNNER}", "-e OAUTH_CLIENT_ID=abc",
                   "-e OAUTH_CLIENT_SECRET=", "-e WORKING_DIRECTORY=/tmp")
    report = api.check([path], select=["RD201"])
    [finding] = report.findings
    assert finding.status is Status.FAIL
    assert finding.message == "OAUTH_CLIENT_SECRET is empty"
    assert finding.location.line == 6


def test_missing_variables_each_fail_at_the_command(tmp_path):
    path = _script(tmp_path, f"-e RUNNER_UUID={RUNNER}", "-e OAUTH_CLIENT_ID=abc", "-e OAUTH_CLIENT_SECRET")
    report = api.check([path], select=["RD201"])
    failed = sorted(f.message.split(" ")[0] for f in report.findings if f.status is Status.FAIL)
    assert failed == ["ACCOUNT_UUID", "WORKING_DIRECTORY"]


def test_placeholder_secret_is_not_echoed():
    report = api.check([os.path.join(FIXTURES, "env", "placeholders.sh")], select=["RD201"])
    [secret] = [f for f in report.findings if f.message.startswith("OAUTH_CLIENT_SECRET")]
    assert secret.status is Status.FAIL
    assert "<client-secret>" not in secret.message + secret.remediation + secret.evidence


@pytest.mark.parametrize("value,expected", [
    ("{<workspace-uuid>}", True), ("<client-secret>", True), ("your-client-id", True), ("xxxxxxxx", True),
    (ACCOUNT, False), ("/tmp", False), (SECRET, False),
])
def test_placeholders(value, expected):
    assert is_placeholder(value) is expected


# ---------------------------------------------------------------- RD204 suggestions

@pytest.mark.parametrize("name,meant", [
    ("OAUTH_CLIENT_SECRETS", "OAUTH_CLIENT_SECRET"), ("ACOUNT_UUID", "ACCOUNT_UUID"),
    ("WORKING_DIR", "WORKING_DIRECTORY"), ("account_uuid", "ACCOUNT_UUID"), ("REPOSITORY_ID", "REPOSITORY_UUID"),
    ("WORKSPACE_UUID", "ACCOUNT_UUID"), ("HTTPS_PROXI", "HTTPS_PROXY"),
    ("TZ", "TZ"), ("HOST_OS", None), ("HOST_CONTAINERNAME", None), ("FTP_PROXY", None), ("ALL_PROXY", None),
])
def test_misspelling_suggestions(name, meant):
    assert suggestion(name) == meant


def test_unrelated_variables_are_listed_not_flagged(tmp_path):
    path = _script(tmp_path, "-e TZ=Europe/Berlin", "-e HOST_OS=Unraid", "-e ACCOUNT_UUID=" + ACCOUNT)
    [finding] = api.check([path], select=["RD204"]).findings
    assert finding.status is Status.PASS
    assert "harmless: HOST_OS" in finding.message


def test_duplicate_secret_with_different_values_is_reported_without_the_values(tmp_path):
    path = _script(tmp_path, "-e OAUTH_CLIENT_SECRET=" + SECRET, "-e OAUTH_CLIENT_SECRET=" + SECRET[:-4])
    [finding] = api.check([path], select=["RD204"]).findings
    assert finding.status is Status.WARN
    assert f"set ({len(SECRET) - 4} characters)" in finding.message
    assert SECRET[:-4] not in finding.message + finding.remediation + finding.evidence


# ---------------------------------------------------------------- no secret in any finding

def _env_inputs():
    paths = sorted(glob.glob(os.path.join(FIXTURES, "env", "*.sh")) + glob.glob(os.path.join(FIXTURES, "env", "*.ps1")))
    return paths + [os.path.join(FIXTURES, "docker-run", "dialog.sh")]


@pytest.mark.parametrize("path", _env_inputs(), ids=os.path.basename)
def test_no_secret_value_appears_in_any_finding(path):
    report = api.check([path], select=ENV_RULES, cwd=os.path.dirname(path))
    secrets = set()
    for subject in report.subjects:
        for var in subject.runner.env:
            if var.is_secret:
                for text in (var.value, var.raw if var.source != "inherited" else None):
                    if text and "$" not in text:
                        secrets.add(text.strip("\"'"))
    secrets = {s for s in secrets if len(s) >= 4}
    for finding in report.findings:
        text = " ".join((finding.message, finding.remediation, finding.evidence))
        for secret in secrets:
            assert secret not in text, f"{finding.rule} prints a secret: {finding.message}"


def test_the_env_fixtures_hold_secrets():
    """The test above means something only if the fixtures carry literal secrets."""
    report = api.check([os.path.join(FIXTURES, "env", "unraid.sh"), os.path.join(FIXTURES, "env", "windows.ps1")],
                       select=["RD205"])
    assert [f.status for f in report.findings] == [Status.WARN, Status.WARN]


def test_secret_interpolated_from_a_compose_dot_env_readable_by_others_warns(tmp_path):
    (tmp_path / ".env").write_text("RUNNER_SECRET=ATOAdotenvSecret000000000000000000000000000000000000000001\n")
    (tmp_path / ".env").chmod(0o644)
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  runner:\n"
        "    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1\n"
        "    environment:\n      - OAUTH_CLIENT_SECRET=${RUNNER_SECRET}\n")
    report = api.check([str(tmp_path / "docker-compose.yml")], select=["RD205"], cwd=str(tmp_path))
    assert [f.status for f in report.findings] == [Status.WARN]
    assert ".env holds OAUTH_CLIENT_SECRET" in report.findings[0].message
    (tmp_path / ".env").chmod(0o600)
    report = api.check([str(tmp_path / "docker-compose.yml")], select=["RD205"], cwd=str(tmp_path))
    assert [f.status for f in report.findings] == [Status.PASS]
