"""Nasty inputs, each through the real CLI: exit 2 with one line naming the file and the reason, or a report
whose findings say what is wrong - within bounded time and memory.

The small ones are committed under ``fixtures/nasty/`` (binary, Latin-1, UTF-16 with a BOM, CRLF line ends,
JSON nested 2,000 levels deep, YAML "billion laughs" aliases and an alias loop, escape sequences); the big
and special ones are made here in a temporary folder (a 50 MB file, lines of about 1 MB, a symbolic link
loop, a FIFO, an unreadable file, a folder and a device where a file belongs). Every run is a process with
a time limit (RUN_TIMEOUT) and an address-space limit (MEMORY_LIMIT), so a hang or a blow-up fails the test
instead of hanging or swapping the machine.
"""

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from doctor.inputs import MAX_SUBJECTS_PER_TARGET
from doctor.inputs.files import MAX_INPUT_BYTES, MAX_LINE_CHARS
from tests.conftest import FIXTURES, ROOT
from tests.lab.dockerd import fail_or_skip

RUN_TIMEOUT = 60  # seconds; each run below takes well under 5 s on the development machine
MEMORY_LIMIT = 1024 ** 3  # bytes of address space for one run
NASTY = os.path.join(FIXTURES, "nasty")
RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"

# the CLI under an address-space limit; AS_USER: then as another user (the file modes below bind root too)
LIMITED = """
import contextlib, io, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from doctor.cli import main
args = sys.argv[1:]
if os.environ.get("AS_USER_UID"):
    # the interpreter may live where the user cannot read (/root/.pyenv): load every module the run
    # needs first, with the same run on readable files, then drop to the user for the real run
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main([a.replace(os.environ["AS_USER_HIDDEN"], os.environ["AS_USER_SHOWN"]) for a in args])
    uid, gid = int(os.environ["AS_USER_UID"]), int(os.environ["AS_USER_GID"])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
sys.exit(main(args))
""".format(limit=MEMORY_LIMIT)


def run(args, stdin=None, cwd=None, env=None):
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
                "LANG": "C.UTF-8", "COLUMNS": "80", "NO_COLOR": "1", "PYTHONPATH": ROOT}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", LIMITED, *args], cwd=cwd or ROOT, env=full_env, input=stdin,
                          capture_output=True, timeout=RUN_TIMEOUT, stdin=None if stdin is not None else
                          subprocess.DEVNULL)


def refused(proc, path, reason):
    """Exit 2, nothing on stdout, one line on stderr: the file and the reason."""
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err, proc.stdout[-500:])
    assert proc.stdout == b"", proc.stdout[-500:]
    assert err.count("\n") == 1 and err.startswith(f"runner-doctor: {path}: "), err
    assert reason in err, err


def report(proc):
    """A completed run (exit 0 or 1) with its JSON report."""
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr.decode())
    assert proc.stderr == b"", proc.stderr.decode()
    return json.loads(proc.stdout)


def messages(doc, rule):
    return [f["message"] for f in doc["findings"] if f["rule"] == rule]


