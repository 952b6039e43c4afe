r"""The daemon's default log driver keeps container logs as files (json-file or local).

**What it checks.** On the live host (`runner-doctor check` with no TARGET, or
`--host`; needs the daemon): the daemon's default logging driver
(`docker info --format '{{.LoggingDriver}}'`). `json-file` (Docker's default)
and `local` pass; any other driver (`journald`, `syslog`, `fluentd`, `gelf`,
`awslogs`, `none`, ...) warns.

**Why.** The runner starts every step as a container on this daemon, and those
containers use the daemon's default log driver. The runner is started with the
host's `/var/lib/docker/containers` mounted read-only, the folder where the
file-based drivers keep each container's log (`<id>/<id>-json.log` for
`json-file`). **This is an inference, not documented by Atlassian:** the mount
suggests that the runner reads step logs from those files, so with a driver
that keeps no files there (`journald`, `syslog`, `none`, remote drivers) the
step logs in Bitbucket may stay empty. It is a warning, not a failure, for that
reason.

**Fails** (warns)

```console
$ docker info --format '{{.LoggingDriver}}'
journald
$ runner-doctor check
Docker Engine at unix:///var/run/docker.sock (default)
  RD504 logging-driver  the daemon's default log driver is journald ...
```

**Passes**

```console
$ docker info --format '{{.LoggingDriver}}'
json-file
```

**Fix.** Use the `json-file` driver (or `local`) as the daemon's default: in
`/etc/docker/daemon.json` set `"log-driver": "json-file"` (with
`"log-opts": {"max-size": "10m", "max-file": "3"}` to bound the files), then
`sudo systemctl restart docker`. The default applies to containers created
afterwards; log shippers can read the same files.

**References.** Docker, "Configure logging drivers"; Atlassian's generated start
command (the containers folder mount); `../shared/reference/bitbucket-runners.md`
§1.5, §3.4 (logging driver: inference).
"""

from doctor.model import Severity
from doctor.rulebase import Rule

FILE_DRIVERS = ("json-file", "local")


class LoggingDriver(Rule):
    id = "RD504"
    name = "logging-driver"
    severity = Severity.WARNING
    applies_to = ("host",)
    needs = frozenset({"daemon"})

    def check(self, subject, ctx):
        driver = ctx.daemon_for(subject).info.get("LoggingDriver")
        if not driver:
            yield self.skip("the daemon does not report its default log driver")
            return
        if driver in FILE_DRIVERS:
            yield self.ok(f"the daemon's default log driver is {driver}: step containers keep their logs as files "
                          "in the containers folder the runner mounts")
            return
        yield self.warn(f"the daemon's default log driver is {driver}: step containers then keep no log files in "
                        "the containers folder the runner mounts, and their logs may not reach Bitbucket "
                        "(an inference: see 'runner-doctor explain RD504')",
                        'set "log-driver": "json-file" in /etc/docker/daemon.json and restart the daemon',
                        evidence=f"LoggingDriver: {driver}")


RULE = LoggingDriver()
