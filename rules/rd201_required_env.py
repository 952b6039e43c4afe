r"""The runner gets every variable it needs: account, runner, OAuth client and working directory.

**What it checks.** `ACCOUNT_UUID`, `RUNNER_UUID`, `OAUTH_CLIENT_ID`,
`OAUTH_CLIENT_SECRET` and `WORKING_DIRECTORY` are set and not empty, on every
runner kind: `-e`, `--env-file`, compose `environment:`/`env_file:`, systemd,
`docker inspect`, or the start script's arguments (`--accountUuid`,
`--OAuthClientSecret`, ... for the Linux Shell, macOS and Windows runners).
`REPOSITORY_UUID` is optional: workspace runners have none.

- A placeholder left from the documentation (`{<workspace-uuid>}`,
  `<client-secret>`, `your-client-id`) fails.
- A value wrapped in quotes warns. Docker's `--env-file` takes each line
  literally, so `OAUTH_CLIENT_SECRET="ATOA..."` gives the runner the quotes as
  part of the secret. (This rule reports the quotes for all the runner's
  identity and credential variables; RD202 checks the UUID inside them.)
- A `$VAR` reference, or `-e NAME` inherited from the environment docker runs
  in, counts as provided: the doctor cannot see the value, and says so.
- When a variable is missing but an env file could not be read here (a file
  reviewed on another machine), the variable may be in that file: skip.

**Why.** Without these the runner cannot authenticate or register: it never
shows as *Online* in Bitbucket, and bad OAuth values end in
`404 from POST https://auth.atlassian.com/oauth/token` in the runner's log.

**Fails**

```sh
docker container run -it \
  ...
  -e ACCOUNT_UUID={<workspace-uuid>} \
  -e RUNNER_UUID={<runner-uuid>} \
  -e OAUTH_CLIENT_ID=<client-id> \
  -e OAUTH_CLIENT_SECRET=<client-secret> \
  -e WORKING_DIRECTORY=/tmp \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Passes**

```sh
docker container run -it \
  ...
  -e ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b} \
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  -e OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J \
  -e OAUTH_CLIENT_SECRET \
  -e WORKING_DIRECTORY=/tmp \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** Copy the values from the runner's dialog in Bitbucket (Repository or
Workspace settings > Runners; the secret is shown only when the runner is
created, so a lost secret means creating the runner again). In a docker env
file write `NAME=value` without quotes.

**References.** `../shared/reference/bitbucket-runners.md` §1.1, §1.2, §3.1
(the 404 from auth.atlassian.com), §5 (start-script arguments).
"""

from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.runner_facts import KNOWN_ENV, REQUIRED_ENV
from doctor.rules._env import (
    is_placeholder, is_redacted, is_start_script, known_value, provided_how, quote_char, setting_example,
    shown_name,
)

OPTIONAL_ENV = ("REPOSITORY_UUID",)
EXAMPLES = {
    "ACCOUNT_UUID": "{<workspace UUID from the runner dialog>}",
    "REPOSITORY_UUID": "{<repository UUID from the runner dialog>}",
    "RUNNER_UUID": "{<runner UUID from the runner dialog>}",
    "OAUTH_CLIENT_ID": "<OAuth client ID from the runner dialog>",
    "OAUTH_CLIENT_SECRET": "<OAuth client secret from the runner dialog>",
    "WORKING_DIRECTORY": "/tmp",
}


