"""The CI gate: several outputs, exit thresholds, the configuration file, inline suppressions, baselines."""

import json
import os
import shutil
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

BROKEN = os.path.join(ROOT, "examples", "broken-runner.sh")
GOOD = os.path.join(ROOT, "examples", "start-runner.sh")
WARN_ONLY = os.path.join(FIXTURES, "docker-run", "dialog.sh")  # passes, but warns (no restart policy, ...)


def _json(proc):
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------- outputs and exit codes

def test_several_outputs_in_one_run(tmp_path):
    junit = tmp_path / "test-results" / "runner-doctor.xml"
    sarif = tmp_path / "report.sarif"
    md = tmp_path / "summary.md"
    proc = run_cli(["check", "--offline", BROKEN, "--output", f"junit={junit}", "--output", f"sarif={sarif}",
                    "--output", f"markdown={md}", "--output", f"json={tmp_path / 'r.json'}"])
    assert proc.returncode == 1 and "Result: FAIL" in proc.stdout  # the terminal report as well
    root = ET.parse(junit).getroot()
    assert int(root.get("failures")) > 0
    with open(os.path.join(ROOT, "tests", "schemas", "sarif-2.1.0.json"), encoding="utf-8") as fh:
        jsonschema.Draft202012Validator(json.load(fh)).validate(json.loads(sarif.read_text()))
    assert md.read_text().startswith("# runner-doctor report")
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["fail"] > 0


def test_bad_output_argument_is_a_usage_error(tmp_path):
    for arg in ("xml=out.xml", "junit", "junit="):
        proc = run_cli(["check", "--offline", GOOD, "--output", arg])
        assert proc.returncode == 2 and "--output" in proc.stderr
    proc = run_cli(["check", "--offline", GOOD, "--output", f"json={tmp_path}/missing-dir-is-made/r.json"])
    assert proc.returncode == 0
    proc = run_cli(["check", "--offline", GOOD, "--output", "json=/proc/nope/r.json"])
    assert proc.returncode == 2 and "/proc/nope/r.json" in proc.stderr


def test_fail_on_and_exit_zero():
    assert run_cli(["check", "--offline", WARN_ONLY]).returncode == 0
    assert run_cli(["check", "--offline", "--fail-on", "warn", WARN_ONLY]).returncode == 1
    assert run_cli(["check", "--offline", "--fail-on", "fail", WARN_ONLY]).returncode == 0
    assert run_cli(["check", "--offline", "--exit-zero", BROKEN]).returncode == 0
    assert run_cli(["check", "--offline", "--exit-zero", "missing.sh"]).returncode == 2  # input errors still 2


# ---------------------------------------------------------------- configuration

def _project(tmp_path, config_text, name="runner-doctor.toml"):
    (tmp_path / name).write_text(config_text)
    sub = tmp_path / "deploy" / "runners"
    sub.mkdir(parents=True)
    shutil.copy(BROKEN, sub / "start.sh")
    return sub


def test_config_found_upwards_sets_selection_severity_and_defaults(tmp_path):
    sub = _project(tmp_path, """\
select = ["RD1", "RD2", "RD004"]
ignore = ["RD205"]
[severity]
RD204 = "error"     # a variable the runner ignores fails this gate
RD103 = "warning"
RD206 = "off"
[defaults]
format = "json"
offline = true
""")
    doc = _json(run_cli(["check", "start.sh"], cwd=str(sub)))
    rules = {f["rule"] for f in doc["findings"]}
    assert rules and all(r.startswith(("RD1", "RD2")) or r == "RD004" for r in rules)
    assert "RD205" not in rules and "RD206" not in rules
    status = {f["rule"]: f["status"] for f in doc["findings"]}
    assert status["RD204"] == "fail" and status["RD103"] == "warn"
    # flags win over the file
    proc = run_cli(["check", "--format", "rich", "--select", "RD101", "start.sh"], cwd=str(sub))
    assert "RD101" in proc.stdout and "RD204" not in proc.stdout


