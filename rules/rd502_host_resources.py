r"""The runner container may use at least 512 MiB of memory, and the Docker host has about 8 GB.

**What it checks.**

- On a runner (a start command, compose file, unit, `docker inspect` output or a
  live container; needs no daemon): the container's memory limit - `--memory` /
  `-m` (`512m`, `1g`, bytes), compose `mem_limit` or
  `deploy.resources.limits.memory`, `HostConfig.Memory` in `docker inspect` -
  below 512 MiB fails. No limit passes. A limit given by a variable is not
  checked. A Kubernetes pod is skipped: RD602 checks its `resources`.
- On the live host (`runner-doctor check` with no TARGET, or `--host`; needs the
  daemon): the host's memory (`docker info`: `MemTotal`) below 7.5 GiB warns,
  and the pass message reports the memory, the CPUs, and the cgroup version
  and driver (`CgroupVersion`, `CgroupDriver`). The kernel reports a little less
  than the installed memory (it keeps some for itself), so a host sold as 8 GB
  shows about 7.6-7.8 GiB: the threshold leaves room for that.

**Why.** Atlassian's requirements for the Linux Docker runner: a 64-bit host
with at least 8 GB of memory (more for 2x steps and services: a step can use up
to 32 GB at size 8x), and at least 512 MB for the runner container itself. The
runner is a Java process; with less memory it is killed by the kernel (exit
code 137, `OOMKilled`) and restarts in a loop. Steps run in their own
containers, sized by the step's `size`, not by this limit.

**Fails**

```sh
docker container run -d --restart unless-stopped \
  --memory 256m \
  -v /tmp:/tmp \
  ...
```

**Passes**

```sh
docker container run -d --restart unless-stopped \
  --memory 1g \
  -v /tmp:/tmp \
  ...
```

```console
$ runner-doctor check
Docker Engine at unix:///var/run/docker.sock (default)
  RD502 host-resources  the host has 15.6 GiB of memory and 4 CPUs; cgroup v2 (systemd driver)
```

**Fix.** Give the runner container at least 512 MiB (`--memory 1g`, compose
`mem_limit: 1g`), or no limit. Run the runner on a host with at least 8 GB of
memory; steps with `size: 2x` or services need more.

**References.** Atlassian, "Runners" (requirements: 64-bit Linux, 8 GB,
runner container 512 MB, Docker 19.03+); `../shared/reference/bitbucket-runners.md`
§1.5, §3.4 (cgroup v2), §8.
"""

import re

from doctor import lazyre
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.runner_facts import MIN_CONTAINER_MEMORY

GIB = 1024 ** 3
MIN_HOST_MEMORY = int(7.5 * GIB)  # "8 GB" installed, as the kernel reports it (MemTotal)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}
# docker's units.RAMInBytes (go-units): 512m, 1g, 1.5G, 512MiB, 512mb, 536870912
_SIZE = lazyre.compile(  # only when a --memory is given
    r"^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$", re.I)


def parse_memory(text):
    """Bytes from a docker memory size, or None when docker would not accept it."""
    m = _SIZE.match((text or "").strip())
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def human(n):
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    return f"{n / 1024 ** 2:.0f} MiB"


class HostResources(Rule):
    id = "RD502"
    name = "host-resources"
    severity = Severity.ERROR
    applies_to = ("runner", "host")

    def check(self, subject, ctx):
        if subject.runner is not None:
            yield from self._container_limit(subject.runner)
        else:
            yield from self._host(subject, ctx)

    def _container_limit(self, runner):
        if runner.form == "kubernetes":
            yield self.skip("a Kubernetes pod: RD602 checks the memory of the runner and dind containers")
            return
        flag = runner.flag("memory")
        if flag is None:
            yield self.ok("no memory limit is set on the runner container")
            return
        value, origin = flag
        key = {"compose": "mem_limit", "inspect": "HostConfig.Memory"}.get(runner.form, "--memory")
        evidence = f"{key}: {value}" if runner.form in ("compose", "inspect") else f"--memory {value}"
        if "$" in value:
            yield self.ok(f"the memory limit is set by a variable ({value}): it must be at least 512 MiB",
                          at=origin, evidence=evidence)
            return
        size = parse_memory(value)
        if size is None:
            yield self.fail(f"{value!r} is not a memory size docker accepts",
                            "write it as a number with a unit, e.g. 1g or 1024m", at=origin, evidence=evidence)
            return
        if size == 0:
            yield self.ok("the memory limit is 0, which docker takes as no limit", at=origin, evidence=evidence)
            return
        if size < MIN_CONTAINER_MEMORY:
            fix = "mem_limit: 1g" if runner.form == "compose" else "--memory 1g"
            yield self.fail(f"the runner container may use only {human(size)} of memory: the runner needs at least "
                            "512 MiB, and the kernel kills it (exit code 137, OOMKilled) when it runs out",
                            f"raise the limit to at least 512m ({fix}), or remove it", at=origin, evidence=evidence)
            return
        yield self.ok(f"the runner container may use {human(size)} of memory (at least 512 MiB)", at=origin,
                      evidence=evidence)

    def _host(self, subject, ctx):
        facts = ctx.daemon_for(subject)
        if facts is None:
            yield self.skip(ctx.unavailable("daemon", subject) or "needs the Docker daemon")
            return
        info = facts.info
        if not info:
            problem = f" ({facts.problem.message})" if facts.problem else ""
            yield self.skip(f"docker info could not be read{problem}; see RD501")
            return
        cgroup = f"cgroup v{info.get('CgroupVersion') or '?'} ({info.get('CgroupDriver') or '?'} driver)"
        cpus = info.get("NCPU")
        cpu_text = f" and {cpus} CPU{'s' if cpus != 1 else ''}" if isinstance(cpus, int) else ""
        total = info.get("MemTotal")
        if not isinstance(total, int) or total <= 0:
            yield self.ok(f"the daemon does not report the host's memory; {cgroup}")
            return
        if total < MIN_HOST_MEMORY:
            yield self.warn(f"the host has {human(total)} of memory{cpu_text}: Atlassian asks for at least 8 GB "
                            f"(steps run as containers on this host; a 1x step may use 4 GB); {cgroup}",
                            "run the runner on a host with at least 8 GB of memory, or give this one more",
                            severity=Severity.WARNING)
            return
        yield self.ok(f"the host has {human(total)} of memory{cpu_text}; {cgroup}")


RULE = HostResources()