class RequiredEnv(Rule):
    id = "RD201"
    name = "required-env"
    severity = Severity.ERROR
    docker_only = False

    def check(self, subject, ctx):
        runner = subject.runner
        unreadable = [f for f in runner.env_files if f.error and not f.optional]
        unseen, problems, quoted = [], [], []
        notes = {}  # how a value is given -> the variables given that way
        # each name's effective variable (the last one wins, as runner.env_var finds it), in one pass over
        # the environment instead of one a name (issue 7)
        effective = {var.name: var for var in runner.env}
        for name in REQUIRED_ENV + OPTIONAL_ENV:
            var = effective.get(name)
            if var is None:
                if name in OPTIONAL_ENV:
                    continue
                if unreadable:
                    unseen.append(name)
                else:
                    problems.append(self._missing(runner, name))
                continue
            value = known_value(var)  # None when only known at run time
            if value is not None and quote_char(var.value):
                quoted.append(var)
                continue
            result = self._judge(runner, var, value, notes)
            if result is not None:
                problems.append(result)
        if quoted:
            problems.append(self._quoted(runner, quoted))
        yield from problems
        if unseen:
            files = ", ".join(f"{f.path} ({f.error})" for f in unreadable)
            yield self.skip(f"{', '.join(unseen)} not set in the command; they may be in {files}, which cannot "
                            "be read here: check again where that file exists", at=unreadable[0].origin)
        if not problems and not unseen:
            kind = "repository runner" if effective.get("REPOSITORY_UUID") else \
                "workspace runner (no REPOSITORY_UUID)"
            extra = "".join(
                f"; {', '.join(labels)} {'is' if len(labels) == 1 else 'are'} {how}" for how, labels in notes.items())
            given = [label for how, labels in notes.items() if how != "redacted in this output" for label in labels]
            if given:
                extra += f" (make sure {'it is' if len(given) == 1 else 'they are'} set there)"
            yield self.ok(f"all required variables are set, for a {kind}{extra}")

    def _missing(self, runner, name):
        label = shown_name(runner, name)
        what = f"the start command has no {label}" if is_start_script(runner) else f"{label} is not set"
        near = [v for v in runner.env if v.name not in KNOWN_ENV and v.name != name]
        import difflib  # here: most runs miss no variable (start-up time)

        close = difflib.get_close_matches(name, [v.name for v in near], n=1, cutoff=0.75)
        typo = next((v for v in near if close and v.name == close[0]), None)
        hint = f" ({typo.name} is set: a misspelling? see RD204)" if typo else ""
        return self.fail(f"{what}{hint}: the runner cannot register without it",
                         f"add {setting_example(runner, name, EXAMPLES[name])}",
                         at=typo.origin if typo else runner.origin)

    def _judge(self, runner, var, value, notes):
        """A problem result for one variable that is set (``value``: its known_value), or None (with a note
        added when useful)."""
        label = shown_name(runner, var.name, var)
        if var.yaml_type in ("mapping", "sequence"):
            return None  # a YAML object, not a string: RD202 (UUIDs) explains it
        if value is None:
            notes.setdefault(provided_how(runner, var, with_option=False), []).append(label)
            return None
        if not value.strip():
            fix = f"set it: {setting_example(runner, var.name, EXAMPLES[var.name])}"
            if var.name in OPTIONAL_ENV:
                fix += ", or remove it for a workspace runner"
            return self.fail(f"{label} is empty", fix, at=var.origin)
        if is_redacted(value):
            if runner.form == "inspect":
                notes.setdefault("redacted in this output", []).append(label)
                return None
            return self.warn(f"{label} looks redacted ({var.describe()}): the runner would get that text",
                             "put the real value back in the file the runner is started from",
                             at=var.origin, severity=Severity.WARNING)
        if is_placeholder(value):
            secret = var.is_secret
            shown = "" if secret else f" {value!r}"
            return self.fail(f"{label} still holds the documentation's placeholder{shown}",
                             f"replace it with the value from the runner dialog in Bitbucket: "
                             f"{setting_example(runner, var.name, EXAMPLES[var.name])}",
                             at=var.origin, evidence="" if secret else value)
        return None

    def _quoted(self, runner, quoted):
        first = quoted[0]
        names = ", ".join(shown_name(runner, v.name, v) for v in quoted)
        files = sorted({v.env_file for v in quoted if v.env_file})
        where = f" in {', '.join(files)}" if files else ""
        if runner.form != "compose" and any(v.source == "env-file" for v in quoted):
            how = "docker's --env-file takes each line literally, so the quotes become part of the value"
        else:
            how = "the quotes become part of the value"
        fixed = [f"{v.name}={'...' if v.is_secret else v.value.strip()[1:-1]}" for v in quoted]
        verb = "is" if len(quoted) == 1 else "are"
        return self.warn(f"{names}{where} {verb} wrapped in quotes: {how}",
                         f"remove the quotes: {'; '.join(fixed)}", at=first.origin, severity=Severity.WARNING)


RULE = RequiredEnv()
