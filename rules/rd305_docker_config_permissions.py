"""The Docker config holding registry passwords is readable by its owner only.

**What it checks.** The permission bits of the `config.json` the runner reads
(as found on this machine): readable by the group or by others (`mode & 044`)
while it holds credentials (`auth`, `password` or a token): warn. Writable by
group or others: warn. A file that holds no secrets (only `{}` markers, say)
passes whatever its mode. A mode that cannot be known here (the file is on
another machine or cannot be read): skip.

**Why.** `auth` is only base64, not encryption: anyone who can read the file
has the registry password. `docker login` creates the file with mode 0600 and
keeps that mode when it rewrites it; files copied by hand or by configuration
management usually end up 0644. A file others can write lets them swap the
credentials or the registry the runner trusts.

**Fails**

```console
$ ls -l /home/ci/.docker/config.json
-rw-r--r-- 1 ci ci 154 Mar  4 09:12 /home/ci/.docker/config.json
```

**Passes**

```console
$ ls -l /home/ci/.docker/config.json
-rw------- 1 ci ci 154 Mar  4 09:12 /home/ci/.docker/config.json
```

**Fix.** `chmod 600 /home/ci/.docker/config.json` (and `chmod 700` on its
folder). The Docker daemon runs as root and reads the bind mount regardless.

**References.** docker/cli `cli/config/configfile/file.go: Save` (0600);
`../shared/reference/registry-and-docker-config.md` §1.3;
`../shared/reference/bitbucket-runners.md` §3.3 (runner secrets kept at mode 600).
"""

from doctor.dockerconfig import secret_strings, view
from doctor.model import Origin, Severity
from doctor.rulebase import Rule

NOT_A_FILE = ("is a folder, not a file", "not a regular file")


def _who(bits):
    return " and ".join(who for who, mask in (("its group", 0o070), ("all other users", 0o007)) if bits & mask)


class DockerConfigPermissions(Rule):
    id = "RD305"
    name = "docker-config-permissions"
    severity = Severity.WARNING
    applies_to = ("runner", "docker-config")
    docker_only = True

    def check(self, subject, ctx):
        cfg = subject.config
        if cfg is None:
            yield self.skip("no Docker config is mounted or given")
            return
        if cfg.mode is None or cfg.error in NOT_A_FILE:
            yield self.skip(f"the permissions of {cfg.path} are not known here ({cfg.error or 'not readable'})")
            return
        path = view(cfg).display_path
        mode = f"{cfg.mode:04o}"
        fix = f"chmod 600 {path}"
        holds_secrets = cfg.text is None or bool(secret_strings(cfg))
        if cfg.mode & 0o044:
            readers = _who(cfg.mode & 0o044)
            if not holds_secrets:
                yield self.ok(f"{path} is readable by {readers} (mode {mode}), but holds no passwords or tokens",
                              at=Origin(path))
                return
            yield self.warn(f"{path} is readable by {readers} (mode {mode}) and holds registry credentials: "
                            "anyone who can read it has the passwords (base64 is not encryption)", fix,
                            at=Origin(path))
            return
        if cfg.mode & 0o022:
            yield self.warn(f"{path} is writable by {_who(cfg.mode & 0o022)} (mode {mode}): they can replace the "
                            "registry credentials the runner uses", fix, at=Origin(path))
            return
        yield self.ok(f"{path} is mode {mode}: only its owner can read it", at=Origin(path))


RULE = DockerConfigPermissions()
