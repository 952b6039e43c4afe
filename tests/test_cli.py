"""The command-line contract: exit codes, JSON schema, input errors, the terminal report."""

import glob
import json
import os
import re

import jsonschema
import pytest

from doctor import engine
from doctor.model import Origin, RunnerKind, RunnerSetup, Status, Subject
from doctor.rulebase import Context, Rule
from tests.conftest import FIXTURES, ROOT, run_cli

ANSI = re.compile(r"\x1b\[")
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _has_colour(text):
    """Any SGR foreground/background colour code (bold and dim are not colour)."""
    for params in SGR.findall(text):
        for code in filter(None, params.split(";")):
            if 30 <= int(code) <= 49 or 90 <= int(code) <= 107:
                return True
    return False


def _schema():
    from importlib import resources

    return json.loads(resources.files("doctor").joinpath("schemas/report.schema.json").read_text())


def _runner_fixtures():
    """Every fixture that holds a runner configuration (input-error fixtures excluded)."""
    out = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "**", "*"), recursive=True)):
        rel = os.path.relpath(path, FIXTURES)
        if os.path.isdir(path) or rel.startswith(("bad-input", "docker-config")) or "/." in rel:
            continue
        if path.endswith((".env", ".md")) or os.path.basename(path).startswith("."):
            continue
        out.append(path)
    return out


@pytest.mark.parametrize("path", _runner_fixtures(), ids=lambda p: os.path.relpath(p, FIXTURES))
def test_json_output_is_valid_against_the_published_schema(path):
    proc = run_cli(["check", "--offline", "--format", "json", path])
    if proc.returncode == 2:  # a fixture that is not a runner configuration (env files, ...)
        assert proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1
        return
    doc = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(_schema()).validate(doc)
    assert doc["summary"] == {s: sum(f["status"] == s for f in doc["findings"]) for s in doc["summary"]}
    # every selected rule yields a finding for every subject it applies to
    for subject in doc["subjects"]:
        # (RD900 reports on a file's inline suppressions, after the rules ran)
        rules = {f["rule"] for f in doc["findings"] if f["subject"] == subject["id"] and f["rule"] != "RD900"}
        expected = {r.id for r in engine.all_rules().values() if subject["kind"] in r.applies_to}
        assert rules == expected
    assert proc.returncode == (1 if doc["summary"]["fail"] + doc["summary"]["error"] else 0)


def test_exit_code_0_when_nothing_fails():
    proc = run_cli(["check", os.path.join(ROOT, "examples", "start-runner.sh")])
    assert proc.returncode == 0, proc.stdout
    assert "Result: OK" in proc.stdout


def test_exit_code_1_when_a_check_fails():
    proc = run_cli(["check", os.path.join(FIXTURES, "docker-run", "no-socket.sh")])
    assert proc.returncode == 1
    assert "Result: FAIL" in proc.stdout
    assert "fix: add -v /var/run/docker.sock:/var/run/docker.sock" in proc.stdout


def _bad_inputs(tmp_path):
    (tmp_path / "empty.sh").write_text("")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.sh").write_bytes(b"docker run -e X=caf\xe9 img\n")
    (tmp_path / "notes.txt").write_text("deploy notes\n\nnothing to see here\n")
    (tmp_path / "huge.sh").write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    (tmp_path / "other.sh").write_text("docker run -d --name web -p 80:80 nginx:1.27\n")
    (tmp_path / "list.json").write_text("[1, 2, 3]\n")
    (tmp_path / "folder").mkdir()
    return {
        "empty.sh": "empty",
        "binary.bin": "binary",
        "latin1.sh": "UTF-8",
        "notes.txt": "no Bitbucket runner start command found",
        "huge.sh": "too large",
        "other.sh": "no Bitbucket runner start command found",
        "list.json": "no Bitbucket runner",
        "folder": "folder",
        "missing.sh": "no such file",
    }


def test_unusable_targets_exit_2_with_one_line_naming_file_and_reason(tmp_path):
    for name, reason in _bad_inputs(tmp_path).items():
        path = str(tmp_path / name)
        for fmt in ("rich", "json"):
            proc = run_cli(["check", "--format", fmt, path])
            assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1, (name, proc.stderr)
            assert path in lines[0] and reason.lower() in lines[0].lower(), (name, lines[0])
            assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_usage_errors_exit_2():
    assert run_cli(["check", "--offline"]).returncode == 2  # no TARGET and no live host
    proc = run_cli(["check", "--select", "RD999", os.path.join(ROOT, "examples", "start-runner.sh")])
    assert proc.returncode == 2 and "unknown rule" in proc.stderr
    assert run_cli(["check", "--format", "xml", "x"]).returncode == 2
    proc = run_cli(["check", "--docker-config", "/nonexistent/config.json",
                    os.path.join(ROOT, "examples", "start-runner.sh")])
    assert proc.returncode == 2 and "/nonexistent/config.json: no such file" in proc.stderr
    assert run_cli(["explain", "RD999"]).returncode == 2


def test_standard_input_is_a_target():
    with open(os.path.join(FIXTURES, "docker-run", "no-socket.sh")) as fh:
        text = fh.read()
    proc = run_cli(["check", "--format", "json", "-"], stdin=text)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["subjects"][0]["path"] == "<stdin>"
    assert any(f["rule"] == "RD101" and f["status"] == "fail" for f in doc["findings"])


