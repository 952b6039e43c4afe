r"""The runner is started the way its supervisor can run and restart it: no TTY without a terminal, no `-d` under systemd, a restart policy.

**What it checks.**

- `-t`/`--tty` (`-it` from the Bitbucket dialog) where no terminal exists - a
  systemd `ExecStart=` or a cron job: fail, docker refuses with
  `the input device is not a TTY`;
- `-d` under systemd: warn, the `docker run` exits at once, so systemd
  considers the service finished and cannot restart the runner when it stops;
- `--restart` together with `--rm`: fail, docker refuses the combination;
- no restart policy (`--restart`, compose `restart:`) and no supervisor that
  restarts it (systemd `Restart=`): warn, the runner stays offline after a
  crash or a reboot.

**Why.** The dialog's `docker container run -it ...` is meant to be pasted into
a terminal. Copied into a unit file or a crontab it fails or runs unsupervised.

**On Kubernetes.** `-t`, `-d` and `--restart` do not exist: the pod's
`restartPolicy` and its controller restart the runner, which RD604 checks.
This rule is skipped there.

**Fails**

```ini
[Service]
ExecStart=/usr/bin/docker container run -it --name runner-0f1e2d3c ... \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Passes**

```ini
[Service]
ExecStartPre=-/usr/bin/docker rm -f runner-0f1e2d3c
ExecStart=/usr/bin/docker container run --rm --name runner-0f1e2d3c ... \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
Restart=always
```

**Fix.** Under systemd: drop `-it` and `-d`, keep the container in the
foreground and set `Restart=always` in the unit. From a shell: use
`docker container run -d --restart unless-stopped ...` (no `-t`). In compose:
`restart: unless-stopped`.

**References.** Docker run reference (restart policies, `--rm`);
`../shared/reference/bitbucket-runners.md` §3.3, §7.
"""

from doctor.model import Severity
from doctor.rulebase import Rule

NO_TERMINAL = {"systemd": "a systemd service", "cron": "a cron job"}


def _set(runner, flag):
    got = runner.flag(flag)
    if got is None:
        return None
    value, origin = got
    return (value, origin) if value.lower() not in ("false", "0") else None


class Supervision(Rule):
    id = "RD004"
    name = "supervision"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.supervision(self, runner)
            return
        tty = _set(runner, "tty")
        detach = _set(runner, "detach")
        restart = runner.flag("restart")
        restart_policy = restart[0] if restart and restart[0] not in ("", "no") else None
        problems = False
        if tty and runner.supervisor in NO_TERMINAL and runner.form != "compose":
            problems = True
            yield self.fail(
                f"-t asks for a terminal, but {NO_TERMINAL[runner.supervisor]} has none: docker stops with "
                "\"the input device is not a TTY\"",
                "remove -t (and -i): write 'docker container run --name ...' instead of 'docker container run -it'",
                at=tty[1])
        if _set(runner, "rm") and restart_policy:
            problems = True
            yield self.fail("--restart and --rm together: docker refuses them (\"Conflicting options\")",
                            "keep one: --restart unless-stopped for a long-lived runner, or --rm under systemd",
                            at=restart[1])
        if detach and runner.supervisor == "systemd":
            problems = True
            yield self.warn(
                "-d under systemd: the docker command exits as soon as the container starts, so systemd "
                "cannot see or restart the runner",
                "remove -d and set Restart=always in the unit (or keep -d with --restart unless-stopped and "
                "Type=oneshot + RemainAfterExit=yes)",
                at=detach[1], severity=Severity.WARNING)
        systemd_restart = runner.flag("systemd-restart")
        supervised = restart_policy or (runner.supervisor == "systemd" and systemd_restart
                                        and systemd_restart[0] not in ("no", ""))
        if not supervised:
            problems = True
            where = {"systemd": "the unit has no Restart= and the container no --restart policy",
                     "compose": "the service has no restart: policy",
                     "cron": "cron starts it, but nothing restarts it when it stops"}.get(
                runner.supervisor, "no restart policy and no supervisor")
            fix = {"systemd": "add Restart=always to the [Service] section",
                   "compose": "add 'restart: unless-stopped' to the service"}.get(
                runner.supervisor, "add --restart unless-stopped (and -d instead of -it), or run it from a "
                                   "systemd unit with Restart=always")
            yield self.warn(f"{where}: the runner stays offline after a crash or a reboot", fix,
                            at=runner.origin, severity=Severity.WARNING)
        if not problems:
            how = f"restart policy {restart_policy}" if restart_policy else f"systemd Restart={systemd_restart[0]}"
            yield self.ok(f"supervised: {how}")


RULE = Supervision()
