r"""The OAuth client secret is not written where others can read it.

**What it checks.** Where `OAUTH_CLIENT_SECRET` (and any other secret-named
variable: `*_SECRET`, `*_TOKEN`, `*_PASSWORD`) comes from, on every runner kind:

- written literally in a script, a pasted command, a compose file or a systemd
  unit, or passed as a start-script argument (`--OAuthClientSecret ...`): warn.
  The value is then in the file (and in the repository, when the file is
  versioned), in shell history when typed, and in the process list (`ps`)
  while `docker run` or the runner runs in the foreground;
- from an env file that group or others can read (`mode & 0o044`): warn,
  with the `chmod` to run;
- from a `$VAR` reference, `-e NAME` inherited from the environment, or an
  env file with mode `0600`: pass;
- `docker inspect` output always carries the secret in `Config.Env`: warn
  that it must be redacted before the output is shared (a support ticket, a
  chat, an issue). A value already redacted (`****`) passes. A live
  container found on the daemon is skipped: its environment holds the values
  by design, and the doctor never prints them.

The doctor never prints the secret, only that it is set and its length.

**Why.** The OAuth client secret lets anyone register as your runner and
receive your builds, with their repository contents and deployment secrets.
Many public repositories hold a real runner secret pasted into a script or
compose file.

**On Kubernetes.** `OAUTH_CLIENT_SECRET` written as a `value:` in the
manifest warns, and so does one read from a Secret whose manifest (with its
base64 data) is in the same input: base64 is not encryption. A `secretKeyRef`
to a Secret created elsewhere passes.

**Fails** (warns)

```sh
docker container run -it \
  ...
  -e OAUTH_CLIENT_SECRET=ATOA9fK2...the-secret-from-the-dialog... \
  ...
```

**Passes**

```sh
# /etc/bitbucket-runner/runner.env is owned by root, mode 0600
docker container run -d --restart unless-stopped \
  ...
  --env-file /etc/bitbucket-runner/runner.env \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** Move the secret into an env file only its owner can read
(`chmod 600 runner.env`; docker `--env-file`, compose `env_file:`, systemd
`EnvironmentFile=`), or into a secret store that exports it
(`-e OAUTH_CLIENT_SECRET`). If the secret was ever committed or shared, create
the runner again in Bitbucket to get a new one. For the shell, macOS and
Windows runners the secret is a start-script argument: keep it out of
versioned files by reading it from a file only the runner's user can read.

**References.** `../shared/reference/bitbucket-runners.md` §3.3 (secrets in
public repositories; the runner configuration should be mode 600).
"""

from doctor.model import RunnerKind, Severity
from doctor.rulebase import Rule
from doctor.rules._env import is_placeholder, is_redacted, is_start_script, known_value, shown_name

SECRET = "OAUTH_CLIENT_SECRET"


def _mode(mode):
    return f"{mode:04o}"


