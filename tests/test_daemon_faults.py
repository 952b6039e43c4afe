"""A daemon that breaks while the doctor talks to it: the run still ends within its timeout, names the step
that failed, reports the rest, and exits with the right code.

The faults are real: the lab's dockerd behind a proxy (tests/lab/faultproxy.py) that cuts a connection in
the middle of an answer, stops answering, answers a byte at a time, or dies; a container removed on the
real daemon between the list and its inspect (or its log); and a private dockerd killed with SIGKILL while
the doctor gathers its facts. A daemon that accepts and never answers at all ("hung"), and unreachable
daemons, are covered by tests/test_live_hosts.py.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from doctor.live import hosts
from doctor.live.daemon import WATCHDOG_GRACE, gather
from tests.conftest import ROOT
from tests.lab import containers, specs
from tests.lab.dockerd import LabUnavailable, fail_or_skip, start_lab
from tests.lab.faultproxy import FaultProxy

TIMEOUT = 1  # --timeout of the runs below, in seconds
CLI_STARTUP = 4.0  # seconds a CLI run may take beyond the daemon's part (interpreter start, imports, report)
# RD402/RD403 ask the daemon about registries (the network): not part of these runs
OFFLINE_REGISTRY = ["--ignore", "RD402,RD403"]
INSPECT = r"GET /v[\d.]+/containers/[0-9a-f]{64}/json "
LOGS = r"GET /v[\d.]+/containers/[0-9a-f]{64}/logs"


def _run(url, *args):
    """`runner-doctor check --format json --host URL`; returns (exit code, report, seconds)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "COLUMNS": "80", "NO_COLOR": "1", "DOCKER_CONFIG": "/nonexistent/runner-doctor-test"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "doctor", "check", "--format", "json", "--host", url,
                           "--timeout", str(TIMEOUT), *OFFLINE_REGISTRY, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    assert proc.stderr == "" and proc.returncode in (0, 1), (proc.returncode, proc.stderr)
    return proc.returncode, json.loads(proc.stdout), took


def _findings(doc, subject, rule):
    return [f for f in doc["findings"] if f["subject"] == subject and f["rule"] == rule]


def _host_rules(doc, url):
    return {f["rule"] for f in doc["findings"] if f["subject"] == url}


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="rdfault-", dir="/tmp")  # short: unix socket paths are limited to 108 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def two_runners(docker_lab):
    with containers.holding(docker_lab, ["DIALOG", "BROKEN"]):
        yield docker_lab


def _bounded(took, grace=0.0):
    assert took < TIMEOUT + grace + CLI_STARTUP, f"{took:.1f} s"


# ---------------------------------------------------------------- connections that break mid-answer

@pytest.mark.parametrize("tcp, pattern, step, said", [
    (True, r"GET /v[\d.]+/info ", "info", "reset the connection"),  # a TCP reset (RST)
    (False, r"GET /v[\d.]+/info ", "info", "closed the connection in the middle of its answer"),  # unix
    (False, r"/containers/json", "list containers", ""),
    (True, INSPECT, "inspect runner-2", "reset the connection"),
], ids=["info-tcp-reset", "info-unix-cut", "list-unix-cut", "inspect-tcp-reset"])
def test_a_connection_cut_mid_answer_names_the_step(two_runners, folder, tcp, pattern, step, said):
    with FaultProxy(two_runners.socket, folder, tcp=tcp) as proxy:
        proxy.on(pattern, cut_after=300)
        code, doc, took = _run(proxy.url)
    url = proxy.url
    (rd501,) = _findings(doc, url, "RD501")
    assert rd501["status"] == "fail" and f"during '{step}'" in rd501["message"] and said in rd501["message"], rd501
    assert "run the doctor again" in rd501["remediation"]
    (rd503,) = _findings(doc, url, "RD503")
    assert rd503["status"] == "skip" and "(see RD501)" in rd503["message"], rd503
    assert {"RD501", "RD502", "RD503", "RD504"} <= _host_rules(doc, url)  # the other host rules still report
    assert code == 1
    _bounded(took)


# ---------------------------------------------------------------- a daemon that stops answering mid-run

def test_a_daemon_that_stops_answering_after_the_containers_keeps_them(two_runners, folder):
    with FaultProxy(two_runners.socket, folder) as proxy:
        proxy.on(r"/images/json", hang=True)
        code, doc, took = _run(proxy.url)
    url = proxy.url
    (rd501,) = _findings(doc, url, "RD501")
    assert rd501["status"] == "fail" and f"did not answer 'list images' within {TIMEOUT} s" in rd501["message"]
    # what it did answer is checked: both containers, each in its own section
    assert {s["id"] for s in doc["subjects"]} == {url, f"{url}/{specs.DIALOG.name}", f"{url}/{specs.BROKEN.name}"}
    (rd503,) = _findings(doc, url, "RD503")
    assert rd503["status"] == "pass" and "2 runner containers" in rd503["message"], rd503
    assert _findings(doc, f"{url}/{specs.BROKEN.name}", "RD102")[0]["status"] == "fail"  # its writable mount
    assert code == 1
    _bounded(took, WATCHDOG_GRACE)


def test_a_daemon_that_answers_a_byte_at_a_time_is_abandoned(two_runners, folder):
    """Each read gets a byte within the timeout, so only the watchdog's deadline for the step ends it."""
    with FaultProxy(two_runners.socket, folder) as proxy:
        proxy.on(INSPECT, trickle=0.2)
        code, doc, took = _run(proxy.url)
    url = proxy.url
    (rd501,) = _findings(doc, url, "RD501")
    assert rd501["status"] == "fail", rd501
    assert f"did not answer 'inspect runner-2' within {TIMEOUT} s" in rd501["message"], rd501
    (rd503,) = _findings(doc, url, "RD503")
    assert rd503["status"] == "skip" and "could not all be inspected" in rd503["message"], rd503
    assert code == 1
    _bounded(took, WATCHDOG_GRACE)


