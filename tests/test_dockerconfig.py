"""The Docker client config.json: Go-compatible auth decoding, CLI key lookup, schema errors with
positions, secrets, and the RD3xx cases that need files made on the spot (file modes)."""

import base64
import glob
import json
import os

import pytest
import yaml

from doctor import api, engine
from doctor.dockerconfig import (HUB_KEY, AuthDecodeError, auth_key_for, convert_to_hostname, decode_auth,
                                 find_entry, is_cli_ignored_hub_key, load_schema, scan_positions, schema_issues,
                                 secret_strings, view)
from doctor.inputs.common import load_docker_config
from tests.conftest import FIXTURES, ROOT

CONFIGS = os.path.join(FIXTURES, "docker-config")


def b64(text):
    return base64.b64encode(text.encode()).decode()


# ---- decode_auth: the vectors of the reference notes §8.2. The docker CLI 28.2.2 was run on each
# ---- value (`docker --config DIR context ls`): it loads the valid ones and reports the same byte offsets.

@pytest.mark.parametrize("value,expected", [
    ("dXNlcjpwYXNz", ("user", "pass")),  # no padding needed
    ("YWI6Yw==", ("ab", "c")),  # padded
    ("YTpiOmM=", ("a", "b:c")),  # split at the first colon
    ("dXNlcjpw\nYXNz", ("user", "pass")),  # embedded newline skipped
    ("dXNlcjpw\r\nYXNz\n", ("user", "pass")),
    (b64("user:pw\x00\x00"), ("user", "pw")),  # trailing NULs trimmed
    (b64("user:\x00pw"), ("user", "pw")),  # Go's strings.Trim trims both ends
    (b64("user:"), ("user", "")),  # Go accepts an empty password
    (b64("ci:p+ss/w?rd>"), ("ci", "p+ss/w?rd>")),
])
def test_decode_auth_accepts_what_docker_accepts(value, expected):
    assert decode_auth(value) == expected


@pytest.mark.parametrize("value,fragment", [
    ("YWI6Yw", "input byte 4"),  # missing padding
    ("YWI6Yw", "padding at the end is missing"),
    ("dTpwPz5-fg==", "URL-safe"),
    ("dTpwPz5-fg==", "input byte 7"),
    ("dXNl*cjpwYXNz", "input byte 4"),  # junk Python's lenient decoder would skip
    ("dXNl*cjpwYXNz", "outside the base64 alphabet"),
    ("dXNl cjpwYXNz", "a space"),
    ("YQ=A", "input byte 2"),  # '=' in the middle
    ("YWJj=", "input byte 4"),  # extra padding
    (b64("nocolon"), "without a ':'"),
    (b64(":pw"), "user name is empty"),
    ("", "empty"),
])
def test_decode_auth_rejects_what_docker_rejects(value, fragment):
    with pytest.raises(AuthDecodeError) as info:
        decode_auth(value)
    assert fragment in str(info.value)


def test_python_lenient_base64_is_not_what_docker_does():
    # base64.b64decode without validate=True silently drops '*' and '-': decode_auth must not
    assert base64.b64decode("dXNl*cjpwYXNz") == b"user:pass"
    with pytest.raises(AuthDecodeError):
        decode_auth("dXNl*cjpwYXNz")


def test_decode_errors_never_contain_the_value():
    secret = b64("ci-pull:s3cr3t-Z>?~vq9!Km3").replace("+", "-").replace("/", "_")
    with pytest.raises(AuthDecodeError) as info:
        decode_auth(secret)
    assert secret not in str(info.value) and "s3cr3t" not in str(info.value)


# ---- lookup as the docker CLI does it

def test_auth_key_for():
    assert auth_key_for("docker.io") == HUB_KEY
    assert auth_key_for("index.docker.io") == HUB_KEY
    assert auth_key_for("registry.acme.example:5443") == "registry.acme.example:5443"


