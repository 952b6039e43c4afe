r"""Inline suppressions have a reason, are current, and match a problem.

**What it checks.** The comments that suppress findings in the inputs:

```sh
# runner-doctor: ignore RD205 until 2027-03-01 -- secret is rotated by the vault agent
```

A suppression applies to the runner right below it (only blank or comment lines
in between), else to the runner whose definition it sits in, else to the first
runner after it. It names rules by id or name, optionally an expiry date
(`until YYYY-MM-DD`) and, after `--`, the reason. The suppressed findings are
still reported, marked suppressed with the reason, and no longer decide the exit
code. This rule warns about a suppression that has expired (it stops working),
names no known rule or a bad date, gives no reason, or matches no problem (the
rule passes there: the problem was fixed, or the comment is not next to the
runner it means); it passes when every suppression in a file is healthy. Its
findings appear only for files that hold suppressions.

**Why.** A suppression is a decision somebody made for a reason; without the
reason, or long after the reason stopped holding, it hides real problems.

**Fails**

```sh
# runner-doctor: ignore RD205 until 2025-01-31
docker container run -d --restart unless-stopped \
  -e OAUTH_CLIENT_SECRET=ATOA... \
  ...
```

**Passes**

```sh
# runner-doctor: ignore RD205 until 2027-03-01 -- secret is rotated by the vault agent
docker container run -d --restart unless-stopped \
  -e OAUTH_CLIENT_SECRET=ATOA... \
  ...
```

**Fix.** Give each suppression a reason after `--`, renew or remove expired ones,
remove the ones that match nothing, and put each right above the runner it is for.

**References.** trivy's expiring ignores and ruff's unused-`noqa` rule (RUF100);
`../shared/reference/doctor-and-linter-conventions.md` §6.
"""

from doctor.model import Severity
from doctor.rulebase import Rule


class Suppressions(Rule):
    id = "RD900"
    name = "suppressions"
    severity = Severity.WARNING
    # not run on subjects: doctor/suppress.py reports under this id after the other rules ran
    applies_to = ()
    docker_only = False

    def check(self, subject, ctx):  # pragma: no cover - never called (applies_to is empty)
        return ()


RULE = Suppressions()
