r"""A Docker config.json for private helper images is mounted where the runner reads it: /root/.docker.

**What it checks.** A mount with container path `/root/.docker` (the folder) or
`/root/.docker/config.json` (the file).

- A config mounted anywhere else (`-v ~/.docker:/home/runner/.docker`,
  `-v ./config.json:/config.json`): fail, the runner never reads it.
- A config given with `--docker-config` while the start command mounts none:
  warn, the runner will not see it.
- Custom PAUSE_IMAGE, AUTH_PROXY_IMAGE or CLONE_IMAGE and no config mount: warn
  offline (the images may be public; the registry check decides online).
- A config mount with the default images, or no custom images and no mount: pass.
- Live, when the daemon runs on this machine: the host side of the mount
  exists; a folder mount holds a `config.json`; a file mount is a file (docker
  creates a folder in place of a missing file). Otherwise: fail.

**Why.** When the helper images come from a private registry the runner logs
in with the basic credentials of `/root/.docker/config.json` inside its
container, and only there.

**On Kubernetes.** The config comes from a Secret (or ConfigMap) volume
mounted at `/root/.docker` (or at `/root/.docker/config.json` with a
`subPath`). Each key of the Secret becomes a file, and a
`kubernetes.io/dockerconfigjson` Secret's key is `.dockerconfigjson`: without
`items: [{key: .dockerconfigjson, path: config.json}]` the runner finds no
config.json (fail). When the Secret is in the same input, RD301-RD305 check
its content. The pod's `imagePullSecrets` do not help: they are the kubelet's,
not the runner's.

**Fails**

```sh
docker container run -it \
  -v /home/ci/.docker:/home/runner/.docker:ro \
  -e PAUSE_IMAGE=registry.acme.example:5443/mirror/pause:3.9 \
  ...
```

**Passes**

```sh
docker container run -it \
  -v /home/ci/.docker:/root/.docker:ro \
  -e PAUSE_IMAGE=registry.acme.example:5443/mirror/pause:3.9 \
  ...
```

**Fix.** Mount the folder, `-v /path/to/.docker:/root/.docker`, or the file,
`-v /path/to/.docker/config.json:/root/.docker/config.json`. The file must hold
basic credentials only (see RD302, RD303).

**References.** Atlassian, "Use your Docker images in self-hosted runners";
`../shared/reference/bitbucket-runners.md` §3.2.
"""

import posixpath

from doctor import suggest
from doctor.model import Severity, normpath
from doctor.runner_facts import CONFIG_DIR, CONFIG_FILE, custom_helper_images
from doctor.rulebase import Rule
from doctor.rules._live import host_files, local_path


def _looks_like_config(m):
    for p in (m.source or "", m.target):
        p = normpath(p)
        if p.endswith("/.docker") or p.endswith(".docker/config.json") or p.endswith("/config.json") \
                or p == ".docker":
            return True
    return False


class DockerConfigMount(Rule):
    id = "RD104"
    name = "docker-config-mount"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.docker_config(self, runner)
            return
        mount = runner.docker_config_mount
        custom = custom_helper_images(runner)
        names = ", ".join(v.name for v in custom)
        if mount is None:
            misplaced = [m for m in runner.mounts if _looks_like_config(m)]
            if misplaced:
                m = misplaced[-1]
                is_file = normpath(m.target).endswith(".json")
                right = CONFIG_FILE if is_file else CONFIG_DIR
                yield self.fail(f"a Docker config is mounted at {m.target}, but the runner reads only {right}",
                                f"mount it at {right}: {suggest.mount(runner, m.source, right, True)}", at=m.origin, evidence=m.raw)
                return
            cfg = runner.docker_config
            if cfg is not None and cfg.how == "given":
                yield self.warn(f"a Docker config was given ({cfg.path}), but the start command mounts none at "
                                f"{CONFIG_DIR}: the runner will not read it",
                                f"add {suggest.mount(runner, '/path/to/.docker', CONFIG_DIR, True)}",
                                at=runner.origin, severity=Severity.WARNING)
                return
            if custom:
                yield self.warn(f"{names} name{'s' if len(custom) == 1 else ''} custom image"
                                f"{'s' if len(custom) > 1 else ''} but no Docker config is mounted: fine if "
                                "they are public, a pull failure if they are private",
                                f"for private images mount a config.json with basic credentials: "
                                f"{suggest.mount(runner, '/path/to/.docker', CONFIG_DIR, True)}", at=custom[0].origin,
                                severity=Severity.WARNING)
                return
            yield self.ok("the helper images are the defaults: no Docker config is needed")
            return
        live = self._live(subject, ctx, mount)
        if live is not None:
            yield live
            return
        what = "folder" if normpath(mount.target) == CONFIG_DIR else "file"
        detail = f" for {names}" if custom else ""
        yield self.ok(f"a Docker config {what} is mounted at {mount.target}{detail}", at=mount.origin,
                      evidence=mount.raw)

    def _live(self, subject, ctx, mount):
        """Live: the mount's host path is there, as the runner needs it (None: fine, or not checkable here)."""
        facts = ctx.daemon_for(subject)
        files = host_files(ctx)
        host = local_path(facts, mount.source, subject.runner.base_dir, files) if mount.is_bind else None
        if host is None:
            return None
        where = dict(at=mount.origin, evidence=mount.raw)
        on_host = f"on this host, where the daemon at {facts.url} runs"
        if not files.exists(host):
            return self.fail(f"{mount.source} does not exist {on_host}: docker mounts an empty folder in its place, "
                             "and the runner finds no config.json",
                             "create it (docker login <registry> as the user whose ~/.docker is mounted writes it), "
                             "or correct the host path of the mount", **where)
        if normpath(mount.target) == CONFIG_DIR:
            if files.kind(host) == "folder" and not files.exists(posixpath.join(host, "config.json")):
                return self.fail(f"the folder {mount.source} holds no config.json {on_host}: the runner finds no "
                                 "registry credentials", "log in there (docker login <registry>), or mount the folder "
                                 "that holds config.json", **where)
        elif files.kind(host) == "folder":
            return self.fail(f"{mount.source} is a folder {on_host}, not a file (docker creates a folder when the "
                             "file to mount is missing)", "remove the folder, put the config.json there, and start "
                             "the runner again", **where)
        return None


RULE = DockerConfigMount()
