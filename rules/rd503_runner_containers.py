r"""Each runner container is running - not stopped, crashed or restarting in a loop - and runs a runner of its own.

**What it checks.** On the live host (`runner-doctor check` with no TARGET, or
`--host`; needs the daemon):

- for each runner container (`docker inspect`: `State`, `RestartCount`):
  running passes; restarting in a loop fails with the exit code and the restart
  count (warns after fewer than 3 restarts); exited with an error code fails with
  the code, whether the kernel killed it for memory (`OOMKilled`), and the last
  lines of its log (at most 10, secrets masked); created but never started,
  stopped (exit code 0, or 143 from `docker stop`) and paused warn; a container
  that could not start (`State.Error`, e.g. a bind mount that failed) fails;
- two runner containers on one daemon with the same `RUNNER_UUID`: both fail
  when both run, both warn when one of them is stopped (starting it runs the
  runner twice);
- for the host: how many runner containers were found and in which states;
  a `--container NAME` the daemon does not have fails; none found warns.

A configuration file (TARGET) is not a container: skipped, unless the daemon
of this machine has a runner container of the file's `--name` - then that
container's state is reported - or a running runner container with the file's
`RUNNER_UUID` under another name, which warns.

**Why.** A runner that is not running takes no steps: Bitbucket shows it
offline and the steps wait in the queue (up to 2.5 hours). A runner that
restarts in a loop (`--restart unless-stopped` and a start-up error: wrong
OAuth credentials, a missing mount, too little memory) looks alive in `docker
ps` for a moment at a time. Each Bitbucket runner has one identity
(`RUNNER_UUID` and its OAuth client): two containers started with the same one
act as one runner.

**Fails**

```console
$ runner-doctor check
container runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 on unix:///var/run/docker.sock
  RD503 runner-containers  the container is restarting in a loop: it exited with code 1 and was restarted 14 times
        got: last log lines:
             ... 404 from POST https://auth.atlassian.com/oauth/token ...
```

**Passes**

```console
$ runner-doctor check
container runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 on unix:///var/run/docker.sock
  RD503 runner-containers  the container is running (since 2025-05-02 09:14:31 UTC)
```

**Fix.** Read the container's log (`docker logs --tail 50 NAME`) and fix the
cause it names; then `docker start NAME` (or `docker restart NAME`). Exit code
137 with `OOMKilled`: give the container more memory (RD502). A second
container with the same `RUNNER_UUID`: remove it (`docker rm -f NAME`), or
create another runner in Bitbucket for it.

**References.** Docker, "docker container inspect" (`State`), "Start containers
automatically" (restart policies); Atlassian, "Runners" (queued steps wait up
to 2.5 h); `../shared/reference/bitbucket-runners.md` §3.1, §8.
"""

import base64
from doctor import lazyre

from doctor.model import Severity, is_secret_name
from doctor.redact import MIN_SECRET_LEN, Redactor, collect_secrets
from doctor.rulebase import Rule
from doctor.rules._live import (container_name, env_list, is_active, runner_uuid, same_uuid_key,
                                 state)

