"""systemd unit parser: sections, continuations, Environment=/EnvironmentFile=, ExecStart forms."""

import os

import pytest

from doctor.inputs import detect, parse_target, systemd
from doctor.inputs.common import LoadOptions
from doctor.model import InputError, Origin
from tests.conftest import FIXTURES

RUNNER_IMAGE = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"


def load(name):
    path = os.path.join(FIXTURES, "systemd", name)
    with open(path) as fh:
        text = fh.read()
    return systemd.parse(text, path, LoadOptions()), path


def parse_text(tmp_path, text, name="runner.service"):
    path = tmp_path / name
    path.write_text(text)
    return systemd.parse(text, str(path), LoadOptions(cwd=str(tmp_path))), str(path)


def test_good_unit():
    (s,), path = load("bitbucket-runner.service")
    assert (s.form, s.supervisor, s.label) == ("systemd", "systemd", f"ExecStart in {path}")
    assert s.origin == Origin(path, 15, 11)  # /usr/bin/docker after "ExecStart="
    assert s.image == RUNNER_IMAGE and s.image_origin.line == 27
    assert "tty" not in s.flags and "detach" not in s.flags and "rm" in s.flags
    assert s.flags["systemd-restart"] == ("always", Origin(path, 29, 9))
    assert [(m.target, m.origin.line, m.read_only) for m in s.mounts] == [
        ("/tmp", 16, False), ("/var/run/docker.sock", 17, False), ("/var/lib/docker/containers", 18, True)]
    (ref,) = s.env_files
    assert (ref.path, ref.optional, ref.origin) == ("/etc/bitbucket-runner/runner.env", False, Origin(path, 12, 17))
    # the env file is on the runner host, not here: -e KEY is inherited, value unknown
    assert ref.error == "no such file"
    secret = s.env_var("OAUTH_CLIENT_SECRET")
    assert (secret.value, secret.source, secret.origin.line) == (None, "inherited", 24)
    # ExecStartPre's "docker rm" and "docker pull" are not runners
    assert s.name == "runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0"


def test_detached_container_run():
    (s,), path = load("detached.service")
    assert s.flags["detach"] == ("", Origin(path, 10, 41))
    assert s.flags["systemd-restart"][0] == "on-failure"
    assert s.env_var("OAUTH_CLIENT_SECRET").source == "literal"


def test_it_under_systemd():
    (s,), path = load("tty.service")
    assert s.flags["tty"][1] == s.flags["interactive"][1] == Origin(path, 8, 41)
    assert s.supervisor == "systemd"
    assert s.env_value("RUNNER_UUID") == "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"


def test_template_unit_with_continuations_comments_and_environment():
    (s,), path = load("runner@.service")
    # Environment= values substituted into ExecStart; the comment line inside the continuation is skipped
    assert s.image == RUNNER_IMAGE and s.image_origin == Origin(path, 26, 5)
    assert [(m.source, m.target, m.origin.line) for m in s.mounts] == [
        ("/srv/runners/work", "/srv/runners/work", 16),
        ("/var/run/docker.sock", "/var/run/docker.sock", 17),
        ("/var/lib/docker/containers", "/var/lib/docker/containers", 19),
    ]
    assert mount_ro(s, "/var/lib/docker/containers")
    assert s.flags["memory"] == ("4g", Origin(path, 15, 5))
    work = s.env_var("WORKING_DIRECTORY")
    assert (work.value, work.raw, work.origin.line) == ("/srv/runners/work", "${WORKDIR}", 25)
    account = s.env_var("ACCOUNT_UUID")  # -e KEY passes the unit's Environment= value
    assert (account.value, account.source) == ("{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}", "inherited")
    runner = s.env_var("RUNNER_UUID")  # {%i}: filled in by systemd per instance
    assert (runner.value, runner.source) == (None, "reference")
    assert s.name == "runner-%i"
    (ref,) = s.env_files
    assert ref.optional and ref.path == "/etc/bitbucket-runner/%i.env"


def mount_ro(setup, target):
    return setup.mounts_at(target)[-1].read_only


def test_sh_c_wrapper():
    (s,), path = load("sh-c.service")
    assert s.image == RUNNER_IMAGE
    assert s.origin == Origin(path, 9, 3)  # "exec docker run" inside the quoted script
    assert s.name == "bitbucket-runner"
    assert [(m.target, m.origin.line) for m in s.mounts] == [
        ("/tmp", 10), ("/var/run/docker.sock", 11), ("/var/lib/docker/containers", 12)]
    assert not mount_ro(s, "/var/lib/docker/containers")
    assert s.env_var("OAUTH_CLIENT_SECRET").origin == Origin(path, 13, 55)
    assert s.flags["systemd-restart"][0] == "always"