@pytest.fixture
def folder():
    """A folder every user may enter (tmp_path's parents are root-only), removed afterwards."""
    path = tempfile.mkdtemp(prefix="rdnasty-", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def script(folder, name="start.sh", extra=""):
    """A runner start script in ``folder`` (``extra``: more docker options, e.g. an --env-file)."""
    text = ("docker container run -d --restart unless-stopped -v /tmp:/tmp "
            "-v /var/run/docker.sock:/var/run/docker.sock "
            "-v /var/lib/docker/containers:/var/lib/docker/containers:ro "
            f"-e WORKING_DIRECTORY=/tmp {extra} {RUNNER}\n")
    path = os.path.join(folder, name)
    with open(path, "w") as fh:
        fh.write(text)
    return path


# ---------------------------------------------------------------- the committed corpus

@pytest.mark.parametrize("name, reason", [
    ("binary.bin", "not text (binary data)"),
    ("latin1.sh", "not valid UTF-8 text (byte 35)"),
    ("deep.json", "line 1, column 101: the JSON is nested more than 100 levels deep (the limit)"),
    ("deep-config/config.json", "the JSON is nested more than 100 levels deep"),
    ("billion-laughs.yml", "its YAML aliases (*name) stand for more than 100,000 values"),
    ("billion-laughs-pipelines.yml", "stand for more than 100,000 values"),
    ("billion-laughs-k8s.yaml", "stand for more than 100,000 values"),
    ("alias-loop.yml", "line 2, column 11: this anchored value contains an alias of itself (an alias loop)"),
])
def test_a_nasty_file_is_refused_with_one_line(name, reason):
    path = os.path.join("fixtures", "nasty", name)
    refused(run(["check", "--offline", path]), path, reason)


def _normalised(doc, path):
    return json.loads(json.dumps(doc).replace(json.dumps(path)[1:-1], "FILE"))["findings"]


@pytest.mark.parametrize("nasty, plain", [
    ("utf16-bom.sh", "docker-run/dialog.sh"),
    ("crlf.sh", "docker-run/dialog.sh"),
    ("crlf.service", "systemd/bitbucket-runner.service"),
    ("crlf-compose.yml", "compose/single-runner.yml"),
    ("utf16-inspect.json", "inspect/runner-container.json"),
])
def test_utf16_and_crlf_files_read_like_their_plain_twins(nasty, plain):
    """Notepad's UTF-16, PowerShell's redirected output and Windows line ends change nothing."""
    twin_dir = tempfile.mkdtemp(prefix="rdnasty-", dir="/tmp")
    try:
        # the same folder layout, so that places and relative paths compare equal
        copy = os.path.join(twin_dir, os.path.basename(plain))
        shutil.copyfile(os.path.join(FIXTURES, plain), copy)
        want = _normalised(report(run(["check", "--offline", "--format", "json", copy])), copy)
        got_path = os.path.join(twin_dir, "nasty-" + os.path.basename(plain))
        shutil.copyfile(os.path.join(NASTY, nasty), got_path)
        got = _normalised(report(run(["check", "--offline", "--format", "json", got_path])), got_path)
    finally:
        shutil.rmtree(twin_dir, ignore_errors=True)
    assert got == want


def test_a_config_json_nested_deeper_than_docker_reads_is_a_finding(folder):
    config = os.path.join(NASTY, "deep-config", "config.json")
    given = report(run(["check", "--offline", "--format", "json", "--docker-config", config, script(folder)]))
    mounted = report(run(["check", "--offline", "--format", "json",
                          script(folder, extra=f"-v {os.path.dirname(config)}:/root/.docker")]))
    for doc in (given, mounted):
        (rd301,) = [f for f in doc["findings"] if f["rule"] == "RD301"]
        assert rd301["status"] == "fail" and "is not valid JSON: nested too deeply" in rd301["message"], rd301


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "markdown", "github", "rich"])
def test_escape_sequences_in_values_are_printed_as_text(fmt):
    """A value holding ESC or BEL must not drive the terminal the report is read on."""
    proc = run(["check", "--offline", "--format", fmt, "fixtures/nasty/control-chars.sh"])
    assert proc.returncode == 1 and proc.stderr == b"", proc.stderr.decode()
    out = proc.stdout.decode()
    assert not CONTROL.search(out), sorted(set(CONTROL.findall(out)))


def test_rich_markup_in_values_is_shown_as_written():
    proc = run(["check", "--offline", "fixtures/nasty/control-chars.sh"])
    assert proc.returncode == 1 and proc.stderr == b"", proc.stderr.decode()
    assert "WORKING_DIRECTORY=/tmp/[/bold]x[red]" in " ".join(proc.stdout.decode().split())


# ---------------------------------------------------------------- made here: big, long, special

