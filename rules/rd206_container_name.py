r"""The runner container has a valid, stable name: conventionally runner-<RUNNER_UUID without braces>.

**What it checks.** The Linux Docker runner's container name (`--name`,
compose `container_name`, the `Name` in `docker inspect`):

- it is a name docker accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. Braces are not
  allowed, so `--name runner-{0f1e...}` fails (docker: `Invalid container
  name`). A name built from a shell variable (`--name "runner-$RUNNER_UUID"`)
  is checked with the value the script gives that variable;
- a name that carries a different UUID than `RUNNER_UUID` warns: the command
  was copied from another runner and the two will fight over one name
  (`Conflict. The container name ... is already in use`);
- a name that differs from `runner-<uuid>` otherwise passes, with a note: the
  name is yours to choose (Atlassian's own examples use `my-runner-<uuid>`);
- no `--name` warns (info): docker picks a random name, and restarts or
  scripts that run `docker rm -f runner-...` will not find the container.
  Compose names containers itself (`<project>-<service>-1`), so a compose
  service without `container_name` passes;
- live, on a host with a reachable daemon: no other container already holds
  the name. A runner container of the same `RUNNER_UUID` holding it passes
  (it is this runner, started earlier: remove it before starting it anew); a
  runner container whose `RUNNER_UUID` is not known here warns; another
  container holding it fails (docker: `Conflict. The container name ... is
  already in use`).

**Why.** The Bitbucket dialog names the container `runner-` followed by the
runner's UUID without braces, so that one host can run several runners and
each can be stopped, restarted and replaced by name.

**On Kubernetes.** The container's `name:` must be an RFC 1123 label
(lowercase letters, digits and `-`, at most 63 characters), or the API server
refuses the pod; Kubernetes names the pods itself, so the `runner-<uuid>`
convention does not apply.

**Fails**

```sh
docker container run -it \
  ...
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  --name runner-{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Passes**

```sh
docker container run -it \
  ...
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  --name runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** `--name runner-<RUNNER_UUID without the braces>`; in a script that
keeps the UUID in a variable: `--name "runner-${RUNNER_UUID//[\{\}]/}"`.

**References.** `../shared/reference/bitbucket-runners.md` §1.1 (the
`--name` convention), §1.3 (no braces in container names).
"""

import re

from doctor import lazyre
from doctor.model import Severity, Status
from doctor.rulebase import Rule
from doctor.rules._env import UUID_RE, known_value
from doctor.rules._live import own_id, runner_uuid, same_uuid_key, state