# ---------------------------------------------------------------- a daemon that dies mid-run

def test_a_daemon_whose_socket_goes_away_mid_run(two_runners, folder):
    with FaultProxy(two_runners.socket, folder) as proxy:
        proxy.on(INSPECT, die=True)
        code, doc, took = _run(proxy.url)
    url = proxy.url
    (rd501,) = _findings(doc, url, "RD501")
    assert rd501["status"] == "fail" and "during 'inspect runner-2'" in rd501["message"], rd501
    assert {"RD501", "RD502", "RD503", "RD504"} <= _host_rules(doc, url)
    assert code == 1
    _bounded(took)


@pytest.fixture
def mortal_lab():
    """A private dockerd of its own, for a test to kill; stopped (what is left of it) afterwards.

    dockerd bind-mounts its data-root on itself and undoes it when it stops; killed, it cannot: the
    mount is undone here, so that nothing stays behind on this machine.
    """
    try:
        lab = start_lab()
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
        return
    try:
        yield lab
    finally:
        lab.stop()
        data = os.path.join(lab.root, "data")
        with open("/proc/mounts") as fh:
            mounted = any(line.split()[1] == data for line in fh)
        if mounted:
            subprocess.run(["umount", data], capture_output=True, timeout=30, check=True)
        shutil.rmtree(lab.root, ignore_errors=True)


def _kill(lab):
    lab.process.send_signal(signal.SIGKILL)
    lab.process.wait(timeout=10)


def test_a_dockerd_killed_while_the_doctor_gathers(mortal_lab):
    """SIGKILL between two steps: the socket file stays, nothing listens on it any more."""
    def progress(message):
        if message.startswith("listing containers"):
            _kill(mortal_lab)

    started = time.monotonic()
    facts = gather(hosts.choose(mortal_lab.base_url), timeout=TIMEOUT, progress=progress)
    took = time.monotonic() - started
    assert facts.reachable and facts.info  # what it learnt before it died is kept
    assert facts.problem.step == "list containers", facts.problem
    assert facts.problem.message.startswith("the daemon stopped answering during 'list containers': "), facts.problem
    assert "nothing listens on the socket" in facts.problem.message
    assert took < TIMEOUT + WATCHDOG_GRACE, took


def test_a_dockerd_killed_mid_answer_through_the_cli(mortal_lab, folder):
    with FaultProxy(mortal_lab.socket, folder) as proxy:
        proxy.on(r"/containers/json", before=lambda: _kill(mortal_lab))
        code, doc, took = _run(proxy.url)
    url = proxy.url
    (rd501,) = _findings(doc, url, "RD501")
    assert rd501["status"] == "fail" and "during 'list containers'" in rd501["message"], rd501
    (rd503,) = _findings(doc, url, "RD503")
    assert rd503["status"] == "skip" and "could not be listed" in rd503["message"], rd503
    assert code == 1
    _bounded(took)


# ---------------------------------------------------------------- containers removed while the doctor reads them

def _without(doc, name):
    """(subject, rule, status) of the findings, but for the container ``name``; the host's URL made neutral."""
    host = next(s["id"] for s in doc["subjects"] if s["kind"] == "host")
    return sorted((f["subject"].replace(host, "HOST"), f["rule"], f["status"])
                  for f in doc["findings"] if not f["subject"].endswith("/" + name))


def test_a_container_removed_between_list_and_inspect(two_runners, folder):
    lab = two_runners
    with FaultProxy(lab.socket, folder) as proxy:
        proxy.on(INSPECT, before=lambda: lab.api.remove_container(specs.BROKEN.name, force=True))
        code, doc, took = _run(proxy.url)
    url = proxy.url
    (rd503,) = _findings(doc, url, "RD503")
    assert rd503["status"] == "pass", rd503
    assert f"{specs.BROKEN.name} disappeared while the doctor ran" in rd503["message"], rd503
    assert [f["status"] for f in _findings(doc, url, "RD501")] == ["pass"]
    assert {s["id"] for s in doc["subjects"]} == {url, f"{url}/{specs.DIALOG.name}"}
    # the same as a run on the daemon that never had it
    with FaultProxy(lab.socket, folder) as plain:
        plain_code, plain_doc, _took = _run(plain.url)
    assert (code, _without(doc, specs.BROKEN.name)) == (plain_code, _without(plain_doc, specs.BROKEN.name))
    _bounded(took)


def test_a_container_removed_before_its_log_is_read(docker_lab, folder):
    crashed = specs.LIVE_CRASHED
    with containers.holding(docker_lab, [specs.LIVE_GOOD, crashed]):
        with FaultProxy(docker_lab.socket, folder) as proxy:
            proxy.on(LOGS, before=lambda: docker_lab.api.remove_container(crashed.name, force=True))
            code, doc, took = _run(proxy.url)
    url = proxy.url
    assert any(re.search(LOGS, r) for r in proxy.requests), proxy.requests
    assert [f["status"] for f in _findings(doc, url, "RD501")] == ["pass"]
    (rd503,) = _findings(doc, url, "RD503")
    assert f"{crashed.name} disappeared while the doctor ran" in rd503["message"], rd503
    # checked from the inspect data read before it went: it had exited with code 2
    states = _findings(doc, f"{url}/{crashed.name}", "RD503")
    assert states and states[0]["status"] == "fail" and "2" in states[0]["message"], states
    assert code == 1
    _bounded(took)
