"""The Docker config the runner reads exists and is valid JSON with the shape docker expects.

**What it checks.** The `config.json` mounted at `/root/.docker` (or given with
`--docker-config`, or as a TARGET):

- it can be read: a file given with `--docker-config` that cannot be read fails;
  a mounted file that cannot be read *here* (a host path from another machine,
  a missing path, a named volume) is skipped with the reason — give the file
  with `--docker-config` to check it. When the Docker daemon runs on this
  machine and answers (a live container, or a file checked on its host), a
  missing mounted file fails instead: the runner will not find it either;
- it is valid JSON: a syntax error fails with its line and column;
- it has the shape of the JSON Schema `doctor/schemas/docker-config.schema.json`
  (`auths` an object of objects with string `auth`, `username`, `password`, …;
  `credsStore` a string; `credHelpers` an object of strings; …): each violation
  fails at the line of the offending value;
- field names spelled in another case (`"Auths"`, `"Auth"`): warn — the docker
  CLI accepts them because Go matches field names case-insensitively, but
  docker-py and most other tools read only `auths`;
- an unknown key close to a known one (`credStore`, `auth` at the top): warn —
  docker ignores it.

No config mounted or given: skip; none is needed unless the helper images are
private.

**Why.** The runner reads the registry credentials for its helper images from
`/root/.docker/config.json`. A file docker cannot parse gives no credentials at
all: the docker CLI prints `WARNING: Error parsing config file` and carries on
without them, so the failure shows up later as "unauthorized" on a pull.

**Fails**

```json
{
	"auths": {
		"registry.acme.example:5443": {
			"auth": "Y2ktcHVsbDpjb3JyZWN0LWhvcnNlLWJhdHRlcnk="
		},
	}
}
```

(a trailing comma after the last entry: invalid JSON)

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

**Fix.** Correct the JSON at the line given (`python3 -m json.tool config.json`
shows the first error). Each `auths` entry is an object:
`"<registry>": {"auth": "<base64 of user:password>"}`. Spell the fields as
docker writes them: `auths`, `auth`, `credsStore`, `credHelpers`.

**References.** docker/cli `cli/config/configfile/file.go`, `cli/config/config.go`;
`../shared/reference/registry-and-docker-config.md` §1.1–§1.3;
`../shared/reference/bitbucket-runners.md` §3.2.
"""

from doctor.dockerconfig import TOP_FIELDS, view
from doctor.model import Origin, Severity
from doctor.rulebase import Rule

NO_CONFIG = "no Docker config is mounted or given; none is needed unless the helper images are private"
GIVE_IT = "give the file with --docker-config to check it"
ENTRY_FIX = 'write each entry as "<registry>": {"auth": "<base64 of user:password>"}'
_KNOWN = {name.lower() for name in TOP_FIELDS}


def _unreadable_skip(cfg):
    """The skip reason for a mounted config that cannot be read here, or None when it is a real failure."""
    err = cfg.error
    if err.startswith("no such file"):
        if cfg.member_of_dir:
            return (f"{cfg.path} does not exist on this machine: if this is the runner host, the mounted folder "
                    f"needs a config.json; if you are reviewing the command elsewhere, {GIVE_IT}")
        return (f"{cfg.path} does not exist on this machine: if this is the runner host, create it before "
                "starting the runner (docker run -v would mount an empty folder in its place); if you are "
                f"reviewing the command elsewhere, {GIVE_IT}")
    if err.startswith("permission denied"):
        return f"{cfg.path} cannot be read by this user (permission denied); run the doctor as its owner, or {GIVE_IT}"
    if "--docker-config" in err:
        return f"{cfg.path}: {err}"
    if "variable" in err:
        return f"{cfg.path}: {err}; {GIVE_IT}"
    return None