@pytest.mark.parametrize("key,host", [
    ("https://myreg:5000/v2/", "myreg:5000"),
    ("http://myreg:5000", "myreg:5000"),
    ("myreg:5000/anything", "myreg:5000"),
    ("myreg.example", "myreg.example"),
    ("https://[::1]:5000/", "[::1]:5000"),
    ("https://user@myreg.example/", "myreg.example"),
    ("https://Reg.Example/v1/", "Reg.Example"),  # Go keeps the case
    (HUB_KEY, "index.docker.io"),
])
def test_convert_to_hostname(key, host):
    assert convert_to_hostname(key) == host


def test_find_entry_exact_then_converted_key():
    data = {"auths": {"https://registry.acme.example:5443/v2/": {"auth": "x"}, "ghcr.io": {"auth": "y"}}}
    assert find_entry(data, "ghcr.io") == ("ghcr.io", {"auth": "y"})
    assert find_entry(data, "registry.acme.example:5443")[0] == "https://registry.acme.example:5443/v2/"


def test_find_entry_port_and_case_must_match():
    data = {"auths": {"registry.acme.example": {"auth": "x"}, "GHCR.io": {"auth": "y"}}}
    assert find_entry(data, "registry.acme.example:5443") is None
    assert find_entry(data, "registry.acme.example:443") is None
    assert find_entry(data, "ghcr.io") is None


def test_find_entry_docker_hub_only_under_its_exact_key():
    for key in ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1",
                "https://index.docker.io/v2/"):
        assert find_entry({"auths": {key: {"auth": "x"}}}, "docker.io") is None, key
        assert is_cli_ignored_hub_key(key)
    assert find_entry({"auths": {HUB_KEY: {"auth": "x"}}}, "docker.io")[0] == HUB_KEY
    assert not is_cli_ignored_hub_key(HUB_KEY)
    assert not is_cli_ignored_hub_key("registry.acme.example:5443")


def test_find_entry_reads_auths_in_any_case_like_go():
    assert find_entry({"Auths": {"ghcr.io": {"auth": "y"}}}, "ghcr.io")[0] == "ghcr.io"


# ---- positions and the schema

def test_scan_positions():
    text = '{\n\t"auths": {\n\t\t"ghcr.io": {"auth": "eA=="}\n\t},\n\t"n": [1, {"b": null}]\n}\n'
    pos = scan_positions(text)
    assert pos[()].value == (1, 1)
    assert pos[("auths",)].key == (2, 2)
    assert pos[("auths", "ghcr.io")].key == (3, 3)
    assert pos[("auths", "ghcr.io", "auth")].value == (3, 23)
    assert pos[("n", 1, "b")].key == (5, 12)


def test_schema_is_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(load_schema())


def test_schema_issues_name_path_line_and_column_but_never_the_value():
    blob = b64("ci-pull:hX7#kq2!Vm9zR4pT")
    text = ('{\n  "auths": {\n    "registry.acme.example:5443": "%s",\n    "ghcr.io": {"auth": 12}\n  },\n'
            '  "credsStore": ["desktop"]\n}\n' % blob)
    issues = schema_issues(json.loads(text), text)
    got = [(i.json_path, i.line, i.column) for i in issues]
    assert got == [('$.auths["registry.acme.example:5443"]', 3, 35), ('$.auths["ghcr.io"].auth', 4, 25),
                   ("$.credsStore", 6, 17)]
    assert issues[0].message == "must be an object, not a string"
    assert all(blob not in i.message for i in issues)


def test_schema_accepts_every_valid_fixture_and_the_case_variants_go_accepts():
    for path in glob.glob(os.path.join(CONFIGS, "**", "*.json"), recursive=True):
        cfg = load_docker_config(path)
        if cfg.data is not None:
            assert schema_issues(cfg.data, cfg.text) == [], path
    assert schema_issues({"Auths": {"r": {"Auth": None}}, "unknownKey": 1}) == []
    assert schema_issues({"AUTHS": {"r": {"AUTH": 5}}})[0].json_path == '$.AUTHS.r.AUTH'