def test_a_50_mb_file_is_refused_by_its_size(folder):
    path = os.path.join(folder, "big.sh")
    with open(path, "wb") as fh:
        line = f"docker run -v /tmp:/tmp {RUNNER}\n".encode()
        fh.write(line * (50 * 1024 * 1024 // len(line) + 1))
    size = os.path.getsize(path)
    reason = f"too large ({size} bytes; the limit is {MAX_INPUT_BYTES} bytes)"
    refused(run(["check", "--offline", path]), path, reason)
    refused(run(["check", "--offline", "--docker-config", path, script(folder)]), path, reason)
    with open(path, "rb") as fh:
        refused(run(["check", "--offline", "-"], stdin=fh.read()), "<stdin>",
                f"too large (over {MAX_INPUT_BYTES} bytes)")
    doc = report(run(["check", "--offline", "--format", "json", script(folder, extra=f"--env-file {path}")]))
    assert any(reason in m for m in messages(doc, "RD201")), messages(doc, "RD201")


def test_a_line_over_the_limit_is_refused(folder):
    path = os.path.join(folder, "long.sh")
    with open(path, "w") as fh:
        fh.write("# a start script\n" + "x" * (MAX_LINE_CHARS + 1) + "\n")
    refused(run(["check", "--offline", path]), path,
            f"line 2 is too long ({MAX_LINE_CHARS + 1} characters; the limit is {MAX_LINE_CHARS})")


@pytest.mark.parametrize("line, exit_code, said", [
    # a runner command with a value of 1,000,000 characters: checked, and the value is reported
    (f"docker run -v /tmp:/tmp -e WORKING_DIRECTORY=/{'x' * 1_000_000} {RUNNER}", 1, "WORKING_DIRECTORY=/xxx"),
    # an option cluster of a million letters
    (f"docker run -{'d' * 1_000_000} {RUNNER}", 1, "a Linux Docker runner, started by a docker run command"),
    # "docker" 140,000 times and no "run": no runner command, found at once (not retried at every word)
    ("docker " * 140_000, 2, "no Bitbucket runner start command found"),
    # a million blank lines before the text: the same
    ("\n" * 1_000_000 + "x", 2, "no Bitbucket runner start command found"),
    # 330,000 backslash-escaped blanks (each a syntax problem the splitter records)
    ("docker run " + "\\ x" * 330_000, 2, "no Bitbucket runner start command found"),
], ids=["long-value", "long-cluster", "docker-words", "blank-lines", "escaped-blanks"])
def test_a_line_of_about_1_mb_is_read_in_bounded_time(folder, line, exit_code, said):
    path = os.path.join(folder, "one-line.sh")
    with open(path, "w") as fh:
        fh.write(line + "\n")
    proc = run(["check", "--offline", "--format", "json", path])
    if exit_code == 2:
        refused(proc, path, said)
        return
    doc = report(proc)
    assert proc.returncode == exit_code
    assert any(said in f["message"] for f in doc["findings"]), [f["message"][:100] for f in doc["findings"]]


def test_more_runners_in_one_file_than_the_limit(folder):
    """Each runner is checked by every rule: 110,000 one-line runners would take minutes and gigabytes."""
    path = os.path.join(folder, "many.sh")
    with open(path, "w") as fh:
        fh.write(f"docker run -d {RUNNER}\n" * (MAX_SUBJECTS_PER_TARGET + 1))
    refused(run(["check", "--offline", path]), path,
            f"{MAX_SUBJECTS_PER_TARGET + 1} runner configurations in one file; the limit is 1,000")


def test_a_symbolic_link_loop(folder):
    a, b = os.path.join(folder, "a.sh"), os.path.join(folder, "b.sh")
    os.symlink(b, a)
    os.symlink(a, b)
    reason = "a loop of symbolic links"
    refused(run(["check", "--offline", a]), a, reason)
    refused(run(["check", "--offline", "--docker-config", a, script(folder)]), a, reason)
    doc = report(run(["check", "--offline", "--format", "json", script(folder, extra=f"--env-file {a}")]))
    assert any(reason in m for m in messages(doc, "RD201")), messages(doc, "RD201")


def test_a_fifo_is_not_read(folder):
    """Opening a FIFO with no writer blocks: it is never opened, whichever way it is given."""
    fifo = os.path.join(folder, "runner.env")
    os.mkfifo(fifo)
    refused(run(["check", "--offline", fifo]), fifo, "not a regular file")
    refused(run(["check", "--offline", "--docker-config", fifo, script(folder)]), fifo, "not a regular file")
    doc = report(run(["check", "--offline", "--format", "json",
                      script(folder, extra=f"--env-file {fifo} -v {fifo}:/root/.docker/config.json")]))
    assert any("not a regular file" in m for m in messages(doc, "RD201")), messages(doc, "RD201")
    assert any("not a regular file" in m for m in messages(doc, "RD301")), messages(doc, "RD301")


def test_a_folder_or_a_device_given_as_a_file(folder):
    inner = os.path.join(folder, "config.json")
    os.mkdir(inner)
    refused(run(["check", "--offline", inner]), inner, "is a folder, not a file")
    refused(run(["check", "--offline", "--docker-config", inner, script(folder)]), inner, "is a folder, not a file")
    refused(run(["check", "--offline", "/dev/zero"]), "/dev/zero", "not a regular file")
    doc = report(run(["check", "--offline", "--format", "json",
                      script(folder, extra=f"--env-file {inner} -v {inner}:/root/.docker/config.json")]))
    assert any("is a folder" in m for m in messages(doc, "RD201")), messages(doc, "RD201")
    assert [f["status"] for f in doc["findings"] if f["rule"] == "RD301"] == ["fail"]


def test_an_unreadable_file(folder):
    """Root reads every file whatever its mode: the run drops to the user nobody, as in test_live_hosts."""
    if os.geteuid() != 0:
        fail_or_skip("changing to another user needs root")
    user = pwd.getpwnam("nobody")
    hidden = os.path.join(folder, "hidden.env")
    shown = os.path.join(folder, "shown.env")  # the warm-up run reads this one instead
    for path in (hidden, shown):
        with open(path, "w") as fh:
            fh.write("OAUTH_CLIENT_SECRET=not-for-everyone\n")
    os.chmod(hidden, 0o600)
    os.chmod(shown, 0o644)
    env = {"AS_USER_UID": str(user.pw_uid), "AS_USER_GID": str(user.pw_gid), "AS_USER_HIDDEN": hidden,
           "AS_USER_SHOWN": shown, "HOME": "/nonexistent"}
    refused(run(["check", "--offline", hidden], env=env), hidden, "permission denied")
    refused(run(["check", "--offline", "--docker-config", hidden, script(folder)], env=env), hidden,
            "permission denied")
    doc = report(run(["check", "--offline", "--format", "json", script(folder, extra=f"--env-file {hidden}")],
                     env=env))
    assert any("permission denied" in m for m in messages(doc, "RD201")), messages(doc, "RD201")


CHOOSE = "from doctor.live import hosts; c = hosts.choose(); print(c.url, c.source, c.error, sep='|')"


def test_the_docker_clis_own_config_as_a_fifo_or_nested_too_deeply(folder):
    """The docker CLI's config.json (for its current context) and a context's meta.json are read with the same
    limits: a FIFO is not opened (no hang), JSON nested too deeply is not parsed (no crash)."""
    fifo_dir, deep_dir = os.path.join(folder, "fifo"), os.path.join(folder, "deep")
    os.mkdir(fifo_dir)
    os.mkfifo(os.path.join(fifo_dir, "config.json"))
    meta = os.path.join(fifo_dir, "contexts", "meta", hashlib.sha256(b"lab").hexdigest())
    os.makedirs(meta)
    os.mkfifo(os.path.join(meta, "meta.json"))
    os.mkdir(deep_dir)
    shutil.copyfile(os.path.join(NASTY, "deep-config", "config.json"), os.path.join(deep_dir, "config.json"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", "PYTHONPATH": ROOT}
    for config in (fifo_dir, deep_dir):  # no context named: the default socket, as the docker CLI would
        proc = subprocess.run([sys.executable, "-c", CHOOSE], env=dict(env, DOCKER_CONFIG=config), cwd=ROOT,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        assert proc.stdout == "unix:///var/run/docker.sock|default|None\n", proc.stderr
    # a context whose meta.json is a FIFO: reported, and no daemon is asked
    doc = report(run(["check", "--format", "json", "--select", "RD501"],
                     env={"DOCKER_CONFIG": fifo_dir, "DOCKER_CONTEXT": "lab"}))
    (rd501,) = doc["findings"]
    assert "meta.json cannot be read (not a regular file)" in rd501["message"], rd501
