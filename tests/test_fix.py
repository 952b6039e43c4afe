"""`runner-doctor fix`: the corrected command passes `check`, --write touches only the command, no secret leaks."""

import argparse
import glob
import os
import shutil
import subprocess
import sys

import pytest

from doctor import api
from doctor.fix import add_parser, main, printed
from doctor.fixer import fix_text
from doctor.inputs.common import LoadOptions
from doctor.model import Status
from tests.conftest import FIXTURES, ROOT

RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"
IDS = ("-e ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b} \\\n"
       "  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \\\n"
       "  -e OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J \\\n")

# the rules whose problems fix repairs: no `fail` may be left for them
FIXED_RULES = {"RD002", "RD003", "RD004", "RD101", "RD102", "RD103", "RD104", "RD201", "RD202", "RD203", "RD204",
               "RD205", "RD206"}
# what fix cannot repair, and why: the values only the user has
UNREPAIRABLE = {
    ("env/placeholders.sh", "RD201"): "ACCOUNT_UUID, RUNNER_UUID, REPOSITORY_UUID and OAUTH_CLIENT_ID hold the "
                                      "documentation's placeholders: only the runner dialog has the values",
    ("env/placeholders.sh", "RD206"): "the container name is built from the RUNNER_UUID placeholder",
}
# forms fix does not rewrite (exit 2, one line on stderr)
CANNOT_FIX = {"env/linux-shell.sh", "env/linux-shell-no-secret.sh", "env/windows.ps1", "env/windows-unquoted.ps1"}
NOT_A_RUNNER = {"compose/no-runner.yml"}


def _targets():
    out = []
    for folder in ("docker-run", "env", "systemd", "compose", "docker-config"):
        for path in sorted(glob.glob(os.path.join(FIXTURES, folder, "**", "*"), recursive=True)):
            if os.path.isdir(path) or path.endswith((".env", ".json")):
                continue
            out.append(os.path.relpath(path, FIXTURES))
    return out + ["../examples/broken-runner.sh"]


def _copy(rel, tmp_path):
    """The fixture in a copy of its folder (env files and config folders next to it come along)."""
    src = os.path.join(FIXTURES, rel)
    folder = tmp_path / "in"
    shutil.copytree(os.path.dirname(src), folder)
    return str(folder / os.path.basename(src))


def _fails(path, **kwargs):
    report = api.check([path], offline=True, **kwargs)
    return {(f.rule, f.message) for f in report.findings if f.status in (Status.FAIL, Status.ERROR)
            and f.rule in FIXED_RULES}


def _allowed(rel, fails):
    return {(rule, msg) for rule, msg in fails if (rel, rule) not in UNREPAIRABLE}


def _fix(path, **kwargs):
    with open(path, encoding="utf-8") as fh:
        return fix_text(path, fh.read(), LoadOptions(**kwargs))


def _uncommented(text):
    return [line for line in text.splitlines() if not line.lstrip().startswith("# ")]


def run_fix(argv, capsys):
    parser = argparse.ArgumentParser(prog="runner-doctor")
    add_parser(parser.add_subparsers(dest="command"))
    code = main(parser.parse_args(["fix", *argv]))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("rel", [t for t in _targets() if t not in CANNOT_FIX | NOT_A_RUNNER])
def test_fixed_output_passes_check(rel, tmp_path):
    path = _copy(rel, tmp_path)
    before = _allowed(rel, _fails(path))
    result = _fix(path)
    if before:
        assert result.changed, f"{rel}: check fails ({sorted(before)}) but fix changed nothing"
    # the printed text, on its own
    out = os.path.join(os.path.dirname(path), "fixed-" + os.path.basename(path))
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(printed(result))
    assert _allowed(rel, _fails(out)) == set()
    # idempotence: fixing the fixed file changes nothing; nor does fixing a printed command or service
    # (a printed ExecStart= alone lacks its unit's Restart=, so units are refixed whole only)
    whole = os.path.join(os.path.dirname(path), "whole-" + os.path.basename(path))
    with open(whole, "w", encoding="utf-8") as fh:
        fh.write(result.fixed)
    assert not _fix(whole).changed
    if result.form != "systemd":
        again = _fix(out)
        assert not again.changed, [c.message for r in again.runners for c in r.changes]
        assert _uncommented(printed(again)) == _uncommented(printed(result))
    # the whole file as --write leaves it
    if result.changed and not result.refusal:
        from doctor.fixer.output import write_fixed

        write_fixed(path, result.original, result.fixed)
        assert _allowed(rel, _fails(path)) == set()
        assert not _fix(path).changed


