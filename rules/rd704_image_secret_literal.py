r"""In bitbucket-pipelines.yml, image credentials are `$VARIABLES`, never secrets written in the file.

**What it checks.** Every `image:` block a self-hosted step uses (its own, the
default image, its services' images) that gives credentials:

- `password` and `aws.secret-key` are a variable reference (`$REGISTRY_PASSWORD`,
  `${REGISTRY_PASSWORD}`): pass; a literal value: fail (the finding says only
  how long it is, never the value); empty: fail;
- a `password` without `username`: fail.

No credentials: pass.

**Why.** `bitbucket-pipelines.yml` is in the repository: everyone who can read
the repository (and its history, forks and clones) has a password written
there, and it stays in the history after you remove it. Secured repository,
workspace or deployment variables are masked in logs and never shown again.

**Fails**

```yaml
          image:
            name: registry.acme.example:5443/build/node:20
            username: ci-pull
            password: hunter2-but-longer
```

**Passes**

```yaml
          image:
            name: registry.acme.example:5443/build/node:20
            username: $REGISTRY_USER
            password: $REGISTRY_PASSWORD
```

**Fix.** Create secured variables (Repository settings > Repository
variables, "Secured" ticked) and reference them: `password: $REGISTRY_PASSWORD`.
Then change the password: the one written in the file is in the repository's
history.

**References.** Atlassian, "Docker image options" (private images with
variables); `../shared/reference/bitbucket-runners.md` §5.6.
"""

from doctor.inputs.pipelines import is_variable
from doctor.model import Severity, describe_secret
from doctor.rulebase import Rule


class ImageSecretLiteral(Rule):
    id = "RD704"
    name = "image-secret-literal"
    severity = Severity.ERROR
    applies_to = ("pipeline-step",)

    def check(self, subject, ctx):
        step = subject.step
        images = [i for i in step.images() if i.has_credentials]
        if not images:
            yield self.ok("no registry credentials in this step's images", at=step.origin)
            return
        problems = []
        for image in images:
            problems.extend(self._judge(image))
        yield from problems
        if not problems:
            yield self.ok(f"the credentials of {', '.join(i.what for i in images)} are variables", at=images[0].origin)

    def _judge(self, image):
        secrets = [("password", image.password, "password: $REGISTRY_PASSWORD"),
                   ("aws secret-key", image.aws.get("secret-key"), "secret-key: $AWS_SECRET_ACCESS_KEY")]
        for what, text, example in secrets:
            if text is None:
                continue
            if text.value is None or not text.value.strip():
                yield self.fail(f"the {what} of {image.what} is empty", f"{example} (a secured variable)",
                                at=text.origin)
            elif not is_variable(text.value):
                yield self.fail(f"the {what} of {image.what} is written in the file ({describe_secret(text.value)}): "
                                "everyone who can read the repository has it, in its history too",
                                f"move it to a secured repository variable and write {example}; then change the "
                                f"{what.split()[-1]}", at=text.origin)
        if image.password is not None and image.username is None:
            yield self.fail(f"{image.what} has a password but no username", "add username: $REGISTRY_USER",
                            at=image.password.origin)


RULE = ImageSecretLiteral()