def test_view_is_computed_once_per_config():
    cfg = load_docker_config(os.path.join(CONFIGS, "login-basic.json"))
    assert view(cfg) is view(cfg)
    assert [e.key for e in view(cfg).entries] == ["ghcr.io", HUB_KEY, "registry.acme.example:5443"]


# ---- secrets

PASSWORDS = ("hX7#kq2!Vm9zR4pT", "ghp_4kT9vQz2LmN8xR1wY6bC3dF5gH7jK0pS2uV4", "dckr_pat_Xq3Lm9Vz7Tk2Rw8Np4Bs6Hd1Jf5",
             "rt_9fQ2xL7mV4kP8zR1nT6wB3cY5hJ0dS", "glpat-Zx81kLmq4RtY7vWn2BcD", "Z>?~vq9!Km3", "Wq8#Lm2$Tx5v")


def _fixture_configs():
    return sorted(glob.glob(os.path.join(CONFIGS, "**", "*.json"), recursive=True))


def test_secret_strings_cover_blobs_passwords_and_tokens():
    cfg = load_docker_config(os.path.join(CONFIGS, "login-basic.json"))
    found = secret_strings(cfg)
    assert b64("ci-pull:hX7#kq2!Vm9zR4pT") in found
    assert "hX7#kq2!Vm9zR4pT" in found and "ghp_4kT9vQz2LmN8xR1wY6bC3dF5gH7jK0pS2uV4" in found
    assert "ci-pull" not in found  # user names are not secrets
    token = load_docker_config(os.path.join(CONFIGS, "identitytoken.json"))
    assert any(s.startswith("eyJhbGciOiJSUzI1NiIs") for s in secret_strings(token))
    plain = load_docker_config(os.path.join(CONFIGS, "username-password.json"))
    assert "hX7#kq2!Vm9zR4pT" in secret_strings(plain)


def test_secret_strings_of_undecodable_and_broken_files():
    bad = secret_strings(load_docker_config(os.path.join(CONFIGS, "auth-undecodable.json")))
    assert "Z>?~vq9!Km3" in bad and "Wq8#Lm2$Tx5v" in bad  # what a lenient decoder would reveal
    broken = load_docker_config(os.path.join(CONFIGS, "syntax-trailing-comma.json"))
    assert broken.data is None and "hX7#kq2!Vm9zR4pT" in secret_strings(broken)
    assert secret_strings(None) == set()


def test_every_fixture_password_is_known_as_a_secret():
    known = set()
    for path in _fixture_configs():
        known |= secret_strings(load_docker_config(path))
    for password in PASSWORDS:
        assert password in known, password


def _runs():
    """(targets, docker_config) for every config and runner fixture of this folder, alone and combined."""
    scripts = sorted(glob.glob(os.path.join(CONFIGS, "*.sh")))
    runs = [([p], None) for p in _fixture_configs() + scripts]
    runs += [([scripts[0]], p) for p in _fixture_configs()]
    return runs


def test_no_secret_in_any_finding():
    secrets = set()
    for path in _fixture_configs():
        secrets |= secret_strings(load_docker_config(path))
    assert len(secrets) > 10
    for targets, docker_config in _runs():
        report = api.check(targets, docker_config=docker_config, select=list(engine.all_rules()))
        for f in report.findings:
            for text in (f.message, f.remediation, f.evidence):
                leaked = [s for s in secrets if s in text]
                assert not leaked, (f.rule, targets, text)


# ---- rule behaviour that needs files made here

RUNNER = """#!/bin/sh
docker container run -d --restart unless-stopped \\
  -v /tmp:/tmp \\
  -v /var/run/docker.sock:/var/run/docker.sock \\
  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \\
  -v {mount} \\
  -e ACCOUNT_UUID={{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}} \\
  -e RUNNER_UUID={{5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f}} \\
  -e OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J \\
  -e OAUTH_CLIENT_SECRET="$OAUTH_CLIENT_SECRET" \\
  -e WORKING_DIRECTORY=/tmp \\
  -e PAUSE_IMAGE={pause} \\
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
"""