class SecretExposure(Rule):
    id = "RD205"
    name = "secret-exposure"
    severity = Severity.WARNING
    docker_only = False

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.secret_exposure(self, runner)
            return
        if runner.facts.get("container") is not None:
            yield self.skip("a live container's environment always holds the values it was started with (the "
                            "doctor does not print them); check the start command or env file for where the secret "
                            "is written")
            return
        secrets = [v for v in runner.env if v.is_secret]
        if runner.form == "inspect":
            yield from self._inspect(secrets)
            return
        problems, fine = [], []
        for var in secrets:
            where = self._exposure(runner, var)
            if where:
                problems.append(self.warn(where, self._fix(runner, var), at=var.origin))
            else:
                fine.append(var)
        problems.extend(self._env_files(runner, secrets))
        yield from problems
        if problems:
            return
        if not secrets:
            unreadable = [f.path for f in runner.env_files if f.error]
            unseen = f" (not checked: {', '.join(unreadable)}, which cannot be read here)" if unreadable else ""
            yield self.ok(f"no {SECRET} is written in this configuration{unseen}")
            return
        sources = "; ".join(f"{shown_name(runner, v.name, v)} {self._source(runner, v)}" for v in fine)
        yield self.ok(f"no secret is written in the command: {sources}")

    # -- where a value is written
    def _exposure(self, runner, var):
        """Why this occurrence is exposed, or None."""
        value = known_value(var)
        if value is None or not value.strip() or is_redacted(value) or is_placeholder(value):
            return None  # nothing secret to expose (RD201 reports placeholders)
        label = shown_name(runner, var.name, var)
        desc = var.describe()
        if var.source == "env-file" or (var.source == "inherited" and var.env_file):
            return None  # judged with the env file's permissions
        if var.source == "argument":
            if runner.kind is RunnerKind.WINDOWS:
                seen = "in the file, in PowerShell history when typed, and in the process list"
            else:
                seen = "in the file, in shell history when typed, and in `ps` output while the start script runs"
            return f"{label} is written literally on the start command ({desc}): it is visible {seen}"
        if var.source == "inherited":
            return (f"{var.name} is assigned in the script and passed with -e {var.name} ({desc}): the secret "
                    f"is written in the script")
        if runner.form == "compose":
            return (f"{var.name} is written literally in the compose file ({desc}): it is visible to anyone "
                    "who can read the file or its repository")
        if runner.form == "systemd" or runner.supervisor == "systemd":
            return (f"{var.name} is written literally in the unit ({desc}): unit files are world-readable "
                    "and `systemctl show` prints the command line")
        return (f"{var.name} is written literally on the docker command ({desc}): it is visible in the file, in "
                "shell history when typed, and in `ps` output while docker runs in the foreground")

    def _fix(self, runner, var):
        if is_start_script(runner):
            if runner.kind is RunnerKind.WINDOWS:
                return ("keep the secret in a file only the runner's account can read and pass "
                        "-OAuthClientSecret (Get-Content C:\\bitbucket-runner\\secret.txt)")
            return ("keep the secret in a file only the runner's user can read (chmod 600) and pass "
                    "--OAuthClientSecret \"$(cat ~/.bitbucket-runner-secret)\"")
        if runner.form == "compose":
            return (f"move it to an env file with mode 0600 (env_file: runner.env; chmod 600 runner.env), or write "
                    f"{var.name}: ${{{var.name}}} and provide it from a secret store")
        if runner.form == "systemd" or runner.supervisor == "systemd":
            return (f"move it to EnvironmentFile=/etc/bitbucket-runner/runner.env (chmod 600) and pass "
                    f"-e {var.name}")
        return (f"move it to an env file with mode 0600 (--env-file /etc/bitbucket-runner/runner.env; "
                f"chmod 600 it), or export it from a secret store and pass -e {var.name}")

    def _source(self, runner, var):
        if var.env_file:
            return f"comes from {var.env_file}"
        value = known_value(var)
        if value is not None and is_redacted(value):
            return "is redacted"
        if value is not None and is_placeholder(value):
            return "is a placeholder (RD201)"
        if value is not None and not value.strip():
            return "is empty (RD201)"
        if var.value is None and var.source == "inherited":
            return "is inherited from the environment"
        return f"is given at run time ({var.raw})" if var.raw else "is given at run time"

    # -- env files
    def _env_files(self, runner, secrets):
        out = []
        for ref in runner.env_files:
            if ref.mode is None or not ref.mode & 0o044:
                continue
            held = sorted({v.name for v in secrets if v.env_file in (ref.path, ref.resolved)})
            if not held:
                continue
            who = "others" if ref.mode & 0o004 else "its group"
            out.append(self.warn(
                f"{ref.path} holds {', '.join(held)} and is readable by {who} (mode {_mode(ref.mode)})",
                f"chmod 600 {ref.resolved or ref.path}", at=ref.origin))
        return out

    # -- docker inspect
    def _inspect(self, secrets):
        exposed = [v for v in secrets if known_value(v) and not is_redacted(known_value(v))]
        if exposed:
            names = ", ".join(sorted({v.name for v in exposed}))
            yield self.warn(
                f"this docker inspect output contains {names} in Config.Env ({exposed[0].describe()}): redact it "
                "before sharing the output",
                f"replace the value with **** before sharing, e.g. sed -E 's/({exposed[0].name}=)[^\"]*/\\1****/'",
                at=exposed[0].origin)
            return
        yield self.ok("no secret in this docker inspect output (absent or redacted)")


RULE = SecretExposure()