def test_pyproject_table_and_show_config(tmp_path):
    sub = _project(tmp_path, '[project]\nname = "infra"\n\n[tool.runner-doctor]\nignore = ["RD004"]\n'
                             '[tool.runner-doctor.defaults]\ntimeout = 3\n', name="pyproject.toml")
    proc = run_cli(["check", "--show-config", "--timeout", "5"], cwd=str(sub))
    assert proc.returncode == 0
    assert f"# configuration file: {tmp_path / 'pyproject.toml'}" in proc.stdout
    assert 'ignore = ["RD004"]' in proc.stdout and "[tool.runner-doctor]" in proc.stdout
    assert "timeout = 5.0    # command line" in proc.stdout


def test_config_flag_overrides_discovery(tmp_path):
    sub = _project(tmp_path, 'select = ["RD101"]\n')
    other = tmp_path / "other.toml"
    other.write_text('select = ["RD102"]\n[defaults]\nformat = "json"\noffline = true\n')
    doc = _json(run_cli(["check", "--config", str(other), "start.sh"], cwd=str(sub)))
    assert {f["rule"] for f in doc["findings"]} == {"RD102"}


@pytest.mark.parametrize("text,expected", [
    ('selct = ["RD1"]\n', "runner-doctor.toml:1: selct: unknown key 'selct'"),
    ('select = ["RD1"]\n\n[severity]\nRD204 = "fatal"\n', "runner-doctor.toml:4: severity.RD204: 'fatal' is not one of"),
    ('[severity]\nRD999 = "error"\n', "runner-doctor.toml:2: severity.RD999: no such rule"),
    ('ignore = ["RD8"]\n', "runner-doctor.toml:1: ignore: unknown rule 'RD8'"),
    ('[defaults]\nformat = "yaml"\n', "runner-doctor.toml:2: defaults.format: 'yaml' is not one of"),
    ('select = "RD1"\n', "runner-doctor.toml:1: select: 'RD1' is not of type 'array'"),
    ("select = [\n", "runner-doctor.toml: not valid TOML"),
])
def test_a_bad_config_file_is_an_error_naming_file_line_and_key(tmp_path, text, expected):
    sub = _project(tmp_path, text)
    proc = run_cli(["check", "--offline", "start.sh"], cwd=str(sub))
    assert proc.returncode == 2
    assert expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- inline suppressions

def test_a_suppressed_finding_is_reported_and_does_not_decide_the_exit_code(tmp_path):
    script = tmp_path / "start.sh"
    text = open(BROKEN).read().replace("docker container run -it", "# runner-doctor: ignore RD205, RD204 until "
                                       "2099-01-01 -- rotated by the vault agent\ndocker container run -it", 1)
    script.write_text(text)
    doc = _json(run_cli(["check", "--offline", "--format", "json", str(script)]))
    suppressed = [f for f in doc["findings"] if "suppressed" in f]
    assert {f["rule"] for f in suppressed} == {"RD204", "RD205"}
    assert suppressed[0]["suppressed"] == {"reason": "rotated by the vault agent", "until": "2099-01-01"}
    assert any(f["rule"] == "RD900" and f["status"] == "pass" for f in doc["findings"])


def test_suppressing_the_only_failure_makes_the_gate_pass(tmp_path):
    src = open(os.path.join(FIXTURES, "docker-run", "no-socket.sh")).read()
    script = tmp_path / "start.sh"
    script.write_text(src.replace("docker container run", "# runner-doctor: ignore docker-socket -- the socket "
                                  "comes from a socket proxy sidecar\ndocker container run", 1))
    proc = run_cli(["check", "--offline", str(script)])
    assert proc.returncode == 0, proc.stdout
    assert "suppressed: the socket comes from a socket proxy sidecar" in " ".join(proc.stdout.split())
    # without the comment the gate fails
    assert run_cli(["check", "--offline", os.path.join(FIXTURES, "docker-run", "no-socket.sh")]).returncode == 1


def test_expired_unknown_and_unused_suppressions_warn(tmp_path):
    src = open(os.path.join(FIXTURES, "docker-run", "no-socket.sh")).read()
    script = tmp_path / "start.sh"
    script.write_text("# runner-doctor: ignore RD101 until 2020-01-01 -- was temporary\n"
                      "# runner-doctor: ignore RD999 -- no such rule\n"
                      "# runner-doctor: ignore RD102 -- the containers folder is fine\n" + src)
    doc = _json(run_cli(["check", "--offline", "--format", "json", str(script)]))
    meta = [f["message"] for f in doc["findings"] if f["rule"] == "RD900"]
    assert any("expired on 2020-01-01" in m for m in meta)
    assert any("'RD999' is not a rule" in m for m in meta)
    assert any("RD102" in m and "matches no problem" in m for m in meta)
    rd101 = [f for f in doc["findings"] if f["rule"] == "RD101"]
    assert rd101[0]["status"] == "fail" and "suppressed" not in rd101[0]  # the expired one no longer applies


