r"""Every image the runner pulls can be resolved in its registry, with the credentials the runner uses.

**What it checks.** For the runner image and the three helper images
(`PAUSE_IMAGE`, `AUTH_PROXY_IMAGE`, `CLONE_IMAGE` — the configured ones, or the
documented defaults when they are not set), runner-doctor resolves the manifest
in the image's registry without downloading any layer:

- **directly**, over the registry's HTTP API v2: `GET /v2/` (does it want Basic
  or a Bearer token?), a token from the realm the registry names (with the basic
  credentials from the runner's `config.json`, anonymous when there are none),
  then `HEAD /v2/<repository>/manifests/<tag or digest>` with the four manifest
  types (Docker v2 manifest and manifest list, OCI manifest and index). Docker
  Hub images are asked of `registry-1.docker.io` (official images as
  `library/<name>`). A multi-platform image's index is then read (not on Docker
  Hub, where that counts as a pull) to list its platforms;
- **through the daemon** as well when one answers (`GET /distribution/<name>/json`
  with the runner's credentials): that is the path the runner's pull really
  takes — the daemon's proxies, registry mirrors, `insecure-registries` and
  `/etc/docker/certs.d` — so its answer is the verdict; the direct probe gives
  the detailed diagnosis. Through the daemon, a Docker Hub check reads the
  manifest with GET, which may count against Docker Hub's pull limit.

The helper images use the basic credentials of the `config.json` mounted at
`/root/.docker`; the runner image is pulled on the host by `docker container
run`, so it uses the host's own docker login (`DOCKER_CONFIG` or
`~/.docker/config.json`; basic credentials only — runner-doctor never runs a
credential helper).

A failure says why, in words you can act on: the host name does not resolve,
the connection is refused or times out, TLS fails (unknown authority, name
mismatch), the registry speaks plain HTTP only, the credentials are wrong (401)
or lack pull access (`insufficient_scope`), access is denied (403), the tag or
repository does not exist (404 `MANIFEST_UNKNOWN`), the pull limit is reached
(429, with the limit headers), or the registry fails (5xx). Docker Hub answers
401 both for repositories that do not exist and for private ones: that is
reported as ambiguous, not guessed. On success the digest (and the platforms,
when known) are shown; an image without a platform for the daemon's
architecture fails.

Credentials go only to the registry's host, and to a token service over https
(over plain http only when the registry is loopback or insecure and the token
service is on the same host); redirects are followed with the same method and
without credentials when they leave the registry. With `--offline` the rule is
skipped. Every request is bounded by `--timeout`.

**Why.** The runner pulls its images at every step, from the registry, with
exactly these credentials. An image that was never pushed, a wrong password, a
registry the host cannot reach, or an untrusted certificate all fail the first
build — with an error deep in the step log.

**Fails**

```sh
docker container run -it \
  -v /srv/runner/docker:/root/.docker:ro \
  -e PAUSE_IMAGE=registry.acme.example:5443/bitbucket/pause:3.9 \
  ...
```

where `registry.acme.example:5443` has no tag `3.9` in `bitbucket/pause`, or
refuses the password in `/srv/runner/docker/config.json`.

**Passes** The same command, once `registry.acme.example:5443/bitbucket/pause:3.9`
is pushed and the credentials are right: "resolves tag 3.9 to sha256:…".

**Fix.** Push the image (`docker push`), correct the tag or the credentials in
the mounted `config.json` (basic `auth` for the registry's exact host), trust
the registry's CA in `/etc/docker/certs.d/<host:port>/ca.crt` on the runner
host, or list an HTTP-only registry in `insecure-registries`.

**References.** Registry HTTP API v2 and token authentication (distribution
`docs/spec/api.md`, `docs/spec/auth/token.md`);
`../shared/reference/registry-and-docker-config.md` §3-§5.
"""

from doctor.model import Severity
from doctor.registry import results as R
from doctor.registry.plan import pulls
from doctor.rulebase import Rule
from doctor.runner_facts import go_arch

def daemon_arch(ctx, subject):
    facts = ctx.daemon_for(subject)
    arch = (facts.info or {}).get("Architecture") if facts is not None else None
    return go_arch(arch)


def _evidence(check) -> str:
    parts = [f"credentials: {check.credentials}"]
    for probe in (check.direct, check.daemon):
        if probe is None:
            continue
        parts.append(f"{probe.via}: {probe.outcome}"
                     + (f" ({', '.join(probe.platforms)})" if probe.platforms else ""))
        parts.extend(probe.notes)
        parts.extend(probe.trail)
    return "; ".join(parts)


class ImagePullable(Rule):
    id = "RD402"
    name = "image-pullable"
    severity = Severity.ERROR
    needs = frozenset({"network"})

    def check(self, subject, ctx):
        found, unknown = pulls(subject)
        for u in unknown:
            yield self.skip(u.reason, at=u.origin)
        for pull in found:
            check = ctx.registry.for_subject(subject.id, pull.what)
            label = f"{pull.what} {pull.ref.familiar}"
            if check is None or check.verdict is None:
                yield self.skip(f"{label}: not checked in this run", at=pull.origin)
                continue
            yield self._verdict(label, pull, check, ctx, subject)

    def _verdict(self, label, pull, check, ctx, subject):
        direct, daemon, verdict = check.direct, check.daemon, check.verdict
        evidence = _evidence(check)
        if verdict.outcome == R.NOT_CONTACTED:
            return self.skip(f"{label}: {verdict.message}", at=pull.origin)
        if verdict.ok:
            platforms = verdict.platforms or (direct.platforms if direct else [])
            arch = daemon_arch(ctx, subject)
            if platforms and arch and not any(p.split("/")[:2] == ["linux", arch] for p in platforms):
                return self.fail(f"{label} resolves to {verdict.digest}, but has no image for linux/{arch}, the "
                                 f"daemon's platform (it has {', '.join(platforms)})",
                                 f"build and push a linux/{arch} image (docker buildx build --platform linux/{arch})",
                                 at=pull.origin, evidence=evidence)
            msg = f"{label}: {verdict.message}"
            if platforms:
                msg += f"; platforms {', '.join(platforms)}"
            if daemon is not None and daemon.ok and direct is not None and not direct.ok and direct.conclusive:
                msg += (f" (runner-doctor's own probe failed: {direct.message} — the daemon reaches the registry "
                        "another way: its proxy, a mirror, or its certs.d)")
            return self.ok(msg, at=pull.origin, evidence=evidence)
        message = f"{label} cannot be pulled: {verdict.message}"
        fix = verdict.fix
        if daemon is not None and not daemon.ok and daemon.conclusive and direct is not None:
            if direct.ok:
                message += (" — yet runner-doctor resolves it directly, so the difference is the daemon's network "
                            "view (its proxy settings, /etc/docker/certs.d, insecure-registries, DNS)")
                fix = fix or "compare the daemon's proxy, certs.d and insecure-registries settings with this shell's"
            elif direct.conclusive:
                message += f" (why, from the direct probe: {direct.message})"
                fix = direct.fix or fix
        return self.fail(message, fix, at=pull.origin, evidence=evidence)


RULE = ImagePullable()
