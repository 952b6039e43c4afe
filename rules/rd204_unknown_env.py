r"""No variable the runner ignores in place of one it reads: no misspellings, no other tools' settings.

**What it checks.** Every variable given to the Linux Docker runner:

- variables that look like runner settings but that the runner does not read
  warn: `RUNNER_LABELS` and `RUNNER_NAME` (labels and the name are set in
  Bitbucket when the runner is created; these are GitHub-runner and Unraid
  template conventions), `SCHEDULED_STATE_UPDATE_OPTION`,
  `BITBUCKET_PIPELINES_RUNNER_UUID` and `BITBUCKET_PIPELINES_RUNNER_TOKEN`;
- likely misspellings of a variable the runner reads (`OAUTH_CLIENT_SECRETS`,
  `ACOUNT_UUID`, `WORKING_DIR`, `account_uuid`) warn with "did you mean";
- a runner variable given twice with different values warns: the last one
  wins (`RUNTIME_PREREQUISITES_ENABLED` is left to RD203).

Other variables (`TZ`, `HOST_OS`, proxies, your own) are harmless and are
not flagged; the pass message lists them.

**Why.** A misspelt variable is silently ignored: the runner starts without
the value, or with a default, and the only symptom is that it never comes
online or behaves oddly. Labels set by a variable never reach Bitbucket, so
steps with `runs-on: [self.hosted, my-label]` wait for a runner that never
matches.

**Fails** (warns)

```sh
docker run -d --name='bitbucket-runner' \
  -e 'OAUTH_CLIENT_SECRETS'='...' \
  -e 'RUNNER_LABELS'='self.hosted,linux,unraid' \
  ...
```

**Passes**

```sh
docker container run -it \
  ...
  -e OAUTH_CLIENT_SECRET="$OAUTH_CLIENT_SECRET" \
  -e TZ=Europe/Berlin \
  ...
```

**Fix.** Correct the name (variable names are case-sensitive), remove the
variables the runner does not read, and set labels in Bitbucket (Repository
or Workspace settings > Runners).

**References.** `../shared/reference/bitbucket-runners.md` §1.2 (the runner's
variables and the ones seen in the wild that it does not read).
"""

from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.runner_facts import KNOWN_ENV

NOT_READ = {
    "RUNNER_LABELS": "labels are set in Bitbucket's UI (Repository or Workspace settings > Runners), "
                     "not by a variable",
    "RUNNER_NAME": "the runner's name is set in Bitbucket's UI when the runner is created, not by a variable",
    "SCHEDULED_STATE_UPDATE_OPTION": "no Bitbucket documentation mentions it",
    "BITBUCKET_PIPELINES_RUNNER_UUID": "the runner reads RUNNER_UUID",
    "BITBUCKET_PIPELINES_RUNNER_TOKEN": "the runner authenticates with OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET",
}
# other names for a runner variable, beyond what a spelling comparison finds
ALIASES = {"WORKSPACE_UUID": "ACCOUNT_UUID", "WORKDIR": "WORKING_DIRECTORY", "WORK_DIR": "WORKING_DIRECTORY"}
# common variables that look like a runner variable to difflib but are something else
UNRELATED = frozenset({"FTP_PROXY", "ALL_PROXY", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG"})
CANDIDATES = sorted(k for k in KNOWN_ENV if k == k.upper())
CUTOFF = 0.75
DUPLICATES_ELSEWHERE = {"RUNTIME_PREREQUISITES_ENABLED"}  # RD203


def suggestion(name: str):
    """The runner variable a name probably meant, or None."""
    upper = name.upper()
    if upper in ALIASES:
        return ALIASES[upper]
    if upper in UNRELATED:
        return None
    if upper in KNOWN_ENV:
        return upper  # right name, wrong case
    import difflib  # here: most runs have no unknown variable (start-up time)

    close = difflib.get_close_matches(upper, CANDIDATES, n=1, cutoff=CUTOFF)
    return close[0] if close else None


class UnknownEnv(Rule):
    id = "RD204"
    name = "unknown-env"
    severity = Severity.WARNING

    def check(self, subject, ctx):
        runner = subject.runner
        seen, unrelated, problems = set(), [], []
        for var in runner.env:
            if var.name in seen:
                continue
            seen.add(var.name)
            if var.name in KNOWN_ENV:
                problem = self._duplicate(runner, var.name)
                if problem is not None:
                    problems.append(problem)
                continue
            if var.name in NOT_READ:
                problems.append(self.warn(
                    f"{var.name} is not a variable the Bitbucket runner reads: {NOT_READ[var.name]}",
                    f"remove {var.name}" + (" and set the labels on the runner in Bitbucket"
                                            if var.name == "RUNNER_LABELS" else ""),
                    at=var.origin))
                continue
            meant = suggestion(var.name)
            if meant is not None and meant != var.name:
                case = " (variable names are case-sensitive)" if meant == var.name.upper() else ""
                problems.append(self.warn(
                    f"{var.name} is not a variable the runner reads: did you mean {meant}?{case}",
                    f"rename it to {meant}", at=var.origin))
                continue
            unrelated.append(var.name)
        yield from problems
        if not problems:
            extra = f"; not read by the runner, harmless: {', '.join(unrelated)}" if unrelated else ""
            yield self.ok(f"no misspelt or ineffective runner variables{extra}")

    def _duplicate(self, runner, name):
        given = runner.env_all(name)
        if len(given) < 2 or name in DUPLICATES_ELSEWHERE:
            return None
        if len({(v.value, v.raw if v.value is None else None, v.source == "inherited") for v in given}) < 2:
            return None
        last = given[-1]
        others = ", ".join(str(v.origin) for v in given[:-1])
        times = "twice" if len(given) == 2 else f"{len(given)} times"
        return self.warn(
            f"{name} is given {times} with different values; the last one wins: "
            f"{last.describe()} at {last.origin} (also at {others})",
            f"keep one {name}", at=last.origin)


RULE = UnknownEnv()
