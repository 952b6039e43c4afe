"""Reaching Docker daemons for real: unreachable hosts and their precise reasons, timeouts, several hosts at
once (one over tcp://), ssh:// through a real sshd, host choice like the docker CLI, the spinner, and the
read-only promise checked on the lab daemon's event stream.

Everything runs against real things on this machine: the lab dockerd (tests/lab/dockerd.py), a second lab
dockerd listening on 127.0.0.1, broken hosts (tests/lab/broken.py), a private sshd (tests/lab/sshd.py).
"""

import hashlib
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from doctor.live import hosts
from doctor.live.daemon import WATCHDOG_GRACE, gather_all
from tests.conftest import ROOT
from tests.lab import broken, containers, specs
from tests.lab.dockerd import LabUnavailable, build_runner_image, fail_or_skip, start_lab
from tests.lab.specs import ContainerSpec

CLI_STARTUP = 4.0  # seconds a CLI run may take beyond the daemon's part (interpreter start, imports, report)
DAEMON_RULES = ("RD502", "RD503", "RD504")  # host rules that need the daemon besides RD501


def _env(**extra):
    """A clean environment: no DOCKER_* or ssh agent of the person running the tests."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "COLUMNS": "80", "NO_COLOR": "1", "DOCKER_CONFIG": "/nonexistent/runner-doctor-test"}
    env.update(extra)
    return env


def _run(args, env=None, timeout=60):
    """`python -m doctor ARGS`; returns (CompletedProcess, seconds)."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "doctor", *args], cwd=ROOT, env=env or _env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return proc, time.monotonic() - started


def _json(proc):
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def _findings(doc, subject, rule=None):
    return [f for f in doc["findings"] if f["subject"] == subject and (rule is None or f["rule"] == rule)]


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="rdlive-", dir="/tmp")  # short: unix socket paths are limited to 108 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _need_root():
    if os.geteuid() != 0:
        fail_or_skip("changing to another user needs root")


# ---------------------------------------------------------------- unreachable hosts

REASONS = {
    "missing-socket": ("no Docker socket at /tmp/rdlive-", "start the daemon"),
    "not-a-socket": ("is not a socket", "a bind mount of a missing socket"),
    "stale-socket": ("nothing listens on the socket (a stale socket file", "start the daemon"),
    "hung": ("did not answer 'version' within 1 s", "raise --timeout"),
    "refused": ("was refused (nothing listens there)", "check the port"),
    "blackhole": ("took longer than 1 s", "firewall"),
}


@pytest.mark.parametrize("kind", broken.KINDS)
def test_unreachable_host_fails_rd501_with_its_reason_and_the_daemon_rules_skip(kind, folder):
    reason, fix = REASONS[kind]
    with broken.broken_host(kind, folder) as url:
        proc, took = _run(["check", "--format", "json", "--host", url, "--timeout", "1"])
    doc = _json(proc)
    assert proc.returncode == 1
    assert [s["id"] for s in doc["subjects"]] == [url]
    (rd501,) = _findings(doc, url, "RD501")
    assert rd501["status"] == "fail" and reason in rd501["message"] and fix in rd501["remediation"], rd501
    for rule in DAEMON_RULES:
        for f in _findings(doc, url, rule):
            assert f["status"] == "skip" and reason in f["message"], f
    assert took < 1 + WATCHDOG_GRACE + CLI_STARTUP, f"{kind}: {took:.1f} s"


def test_a_regular_file_is_not_a_socket(folder):
    path = os.path.join(folder, "docker.sock")
    with open(path, "w"):
        pass
    doc = _json(_run(["check", "--format", "json", "--host", path])[0])
    (rd501,) = _findings(doc, f"unix://{path}", "RD501")
    assert rd501["status"] == "fail" and f"{path} is not a socket" in rd501["message"]


AS_USER = r"""
import contextlib, io, os, sys
from doctor.cli import main
uid, gid, real, warm, args = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
# The interpreter may live where the user cannot read (/root/.pyenv): load every module the run needs
# first, with the same run against a missing socket, then drop to the user for the real run.
with contextlib.redirect_stdout(io.StringIO()):
    main([a.replace(real, warm) for a in args])
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
assert os.geteuid() == uid and os.getegid() == gid
sys.exit(main(args))
"""


