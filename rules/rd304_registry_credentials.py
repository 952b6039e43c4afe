r"""Each custom helper image's registry has an entry in the mounted Docker config, found the way the docker CLI finds it.

**What it checks.** For each of PAUSE_IMAGE, AUTH_PROXY_IMAGE and CLONE_IMAGE
set to something other than the default, the registry of the image (parsed as
Docker parses references) is looked up in `auths` as the docker CLI does:

- Docker Hub only under the exact key `https://index.docker.io/v1/`;
- any other registry under its `host[:port]`, or under a key that reduces to it
  once the scheme and path are dropped (`https://registry.acme.example:5443/v2/`);
  the port must match exactly and case matters.

No matching entry: warn (offline the doctor cannot tell a public image from a
private one; RD402 decides online). A key that works for docker-py or skopeo
but not for the docker CLI (`docker.io`, `index.docker.io`,
`registry-1.docker.io`, `https://index.docker.io/v1` without the slash), a key
that differs only in case, or one with another port: warn, naming it. Images on
Atlassian's public registries need no entry. No custom images: pass. A
standalone Docker config (no runner, so no images): skip.

**Why.** A private helper image is pulled with the credentials stored under its
registry's key. An entry under a slightly different key is never used, and the
pull fails with "unauthorized" or "pull access denied" in the step log.

**Fails**

```sh
docker container run -d --restart unless-stopped \
  -v ./docker-config:/root/.docker:ro \
  -e PAUSE_IMAGE=registry.acme.example:5443/bitbucket/pause:3.9 \
  ...
```

with `docker-config/config.json` holding credentials for
`registry.acme.example` (no port) only — the port must match.

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

**Fix.** Key each entry by the registry exactly as the image names it:
`registry.acme.example:5443` for `registry.acme.example:5443/bitbucket/pause:3.9`,
`https://index.docker.io/v1/` for Docker Hub images. Running
`docker login registry.acme.example:5443` (with no credential store) writes
the right key.

**References.** docker/cli `cli/config/credentials/file_store.go`
(`Get`, `ConvertToHostname`), `cli/config/configfile/file.go`;
`../shared/reference/registry-and-docker-config.md` §1.4, §2.1.
"""

from doctor.dockerconfig import (HUB_KEY, auth_key_for, cli_auths, convert_to_hostname, find_entry,
                                 is_cli_ignored_hub_key, unavailable, view)
from doctor.imageref import InvalidReference, parse_reference, unresolved_variable
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.runner_facts import HELPER_IMAGE_DEFAULTS, custom_helper_images

ONLINE = "the image may be public; RD402 decides online"


def _public_registries():
    return {parse_reference(image).domain for image in HELPER_IMAGE_DEFAULTS.values()}


def _and(names):
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _split_port(host):
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        return inner, rest[1:] if rest.startswith(":") else ""
    name, colon, port = host.rpartition(":")
    return (name, port) if colon else (host, "")


def _near_misses(keys, domain, ref):
    """Keys a reader could take for this registry that the docker CLI will not use, each with the reason."""
    out = []
    wanted = auth_key_for(domain)
    for key in keys:
        if domain == "docker.io":
            if is_cli_ignored_hub_key(key):
                out.append(f'"{key}" works for docker-py and skopeo, but the docker CLI looks for Docker Hub '
                           f'credentials only under "{HUB_KEY}"')
            elif convert_to_hostname(key) == ref.path.split("/", 1)[0]:
                out.append(f'"{key}" looks like the registry meant, but the image names no registry host, so '
                           "Docker pulls it from Docker Hub (see RD401)")
            continue
        host = convert_to_hostname(key)
        if host.lower() == wanted.lower():
            out.append(f'"{key}" differs from "{wanted}" only in case, and the docker CLI compares keys exactly')
        elif _split_port(host)[0].lower() == _split_port(wanted)[0].lower():
            out.append(f'"{key}" names the same host with another port; the port must match exactly ("{wanted}")')
    return out


class RegistryCredentials(Rule):
    id = "RD304"
    name = "registry-credentials"
    severity = Severity.WARNING
    applies_to = ("runner", "docker-config")
    docker_only = True

    def check(self, subject, ctx):
        runner = subject.runner
        if runner is None:
            yield self.skip("a Docker config on its own: there is no runner, so no helper images to match")
            return
        custom = custom_helper_images(runner)
        if runner.docker_config is None:
            yield self.skip("no Docker config is mounted or given (RD104 says whether one is needed)")
            return
        why = unavailable(runner.docker_config)
        if why:
            yield self.skip(why)
            return
        if not custom:
            yield self.ok("no custom helper images: the runner pulls the public defaults, which need no credentials")
            return
        v = view(runner.docker_config)
        by_domain = {}
        for var in custom:
            if var.value is None:
                yield self.skip(f"{var.name} is {var.describe()}: its registry is not known here", at=var.origin)
                continue
            if unresolved_variable(var.value):
                yield self.skip(f"{var.name} uses {unresolved_variable(var.value)}, which is not set here: its "
                                "registry is not known", at=var.origin)
                continue
            try:
                ref = parse_reference(var.value)
            except InvalidReference:
                yield self.skip(f"{var.name}={var.value} is not a valid image reference (see RD401)", at=var.origin)
                continue
            by_domain.setdefault(ref.domain, []).append((var, ref))
        public = _public_registries()
        for domain, images in by_domain.items():
            var, ref = images[0]
            names = f"{_and([v.name for v, _ in images])} ({domain})"
            evidence = ", ".join(f"{v.name}={v.value}" for v, _ in images)
            if domain in public:
                yield self.ok(f"{names}: Atlassian's public registry needs no credentials", at=var.origin,
                              evidence=evidence)
                continue
            found = find_entry(runner.docker_config.data, domain)
            if found:
                key, entry = found
                basic = next((e.is_basic for e in v.entries if e.key == key), False)
                yield self.ok(f"{names}: the docker CLI finds credentials under \"{key}\""
                              + ("" if basic else " (RD303 checks their form)"), at=var.origin, evidence=evidence)
                continue
            near = _near_misses(cli_auths(runner.docker_config.data), domain, ref)
            wanted = auth_key_for(domain)
            detail = "; ".join(near) if near else f"there is no entry under \"{wanted}\""
            yield self.warn(f"{names}: the docker CLI finds no credentials in {v.display_path}: "
                            f"{detail}. A private image will fail to pull ({ONLINE})",
                            f"add \"{wanted}\": {{\"auth\": \"<base64 of user:password>\"}} to auths"
                            + (", replacing the entry above" if near else "") + ", unless the image is public",
                            at=var.origin, evidence=evidence)


RULE = RegistryCredentials()