def _findings(rule, targets, docker_config=None):
    report = api.check([str(t) for t in targets], docker_config=docker_config and str(docker_config),
                       select=[rule])
    return [(f.status.value, f.message, f.remediation, f.location) for f in report.findings]


def _config(tmp_path, data, mode=0o600, name="config.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, indent="\t") + "\n")
    path.chmod(mode)
    return path


CREDS = {"auths": {"registry.acme.example:5443": {"auth": b64("ci-pull:hX7#kq2!Vm9zR4pT")}}}


@pytest.mark.parametrize("mode,status,fragment", [
    (0o600, "pass", "mode 0600"),
    (0o400, "pass", "only its owner"),
    (0o644, "warn", "its group and all other users"),
    (0o640, "warn", "readable by its group (mode 0640)"),
    (0o604, "warn", "readable by all other users"),
    (0o620, "warn", "writable by its group"),
])
def test_rd305_modes(tmp_path, mode, status, fragment):
    path = _config(tmp_path, CREDS, mode)
    [(got, message, fix, _)] = _findings("RD305", [path])
    assert got == status and fragment in message, message
    if status == "warn":
        assert fix == f"chmod 600 {path}"


def test_rd305_world_readable_file_without_secrets_passes(tmp_path):
    path = _config(tmp_path, {"auths": {"registry.acme.example:5443": {}}, "credsStore": "pass"}, 0o644)
    assert _findings("RD305", [path])[0][0] == "pass"


def test_rd305_mounted_config_mode(tmp_path):
    (tmp_path / "docker").mkdir()
    _config(tmp_path / "docker", CREDS, 0o644)
    script = tmp_path / "start.sh"
    script.write_text(RUNNER.format(mount="./docker:/root/.docker:ro", pause="registry.acme.example:5443/b/pause:3.9"))
    [(status, message, fix, _)] = _findings("RD305", [script])
    assert status == "warn" and fix.startswith("chmod 600 ") and fix.endswith("docker/config.json")


def test_rd301_folder_mounted_at_the_file_path_fails(tmp_path):
    (tmp_path / ".docker").mkdir()
    script = tmp_path / "start.sh"
    script.write_text(RUNNER.format(mount="./.docker:/root/.docker/config.json:ro", pause="registry.acme.example:5443/b/p:1"))
    [(status, message, _fix, location)] = _findings("RD301", [script])
    assert status == "fail" and "is a folder" in message
    assert location.line == 6


def test_rd301_unreadable_docker_config_option_fails(tmp_path):
    script = tmp_path / "start.sh"
    script.write_text(RUNNER.format(mount="./docker:/root/.docker:ro", pause="registry.acme.example:5443/b/p:1"))
    [(status, message, _fix, _)] = _findings("RD301", [script], tmp_path / "missing.json")
    assert status == "fail" and "no such file" in message


def test_rd301_schema_error_points_at_the_value(tmp_path):
    blob = b64("ci-pull:hX7#kq2!Vm9zR4pT")
    path = _config(tmp_path, {"auths": {"registry.acme.example:5443": blob}})
    [(status, message, fix, location)] = _findings("RD301", [path])
    assert status == "fail" and '$.auths["registry.acme.example:5443"] must be an object' in message
    assert (location.line, location.column) == (3, 33)
    assert blob not in message + fix


def test_rd301_typo_and_field_case(tmp_path):
    path = _config(tmp_path, {"auths": {"ghcr.io": {"Auth": b64("bot:ghp_token-value")}}, "credStore": "desktop"})
    found = _findings("RD301", [path])
    assert {s for s, *_ in found} == {"warn"}
    assert any('did you mean "credsStore"' in m for _, m, _, _ in found)
    assert any('"Auth" works for the docker CLI only' in m for _, m, _, _ in found)
    # the CLI reads "Auth", so the entry is basic auth
    assert _findings("RD303", [path])[0][0] == "pass"


def test_rd302_case_variant_and_empty_store(tmp_path):
    path = _config(tmp_path, {"auths": {"ghcr.io": {}}, "CredsStore": "pass"})
    [(status, message, _fix, location)] = _findings("RD302", [path])
    assert status == "fail" and '"CredsStore" sends every registry login to docker-credential-pass' in message
    assert "empty {} marker" in message and location.line == 5
    empty = _config(tmp_path, {"auths": {}, "credsStore": "", "credHelpers": {}}, name="empty.json")
    assert _findings("RD302", [empty])[0][0] == "pass"


def test_rd303_one_finding_per_bad_entry_at_its_line(tmp_path):
    path = _config(tmp_path, {"auths": {
        "a.example": {"auth": b64("user:pw")},
        "b.example": {"username": "ci"},
        "c.example": {"auth": b64("user:")},
        "d.example": None,
    }})
    found = _findings("RD303", [path])
    fails = [(m, loc.line) for s, m, _, loc in found if s == "fail"]
    assert [line for _, line in fails] == [6, 9, 12]
    assert "no password" in fails[0][0] and "empty password" in fails[1][0] and "no credentials" in fails[2][0]
    assert ("pass", "basic credentials for a.example") in [(s, m) for s, m, _, _ in found]


def test_rd304_near_misses(tmp_path):
    cfg = _config(tmp_path, {"auths": {"Registry.Acme.Example:5443": {"auth": b64("u:p")},
                                       "my-private-registry": {"auth": b64("u:p")}}})
    script = tmp_path / "start.sh"
    script.write_text(RUNNER.format(mount="./config.json:/root/.docker/config.json:ro",
                                    pause="registry.acme.example:5443/b/pause:3.9"))
    [(status, message, _fix, location)] = _findings("RD304", [script])
    assert status == "warn" and "only in case" in message and location.line == 12
    script.write_text(RUNNER.format(mount="./config.json:/root/.docker/config.json:ro",
                                    pause="my-private-registry/pause:3.9"))
    [(status, message, _fix, _)] = _findings("RD304", [script])
    assert status == "warn" and "names no registry host" in message
    assert cfg.exists()


def test_rd304_public_atlassian_registry_and_variables(tmp_path):
    _config(tmp_path, CREDS)
    script = tmp_path / "start.sh"
    script.write_text(RUNNER.format(
        mount="./config.json:/root/.docker/config.json:ro",
        pause="docker-hub.packages.atlassian.com/google/pause:3.9"))
    [(status, message, _fix, _)] = _findings("RD304", [script])
    assert status == "pass" and "public registry" in message
    script.write_text(RUNNER.format(mount="./config.json:/root/.docker/config.json:ro", pause="'$MIRROR/pause:3.9'"))
    [(status, message, _fix, _)] = _findings("RD304", [script])
    assert status == "skip" and "$MIRROR" in message


def test_rule_cases_cover_the_fixtures():
    """Every file under fixtures/docker-config is used by a rule case (no dead fixtures)."""
    used = set()
    for path in glob.glob(os.path.join(ROOT, "tests", "rule_cases", "RD30*.yaml")):
        with open(path) as fh:
            for case in yaml.safe_load(fh)["cases"]:
                used.update(case.get("targets") or [case["target"]])
                used.add(case.get("docker_config"))
    mounted = {"fixtures/docker-config/docker-config/config.json", "fixtures/docker-config/other-registry/config.json",
               "fixtures/docker-config/hub-login/config.json"}
    for path in _fixture_configs() + sorted(glob.glob(os.path.join(CONFIGS, "*.sh"))):
        rel = os.path.relpath(path, ROOT)
        assert rel in used or rel in mounted, rel