def _run_as_nobody(url, *args):
    import pwd

    _need_root()
    user = pwd.getpwnam("nobody")
    warm = "unix:///nonexistent/runner-doctor/docker.sock"
    cmd = [sys.executable, "-c", AS_USER, str(user.pw_uid), str(user.pw_gid), url, warm,
           "check", "--host", url, *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(HOME="/nonexistent"), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_permission_denied_as_a_non_root_user(docker_lab):
    mode = os.stat(docker_lab.socket).st_mode & 0o777
    assert mode & 0o006 == 0, oct(mode)  # 0660 root:docker (or root:root): others may not connect
    proc = _run_as_nobody(docker_lab.base_url, "--select", "RD501")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    out = " ".join(proc.stdout.split())
    assert f"permission denied on {docker_lab.socket}" in out, out
    assert "usermod -aG docker" in out and "sudo" in out


def test_permission_denied_on_a_folder_above_the_socket(folder):
    inner = os.path.join(folder, "private")
    os.mkdir(inner, 0o700)
    with broken.broken_host("stale-socket", inner) as url:
        proc = _run_as_nobody(url, "--format", "json")
    doc = _json(proc)
    (rd501,) = _findings(doc, url, "RD501")
    assert "permission denied on" in rd501["message"] and "a folder above it cannot be read" in rd501["message"]


def test_a_hung_daemon_ends_within_the_timeout_and_names_the_step(folder):
    with broken.broken_host("hung", folder) as url:
        proc, took = _run(["check", "--host", url, "--timeout", "2"])
    assert (proc.returncode, proc.stderr) == (1, ""), proc.stdout
    out = " ".join(proc.stdout.split())
    assert f"the daemon at {url} did not answer 'version' within 2 s" in out, out
    assert took < 2 + WATCHDOG_GRACE + CLI_STARTUP, took


def _need_paramiko():
    try:
        import paramiko  # noqa: F401
    except ImportError:
        fail_or_skip("paramiko is not installed (scripts/setup installs the ssh extra)")


def test_a_silent_ssh_server_is_abandoned_by_the_watchdog():
    """paramiko's handshake has no timeout of ours (its banner timeout is 15 s): the watchdog bounds it."""
    _need_paramiko()
    server = broken.HungDaemon()  # 127.0.0.1: accepts, never sends the SSH banner
    try:
        url = f"ssh://root@127.0.0.1:{server.url.rsplit(':', 1)[1]}"
        proc, took = _run(["check", "--format", "json", "--host", url, "--timeout", "1"])
    finally:
        server.stop()
    (rd501,) = _findings(_json(proc), url, "RD501")
    assert "did not complete the ssh connection within 1 s" in rd501["message"], rd501
    assert "sshd" in rd501["remediation"]
    assert took < 1 + WATCHDOG_GRACE + CLI_STARTUP, took


# ---------------------------------------------------------------- several hosts at once

@pytest.fixture(scope="module")
def tcp_lab(docker_lab):
    """A second lab dockerd, listening on tcp://127.0.0.1:PORT too, with the runner image."""
    port = broken.free_port()
    try:
        lab = start_lab([f"tcp://127.0.0.1:{port}"])
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
        return
    try:
        build_runner_image(lab)
        yield lab, f"tcp://127.0.0.1:{port}"
    finally:
        lab.stop()


def test_two_daemons_one_over_tcp_each_with_its_containers(docker_lab, tcp_lab):
    second, tcp_url = tcp_lab
    with containers.holding(docker_lab, ["DIALOG"]), containers.holding(second, ["BROKEN"]):
        proc, _took = _run(["check", "--format", "json", "--host", docker_lab.base_url, "--host", tcp_url])
        rich, _took = _run(["check", "--host", docker_lab.base_url, "--host", tcp_url])
    doc = _json(proc)
    ids = [s["id"] for s in doc["subjects"]]
    assert ids == [docker_lab.base_url, f"{docker_lab.base_url}/{specs.DIALOG.name}",
                   tcp_url, f"{tcp_url}/{specs.BROKEN.name}"], ids
    for url in (docker_lab.base_url, tcp_url):
        (rd501,) = _findings(doc, url, "RD501")
        assert rd501["status"] == "pass", rd501
    sections = [line for line in rich.stdout.splitlines() if line.startswith("▌ ")]
    assert sections[0] == f"▌ Docker Engine at {docker_lab.base_url} (--host)"
    assert f"▌ Docker Engine at {tcp_url} (--host)" in sections
    assert sections.index(f"▌ Docker Engine at {tcp_url} (--host)") > 1  # after the first host's container


def test_hosts_are_gathered_concurrently(docker_lab, folder):
    first, second = os.path.join(folder, "a"), os.path.join(folder, "b")
    os.mkdir(first)
    os.mkdir(second)
    with broken.broken_host("hung", first) as hung1, broken.broken_host("hung", second) as hung2:
        choices = [hosts.choose(u) for u in (hung1, docker_lab.base_url, hung2)]
        started = time.monotonic()
        facts = gather_all(choices, timeout=2)
        took = time.monotonic() - started
        proc, cli_took = _run(["check", "--format", "json", "--host", hung1, "--host", docker_lab.base_url,
                               "--timeout", "2"])
    assert [f.url for f in facts] == [hung1, docker_lab.base_url, hung2]
    assert facts[1].reachable and facts[1].problem is None
    assert all(f.problem.kind == "timeout" for f in (facts[0], facts[2]))
    assert took < 2 + WATCHDOG_GRACE, took  # in parallel: not 4 s
    doc = _json(proc)
    assert [f["status"] for f in _findings(doc, docker_lab.base_url, "RD501")] == ["pass"]
    assert [f["status"] for f in _findings(doc, hung1, "RD501")] == ["fail"]
    assert cli_took < 2 + WATCHDOG_GRACE + CLI_STARTUP, cli_took


# ---------------------------------------------------------------- ssh://

@pytest.fixture(scope="module")
def sshd(docker_lab):
    from tests.lab.sshd import start_sshd

    try:
        server = start_sshd(docker_lab.base_url)
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
        return
    yield server
    server.stop()


def _client_home(sshd, folder, key=True, known_hosts=True):
    """A HOME for the ssh client with or without the key and the server's known_hosts line."""
    home = os.path.join(folder, "home")
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
    wanted = (["id_ed25519", "id_ed25519.pub"] if key else []) + (["known_hosts"] if known_hosts else [])
    for name in wanted:
        shutil.copy(os.path.join(sshd.client_home, ".ssh", name), os.path.join(home, ".ssh", name))
    return home


def test_ssh_host_reaches_the_lab_daemon(docker_lab, sshd):
    with containers.holding(docker_lab, ["DIALOG"]):
        proc, _took = _run(["check", "--format", "json", "--host", sshd.url], env=_env(HOME=sshd.client_home))
    doc = _json(proc)
    assert [s["id"] for s in doc["subjects"]] == [sshd.url, f"{sshd.url}/{specs.DIALOG.name}"]
    (rd501,) = _findings(doc, sshd.url, "RD501")
    assert rd501["status"] == "pass" and "Docker " in rd501["message"], rd501


def test_ssh_unknown_host_key(sshd, folder):
    proc, _took = _run(["check", "--format", "json", "--host", sshd.url],
                       env=_env(HOME=_client_home(sshd, folder, known_hosts=False)))
    (rd501,) = _findings(_json(proc), sshd.url, "RD501")
    assert "the ssh host key of 127.0.0.1 is not in ~/.ssh/known_hosts" in rd501["message"], rd501
    assert f"ssh -p {sshd.port} root@127.0.0.1 true" in rd501["remediation"]


def test_ssh_without_a_usable_key(sshd, folder):
    proc, _took = _run(["check", "--format", "json", "--host", sshd.url],
                       env=_env(HOME=_client_home(sshd, folder, key=False)))
    (rd501,) = _findings(_json(proc), sshd.url, "RD501")
    assert "ssh authentication failed" in rd501["message"] and "authorized_keys" in rd501["remediation"], rd501


def test_ssh_host_whose_docker_reaches_no_daemon(sshd, folder):
    from tests.lab.sshd import start_sshd

    other = start_sshd(f"unix://{folder}/no-daemon.sock")
    try:
        proc, _took = _run(["check", "--format", "json", "--host", other.url, "--timeout", "5"],
                           env=_env(HOME=other.client_home))
    finally:
        other.stop()
    (rd501,) = _findings(_json(proc), other.url, "RD501")
    assert "'docker system dial-stdio' on the host gave no answer" in rd501["message"], rd501
    assert f"ssh -p {other.port} root@127.0.0.1 docker version" in rd501["remediation"]


def test_ssh_without_paramiko_says_how_to_install_it():
    hidden = ("import sys; sys.modules['paramiko'] = None; from doctor.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    url = f"ssh://root@127.0.0.1:{broken.free_port()}"
    proc = subprocess.run([sys.executable, "-c", hidden, "check", "--format", "json", "--host", url], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=60)
    (rd501,) = _findings(_json(proc), url, "RD501")
    assert "ssh:// needs the paramiko package, which is not installed" in rd501["message"], rd501
    assert "pip install 'runner-doctor[ssh]'" in rd501["remediation"]


def test_a_password_in_the_host_url_is_refused_and_never_shown():
    canary = "Canary-Pw-81273"
    proc, _took = _run(["check", "--host", f"ssh://me:{canary}@127.0.0.1:1"])
    assert proc.returncode == 1
    assert canary not in proc.stdout + proc.stderr
    assert "a password in the host URL is not supported" in " ".join(proc.stdout.split())


# ---------------------------------------------------------------- which host, like the docker CLI

def _context(config_dir, name, host, tls_files=False, skip_verify=False):
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(config_dir, "contexts", "meta", digest)
    os.makedirs(meta)
    endpoint = {"Host": host, "SkipTLSVerify": skip_verify}
    with open(os.path.join(meta, "meta.json"), "w") as fh:
        json.dump({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}, fh)
    if tls_files:
        tls = os.path.join(config_dir, "contexts", "tls", digest, "docker")
        os.makedirs(tls)
        for pem in ("ca.pem", "cert.pem", "key.pem"):
            with open(os.path.join(tls, pem), "w"):
                pass
        return tls
    return None


def _current(config_dir, name):
    with open(os.path.join(config_dir, "config.json"), "w") as fh:
        json.dump({"auths": {}, "currentContext": name}, fh)


def test_host_choice_precedence(tmp_path):
    cfg = str(tmp_path)
    _context(cfg, "remote", "tcp://127.0.0.1:2376")
    _context(cfg, "other", "unix:///run/other.sock")
    _current(cfg, "remote")
    env = {"DOCKER_CONFIG": cfg}
    assert hosts.choose(None, env) == hosts.HostChoice("tcp://127.0.0.1:2376", "context remote")
    env["DOCKER_CONTEXT"] = "other"
    assert hosts.choose(None, env).url == "unix:///run/other.sock"
    env["DOCKER_HOST"] = "/run/from-env.sock"  # a bare path, as people write it
    assert hosts.choose(None, env) == hosts.HostChoice("unix:///run/from-env.sock", "DOCKER_HOST")
    assert hosts.choose("tcp://127.0.0.1:1", env) == hosts.HostChoice("tcp://127.0.0.1:1", "--host")
    assert hosts.choose(None, {"DOCKER_CONFIG": str(tmp_path / "none")}) == \
        hosts.HostChoice("unix:///var/run/docker.sock", "default")
    assert hosts.choose(None, {"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "default"}).source == "default"


def test_host_choice_tls_from_the_environment_and_from_a_context(tmp_path):
    env = {"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"}
    choice = hosts.choose(None, env)
    assert (choice.tls_verify, choice.cert_path) == (True, "/certs")
    cfg = str(tmp_path)
    tls = _context(cfg, "secure", "tcp://127.0.0.1:2376", tls_files=True)
    _context(cfg, "lax", "tcp://127.0.0.1:2376", tls_files=True, skip_verify=True)
    secure = hosts.choose(None, {"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "secure"})
    assert (secure.tls_verify, secure.cert_path) == (True, tls)
    assert hosts.choose(None, {"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "lax"}).tls_verify is False


def test_host_choice_errors_are_said_not_guessed(tmp_path):
    cfg = str(tmp_path)
    _current(cfg, "gone")
    choice = hosts.choose(None, {"DOCKER_CONFIG": cfg})
    assert choice.error == (f"the docker context 'gone' (from currentContext in {cfg}/config.json) is unusable: "
                            f"no such context in {cfg}/contexts")
    assert "docker context ls" in choice.fix
    digest = hashlib.sha256(b"broken").hexdigest()
    os.makedirs(tmp_path / "contexts" / "meta" / digest)
    (tmp_path / "contexts" / "meta" / digest / "meta.json").write_text('{"Endpoints": {}}')
    assert hosts.choose(None, {"DOCKER_CONFIG": cfg, "DOCKER_CONTEXT": "broken"}).error.endswith(
        "meta.json has no Docker endpoint")
    secret = hosts.choose("ssh://me:pw@host")
    assert secret.url == "ssh://me:***@host" and "pw" not in secret.error


def test_a_context_pointing_at_the_lab_is_used_like_the_docker_cli(docker_lab, tmp_path):
    cfg = str(tmp_path)
    _context(cfg, "lab", docker_lab.base_url)
    _current(cfg, "lab")
    proc, _took = _run(["check", "--select", "RD501"], env=_env(DOCKER_CONFIG=cfg))
    out = proc.stdout
    assert proc.returncode == 0, out
    assert f"▌ Docker Engine at {docker_lab.base_url} (context lab)" in out
    assert "Docker 2" in out  # RD501 passes with the server version
    proc, _took = _run(["check", "--select", "RD501"], env=_env(DOCKER_CONFIG=cfg, DOCKER_HOST="/nonexistent.sock"))
    assert "▌ Docker Engine at unix:///nonexistent.sock (DOCKER_HOST)" in proc.stdout


# ---------------------------------------------------------------- the spinner

def _run_with_terminal_stderr(args, timeout=30):
    """Run the CLI with stderr on a pseudo-terminal (stdout a pipe); returns (stdout, what the terminal got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "doctor", *args], cwd=ROOT, env=_env(TERM="xterm"),
                            stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    return out.decode(), seen.decode(errors="replace")


def test_the_spinner_names_the_step_on_a_terminal_only(folder):
    with broken.broken_host("hung", folder) as url:
        out, terminal = _run_with_terminal_stderr(["check", "--host", url, "--timeout", "1"])
        plain, _took = _run(["check", "--host", url, "--timeout", "1"])
    assert f"connecting to {url}" in terminal, terminal
    assert "did not answer 'version'" in " ".join(out.split())  # the report itself stays on stdout
    assert plain.stderr == ""  # no terminal, no spinner
    assert "connecting to" not in plain.stdout


# ---------------------------------------------------------------- the doctor only reads

# started containers mount only paths that exist (the lab's own): a missing bind source would make
# dockerd create it as a folder on this machine
RUNNING = ContainerSpec(name="runner-running", volumes=list(specs.LIVE_MOUNTS), start=True)
EXITED = ContainerSpec(name="runner-exited", volumes=list(specs.LIVE_MOUNTS), start=True,
                       command=["sh", "-c", "echo cannot reach bitbucket.org; exit 3"])


def _events(lab, since, until):
    return [(e.get("Type"), e.get("Action"), (e.get("Actor") or {}).get("Attributes", {}).get("name"))
            for e in lab.api.events(since=f"{since:.9f}", until=f"{until:.9f}", decode=True)]


def test_the_doctor_only_reads(docker_lab):
    lab = docker_lab
    setup_started = time.time()
    with containers.holding(lab, ["DIALOG", "BROKEN", RUNNING, EXITED]):
        time.sleep(0.1)
        since = time.time()
        time.sleep(0.1)
        runs = [
            ["check", "--host", lab.base_url],  # no TARGET: the host and every runner container
            ["check", "--format", "json", "--host", lab.base_url],
            ["check", "--host", lab.base_url, "--container", EXITED.name, "--container", "no-such-container"],
            ["check", "--host", lab.base_url, "fixtures/docker-run/dialog.sh", "fixtures/compose/single-runner.yml"],
        ]
        for args in runs:
            proc, _took = _run(args)
            assert proc.returncode in (0, 1) and proc.stderr == "", (args, proc.stderr)
        # TARGET files checked against "this machine's daemon", chosen through DOCKER_HOST
        proc, _took = _run(["check", "fixtures/docker-run/dialog.sh"], env=_env(DOCKER_HOST=lab.base_url))
        assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
        time.sleep(0.1)
        until = time.time()
        during = _events(lab, since, until)
        before = _events(lab, setup_started, since)
    # the watch works: it saw the setup's own changes
    assert ("container", "create", RUNNING.name) in before and ("container", "start", EXITED.name) in before
    assert during == [], f"the doctor changed the daemon: {during}"