LOG_LINES = 10
LOG_WIDTH = 200
LOOP_RESTARTS = 3  # restarting after this many restarts is a loop, not a hiccup
STOP_CODES = (0, 143)  # a clean exit, or SIGTERM from docker stop
_CONTROL = lazyre.compile(  # for live containers' log lines only
    r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def _when(stamp):
    """'2025-05-02T09:14:31.123Z' -> '2025-05-02 09:14:31 UTC'; '' for docker's zero time."""
    if not stamp or stamp.startswith("0001-"):
        return ""
    return stamp[:19].replace("T", " ") + " UTC"


def _redactor(subject, data):
    """Masks the subject's secrets and the container's own secret variables (base64 forms too)."""
    secrets = set(collect_secrets([subject]))
    for entry in env_list(data):
        name, _eq, value = entry.partition("=")
        if is_secret_name(name) and len(value) >= MIN_SECRET_LEN:
            secrets |= {value, base64.b64encode(value.encode()).decode()}
    return Redactor(secrets)


def log_tail(subject, data, facts):
    """The last log lines of a container, masked and bounded, as evidence; '' when none were read."""
    raw = facts.logs.get(data.get("Id"))
    if not raw:
        return ""
    mask = _redactor(subject, data)
    lines = [_CONTROL.sub("", line).rstrip() for line in raw.splitlines()]
    lines = [mask(line[:LOG_WIDTH] + ("..." if len(line) > LOG_WIDTH else "")) for line in lines if line.strip()]
    if not lines:
        return ""
    return "last log lines (secrets masked):\n" + "\n".join(lines[-LOG_LINES:])


class RunnerContainers(Rule):
    id = "RD503"
    name = "runner-containers"
    severity = Severity.ERROR
    applies_to = ("runner", "host")

    def check(self, subject, ctx):
        facts = ctx.daemon_for(subject)
        if subject.runner is None:
            yield from self._host(subject, facts, ctx)
            return
        data = subject.runner.facts.get("container")
        if data is not None:
            yield from self._state(subject, data, facts, "the container")
            yield from self._duplicates(subject, data, facts)
            return
        yield from self._file(subject, facts)

    # -- one container
    def _state(self, subject, data, facts, who):
        st = data.get("State") or {}
        status = state(data)
        name = container_name(data)
        code = st.get("ExitCode")
        restarts = data.get("RestartCount") or 0
        oom = " (killed by the kernel: out of memory, see RD502)" if st.get("OOMKilled") else ""
        error = f": {st['Error']}" if st.get("Error") else ""
        logs = log_tail(subject, data, facts)
        read_log = f"read its log (docker logs --tail 50 {name}), fix the cause it names"
        if status == "running":
            since = _when(st.get("StartedAt"))
            again = f", restarted {restarts} time{'s' if restarts != 1 else ''}" if restarts else ""
            yield self.ok(f"{who} is running{f' (since {since}{again})' if since else again}")
        elif status == "restarting":
            text = (f"{who} is restarting in a loop: it exited with code {code}{oom} and was restarted {restarts} "
                    f"time{'s' if restarts != 1 else ''}; it takes no steps")
            fix = f"{read_log}, then docker restart {name}"
            if restarts >= LOOP_RESTARTS:
                yield self.fail(text, fix, evidence=logs)
            else:
                yield self.warn(text.replace("in a loop", "after a failure"), fix, evidence=logs,
                                severity=Severity.WARNING)
        elif status == "created":
            if error:
                yield self.fail(f"{who} was created but could not start{error}",
                                f"fix what the error names, then docker start {name}")
            else:
                yield self.warn(f"{who} was created but never started: it takes no steps",
                                f"docker start {name}", severity=Severity.WARNING)
        elif status == "exited" and (code in STOP_CODES and not st.get("OOMKilled")) and not error:
            ended = _when(st.get("FinishedAt"))
            yield self.warn(f"{who} is stopped (exit code {code}{f' at {ended}' if ended else ''}): it takes no steps",
                            f"docker start {name}", severity=Severity.WARNING)
        elif status == "exited":
            yield self.fail(f"{who} exited with code {code}{oom}{error}: it takes no steps",
                            f"{read_log}, then docker start {name}", evidence=logs)
        elif status == "paused":
            yield self.warn(f"{who} is paused: it takes no steps", f"docker unpause {name}",
                            severity=Severity.WARNING)
        else:  # dead, removing
            yield self.fail(f"{who} is {status}: docker could not stop or remove it cleanly{error}",
                            f"remove it (docker rm -f {name}) and start the runner again")

    def _duplicates(self, subject, data, facts):
        mine = runner_uuid(data)
        if facts is None or mine is None:
            return
        others = [d for d in facts.containers if d.get("Id") != data.get("Id") and runner_uuid(d) == mine]
        if not others:
            return
        names = ", ".join(f"{container_name(d)} ({state(d)})" for d in others)
        fix = ("keep one container per runner: remove the others (docker rm -f NAME), or create another runner in "
               "Bitbucket for each further container (its own RUNNER_UUID and OAuth client)")
        if is_active(data) and any(is_active(d) for d in others):
            yield self.fail(f"RUNNER_UUID is also used by {names} on this daemon: both containers run as the same "
                            "Bitbucket runner", fix)
        else:
            yield self.warn(f"RUNNER_UUID is also used by {names} on this daemon: only one of them may run; starting "
                            "the other runs the same Bitbucket runner twice", fix, severity=Severity.WARNING)

    # -- a configuration file
    def _file(self, subject, facts):
        runner = subject.runner
        if runner.form == "kubernetes":
            yield self.skip("a Kubernetes pod: kubectl get pods shows its state (this rule reads Docker containers)")
            return
        if facts is None:
            yield self.skip("not a container: the state of runner containers is checked on the live host "
                            "(runner-doctor check with no TARGET)")
            return
        name = runner.name.lstrip("/") if runner.name and "$" not in runner.name else None
        data = next((d for d in facts.containers if name and container_name(d) == name), None)
        if data is not None:
            yield from self._state(subject, data, facts, f"the container {name} on {facts.url}")
        elif name and name in facts.names:
            yield self.skip(f"not a runner container: the container {name} on {facts.url} does not run the "
                            "runner image (see RD206)")
        else:
            yield self.skip(f"not a container: no container {name or 'of this configuration'} on {facts.url} yet")
        var = runner.env_var("RUNNER_UUID")
        mine = same_uuid_key(var.value if var is not None else None)
        twins = [d for d in facts.containers if mine and runner_uuid(d) == mine and container_name(d) != name
                 and is_active(d)]
        if twins:
            yield self.warn(f"{', '.join(container_name(d) for d in twins)} on {facts.url} already runs with this "
                            "RUNNER_UUID: starting this configuration too runs the same Bitbucket runner twice",
                            "stop and remove the other container first, or create another runner in Bitbucket",
                            at=var.origin, severity=Severity.WARNING)

    # -- the host
    def _host(self, subject, facts, ctx):
        if facts is None:
            yield self.skip(ctx.unavailable("daemon", subject) or "needs the Docker daemon")
            return
        problem = facts.problem
        if problem is not None and problem.step in ("info", "list containers"):
            yield self.skip(f"the containers could not be listed: {problem.message} (see RD501)")
            return
        if problem is not None and problem.step.startswith("inspect "):  # listed, but not all could be read
            yield self.skip(f"the containers could not all be inspected: {problem.message} (see RD501)")
            return
        for wanted in facts.missing:
            yield self.fail(f"no container named {wanted} on {facts.url} (given with --container)",
                            "check the name or id: docker ps -a --format '{{.Names}}'")
        gone = f"; {', '.join(facts.vanished)} disappeared while the doctor ran" if facts.vanished else ""
        found = facts.containers
        if not found:
            if not facts.missing:
                yield self.warn(f"no runner container on {facts.url}{gone}",
                                "if the runner runs here from a mirror of the image, give --runner-image REPOSITORY, "
                                "or name it with --container NAME", severity=Severity.INFO)
            return
        counts = {}
        for d in found:
            counts[state(d)] = counts.get(state(d), 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        yield self.ok(f"{len(found)} runner container{'s' if len(found) != 1 else ''} on {facts.url}: {states}"
                      f"{gone} (each is checked in its own section)")


RULE = RunnerContainers()