@pytest.mark.parametrize("rel", sorted(CANNOT_FIX) + ["inspect/runner-container.json", "kubernetes/atlassian-job.yaml",
                                                      "docker-config/login-basic.json"])
def test_forms_fix_cannot_rewrite_exit_2_with_one_line(rel, capsys):
    code, out, err = run_fix([os.path.join(FIXTURES, rel)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "cannot be fixed" in err


def test_the_example_is_repaired_in_full(capsys):
    code, out, err = run_fix([os.path.join(ROOT, "examples", "broken-runner.sh")], capsys)
    assert code == 0
    assert out.startswith("docker container run -d --restart always \\\n")
    for wanted in ("-v /tmp/runner-1:/tmp/runner-1 \\", "-v /var/run/docker.sock:/var/run/docker.sock \\",
                   "-v /var/lib/docker/containers:/var/lib/docker/containers:ro \\",
                   "-e ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b} \\", "-e OAUTH_CLIENT_SECRET \\",
                   "-e WORKING_DIRECTORY=/tmp/runner-1 \\", "-e RUNTIME_PREREQUISITES_ENABLED=true \\",
                   "--name runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 \\",
                   "-e RUNNER_LABELS=linux,docker \\"):  # kept: not wrong, only unread
        assert f"\n  {wanted}\n" in out, wanted
    assert out.rstrip("\n").endswith("\n  " + RUNNER)
    assert "-it" not in out and "\\ \n" not in out
    for rule in ("RD002", "RD003", "RD102", "RD103", "RD202", "RD203", "RD205", "RD206"):
        assert f"fixed {rule}:" in err


def _script(tmp_path, body, name="start-runner.sh", mode=0o750):
    path = tmp_path / name
    path.write_text(body)
    os.chmod(path, mode)
    return str(path)


HEADER = "#!/bin/sh\n# provisioning  \t(trailing blanks kept)   \nset -eu\nmkdir -p /tmp\n"
TRAILER = "echo 'started'   \n\n# end\n"
BROKEN = (f"docker run -it \\\n  -v /tmp:/tmp \\ \n  {IDS}"
          f"  -e OAUTH_CLIENT_SECRET=\"$SECRET\" -e WORKING_DIRECTORY=/tmp \\\n  {RUNNER} --restart=always\n")


def test_write_replaces_only_the_command_and_keeps_a_backup(tmp_path, capsys):
    path = _script(tmp_path, HEADER + BROKEN + TRAILER)
    original = open(path, "rb").read()
    code, out, err = run_fix(["--write", path], capsys)
    assert code == 0, err
    written = open(path, "rb").read()
    assert written.startswith(HEADER.encode()) and written.endswith(TRAILER.encode())
    assert written[len(HEADER):-len(TRAILER)].decode() == out  # the printed command is what was written
    assert open(path + ".bak", "rb").read() == original
    assert os.stat(path).st_mode & 0o777 == 0o750
    assert f"previous version is in {path}.bak" in err
    assert _fails(path) == set()
    # fixing again: nothing to do, nothing written, no second backup
    code, out2, err = run_fix(["--write", path], capsys)
    assert code == 0 and out2 == out and "nothing to fix" in err
    assert not os.path.exists(path + ".bak.1")


def test_an_existing_backup_is_never_overwritten(tmp_path, capsys):
    path = _script(tmp_path, HEADER + BROKEN)
    for name in (".bak", ".bak.1"):
        (tmp_path / ("start-runner.sh" + name)).write_text("keep me\n")
    code, _out, _err = run_fix(["--write", path], capsys)
    assert code == 0
    assert (tmp_path / "start-runner.sh.bak").read_text() == "keep me\n"
    assert (tmp_path / "start-runner.sh.bak.1").read_text() == "keep me\n"
    assert (tmp_path / "start-runner.sh.bak.2").read_text() == HEADER + BROKEN


def test_crlf_files_keep_their_line_ends_and_mixed_ones_are_not_written(tmp_path, capsys):
    path = _script(tmp_path, "")
    with open(path, "wb") as fh:
        fh.write((HEADER + BROKEN + TRAILER).replace("\n", "\r\n").encode())
    assert run_fix(["--write", path], capsys)[0] == 0
    data = open(path, "rb").read()
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(TRAILER.replace("\n", "\r\n").encode())
    mixed = _script(tmp_path, "", name="mixed.sh")
    with open(mixed, "wb") as fh:
        fh.write(HEADER.replace("\n", "\r\n").encode() + BROKEN.encode())
    code, _out, err = run_fix(["--write", mixed], capsys)
    assert code == 2 and "mixes CRLF and LF" in err and not os.path.exists(mixed + ".bak")


def test_a_unit_gets_restart_and_loses_the_terminal(tmp_path, capsys):
    unit = tmp_path / "runner.service"
    unit.write_text("[Unit]\nDescription=runner\n\n[Service]\nExecStart=/usr/bin/docker run -it -d "
                    f"-v /tmp:/tmp {IDS.replace(chr(92) + chr(10), '')} -e OAUTH_CLIENT_SECRET "
                    f"-e WORKING_DIRECTORY=/tmp -e RUNTIME_PREREQUISITES_ENABLED=true {RUNNER}\n\n"
                    "[Install]\nWantedBy=multi-user.target\n")
    code, out, err = run_fix(["--write", str(unit)], capsys)
    assert code == 0, err
    text = unit.read_text()
    assert text.startswith("[Unit]\nDescription=runner\n\n[Service]\nExecStart=/usr/bin/docker container run \\\n")
    assert text.endswith(f"  {RUNNER}\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n")
    assert " -it" not in text and " -d" not in text
    assert out.rstrip("\n").endswith("Restart=always")
    report = api.check([str(unit)], offline=True)
    assert not [f for f in report.findings if f.rule == "RD004" and f.status is not Status.PASS]


def test_compose_edits_stay_in_the_service_and_keep_everything_else(tmp_path, capsys):
    path = tmp_path / "docker-compose.yml"
    head = "# the runners of build-04\nx-note: &note {a: 1}\nservices:\n"
    other = "  web:\n    image: nginx:1.27  # keep this comment\n    volumes: [/srv:/srv]\n"
    runner = (f"  runner:\n    image: {RUNNER}\n    volumes: [/tmp/r1:/tmp]   # flow style\n"
              "    environment:\n      ACCOUNT_UUID: {3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}\n"
              "      RUNNER_UUID: \"{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}\"\n"
              "      OAUTH_CLIENT_ID: Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J\n      OAUTH_CLIENT_SECRET:\n"
              "      WORKING_DIRECTORY: /tmp\n")
    tail = "volumes:\n  cache: {}\n"
    path.write_text(head + other + runner + tail)
    code, out, err = run_fix(["--write", str(path)], capsys)
    assert code == 0, err
    text = path.read_text()
    assert text.startswith(head + other) and text.endswith(tail)
    assert "volumes: [/tmp/r1:/tmp/r1, /var/run/docker.sock:/var/run/docker.sock, " \
           "/var/lib/docker/containers:/var/lib/docker/containers:ro]   # flow style" in text
    assert '      ACCOUNT_UUID: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"\n' in text
    assert "      WORKING_DIRECTORY: /tmp/r1\n" in text
    assert '      RUNTIME_PREREQUISITES_ENABLED: "true"\n' in text
    assert "    restart: unless-stopped\n" in text
    assert out.startswith("services:\n  runner:\n") and "web" not in out
    assert _fails(str(path)) == set()


def test_a_service_built_from_anchors_is_printed_flattened_and_not_written(tmp_path, capsys):
    src = open(os.path.join(FIXTURES, "compose", "anchors.yml")).read()
    path = tmp_path / "anchors.yml"
    path.write_text(src.replace("containers:/var/lib/docker/containers:ro", "containers:/var/lib/docker/containers"))
    before = path.read_bytes()
    code, out, err = run_fix(["--write", str(path)], capsys)
    assert code == 2 and "not written" in err and "<<:" not in out and "*runner" not in out
    assert path.read_bytes() == before and not os.path.exists(str(path) + ".bak")
    assert out.count("/var/lib/docker/containers:/var/lib/docker/containers:ro") == 2
    flat = tmp_path / "flat.yml"
    flat.write_text(out)
    assert _fails(str(flat)) == set()


def test_docker_config_option_mounts_the_config(tmp_path, capsys):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"auths": {"registry.acme.example:5443": {"auth": "dTpw"}}}')
    os.chmod(cfg, 0o600)
    path = _script(tmp_path, f"docker run -d --restart always -v /tmp:/tmp {IDS}"
                             f"  -e WORKING_DIRECTORY=/tmp -e PAUSE_IMAGE=registry.acme.example:5443/p:3 {RUNNER}\n")
    code, out, err = run_fix(["--docker-config", str(cfg), path], capsys)
    assert code == 0 and f"-v {cfg}:/root/.docker/config.json:ro" in out
    fixed = tmp_path / "fixed.sh"
    fixed.write_text(out)
    report = api.check([str(fixed)], offline=True)
    assert [f.status for f in report.findings if f.rule == "RD104"] == [Status.PASS]


CANARY = "ATOAcanaryFixLiteral000000000000000000000000000000000000000001"
CANARY_TYPO = "ATOAcanaryFixTypo00000000000000000000000000000000000000000002"
CANARY_TOKEN = "canary-fix-token-0003"
CANARY_UNIT = "ATOAcanaryFixUnit00000000000000000000000000000000000000000004"
CANARY_COMPOSE = "ATOAcanaryFixCompose0000000000000000000000000000000000000005"
CANARY_ENVFILE = "ATOAcanaryFixEnvFile0000000000000000000000000000000000000006"


@pytest.mark.parametrize("name,body", [
    ("literal.sh", f"docker run -it -v /tmp/x:/tmp {IDS}  -e OAUTH_CLIENT_SECRET={CANARY} "
                   f"-e WORKING_DIRECTORY=/tmp -e GITHUB_TOKEN={CANARY_TOKEN} {RUNNER}\n"),
    ("typo.sh", f"docker run -d -v /tmp:/tmp {IDS}  -e OAUTH_CLIENT_SECRETS={CANARY_TYPO} {RUNNER}\n"),
    ("runner.service", f"[Service]\nExecStart=/usr/bin/docker run -v /tmp:/tmp -e OAUTH_CLIENT_SECRET={CANARY_UNIT} "
                       f"-e WORKING_DIRECTORY=/tmp {RUNNER}\n"),
    ("docker-compose.yml", f"services:\n  runner:\n    image: {RUNNER}\n    environment:\n"
                           f"      - OAUTH_CLIENT_SECRET={CANARY_COMPOSE}\n      - WORKING_DIRECTORY=/tmp\n"),
])
def test_secrets_are_never_shown_and_never_written_away(tmp_path, capsys, name, body):
    path = _script(tmp_path, body, name=name, mode=0o600)
    code, out, err = run_fix(["--write", path], capsys)
    assert code == 2, err
    assert "not written" in err and "lose the value" in err
    for canary in (CANARY, CANARY_TYPO, CANARY_TOKEN, CANARY_UNIT, CANARY_COMPOSE):
        assert canary not in out and canary not in err
    assert open(path).read() == body and not os.path.exists(path + ".bak")
    assert "OAUTH_CLIENT_SECRET" in out  # as a reference


def test_a_secret_in_an_env_file_stays_there(tmp_path, capsys):
    (tmp_path / "runner.env").write_text(f"OAUTH_CLIENT_SECRET={CANARY_ENVFILE}\n")
    os.chmod(tmp_path / "runner.env", 0o600)
    path = _script(tmp_path, f"docker run -it -v /tmp:/tmp --env-file runner.env {IDS}  "
                             f"-e WORKING_DIRECTORY=/tmp {RUNNER}\n")
    code, out, err = run_fix(["--write", path], capsys)
    assert code == 0, err
    assert CANARY_ENVFILE not in out + err + open(path).read() + open(path + ".bak").read()
    assert "--env-file runner.env" in out


def test_standard_input_is_fixed_but_never_written():
    dialog = open(os.path.join(FIXTURES, "docker-run", "dialog.sh")).read()
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "doctor.fix", "-"], input=dialog, capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("docker container run -d --restart unless-stopped")
    assert "ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5jL9nQ2rS7uV4wX8zA1cE5fG3hJ6kM0pR4tV8xZ2bD" not in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, "-m", "doctor.fix", "--write", "-"], input=dialog, capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env=env)
    assert proc.returncode == 2 and "standard input cannot be rewritten" in proc.stderr


