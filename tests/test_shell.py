"""The shell word splitter and the `docker run` reader on the forms people really write."""

import os
import textwrap

from doctor import api
from doctor.inputs import script
from doctor.inputs.common import LoadOptions
from doctor.inputs.shellwords import split_commands
from doctor.model import InputError, RunnerKind

RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"


def runners(text, path="t.sh", **opts):
    return script.parse(textwrap.dedent(text), path, LoadOptions(**opts))


def one(text, **kw):
    found = runners(text, **kw)
    assert len(found) == 1, found
    return found[0]


def test_words_keep_line_and_column():
    cmds = split_commands("docker run \\\n  -v /tmp:/tmp \\\n  img\n", "f.sh")
    assert len(cmds) == 1
    words = cmds[0].words
    assert [(w.text, w.origin.line, w.origin.column) for w in words] == [
        ("docker", 1, 1), ("run", 1, 8), ("-v", 2, 3), ("/tmp:/tmp", 2, 6), ("img", 3, 3)]


def test_quotes_and_escapes_are_removed_like_the_shell_does():
    words = split_commands("""docker run -e 'A=b c' -e "B=x\\"y" -e C=a\\ b -e D="$HOME/x" img""")[0].words
    assert [w.text for w in words[3::2]] == ["A=b c", 'B=x"y', "C=a b", "D=$HOME/x"]
    assert words[9].expands and not words[3].expands


