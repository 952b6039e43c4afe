"""Every `auths` entry of the Docker config holds basic credentials that docker can decode.

**What it checks.** Each entry under `auths` carries a user name and a password,
either as `auth` (the base64 of `user:password`) or as `username` + `password`.
`auth` is decoded exactly as docker's Go code does it: standard base64 with
`=` padding (line breaks allowed), split at the *first* `:`, non-empty user
name. One finding per entry that does not, at the line of its key:

- an identity token (`identitytoken`, stored by `docker login` for registries
  such as Azure Container Registry) or a registry bearer token (`registrytoken`);
- an empty entry `{}` (the marker a credential store leaves behind);
- an `auth` value that is not standard base64 (URL-safe `-`/`_`, missing `=`
  padding, stray characters), that decodes to text without a `:`, or to an empty
  user name or password; a user name without a password.

No `auths` at all: fail when the runner names custom helper images, else pass.

**Why.** Atlassian supports only basic authentication (user name and password)
for the runner's private helper images; tokens and timed passwords are not
supported. An `auth` value docker cannot decode is worse than a wrong password:
the docker CLI drops *every* credential in the file. Python's lenient
`base64.b64decode` silently skips characters that Go rejects, so a value that
"decodes fine" in a quick check may still break docker.

**Fails**

```json
{
	"auths": {
		"myregistry.azurecr.io": {
			"auth": "MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwOg==",
			"identitytoken": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9..."
		},
		"registry.acme.example:5443": {
			"auth": "Y2ktcHVsbDpjb3JyZWN0LWhvcnNlLWJhdHRlcnk"
		}
	}
}
```

(an identity token; an `auth` value without its `=` padding)

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

**Fix.** Encode `user:password` with standard base64 on one line:
`printf '%s' 'user:password' | base64 -w0` (not `base64url`; keep the `=`
padding; `echo` without `-n` would add a newline to the password). For
registries that issue tokens, create a user name and password (or an access
token used as the password) for the runner.

**References.** Atlassian, "Use your Docker images in self-hosted runners";
docker/cli `cli/config/configfile/file.go: decodeAuth`, Go `encoding/base64`;
`../shared/reference/registry-and-docker-config.md` §1.3, §8.2;
`../shared/reference/bitbucket-runners.md` §3.2.
"""

from doctor.dockerconfig import unavailable, view
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.runner_facts import custom_helper_images

ENCODE = "printf '%s' 'user:password' | base64 -w0"
FIXES = {
    "bad-auth": f"re-encode it with standard base64 on one line: {ENCODE} (not base64url; keep the '=' padding)",
    "identitytoken": "replace the token with a user name and password (an access token works as the password): "
                     f"\"auth\": \"<output of: {ENCODE}>\"",
    "registrytoken": "replace the token with a user name and password (an access token works as the password): "
                     f"\"auth\": \"<output of: {ENCODE}>\"",
}
DEFAULT_FIX = f"give it basic credentials: \"auth\": \"<output of: {ENCODE}>\""


def _named_custom_images(runner):
    """Custom helper images written out literally (so their registry may well be private)."""
    if runner is None:
        return []
    return [var for var in custom_helper_images(runner) if var.value and not var.is_reference]


class BasicAuthOnly(Rule):
    id = "RD303"
    name = "basic-auth-only"
    severity = Severity.ERROR
    applies_to = ("runner", "docker-config")
    docker_only = True

    def check(self, subject, ctx):
        why = unavailable(subject.config)
        if why:
            yield self.skip(why)
            return
        v = view(subject.config)
        if not v.entries:
            custom = _named_custom_images(subject.runner)
            if custom:
                names = ", ".join(var.name for var in custom)
                spelled = v.top("auths")
                yield self.fail(f"{v.display_path} holds no registry credentials (no auths entries), but {names} "
                                "name custom images: a private image cannot be pulled",
                                f"add \"auths\": {{\"<registry>\": {{\"auth\": \"<output of: {ENCODE}>\"}}}}",
                                at=v.origin((spelled[-1][0],)) if spelled else v.origin(()))
            else:
                yield self.ok("no registry credentials in auths (none are needed for the default helper images)")
            return
        good = []
        for entry in v.entries:
            if entry.is_basic:
                good.append(entry.key)
                continue
            yield self.fail(f'auths entry "{entry.key}": {entry.problem}',
                            FIXES.get(entry.kind, DEFAULT_FIX), at=entry.origin, evidence=entry.evidence())
        if good:
            yield self.ok(f"basic credentials for {', '.join(good)}")


RULE = BasicAuthOnly()