def test_suppressions_in_compose_and_systemd(tmp_path):
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("""\
services:
  runner-1:
    # runner-doctor: ignore RD103 -- the volume is a host bind through the local driver
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    volumes:
      - runner1-work:/tmp
    environment:
      - WORKING_DIRECTORY=/tmp
  runner-2:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    volumes:
      - runner2-work:/tmp
    environment:
      - WORKING_DIRECTORY=/tmp
""")
    doc = _json(run_cli(["check", "--offline", "--format", "json", "--select", "RD103", str(compose)]))
    by_subject = {f["subject"]: f for f in doc["findings"] if f["rule"] == "RD103"}
    first, second = sorted(by_subject.values(), key=lambda f: f["location"]["line"])
    assert "suppressed" in first and "suppressed" not in second
    unit = tmp_path / "runner.service"
    unit.write_text("""\
[Service]
; runner-doctor: ignore RD004 -- started by our supervisor, not systemd
ExecStart=/usr/bin/docker run -v /tmp:/tmp docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
""")
    doc = _json(run_cli(["check", "--offline", "--format", "json", "--select", "RD004", str(unit)]))
    assert all("suppressed" in f for f in doc["findings"] if f["rule"] == "RD004" and f["status"] != "pass")


# ---------------------------------------------------------------- baselines

def test_baseline_hides_known_findings_and_reports_new_ones(tmp_path):
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.copy(BROKEN, fleet / "host-1.sh")
    base = tmp_path / "baseline.json"
    proc = run_cli(["check", "--offline", "--write-baseline", str(base), str(fleet / "host-1.sh")])
    assert proc.returncode == 1 and "to the baseline" in proc.stdout
    assert json.loads(base.read_text())["findings"]
    # the same findings again, lines shifted by an edit above them: all known, the gate passes
    (fleet / "host-1.sh").write_text("#!/bin/bash\n# provisioned by ansible\n" + open(BROKEN).read())
    proc = run_cli(["check", "--offline", "--baseline", str(base), str(fleet / "host-1.sh")])
    assert proc.returncode == 0, proc.stdout
    assert "hidden by the baseline" in proc.stdout
    # a new problem is reported and fails the gate
    (fleet / "host-1.sh").write_text(open(BROKEN).read().replace(
        "-v /var/run/docker.sock:/var/run/docker.sock \\ \n", ""))
    doc = _json(run_cli(["check", "--offline", "--format", "json", "--baseline", str(base), str(fleet / "host-1.sh")]))
    assert {f["rule"] for f in doc["findings"] if f["status"] == "fail"} == {"RD101"}


def test_a_bad_baseline_is_a_usage_error(tmp_path):
    bad = tmp_path / "b.json"
    bad.write_text('{"not": "a baseline"}')
    proc = run_cli(["check", "--offline", "--baseline", str(bad), GOOD])
    assert proc.returncode == 2 and "not a runner-doctor baseline" in proc.stderr
    proc = run_cli(["check", "--offline", "--baseline", str(tmp_path / "missing.json"), GOOD])
    assert proc.returncode == 2 and "missing.json" in proc.stderr


def test_rules_shows_each_rules_status_under_the_configuration(tmp_path):
    (tmp_path / "runner-doctor.toml").write_text('ignore = ["RD404"]\n[severity]\nRD204 = "error"\n')
    proc = run_cli(["rules", "--format", "json"], cwd=str(tmp_path))
    status = {r["id"]: r["status"] for r in json.loads(proc.stdout)}
    assert status["RD404"].startswith("off (ignored by") and status["RD204"].startswith("on, severity error")
    assert status["RD101"] == "on"
    proc = run_cli(["rules"], cwd=str(tmp_path))
    assert "Status as set by" in proc.stdout and "on: error" in proc.stdout