def test_comments_and_separators():
    cmds = split_commands("a 1 # comment; not a command\nb 2; c 3 && d 4 | e 5\n# only a comment\n")
    assert [[w.text for w in c.words] for c in cmds] == [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"], ["e", "5"]]


def test_space_after_continuation_backslash_is_reported_where_it_is():
    setup = one(f"""\
        docker container run -it \\
          -v /tmp:/tmp \\ 
          -v /var/run/docker.sock:/var/run/docker.sock \\
          {RUNNER}
        """)
    problems = [p for p in setup.syntax_problems if p.code == "broken-continuation"]
    assert len(problems) == 1 and problems[0].origin.line == 2 and problems[0].origin.column == 16
    # the intent is still parsed, so the other rules can check it
    assert [m.target for m in setup.mounts] == ["/tmp", "/var/run/docker.sock"]
    assert setup.image == RUNNER


def test_flattened_command_words_start_with_a_space():
    setup = one(f"docker container run -it \\ -v /tmp:/tmp \\ -e WORKING_DIRECTORY=/tmp \\ {RUNNER}\n")
    assert sum(p.code == "escaped-space" for p in setup.syntax_problems) == 3
    assert setup.mounts[0].target == "/tmp" and setup.env_value("WORKING_DIRECTORY") == "/tmp"
    assert setup.image == RUNNER


def test_unclosed_quote_is_reported_at_the_quote():
    setup = one(f"""\
        docker run -d \\
          -e RUNNER_UUID='{{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}} \\
          -e WORKING_DIRECTORY=/tmp \\
          {RUNNER}
        """)
    quote = [p for p in setup.syntax_problems if p.code == "unbalanced-quote"]
    assert quote and quote[0].origin.line == 2 and quote[0].origin.column == 18


def test_options_after_the_image_are_the_containers_arguments():
    setup = one(f"docker run -d -v /tmp:/tmp {RUNNER} --restart=always -e X=1\n")
    assert setup.flag("restart") is None
    assert [a for a, _ in setup.command_args] == ["--restart=always", "-e", "X=1"]
    assert [p.code for p in setup.syntax_problems] == ["option-after-image", "option-after-image"]


def test_combined_short_flags_and_attached_values():
    setup = one(f"docker run -dit -eWORKING_DIRECTORY=/tmp -v/tmp:/tmp -m=1g --rm=false {RUNNER}\n")
    assert {"detach", "interactive", "tty"} <= set(setup.flags)
    assert setup.flag("memory")[0] == "1g" and setup.flag("rm")[0] == "false"
    assert setup.env_value("WORKING_DIRECTORY") == "/tmp" and setup.mounts[0].source == "/tmp"


def test_unknown_option_and_missing_value():
    setup = one(f"docker run --restrat always -d {RUNNER}\n")
    assert setup.syntax_problems[0].code == "unknown-option"
    setup = one("docker run -d -e ACCOUNT_UUID={x} -v\n")
    assert any(p.code == "missing-value" for p in setup.syntax_problems)


def test_mount_forms():
    setup = one(f"""\
        docker run \\
          --mount type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock \\
          --mount type=bind,src=/var/lib/docker/containers,dst=/var/lib/docker/containers,readonly \\
          --mount "type=bind,source=/srv/w,target=/srv/w,readonly=false" \\
          --mount type=volume,source=cache,target=/cache,ro=true \\
          -v /tmp:/tmp:rw,z -v named:/data:ro -v /anon --tmpfs /run:size=64m \\
          {RUNNER}
        """)
    got = [(m.type, m.source, m.target, m.read_only) for m in setup.mounts]
    assert got == [
        ("bind", "/var/run/docker.sock", "/var/run/docker.sock", False),
        ("bind", "/var/lib/docker/containers", "/var/lib/docker/containers", True),
        ("bind", "/srv/w", "/srv/w", False),
        ("volume", "cache", "/cache", True),
        ("bind", "/tmp", "/tmp", False),
        ("volume", "named", "/data", True),
        ("volume", None, "/anon", False),
        ("tmpfs", None, "/run", False),
    ]
    assert setup.mounts[1].origin.line == 3


def test_wrappers_in_front_of_docker():
    for prefix in ("sudo", "sudo -E -u ci", "exec", "/usr/bin/docker", "env DOCKER_HOST=unix:///x.sock",
                   "nohup", "sudo /usr/local/bin/docker -H unix:///run/docker.sock --log-level warn"):
        cmd = prefix if "docker" in prefix.split()[-1] or "--log-level" in prefix else f"{prefix} docker"
        if prefix.endswith("docker") or "--log-level" in prefix:
            cmd = prefix
        setup = one(f"{cmd} container run -d {RUNNER}\n")
        assert setup.image == RUNNER, prefix


def test_commands_that_do_not_start_the_runner_are_ignored():
    found = runners(f"""\
        docker pull {RUNNER}
        docker run --rm alpine:3.20 echo hello
        docker rm -f runner-1 || true
        docker run -d --name runner-a -e ACCOUNT_UUID={{a}} {RUNNER}
        docker container run -d --name runner-b -e ACCOUNT_UUID={{b}} {RUNNER}
        """)
    assert [r.name for r in found] == ["runner-a", "runner-b"]
    assert [r.origin.line for r in found] == [4, 5]


def test_runner_image_mirror_and_identity_env_mark_a_runner():
    assert runners("docker run -d registry.acme.example/mirror/bitbucket-pipelines-runner:1\n")
    assert not runners("docker run -d registry.acme.example/runner:1\n")
    assert runners("docker run -d registry.acme.example/runner:1\n",
                   runner_mirrors=("registry.acme.example/runner",))
    assert runners("docker run -d -e RUNNER_UUID={x} $RUNNER_IMAGE\n")


def test_variables_assigned_earlier_in_the_script_are_resolved():
    setup = one(f"""\
        IMAGE={RUNNER}
        export WORKDIR=/srv/runner
        docker run -d -v $WORKDIR:$WORKDIR -e WORKING_DIRECTORY=$WORKDIR -e OAUTH_CLIENT_SECRET="$SECRET" $IMAGE
        """)
    assert setup.image == RUNNER
    assert setup.env_value("WORKING_DIRECTORY") == "/srv/runner"
    secret = setup.env_var("OAUTH_CLIENT_SECRET")
    assert secret.value is None and secret.source == "reference" and secret.raw == "$SECRET"


def test_inherited_env_and_the_last_value_wins():
    setup = one(f"docker run -e OAUTH_CLIENT_SECRET -e X=1 -e X=2 {RUNNER}\n")
    var = setup.env_var("OAUTH_CLIENT_SECRET")
    assert var.value is None and var.source == "inherited"
    assert setup.env_value("X") == "2" and len(setup.env_all("X")) == 2


def test_env_file_relative_to_the_script_then_the_current_folder(tmp_path, monkeypatch):
    scripts = tmp_path / "deploy"
    scripts.mkdir()
    (scripts / "runner.env").write_text("OAUTH_CLIENT_SECRET=\"quoted\"\n# comment\nWORKING_DIRECTORY=/tmp\nINHERIT\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "other.env").write_text("RUNNER_UUID={r}\n")
    (scripts / "start.sh").write_text(f"docker run --env-file runner.env --env-file other.env "
                                      f"--env-file missing.env {RUNNER}\n")
    monkeypatch.chdir(cwd)
    setup = script.parse((scripts / "start.sh").read_text(), str(scripts / "start.sh"), LoadOptions(cwd=str(cwd)))[0]
    # docker keeps quotes in env files literally
    assert setup.env_value("OAUTH_CLIENT_SECRET") == '"quoted"'
    assert setup.env_var("WORKING_DIRECTORY").origin.line == 3
    assert setup.env_var("INHERIT").source == "inherited"
    assert setup.env_value("RUNNER_UUID") == "{r}"
    refs = {os.path.basename(r.path): r for r in setup.env_files}
    assert refs["runner.env"].mode is not None and refs["missing.env"].error == "no such file"


def test_start_scripts_are_recognised():
    kinds = {
        "./start.sh --accountUuid {a} --runnerUuid {r} --runtime linux-shell --workingDirectory ../temp":
            RunnerKind.LINUX_SHELL,
        "./start.sh --accountUuid {a} --runtime macos-bash": RunnerKind.MACOS,
        ".\\start.ps1 -accountUuid '{a}' -runnerUuid '{r}' -workingDirectory '..\\temp'": RunnerKind.WINDOWS,
    }
    for line, kind in kinds.items():
        setup = one(line + "\n", path="start.txt")
        assert setup.kind is kind
        assert setup.env_value("ACCOUNT_UUID") == "{a}"


def test_crontab_lines_have_no_terminal():
    setup = one(f"@reboot docker run -it {RUNNER}\n", path="crontab")
    assert setup.supervisor == "cron"
    setup = one(f"*/5 * * * * docker run -d {RUNNER}\n", path="crontab")
    assert setup.supervisor == "cron"
    assert one(f"docker run -d {RUNNER}\n").supervisor is None


def test_docker_config_is_found_at_the_mount(tmp_path):
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text('{"auths": {}}')
    (tmp_path / "start.sh").write_text(f"docker run -v ./.docker:/root/.docker:ro {RUNNER}\n")
    setup = script.parse((tmp_path / "start.sh").read_text(), str(tmp_path / "start.sh"), LoadOptions())[0]
    assert setup.docker_config.how == "mounted" and setup.docker_config.data == {"auths": {}}
    assert setup.docker_config.path == "./.docker/config.json"
    setup = one(f"docker run -v /nonexistent/.docker/config.json:/root/.docker/config.json {RUNNER}\n")
    assert setup.docker_config.error == "no such file"
    given = tmp_path / "given.json"
    given.write_text("{}")
    setup = one(f"docker run -v /nonexistent:/root/.docker {RUNNER}\n", docker_config=str(given))
    assert setup.docker_config.how == "given" and setup.docker_config.data == {}


def test_a_config_target_is_the_config_the_runners_read(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"auths": {"registry.acme.example:5443": {"auth": "dXNlcjpwYXNz"}}}')
    sh = tmp_path / "start.sh"
    sh.write_text(f"docker run -v /x:/root/.docker {RUNNER}\n")
    report = api.check([str(sh), str(cfg)])
    assert [s.kind for s in report.subjects] == ["runner"]
    assert report.subjects[0].runner.docker_config.path == str(cfg)
    report = api.check([str(cfg)])
    assert [s.kind for s in report.subjects] == ["docker-config"]


def test_garbage_never_raises_anything_but_an_input_error(tmp_path):
    samples = ["\\", "'", '"', "$(", "${", "`", "docker run", "docker run -v", "docker container",
               "docker run --mount", 'docker run --mount "type=bind', "sudo", "((((", "\\\n\\\n",
               "docker run -e", "docker -H", "\x00", "docker run --mount type=bind " + RUNNER]
    for text in samples:
        try:
            script.parse(text, "x.sh", LoadOptions())
        except InputError:
            pass


def test_env_files_are_read_before_every_e_option(tmp_path):
    (tmp_path / "w.env").write_text("WORKING_DIRECTORY=/srv/runner\nX=from-file\n")
    (tmp_path / "start.sh").write_text(f"docker run -e WORKING_DIRECTORY=/tmp --env-file w.env {RUNNER}\n")
    setup = script.parse((tmp_path / "start.sh").read_text(), str(tmp_path / "start.sh"), LoadOptions())[0]
    assert setup.env_value("WORKING_DIRECTORY") == "/tmp"
    assert setup.env_value("X") == "from-file"
