r"""An image the runner pulls is not one that exists only in the host's local image store.

**What it checks.** For the runner image and the helper images (as RD402 lists
them), when the daemon's local image store (`docker images`, matched by tag or
by `RepoDigests`) holds the image: the registry must still resolve its
reference (RD402's check, through the daemon when it answers). A local image
whose reference the registry does not know — built or tagged on this host and
never pushed, or deleted from the registry since — fails. A local image that is
also in the registry passes; an image that is not in the local store passes
here (RD402 says whether it can be pulled). When the registry cannot be asked
(unreachable, refused credentials) the rule is skipped with that reason.

**Why.** `docker run` happily starts a container from a local image, so an
image built on the runner host seems fine. But the runner pulls every helper
image from the registry at every step, and its image is pulled again whenever
it is recreated: the local copy does not help, and the step fails with
"manifest unknown" or "pull access denied".

**Fails**

```sh
docker build -t registry.acme.example:5443/bitbucket/clone:dev .
docker container run -it \
  -e CLONE_IMAGE=registry.acme.example:5443/bitbucket/clone:dev \
  ...
```

without `docker push registry.acme.example:5443/bitbucket/clone:dev`.

**Passes** The same, after `docker push registry.acme.example:5443/bitbucket/clone:dev`.

**Fix.** Push the image to its registry (`docker push <image>`) and keep it
there, or point the variable at an image that is in the registry.

**References.** Atlassian, "Configure the runner's helper images";
`../shared/reference/registry-and-docker-config.md` §3.4, §3.5.
"""

from doctor.imageref import InvalidReference, parse_reference
from doctor.model import Severity
from doctor.registry import results as R
from doctor.registry.plan import pulls
from doctor.rulebase import Rule


def local_match(images, ref):
    """The local image entry that is this reference (by tag, or by repository digest), or None."""
    wanted = str(ref) if ref.digest is None else None
    if wanted is not None and ref.tag is None:
        wanted += ":latest"
    for image in images or []:
        for tag in image.get("RepoTags") or []:
            if wanted is None or tag == "<none>:<none>":
                continue
            try:
                if str(parse_reference(tag)) == wanted:
                    return image, tag
            except InvalidReference:
                continue
        for repo_digest in image.get("RepoDigests") or []:
            if ref.digest is None:
                continue
            try:
                other = parse_reference(repo_digest)
            except InvalidReference:
                continue
            if other.repository == ref.repository and other.digest == ref.digest:
                return image, repo_digest
    return None


class NotLocalOnly(Rule):
    id = "RD403"
    name = "not-local-only"
    severity = Severity.ERROR
    needs = frozenset({"daemon", "network"})

    def check(self, subject, ctx):
        facts = ctx.daemon_for(subject)
        if facts.images is None:
            yield self.skip(f"the local images of the daemon at {facts.url} were not read"
                            + (f" ({facts.problem.message})" if facts.problem else ""))
            return
        found, unknown = pulls(subject)
        for u in unknown:
            yield self.skip(u.reason, at=u.origin)
        for pull in found:
            label = f"{pull.what} {pull.ref.familiar}"
            match = local_match(facts.images, pull.ref)
            if match is None:
                yield self.ok(f"{label} is not in the local image store of {facts.url}: the runner pulls it "
                              "(RD402 checks that it can)", at=pull.origin)
                continue
            image, shown = match
            local = f"{label} is in the local image store of {facts.url} (as {shown}, {image.get('Id', '')[:19]})"
            check = ctx.registry.for_subject(subject.id, pull.what)
            verdict = check.verdict if check is not None else None
            if verdict is None or verdict.outcome == R.NOT_CONTACTED:
                yield self.skip(f"{local}, but its registry was not asked in this run", at=pull.origin)
            elif verdict.ok:
                yield self.ok(f"{local} and in its registry ({verdict.digest or 'resolved'})", at=pull.origin)
            elif verdict.outcome in R.MISSING:
                ambiguous = " (Docker Hub does not say whether it is missing or private)" \
                    if verdict.outcome == R.AMBIGUOUS else ""
                yield self.fail(f"{local}, but its registry does not have it{ambiguous}: it was built or tagged "
                                "here and never pushed, or deleted from the registry. The runner pulls its images "
                                "from the registry every time, so the local copy does not help",
                                f"docker push {pull.ref.familiar} (and keep it in the registry), or use an image that "
                                "is in the registry", at=pull.origin, evidence=verdict.message)
            else:
                yield self.skip(f"{local}; whether its registry has it is not known: {verdict.message} (see RD402)",
                                at=pull.origin)


RULE = NotLocalOnly()