def test_several_runners_are_printed_in_order_with_a_comment_each(capsys):
    code, out, _err = run_fix([os.path.join(FIXTURES, "env", "two-runners.sh")], capsys)
    assert code == 0
    heads = [line for line in out.splitlines() if line.startswith("# ")]
    assert [h.split(":")[1] for h in heads] == ["3", "12"]
    assert out.index("runner-cee306c0") < out.index("runner-99dc2312-81a4-546d-9284-ade1b55917bf")


def test_help_names_the_options(capsys):
    parser = argparse.ArgumentParser(prog="runner-doctor")
    add_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["fix", "--help"])
    text = capsys.readouterr().out
    for option in ("--write", "--docker-config", "--runner-image", "TARGET", ".bak"):
        assert option in text


def test_a_service_missing_whole_sections_gets_them_at_its_indentation(tmp_path, capsys):
    path = tmp_path / "docker-compose.yml"
    path.write_text("services:\n    runner:\n        image: " + RUNNER.rsplit(":", 1)[0] + "\n"
                    "        container_name: 'runner-{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}'\n"
                    "        env_file: runner.env\n")
    (tmp_path / "runner.env").write_text("ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}\n"
                                         "RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}\n"
                                         "OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J\n")
    code, out, err = run_fix(["--write", str(path)], capsys)
    assert code == 0, err
    assert path.read_text() == (
        "services:\n    runner:\n        image: " + RUNNER + "\n"
        "        container_name: runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0\n"
        "        env_file: runner.env\n"
        "        restart: unless-stopped\n"
        "        environment:\n"
        "            OAUTH_CLIENT_SECRET: ${OAUTH_CLIENT_SECRET}\n"
        '            RUNTIME_PREREQUISITES_ENABLED: "true"\n'
        "            WORKING_DIRECTORY: /tmp\n"
        "        volumes:\n"
        "            - /var/run/docker.sock:/var/run/docker.sock\n"
        "            - /var/lib/docker/containers:/var/lib/docker/containers:ro\n"
        "            - /tmp:/tmp\n")
    assert _fails(str(path)) == set()