@pytest.mark.parametrize("name", ["bitbucket-runner.service", "detached.service", "tty.service",
                                  "runner@.service", "sh-c.service"])
def test_fixtures_are_detected_as_systemd(name):
    path = os.path.join(FIXTURES, "systemd", name)
    with open(path) as fh:
        assert detect(fh.read(), path) == "systemd"


def test_environment_file_overrides_environment_and_feeds_the_command(tmp_path):
    env = tmp_path / "runner.env"
    env.write_text("# runner credentials\nOAUTH_CLIENT_SECRET=ATOAsecretsecretsecret\nWORKDIR=/var/tmp\n")
    env.chmod(0o640)
    setups, path = parse_text(tmp_path, f"""\
[Service]
Environment="WORKDIR=/tmp" "IMAGE=docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"
Environment='NOTE=two words' BAD-NAME=x RUNNER_UUID={{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}}
EnvironmentFile={env}
EnvironmentFile=-/nonexistent/optional.env
ExecStart=/usr/bin/docker run -v ${{WORKDIR}}:${{WORKDIR}} -e OAUTH_CLIENT_SECRET -e RUNNER_UUID=$RUNNER_UUID \\
  -e WORKING_DIRECTORY=${{WORKDIR}} -e NOTE=${{NOTE}} $IMAGE
""")
    (s,) = setups
    assert [m.source for m in s.mounts] == ["/var/tmp"]  # EnvironmentFile= wins over Environment=
    assert s.env_value("WORKING_DIRECTORY") == "/var/tmp"
    secret = s.env_var("OAUTH_CLIENT_SECRET")
    assert (secret.value, secret.source, secret.env_file) == ("ATOAsecretsecretsecret", "inherited", str(env))
    assert s.env_value("RUNNER_UUID") == "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
    assert s.env_value("NOTE") == "two words"
    assert s.image.endswith("bitbucket-pipelines-runner:1")
    first, second = s.env_files
    assert (first.resolved, first.mode, first.optional) == (str(env), 0o640, False)
    assert second.optional and second.error == "no such file"


def test_empty_assignments_reset_lists(tmp_path):
    setups, _path = parse_text(tmp_path, """\
[Service]
Environment=IMAGE=busybox
Environment=
ExecStart=/usr/bin/docker run --name old docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
ExecStart=
ExecStart=-/usr/bin/docker run --name new $IMAGE
ExecStart=/usr/bin/docker run --name kept docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
""")
    assert [s.name for s in setups] == ["kept"]  # $IMAGE unknown after the reset: not the runner image


def test_prefixes_and_at_argv0(tmp_path):
    setups, path = parse_text(tmp_path, """\
[Service]
ExecStart=@-/usr/bin/docker docker run -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \\
   docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
ExecStart=+!!/usr/bin/docker container run docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
""")
    assert [s.origin for s in setups] == [Origin(path, 2, 13), Origin(path, 4, 14)]
    assert setups[0].image_origin == Origin(path, 3, 4)


def test_blank_after_continuation_backslash_is_fine_for_systemd(tmp_path):
    setups, _path = parse_text(tmp_path, "[Service]\nExecStart=/usr/bin/docker run \\   \n  -v /tmp:/tmp \\\t\n"
                               "  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1\n")
    (s,) = setups
    assert s.syntax_problems == []
    assert [m.target for m in s.mounts] == ["/tmp"]


def test_keys_outside_service_section_are_ignored(tmp_path):
    setups, _path = parse_text(tmp_path, """\
[Unit]
Description=ExecStart=/usr/bin/docker run docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
[Install]
ExecStart=/usr/bin/docker run docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
""")
    assert setups == []


def test_bash_lc_single_quotes_and_env_wrapper(tmp_path):
    setups, path = parse_text(tmp_path, """\
[Service]
Environment=TAG=1
ExecStart=/usr/bin/env bash -lc 'exec docker run -v /tmp:/tmp \\
    docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:$TAG'
""")
    (s,) = setups
    assert s.image == RUNNER_IMAGE
    assert s.image_origin == Origin(path, 4, 5)
    assert s.mounts[0].origin == Origin(path, 3, 50)


def test_a_unit_without_a_runner(tmp_path):
    setups, path = parse_text(tmp_path, "[Service]\nExecStart=/usr/bin/docker compose -f /opt/app/compose.yml up\n")
    assert setups == []
    with pytest.raises(InputError, match="no Bitbucket runner start command in this unit"):
        parse_target(path, LoadOptions())


def test_random_text_never_raises(tmp_path):
    import random

    rng = random.Random(99)
    alphabet = "[Service]\nExecStart=docker run -e$%{}'\"\\;#@+!-: \t/bin/sh -c Environment=A=B%i"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        setups, _path = parse_text(tmp_path, text)
        assert isinstance(setups, list)
