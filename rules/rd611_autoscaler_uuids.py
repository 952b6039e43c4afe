r"""In the autoscaler's runners_config.yaml, each group's workspace and repository are UUIDs in braces.

**What it checks.** `workspace:` (required) and `repository:` (optional, for
repository runners) of every group in `runners_config.yaml`:

- `"{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}"`: pass;
- a UUID without braces, or braces around something else (the template's
  `"{workspace_uuid}"` left in place): fail;
- unquoted `{...}`: YAML reads a mapping, not a string: fail;
- a name (`myworkspace`): warn, older autoscaler versions took the workspace
  and repository names, the current template takes UUIDs;
- no workspace: fail, the autoscaler refuses the group.

**Why.** The autoscaler creates runners in Bitbucket through its API for the
workspace (and repository) named here, and writes the UUIDs into each runner's
Job. Its template says "include the curly braces": without them, or with a
placeholder, it cannot create runners for the group.

**Fails**

```yaml
groups:
  - name: "Linux Docker runners"
    workspace: "3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b"
    repository: {7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d}
```

**Passes**

```yaml
groups:
  - name: "Linux Docker runners"
    workspace: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
    repository: "{7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d}"
```

**Fix.** Copy the UUIDs with their braces (Workspace settings, or the
repository's settings) and quote them.

**References.** The runners autoscaler's `kustomize/values/runners_config.yaml`
and README; `../shared/reference/bitbucket-runners.md` §1.3, §6.2.
"""

import re

from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._env import UUID_RE

BRACED = re.compile(r"^\{" + UUID_RE.pattern + r"\}$")
BARE = re.compile(r"^" + UUID_RE.pattern + r"$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class AutoscalerUuids(Rule):
    id = "RD611"
    name = "autoscaler-uuids"
    severity = Severity.ERROR
    applies_to = ("autoscaler-group",)

    def check(self, subject, ctx):
        group = subject.group
        problems, good = [], []
        for key in ("workspace", "repository"):
            value = group.fields.get(key)
            if value is None:
                if key == "workspace":
                    problems.append(self.fail(f"group {group.name!r} has no workspace: the autoscaler refuses it",
                                              'add workspace: "{<workspace UUID>}"', at=group.origin))
                continue
            result = self._judge(group, key, value)
            if result is None:
                good.append(key)
            else:
                problems.append(result)
        yield from problems
        if not problems:
            yield self.ok(f"{' and '.join(good)}: UUID{'s' if len(good) > 1 else ''} in braces")

    def _judge(self, group, key, value):
        at, raw = value.origin, value.raw
        found = UUID_RE.search(raw)
        braced = "{" + (found.group(0) if found else f"<{key} UUID>") + "}"
        fix = f'{key}: "{braced}"'
        if value.yaml_type == "mapping":
            return self.fail(f"{key}: an unquoted {{...}} is a YAML mapping, not a string: the autoscaler cannot "
                             "read it", f"quote it: {fix}", at=at, evidence=raw)
        text = (value.text or "").strip()
        if BRACED.match(text):
            return None
        if BARE.match(text):
            return self.fail(f"{key} {text} has no curly braces: the autoscaler takes Bitbucket's UUIDs with them",
                             fix, at=at, evidence=text)
        if text.startswith("{") or text.endswith("}") or found:
            return self.fail(f"{key} is {text!r}, not a UUID in braces (the template's placeholder left in place?)",
                             f"copy the {key} UUID from Bitbucket: {fix}", at=at, evidence=text)
        if NAME.match(text):
            return self.warn(f"{key} is {text!r}, a name: older autoscaler versions took names, the current template "
                             "takes the UUID in braces", f"if your autoscaler version takes UUIDs: {fix}", at=at,
                             evidence=text, severity=Severity.WARNING)
        return self.fail(f"{key} is {text!r}, not a UUID in braces", fix, at=at, evidence=text)


RULE = AutoscalerUuids()