def test_in_a_file_with_other_runners_only_the_docker_runner_is_fixed(tmp_path, capsys):
    path = _script(tmp_path, f"docker run -d -v /tmp:/tmp {IDS}  -e WORKING_DIRECTORY=/tmp {RUNNER}\n"
                             "./start.sh --accountUuid {a} --runnerUuid {r} --OAuthClientId x --runtime linux-shell "
                             "--workingDirectory ../temp\n")
    code, out, err = run_fix([path], capsys)
    assert code == 0 and out.startswith("# docker run at ") and "start.sh" not in out  # printed: the docker runner
    assert "not fixed: a Linux Shell runner start command" in err  # and told about the other


def test_units_keep_the_shell_around_the_command_and_the_comments_inside_it(tmp_path, capsys):
    shutil.copy(os.path.join(FIXTURES, "systemd", "sh-c.service"), tmp_path / "sh-c.service")
    path = str(tmp_path / "sh-c.service")
    assert run_fix(["--write", path], capsys)[0] == 0
    text = open(path).read()
    assert ('ExecStart=/bin/sh -c "docker rm -f bitbucket-runner 2>/dev/null; \\\n'
            '  exec docker container run \\\n') in text
    assert text.endswith(f'    {RUNNER}"\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n')
    src = open(os.path.join(FIXTURES, "systemd", "runner@.service")).read()
    unit = tmp_path / "runner@.service"
    unit.write_text(src.replace("containers:/var/lib/docker/containers:ro", "containers:/var/lib/docker/containers"))
    assert run_fix(["--write", str(unit)], capsys)[0] == 0
    text = unit.read_text()
    assert "    $RUNNER_IMAGE\n# the runner reads step logs from here; keep it read-only\nRestart=on-failure\n" in text
    assert "-v ${WORKDIR}:${WORKDIR}" in text and "--name runner-%i" in text


def test_a_suppressed_rule_is_left_alone_but_a_secret_is_never_kept(tmp_path, capsys):
    path = _script(tmp_path, "#!/bin/sh\n# runner-doctor: ignore RD004, RD205 -- started by hand in tmux; vault\n"
                             f"docker run -it -v /tmp:/tmp {IDS}  -e OAUTH_CLIENT_SECRET={CANARY} "
                             f"-e WORKING_DIRECTORY=/tmp {RUNNER}\n")
    code, out, err = run_fix([path], capsys)
    assert code == 0 and out.startswith("docker container run -it \\\n")  # RD004: as the user wants it
    assert "-e OAUTH_CLIENT_SECRET \\" in out and CANARY not in out + err
    assert "left RD004 (warn, suppressed: started by hand in tmux; vault)" in err
    assert "RD205 is suppressed here, but fix never prints or writes a secret" in err
