r"""ACCOUNT_UUID, RUNNER_UUID and REPOSITORY_UUID are UUIDs in curly braces, as the runner dialog shows them.

**What it checks.** Each of the three variables that is set has the form
`{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (hexadecimal digits, braces
included), on every runner kind (for start scripts: `--accountUuid`,
`--runnerUuid`, `--repositoryUuid`).

- A UUID without its braces (copied from a URL or an API response) fails, with
  the value to use.
- Anything else that is not a braced UUID fails.
- In a YAML mapping (compose `environment:` or Kubernetes), an unquoted
  `ACCOUNT_UUID: {3f9b...}` is a flow mapping (a YAML object), not a string:
  compose refuses it. Fails; quote it.
- In PowerShell an unquoted `{...}` argument is a script block, and the script
  receives the text without its braces: `-accountUuid {3f9b...}` fails; use the
  dialog's single quotes.
- The UUID version digit is not checked (runner UUIDs look like version 5,
  account and repository UUIDs like version 4; neither is documented).
- Values given at run time (`$VAR`, `-e NAME` inherited) cannot be seen and are
  skipped; placeholders are left to RD201, and so are quotes kept by a docker
  env file (the UUID inside them is checked here).

**Why.** The runner sends these values to Bitbucket as they are. The braces
are part of the identifier Bitbucket uses; with the wrong form the runner
cannot find its account, repository or registration and never comes online.

**Fails**

```sh
docker container run -it \
  ...
  -e ACCOUNT_UUID=3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b \
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 \
  ...
```

```yaml
services:
  runner:
    environment:
      ACCOUNT_UUID: {3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}
```

**Passes**

```sh
  -e ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b} \
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
```

```yaml
      ACCOUNT_UUID: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
```

**Fix.** Copy the value from the runner dialog, braces included. In YAML,
quote it; in PowerShell keep the single quotes: `-accountUuid '{...}'`. (The
container *name* is the one place where the braces must go: see RD206.)

**References.** `../shared/reference/bitbucket-runners.md` §1.2, §1.3.
"""

import re

from doctor import lazyre
from doctor.model import RunnerKind, Severity
from doctor.rulebase import Rule
from doctor.runner_facts import UUID_ENV
from doctor.rules._env import (
    UUID_RE, is_placeholder, is_redacted, known_value, setting_example, shown_name, unquoted,
)

BRACED = re.compile(r"^\{" + UUID_RE.pattern + r"\}$")
BARE = lazyre.compile(  # only for a value that is not a UUID in braces
    r"^" + UUID_RE.pattern + r"$")


class UuidFormat(Rule):
    id = "RD202"
    name = "uuid-format"
    severity = Severity.ERROR
    docker_only = False

    def check(self, subject, ctx):
        runner = subject.runner
        checked, good, skipped, problems = [], [], [], []
        for name in UUID_ENV:
            var = runner.env_var(name)
            if var is None:
                continue
            label = shown_name(runner, name, var)
            if var.yaml_type == "mapping":
                found = UUID_RE.search(var.raw or "")
                example = "{" + (found.group(0) if found else "...") + "}"
                tool = "kubectl" if runner.form == "kubernetes" else "compose"
                problems.append(self.fail(
                    f"{label}: an unquoted {{...}} in a YAML mapping is a flow mapping (a YAML object), "
                    f"not a string; {tool} refuses it",
                    f"quote it: {setting_example(runner, name, example)}", at=var.origin, evidence=var.raw or ""))
                checked.append(label)
                continue
            value = known_value(var)
            if value is None:
                skipped.append(f"{label} is given at run time")
                continue
            value = unquoted(value)
            if is_placeholder(value) or is_redacted(value):
                skipped.append(f"{label} is a placeholder (RD201)" if is_placeholder(value) else
                               f"{label} is redacted")
                continue
            checked.append(label)
            result = self._judge(runner, var, label, value)
            if result is not None:
                problems.append(result)
            else:
                good.append(label)
        yield from problems
        not_seen = f" (not checked: {'; '.join(skipped)})" if skipped else ""
        if good and not problems:
            yield self.ok(f"{', '.join(good)}: UUID{'s' if len(good) > 1 else ''} in braces{not_seen}")
        if not checked:
            if skipped:
                yield self.skip(f"no UUID value to check here: {'; '.join(skipped)}")
            else:
                yield self.skip("none of ACCOUNT_UUID, RUNNER_UUID, REPOSITORY_UUID is set (RD201 reports "
                                "the missing ones)")

    def _judge(self, runner, var, label, value):
        fixed = None
        found = UUID_RE.search(value)
        if found:
            fixed = "{" + found.group(0) + "}"
        if runner.kind is RunnerKind.WINDOWS and var.source == "argument" and (var.raw or "").startswith("{"):
            return self.fail(
                f"{label} {{...}} is not quoted: PowerShell reads an unquoted {{...}} as a script block, and "
                "start.ps1 receives the UUID without its braces",
                f"quote it as the runner dialog does: {setting_example(runner, var.name, fixed or value)}",
                at=var.origin, evidence=value)
        if BRACED.match(value):
            return None
        fix = f"use {setting_example(runner, var.name, fixed)}" if fixed else \
            "copy the value from the runner dialog in Bitbucket, braces included"
        if BARE.match(value):
            return self.fail(f"{label} has no curly braces: Bitbucket's UUIDs are written {{...}}",
                             fix, at=var.origin, evidence=value)
        if found and value.strip() != value:
            return self.fail(f"{label} has blanks around the UUID", fix, at=var.origin, evidence=repr(value))
        if found and value.strip("{}") == found.group(0):
            return self.fail(f"{label} has only one of its curly braces", fix, at=var.origin, evidence=value)
        return self.fail(f"{label} is {value!r}, not a UUID in braces ({{8-4-4-4-12 hexadecimal digits}})",
                         fix, at=var.origin, evidence=value)


RULE = UuidFormat()