def test_select_and_ignore():
    target = os.path.join(FIXTURES, "docker-run", "no-socket.sh")
    doc = json.loads(run_cli(["check", "--format", "json", "--select", "RD1", "--ignore", "RD101", target]).stdout)
    assert {f["rule"] for f in doc["findings"]} == {r for r in engine.all_rules() if r.startswith("RD1")} - {"RD101"}
    doc = json.loads(run_cli(["check", "--format", "json", "--select", "docker-socket,RD001", target]).stdout)
    assert {f["rule"] for f in doc["findings"]} == {"RD001", "RD101"}


def test_default_command_is_check():
    proc = run_cli([os.path.join(FIXTURES, "docker-run", "dialog.sh"), "--format", "json"])
    assert json.loads(proc.stdout)["subjects"]


def test_help_and_version():
    proc = run_cli(["--help"])
    assert proc.returncode == 0 and "check" in proc.stdout and "explain" in proc.stdout
    proc = run_cli(["check", "--help"])
    assert proc.returncode == 0 and "exit codes" in proc.stdout and "--docker-config" in proc.stdout
    proc = run_cli(["--version"])
    assert proc.returncode == 0 and re.match(r"runner-doctor \d+\.\d+", proc.stdout)


def test_report_reads_at_80_columns_without_colour_in_a_log():
    target = os.path.join(ROOT, "examples", "broken-runner.sh")
    proc = run_cli(["check", target], env={"COLUMNS": "80"})
    assert proc.returncode == 1
    assert not ANSI.search(proc.stdout)
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80
    # NO_COLOR on a terminal: no colour (bold and dim may stay, as no-color.org allows)
    proc = run_cli(["check", target], env={"NO_COLOR": "1", "TTY_COMPATIBLE": "1", "FORCE_COLOR": ""})
    assert not _has_colour(proc.stdout)


def test_colour_on_a_terminal():
    target = os.path.join(ROOT, "examples", "broken-runner.sh")
    env = {"FORCE_COLOR": "1"}
    proc = run_cli(["check", target], env={**env, "NO_COLOR": ""})
    assert _has_colour(proc.stdout)


def test_rules_and_explain():
    proc = run_cli(["rules"])
    assert proc.returncode == 0
    for rid in engine.all_rules():
        assert rid in proc.stdout
    proc = run_cli(["explain", "RD102"])
    assert proc.returncode == 0 and "read-only" in proc.stdout and "Fix" in proc.stdout
    proc = run_cli(["explain", "working-directory"])
    assert proc.returncode == 0 and "RD103" in proc.stdout


def test_rules_page_is_in_sync():
    proc = run_cli(["rules", "--format", "markdown"])
    with open(os.path.join(ROOT, "docs", "rules.md"), encoding="utf-8") as fh:
        assert fh.read() == proc.stdout, "regenerate: runner-doctor rules --format markdown > docs/rules.md"


def test_readme_rule_table_lists_every_rule():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    for rid, rule in engine.all_rules().items():
        assert f"| {rid} | {rule.name} |" in readme, f"README rule table lacks {rid}"


class _Broken(Rule):
    id = "RD999"
    name = "broken"

    def check(self, subject, ctx):
        raise KeyError("OAUTH_CLIENT_SECRET=do-not-print-me")


def test_a_broken_rule_becomes_an_error_finding_and_the_others_still_run():
    setup = RunnerSetup(kind=RunnerKind.LINUX_DOCKER, form="docker-run", origin=Origin("x.sh", 1, 1))
    subject = Subject("x.sh:1", "runner", "x.sh", 1, "x", runner=setup)
    rules = [_Broken(), engine.all_rules()["RD101"]]
    findings = engine.run([subject], rules, Context())
    assert [f.status for f in findings] == [Status.ERROR, Status.FAIL]
    assert "do-not-print-me" not in findings[0].message
    assert "KeyError" in findings[0].message


def test_a_terminal_that_cannot_show_unicode_gets_a_report_not_a_crash():
    proc = run_cli(["check", os.path.join(ROOT, "examples", "broken-runner.sh")], env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 1 and "Result: FAIL" in proc.stdout and proc.stderr == ""


class _NeedsDaemon(Rule):
    id = "RD998"
    name = "needs-daemon"
    needs = frozenset({"daemon"})

    def check(self, subject, ctx):
        yield self.ok("the daemon answered")


def test_a_rule_that_needs_live_data_is_skipped_with_the_reason():
    setup = RunnerSetup(kind=RunnerKind.LINUX_DOCKER, form="docker-run", origin=Origin("x.sh", 1, 1))
    subject = Subject("x.sh:1", "runner", "x.sh", 1, "x", runner=setup)
    [offline] = engine.run([subject], [_NeedsDaemon()], Context(offline=True))
    assert offline.status is Status.SKIP and "--offline" in offline.message
    [unreachable] = engine.run([subject], [_NeedsDaemon()], Context())
    assert unreachable.status is Status.SKIP and "could not reach" in unreachable.message
    from doctor.live.daemon import DaemonFacts

    ctx = Context()
    ctx.daemon = DaemonFacts("unix:///var/run/docker.sock", "default", version={"Version": "28.2.2"})
    [live] = engine.run([subject], [_NeedsDaemon()], ctx)
    assert live.status is Status.PASS


def test_fix_is_a_command_and_its_output_passes_check(tmp_path):
    proc = run_cli(["fix", os.path.join(ROOT, "examples", "broken-runner.sh")])
    assert proc.returncode == 0 and "docker container run" in proc.stdout and "fixed RD103" in proc.stderr
    fixed = tmp_path / "fixed.sh"
    fixed.write_text(proc.stdout)
    check = run_cli(["check", "--offline", str(fixed)])
    assert check.returncode == 0, check.stdout
    assert run_cli(["fix", "--help"]).returncode == 0
