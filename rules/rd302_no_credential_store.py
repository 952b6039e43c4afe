"""The Docker config names no credential store: no `credsStore`, no `credHelpers`.

**What it checks.** The top level of the `config.json` the runner reads has no
`credsStore` and no `credHelpers` (in any spelling Go accepts, such as
`CredsStore`). An empty value (`"credsStore": ""`, `"credHelpers": {}`) means
"none" to docker and passes.

**Why.** Atlassian supports only basic credentials (user name and password)
written in the file for the runner's helper images; a credential store is not
supported. With a store, `docker login` keeps the password in the helper
(`docker-credential-desktop`, `-pass`, `-ecr-login`, …) and leaves only an empty
`{}` marker in `auths`, so the file holds no password at all. Copying a
developer's `~/.docker/config.json` (`"credsStore": "desktop"`) to a runner host
is the classic case: on the host the pull then fails with
`error getting credentials - err: exec: "docker-credential-desktop": executable file not found in $PATH`.

**Fails**

```json
{
	"auths": {
		"registry.acme.example:5443": {}
	},
	"credsStore": "desktop"
}
```

**Passes**

```json
{
	"auths": {
		"registry.acme.example:5443": {
			"auth": "Y2ktcHVsbDpjb3JyZWN0LWhvcnNlLWJhdHRlcnk="
		}
	}
}
```

**Fix.** Remove `credsStore`/`credHelpers` and give each registry basic
credentials in `auths`:
`"<registry>": {"auth": "<output of: printf '%s' 'user:password' | base64 -w0>"}`
(a personal access token works as the password). `docker login` writes this
form only on a machine with no credential store configured.

**References.** Atlassian, "Use your Docker images in self-hosted runners"
(limitations); docker/cli `cli/config/configfile/file.go: GetCredentialsStore`,
`cli/config/credentials/native_store.go`;
`../shared/reference/registry-and-docker-config.md` §1.5;
`../shared/reference/bitbucket-runners.md` §3.2.
"""

import json

from doctor.dockerconfig import STORE_FIELDS, unavailable, view
from doctor.model import Severity
from doctor.rulebase import Rule

FIX = ("remove it and give each registry basic credentials in auths: \"<registry>\": {\"auth\": \"<output of: "
       "printf '%s' 'user:password' | base64 -w0>\"}")


def _names(keys, limit=3):
    keys = list(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


class NoCredentialStore(Rule):
    id = "RD302"
    name = "no-credential-store"
    severity = Severity.ERROR
    applies_to = ("runner", "docker-config")
    docker_only = True

    def check(self, subject, ctx):
        why = unavailable(subject.config)
        if why:
            yield self.skip(why)
            return
        v = view(subject.config)
        markers = [e.key for e in v.entries if e.kind == "empty"]
        marker_note = ""
        if markers:
            marker_note = (f"; the auths entr{'y' if len(markers) == 1 else 'ies'} for {_names(markers)} "
                           f"{'is an' if len(markers) == 1 else 'are'} empty {{}} marker{'s' if len(markers) > 1 else ''}: "
                           "the passwords are in the store, not in this file")
        found = False
        for canonical in STORE_FIELDS:
            for spelling, value in v.top(canonical):
                if value in (None, "", {}):
                    continue
                found = True
                if canonical == "credsStore":
                    helper = f"docker-credential-{value}" if isinstance(value, str) else "a credential helper"
                    what = f'"{spelling}" sends every registry login to {helper}'
                    evidence = f'"{spelling}": {json.dumps(value) if isinstance(value, str) else "..."}'
                else:
                    registries = list(value) if isinstance(value, dict) else []
                    helpers = sorted({h for h in value.values() if isinstance(h, str)}) if registries else []
                    what = (f'"{spelling}" sends the logins for {_names(registries) or "some registries"} to '
                            f"{_names(f'docker-credential-{h}' for h in helpers) or 'credential helpers'}")
                    evidence = f'"{spelling}": {json.dumps(value) if registries else "..."}'
                yield self.fail(f"{what}; the runner supports no credential store, only basic credentials in "
                                f"auths{marker_note}", FIX, at=v.origin((spelling,)), evidence=evidence)
        if not found:
            yield self.ok("no credsStore or credHelpers: the credentials come from auths in the file")


RULE = NoCredentialStore()
