r"""On Kubernetes, the Secret values the runner reads are base64-encoded exactly once, without a newline.

**What it checks.** Each Secret key the runner container reads
(`valueFrom.secretKeyRef`, `envFrom.secretRef`), when the Secret is in the
same input (other runner forms: skip; a Secret created elsewhere: skip with the
command that checks it):

- `data:` values are decoded once, as Kubernetes does, and the result must be
  the value itself:
  - still base64 text, which decodes again to text: encoded twice, fail;
  - ending with a newline (encoded with `echo` instead of `echo -n`), or with
    blanks around it: fail;
  - not base64 at all: fail, the API server refuses the Secret;
  - binary bytes: the plain value was written under `data:` (it happens to be
    valid base64), fail;
- `stringData:` values are taken as they are: a value that is base64 of text
  warns (it was encoded although `stringData` needs the plain value).

The values are never shown, only their lengths.

**Why.** Kubernetes decodes `data` once and gives the result to the runner as
the variable. A double-encoded (or otherwise wrong) OAuth client ID or secret
makes the runner's login fail: it never comes online, and its log shows
`404 from POST https://auth.atlassian.com/oauth/token`. Atlassian names
"secret managers or Kubernetes double-encoding base64" as a cause.

**Fails**

```sh
# the value was already base64 when it went into a base64 data field
kubectl create secret generic runner-oauth-credentials \
  --from-literal=oauthClientSecret=$(echo -n "$OAUTH_CLIENT_SECRET" | base64)
```

```yaml
kind: Secret
data:
  oauthClientSecret: UVZSUFFXczRjMUUzZGs0eWVGSTFkRms0...   # base64 of base64
```

**Passes**

```yaml
kind: Secret
data:
  oauthClientSecret: QVRPQWs4c1E3dk4yeFI1dFk4d0IxZEY0...   # echo -n "$SECRET" | base64 -w0
```

**Fix.** Encode once and without a newline: `echo -n "$OAUTH_CLIENT_SECRET" |
base64 -w0`, or put the plain value under `stringData:`, or let kubectl encode
it: `kubectl create secret generic runner-oauth-credentials
--from-literal=oauthClientSecret="$OAUTH_CLIENT_SECRET"`. Then delete the
runner pod so it starts with the new value.

**References.** Atlassian KB "Self-hosted runner setup fails with 404 from POST
https://auth.atlassian.com/oauth/token"; `../shared/reference/bitbucket-runners.md`
§3.1, §6.1.
"""

from doctor.model import Severity
from doctor.rules._kubernetes import KubernetesRule, kubernetes_facts, text_of_base64

AUTH_404 = "the runner's login then fails with '404 from POST https://auth.atlassian.com/oauth/token'"


class SecretEncoding(KubernetesRule):
    id = "RD605"
    name = "secret-encoding"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        facts = kubernetes_facts(subject)
        keys = [k for k in facts.secret_keys if k.kind == "Secret"]
        if not keys:
            yield self.skip("the runner reads no Secret")
            return
        problems, good, elsewhere, templated = [], [], [], []
        for sk in keys:
            if not sk.found:
                elsewhere.append(sk)
                continue
            if sk.template:
                templated.append(sk)
                continue
            result = self._judge(sk)
            if result is None:
                good.append(sk)
            else:
                problems.append(result)
        yield from problems
        if problems:
            return
        notes = []
        if templated:
            notes.append("the autoscaler fills in " + ", ".join(sorted({k.key for k in templated})))
        if elsewhere:
            first = elsewhere[0]
            notes.append(f"Secret {first.secret} is not in this input (check it with: kubectl get secret "
                         f"{first.secret} -o jsonpath='{{.data.{first.key}}}' | base64 -d | base64 -d; an error "
                         "there means it is encoded once)")
        if good:
            names = ", ".join(f"{k.secret}/{k.key}" for k in good)
            yield self.ok(f"{names}: the runner gets the plain values (no double encoding, no newline)"
                          + (f"; {'; '.join(notes)}" if notes else ""), at=good[0].origin)
            return
        yield self.skip("; ".join(notes), at=(elsewhere or templated)[0].origin)

    def _judge(self, sk):
        feeds = f" ({', '.join(sk.variables)})" if sk.variables else ""
        what = f"{sk.secret}/{sk.key}{feeds}"
        at = sk.origin
        if sk.error:
            if sk.section == "data" and sk.decoded is None and sk.raw is not None:
                return self.fail(f"{what} is not valid base64: the API server refuses the Secret (illegal base64 "
                                 "data)", "encode it once: echo -n 'VALUE' | base64 -w0, or put the plain value "
                                 "under stringData:", at=at)
            return self.fail(f"{what}: {sk.error}", "give the key a string value", at=at)
        if sk.section == "stringData":
            inner = text_of_base64(sk.raw or "")
            if inner is not None:
                return self.warn(f"{what} is under stringData, which is not decoded, but it looks base64-encoded "
                                 f"(it decodes to {len(inner)} characters of text): the runner would get the encoded "
                                 f"text; {AUTH_404}", "put the plain value under stringData:, or move the encoded "
                                 "one to data:", at=at, severity=Severity.WARNING)
            return None
        try:
            text = sk.decoded.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or not text.strip().isprintable():
            return self.fail(f"{what} decodes to binary bytes, not text: the plain value was written under data:, "
                             f"which Kubernetes decodes as base64; {AUTH_404}",
                             "encode it: echo -n 'VALUE' | base64 -w0, or move the plain value to stringData:", at=at)
        if text.endswith("\n"):
            return self.fail(f"{what} ends with a newline (encoded with echo instead of echo -n): the runner gets "
                             f"the value with the newline; {AUTH_404}",
                             "encode it without the newline: echo -n 'VALUE' | base64 -w0", at=at)
        if text != text.strip():
            return self.fail(f"{what} has blanks around the value: the runner gets them too; {AUTH_404}",
                             "encode the value alone: echo -n 'VALUE' | base64 -w0", at=at)
        inner = text_of_base64(text)
        if inner is not None:
            return self.fail(f"{what} is base64-encoded twice: decoded once, as Kubernetes does, it is still base64 "
                             f"({len(text)} characters that decode to {len(inner)} characters of text); {AUTH_404}",
                             "encode the plain value once: echo -n \"$VALUE\" | base64 -w0 (or use stringData: with "
                             "the plain value)", at=at)
        return None


RULE = SecretEncoding()
