r"""RUNTIME_PREREQUISITES_ENABLED is true, as in the command Bitbucket generates.

**What it checks.** The Linux Docker runner's effective
`RUNTIME_PREREQUISITES_ENABLED` is `true` (any letter case). When the variable
is given more than once, the last one wins, as in docker, and the finding names
the line that won.

- Missing (as in runner commands copied before 2022) or any other value
  (`false`, `0`): warn.
- Given at run time (`$VAR`, inherited): pass, with a note that the value
  cannot be seen here. Missing while an env file cannot be read here: skip.

**Why.** The current runner dialog and Atlassian's examples always set
`RUNTIME_PREREQUISITES_ENABLED=true`. Atlassian does not document what the
variable controls, so the doctor does not guess; a setup that differs from the
generated command is simply less well trodden, and support will ask for the
generated one first. This is a warning, not an error.

**Fails** (warns)

```sh
docker container run -it \
  ...
  -e RUNTIME_PREREQUISITES_ENABLED=true \
  -e WORKING_DIRECTORY=/tmp \
  -e RUNTIME_PREREQUISITES_ENABLED=false \
  ...
```

**Passes**

```sh
docker container run -it \
  ...
  -e RUNTIME_PREREQUISITES_ENABLED=true \
  ...
```

**Fix.** Set `-e RUNTIME_PREREQUISITES_ENABLED=true` once (compose:
`RUNTIME_PREREQUISITES_ENABLED: "true"`), and remove the other occurrences.

**References.** `../shared/reference/bitbucket-runners.md` §1.2 and §2 (the
variable's meaning is not documented).
"""

from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._env import known_value, provided_how, setting_example

NAME = "RUNTIME_PREREQUISITES_ENABLED"
DIFFERS = "differs from the command Bitbucket generates, which sets RUNTIME_PREREQUISITES_ENABLED=true"


class RuntimePrerequisites(Rule):
    id = "RD203"
    name = "runtime-prerequisites"
    severity = Severity.WARNING

    def check(self, subject, ctx):
        runner = subject.runner
        given = runner.env_all(NAME)
        fix = f"set {setting_example(runner, NAME, 'true')}"
        if not given:
            unreadable = [f for f in runner.env_files if f.error and not f.optional]
            if unreadable:
                f = unreadable[0]
                yield self.skip(f"{NAME} is not in the command; it may be in {f.path}, which cannot be read "
                                f"here ({f.error})", at=f.origin)
                return
            yield self.warn(f"{NAME} is not set: this {DIFFERS}", fix, at=runner.origin)
            return
        var = runner.env_var(NAME)
        won = ""
        if len(given) > 1:
            times = "twice" if len(given) == 2 else f"{len(given)} times"
            won = f" (given {times}; the last one, at {var.origin}, wins)"
            fix += " once, and remove the other occurrences"
        value = known_value(var)
        if value is None:
            yield self.ok(f"{NAME} is {provided_how(runner, var)}{won}: make sure it is true", at=var.origin)
            return
        if value.strip().lower() == "true":
            yield self.ok(f"{NAME}=true{won}", at=var.origin, evidence=f"{NAME}={value}")
            return
        shown = repr(value) if value else "empty"
        yield self.warn(f"{NAME} is {shown}{won}: this {DIFFERS}", fix, at=var.origin, evidence=f"{NAME}={value}")


RULE = RuntimePrerequisites()