class DockerConfigValid(Rule):
    id = "RD301"
    name = "docker-config-valid"
    severity = Severity.ERROR
    applies_to = ("runner", "docker-config")
    docker_only = True

    def check(self, subject, ctx):
        cfg = subject.config
        if cfg is None:
            yield self.skip(NO_CONFIG)
            return
        if cfg.error:
            facts = ctx.daemon_for(subject)
            yield from self._unreadable(cfg, facts if facts is not None and facts.local else None)
            return
        v = view(cfg)
        path = v.display_path
        if cfg.parse_error:
            msg, line, col = cfg.parse_error
            yield self.fail(
                f"{path} is not valid JSON: {msg} (line {line}, column {col}); docker ignores the whole file, so "
                "the runner gets no registry credentials from it",
                f"correct the JSON at line {line} (a comma after the last entry of an object is the usual "
                f"culprit); check it with: python3 -m json.tool {path}", at=Origin(path, line, col))
            return
        if not isinstance(cfg.data, dict):
            yield self.fail(f"{path} must hold a JSON object ({{...}}), not {type(cfg.data).__name__}",
                            'write it as {"auths": {...}}', at=v.origin(()))
            return
        failed = False
        for issue in v.schema_issues:
            failed = True
            in_auths = issue.path[:1] and issue.path[0].lower() == "auths"
            fix = ENTRY_FIX if in_auths else "correct or remove the value (see the docker CLI reference for config.json)"
            yield self.fail(f"{issue.json_path} {issue.message}: docker refuses to load this file",
                            fix, at=Origin(path, issue.line, issue.column))
        warned = False
        for key_path, spelling, canonical in v.misspelled:
            warned = True
            yield self.warn(
                f'"{spelling}" works for the docker CLI only because Go ignores the case of field names; '
                f'docker-py and most other tools read only "{canonical}"',
                f'rename "{spelling}" to "{canonical}"', at=v.origin(key_path), severity=Severity.WARNING)
        for key in cfg.data:
            if key.lower() in _KNOWN:
                continue
            import difflib  # here: most configs have no unknown field (start-up time)

            near = difflib.get_close_matches(key.lower(), _KNOWN, n=1, cutoff=0.8)
            if near:
                warned = True
                canonical = next(name for name in TOP_FIELDS if name.lower() == near[0])
                yield self.warn(f'"{key}" is not a field docker knows, so it is ignored; did you mean "{canonical}"?',
                                f'rename it to "{canonical}", or remove it', at=v.origin((key,)),
                                severity=Severity.WARNING)
        if not failed and not warned:
            n = len(v.entries)
            mount = subject.runner.docker_config_mount if subject.runner and cfg.how == "mounted" else None
            where = f" (mounted at {mount.target})" if mount else ""
            yield self.ok(f"{path}{where} is valid JSON with the shape docker expects "
                          f"({n} registr{'y' if n == 1 else 'ies'} in auths)", at=Origin(path))

    def _unreadable(self, cfg, local_daemon):
        if cfg.how == "mounted":
            if local_daemon is not None and cfg.error.startswith("no such file"):
                # this machine runs the daemon: the path is missing where the runner would read it
                yield self.fail(f"{cfg.path} does not exist on this host, where the daemon at {local_daemon.url} "
                                "runs: the runner finds no /root/.docker/config.json",
                                "create it (docker login <registry> writes it) or correct the mount's host path; "
                                "reviewing the command on another machine? use --offline", at=cfg.origin)
                return
            why = _unreadable_skip(cfg)
            if why:
                yield self.skip(why, at=cfg.origin)
                return
            yield self.fail(f"{cfg.path}: {cfg.error}; the runner finds no readable /root/.docker/config.json",
                            "mount the folder that holds config.json at /root/.docker, or the file itself at "
                            "/root/.docker/config.json", at=cfg.origin)
            return
        yield self.fail(f"the Docker config {cfg.path} cannot be read: {cfg.error}",
                        "give the path of a readable config.json", at=cfg.origin)


RULE = DockerConfigValid()