VALID = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_PLAIN_REF = lazyre.compile(  # only for a name with a $VAR
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(name, runner):
    """The name with plain $VAR/${VAR} replaced by the script's value of VAR, or None when unknown.

    A script's own variable is known when the runner receives it as ``-e VAR="$VAR"``: the parser then
    records the value the shell variable had.
    """
    values = {}
    for var in runner.env:
        value = known_value(var)
        raw = (var.raw or "").strip("\"'")
        m = _PLAIN_REF.fullmatch(raw)
        if value is not None and m:
            values[m.group(1) or m.group(2)] = value

    def sub(m):
        key = m.group(1) or m.group(2)
        return values[key] if key in values else m.group(0)

    out = _PLAIN_REF.sub(sub, name)
    return None if "$" in out else out


class ContainerName(Rule):
    id = "RD206"
    name = "container-name"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.container_name(self, runner)
            return
        uuid_var = runner.env_var("RUNNER_UUID")
        uuid_value = known_value(uuid_var) if uuid_var is not None else None
        found = UUID_RE.search(uuid_value or "")
        expected = f"runner-{found.group(0).lower()}" if found else "runner-<RUNNER_UUID without braces>"
        if not runner.name:
            if runner.form == "compose":
                yield self.ok("no container_name: compose names the container <project>-<service>-1 itself")
                return
            yield self.warn("the container has no --name: docker picks a random one, and restarts or scripts "
                            "that look for the runner by name will not find it",
                            f"add --name {expected}", at=runner.origin, severity=Severity.INFO)
            return
        written = runner.name
        name = written
        via = ""
        if "$" in written:
            name = expand(written, runner)
            if name is None:
                yield self.ok(f"the name {written!r} is built by the shell; it cannot be checked here (it must "
                              "not contain braces)", at=runner.name_origin, evidence=written)
                return
            via = f" ({written!r} with the script's values)"
        bare = name[1:] if name.startswith("/") else name
        if runner.supervisor == "systemd" and re.search(r"%[a-zA-Z]", bare):
            # systemd fills specifiers (%i: the instance name) when the unit starts
            filled = re.sub(r"%[a-zA-Z]", "x", bare)
            if VALID.match(filled) and "{" not in filled and "}" not in filled:
                yield self.ok(f"the container is named {bare}: systemd fills the specifier when the unit starts "
                              "(the instance name must hold only letters, digits, '_', '.' and '-')",
                              at=runner.name_origin, evidence=bare)
                return
        if not VALID.match(name):
            braces = "{" in bare or "}" in bare
            if found:
                fix = f"--name {expected}"
            elif braces:
                fix = f"--name {re.sub(r'[{}]', '', bare)}"
            else:
                fix = f"use only letters, digits, '_', '.' and '-', e.g. --name {expected}"
            why = "docker does not allow braces in container names" if braces else \
                "docker allows only [a-zA-Z0-9][a-zA-Z0-9_.-]"
            yield self.fail(f"the container name {bare!r}{via} is invalid: {why}, so docker refuses to create "
                            "the container (\"Invalid container name\")", fix, at=runner.name_origin, evidence=bare)
            return
        taken = self._taken(subject, ctx, bare, uuid_value)
        if taken is not None:
            yield taken
            if taken.status is not Status.PASS:
                return
        other = UUID_RE.search(bare)
        if found and other and other.group(0).lower() != found.group(0).lower():
            yield self.warn(f"the container name {bare!r} carries another UUID than RUNNER_UUID "
                            f"({uuid_value}): copied from another runner? Two runners with one name cannot both run",
                            f"--name {expected}", at=runner.name_origin, evidence=bare, severity=Severity.WARNING)
            return
        if found and bare.lower() == expected:
            yield self.ok(f"the container is named {bare}{via}", at=runner.name_origin, evidence=bare)
            return
        conventional = re.fullmatch(r"runner-" + UUID_RE.pattern, bare) is not None
        note = "" if conventional or (found and other) else f" (the convention is {expected}; any unique name works)"
        yield self.ok(f"the container is named {bare}{via}{note}", at=runner.name_origin, evidence=bare)

    def _taken(self, subject, ctx, name, uuid_value):
        """Live: whether another container on the daemon already holds the name (None: free, or unknown)."""
        facts = ctx.daemon_for(subject)
        holder = facts.names.get(name) if facts is not None else None
        if holder is None or holder == own_id(subject):
            return None
        runner = subject.runner
        data = next((d for d in facts.containers if d.get("Id") == holder), None)
        mine = same_uuid_key(uuid_value)
        where = dict(at=runner.name_origin, evidence=name)
        if data is not None and mine is not None and runner_uuid(data) == mine:
            return self.ok(f"the container {name} already exists on {facts.url} ({state(data)}) for this "
                           f"RUNNER_UUID; to start it anew, remove it first (docker rm -f {name})", **where)
        option = "container_name" if runner.form == "compose" else "--name"
        if data is not None and mine is None:
            return self.warn(f"a runner container named {name} already exists on {facts.url} ({state(data)}): "
                             "docker refuses to create a second one (\"Conflict. The container name is already in "
                             "use\")", f"if it is this runner, remove it first (docker rm -f {name}); otherwise "
                             f"choose another {option}", severity=Severity.WARNING, **where)
        held_by = (f"the runner container {name} of another RUNNER_UUID ({state(data)})" if data is not None
                   else f"another container ({holder[:12]}, not a runner)")
        return self.fail(f"the name {name} is already taken on {facts.url} by {held_by}: docker refuses to create "
                         "this container (\"Conflict. The container name is already in use\")",
                         f"choose another {option}, or remove the other container if nothing needs it "
                         f"(docker rm -f {name})", **where)


RULE = ContainerName()
