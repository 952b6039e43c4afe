"""The Kubernetes meaning of the runner rules, and what the RD6xx rules share.

On Kubernetes there is no host path to bind: the runner reaches a Docker daemon
through volumes. In Atlassian's documented Job a privileged ``docker:dind``
sidecar runs dockerd, and three ``emptyDir`` volumes are mounted in both
containers: ``/var/run`` (dockerd's socket), ``/tmp`` (WORKING_DIRECTORY: the
daemon bind-mounts the step folders from *its* filesystem, so they must be at
the same path in both containers) and ``/var/lib/docker/containers`` (the step
logs dockerd writes and the runner reads, read-only in the runner). A
``hostPath`` socket uses the node's own Docker Engine instead (only nodes that
run one have it).

The existing rules call these functions from an early branch
(``if runner.form == "kubernetes"``); they get the rule to build results with.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass

from doctor.model import Mount, RunnerSetup, Severity, normpath
from doctor.rulebase import Rule
from doctor.runner_facts import CONFIG_DIR, CONFIG_FILE, CONTAINERS_DIR, SOCKET_PATH, custom_helper_images
from doctor.rules._env import is_placeholder, known_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # the Kubernetes reader (and YAML) is imported only when a manifest was read
    from typing import Iterator, List, Optional, Tuple

    from doctor.inputs.kubernetes import Container, KubernetesFacts, Volume

DEFAULT_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
DEFAULT_DATA_ROOT = "/var/lib/docker"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def facts_of(runner: RunnerSetup) -> Optional[KubernetesFacts]:
    """The Kubernetes reader's facts of a runner (the reader is imported only when it is needed)."""
    from doctor.inputs.kubernetes import facts_of as kubernetes_facts_of

    return kubernetes_facts_of(runner)


# ------------------------------------------------------------------ paths and volumes

def covering(mounts: List[Mount], path: str) -> Optional[Mount]:
    """The mount whose target is ``path`` or its nearest parent (the deepest one wins)."""
    path = normpath(path)
    best = None
    for m in mounts:
        t = normpath(m.target)
        if path == t or path.startswith(t.rstrip("/") + "/"):
            if best is None or len(t) >= len(normpath(best.target)):
                best = m
    return best


def _sub_path(m: Mount) -> str:
    return next((o.split("=", 1)[1] for o in m.options if o.startswith("subPath=")), "")


def seen_in(container: Container, runner_mount: Mount, path: str) -> Optional[Tuple[Mount, str]]:
    """Where ``container`` sees the file the runner sees at ``path`` through ``runner_mount``, or None."""
    rel = posixpath.relpath(normpath(path), normpath(runner_mount.target))
    for m in container.mounts:
        if m.source == runner_mount.source and _sub_path(m) == _sub_path(runner_mount):
            return m, normpath(posixpath.join(m.target, rel)) if rel != "." else normpath(m.target)
    return None


def host_path(volume: Volume, runner_mount: Mount, path: str) -> Optional[str]:
    """The node path behind ``path`` for a hostPath volume."""
    if volume.kind != "hostPath" or not volume.path:
        return None
    rel = posixpath.relpath(normpath(path), normpath(runner_mount.target))
    base = posixpath.join(volume.path, _sub_path(runner_mount)) if _sub_path(runner_mount) else volume.path
    return normpath(posixpath.join(base, rel)) if rel != "." else normpath(base)


def _flag_values(args: List[str], *names: str) -> List[str]:
    out = []
    for i, arg in enumerate(args):
        for name in names:
            if arg.startswith(name + "="):
                out.append(arg.split("=", 1)[1])
            elif arg == name and i + 1 < len(args):
                out.append(args[i + 1])
    return out


def daemon_sockets(c: Container) -> List[str]:
    """The unix sockets dockerd listens on in this container (the dind image's default: /var/run/docker.sock)."""
    hosts = [h for h in _flag_values(c.args, "--host", "-H") if h.startswith("unix://")]
    return [normpath(h[len("unix://"):]) for h in hosts] or list(DEFAULT_SOCKETS)


def data_root(c: Container) -> str:
    roots = _flag_values(c.args, "--data-root", "-g", "--graph")
    return normpath(roots[-1]) if roots else DEFAULT_DATA_ROOT


def volume_line(name: str) -> str:
    return f"'- name: {name}' with 'emptyDir: {{}}' under the pod's volumes:"


# ------------------------------------------------------------------ where the Docker daemon is

@dataclass
class Daemon:
    """Where the runner's Docker socket comes from."""

    where: str  # "sidecar" | "node"
    mount: Mount  # the runner's mount that holds the socket
    volume: Volume
    container: Optional[Container] = None  # the dind sidecar
    container_mount: Optional[Mount] = None

    @property
    def name(self) -> str:
        return f"the dind sidecar {self.container.name}" if self.container else "the node's Docker Engine"


def find_daemon(runner: RunnerSetup) -> Tuple[Optional[Daemon], str, str]:
    """(the daemon, or None with why and how to fix it)."""
    facts = facts_of(runner)
    m = covering(runner.mounts, SOCKET_PATH)
    sidecars = facts.daemons
    if m is None:
        if sidecars:
            c = sidecars[0]
            return None, (f"the sidecar {c.name} runs dockerd, but the runner has no volume at /var/run: the socket "
                          "dockerd creates in the sidecar never reaches the runner"), \
                (f"mount one emptyDir at /var/run in both containers: volumeMounts '- name: var-run, mountPath: "
                 f"/var/run' in {runner.name} and {c.name}, and {volume_line('var-run')}")
        return None, "no Docker socket reaches the runner: the pod has no dind sidecar and mounts no socket", \
            ("add a privileged docker:dind sidecar and share an emptyDir at /var/run with it, as in Atlassian's "
             "Kubernetes Job (see RD601)")
    vol = facts.volumes.get(m.source or "")
    if vol is None:
        return None, f"{m.target} is the volume {m.source!r}, which the pod does not declare", \
            f"declare it: {volume_line(m.source)}"
    if vol.kind == "hostPath":
        return Daemon("node", m, vol), "", ""
    if vol.kind != "emptyDir":
        return None, f"{m.target} is a {vol.kind} volume ({vol.name}): no Docker daemon writes its socket there", \
            f"share an emptyDir at /var/run with a docker:dind sidecar instead: {volume_line(vol.name)}"
    shared = [(c, seen) for c in facts.others for seen in [seen_in(c, m, SOCKET_PATH)] if seen]
    for c, (cm, path) in shared:
        if c.is_docker_daemon and path in daemon_sockets(c):
            return Daemon("sidecar", m, vol, c, cm), "", ""
    daemons = [(c, seen) for c, seen in shared if c.is_docker_daemon]
    if daemons:
        c, (cm, path) = daemons[0]
        return None, (f"the sidecar {c.name} mounts {vol.name} at {cm.target}, so the runner's {SOCKET_PATH} is its "
                      f"{path}, where dockerd does not create its socket ({', '.join(daemon_sockets(c))})"), \
            f"mount {vol.name} at {posixpath.dirname(daemon_sockets(c)[0])} in {c.name} as well"
    if sidecars:
        c = sidecars[0]
        return None, (f"the emptyDir {vol.name} at {m.target} is not mounted in the dind sidecar {c.name}: the "
                      f"socket dockerd creates there never reaches the runner"), \
            f"add '- name: {vol.name}, mountPath: {m.target}' to the volumeMounts of {c.name}"
    return None, (f"{m.target} is the emptyDir {vol.name}, and no container of the pod runs a Docker daemon that "
                  f"writes its socket there: {SOCKET_PATH} will not exist"), \
        f"add a privileged docker:dind sidecar that mounts {vol.name} at {m.target} (see RD601)"


# ------------------------------------------------------------------ the existing rules, on Kubernetes

def socket(rule, runner: RunnerSetup) -> Iterator:
    """RD101: a Docker socket at /var/run/docker.sock, from a dind sidecar (or the node)."""
    daemon, why, fix = find_daemon(runner)
    if daemon is None:
        m = covering(runner.mounts, SOCKET_PATH)
        yield rule.fail(why, fix, at=m.origin if m else runner.origin, evidence=m.raw if m else "")
        return
    m = daemon.mount
    if daemon.where == "node":
        node_path = host_path(daemon.volume, m, SOCKET_PATH)
        if node_path in DEFAULT_SOCKETS:
            yield rule.warn(
                f"the node's Docker socket ({node_path}, hostPath volume {daemon.volume.name}) is mounted: it exists "
                "only on nodes that run Docker Engine (since Kubernetes 1.24 most nodes run containerd without it), "
                "and the steps then run beside the kubelet's containers, outside any pod limits",
                "use a privileged docker:dind sidecar sharing an emptyDir at /var/run, as in Atlassian's Kubernetes "
                "Job; if you keep the node's daemon, pin the pod to nodes that run Docker Engine",
                at=m.origin, evidence=m.raw, severity=Severity.WARNING)
            return
        yield rule.fail(f"the hostPath {daemon.volume.path} mounted at {m.target} does not give the runner the node's "
                        f"Docker socket at {SOCKET_PATH} (it is {node_path} on the node)",
                        "use a docker:dind sidecar sharing an emptyDir at /var/run", at=m.origin, evidence=m.raw)
        return
    yield rule.ok(f"{SOCKET_PATH} is the socket of dockerd in the sidecar {daemon.container.name} "
                  f"({daemon.container.image}), shared through the emptyDir {daemon.volume.name} at {m.target}",
                  at=m.origin, evidence=m.raw)


def containers_dir(rule, runner: RunnerSetup) -> Iterator:
    """RD102: the daemon's containers folder, shared with the runner and read-only there."""
    facts = facts_of(runner)
    m = covering(runner.mounts, CONTAINERS_DIR)
    daemon, _why, _fix = find_daemon(runner)
    if m is None:
        who = daemon.name if daemon else "the dind sidecar"
        yield rule.fail(f"{CONTAINERS_DIR} is not mounted in the runner: it cannot read the logs of the step "
                        f"containers, which {who} writes there",
                        f"share an emptyDir at {CONTAINERS_DIR} in both containers ('- name: docker-containers, "
                        f"mountPath: {CONTAINERS_DIR}, readOnly: true' in {runner.name}) and "
                        f"{volume_line('docker-containers')}", at=runner.origin)
        return
    problems = []
    if not m.read_only:
        problems.append(rule.fail(f"{m.target} is mounted writable in the runner: it only reads the step logs there",
                                  f"add 'readOnly: true' to this volumeMount of {runner.name}", at=m.origin,
                                  evidence=m.raw))
    vol = facts.volumes.get(m.source or "")
    shared = _containers_shared(rule, runner, m, vol, daemon)
    if shared is not None:
        problems.append(shared)
    yield from problems
    if not problems:
        who = f"of dockerd in {daemon.name}" if daemon else "of the daemon"
        yield rule.ok(f"{CONTAINERS_DIR} is the containers folder {who}, read-only in the runner ({vol.kind} "
                      f"{vol.name})", at=m.origin, evidence=m.raw)


def _containers_shared(rule, runner, m, vol, daemon):
    """A failure when the runner's containers folder is not the daemon's, else None."""
    if vol is None:
        return rule.fail(f"{m.target} is the volume {m.source!r}, which the pod does not declare",
                         f"declare it: {volume_line(m.source)}", at=m.origin, evidence=m.raw)
    if vol.kind == "hostPath":
        node_path = host_path(vol, m, CONTAINERS_DIR)
        if node_path == CONTAINERS_DIR:
            return None
        return rule.fail(f"the runner's {CONTAINERS_DIR} is {node_path} on the node, not the Docker Engine's "
                         "containers folder", f"mount the hostPath {CONTAINERS_DIR} there", at=m.origin,
                         evidence=m.raw)
    if daemon is None or daemon.container is None:
        if daemon is None:
            return None  # RD101 reports that no daemon reaches the runner
        return rule.fail(f"the steps run on the node's Docker Engine, but {m.target} is a {vol.kind} volume, not its "
                         "containers folder", f"mount the hostPath {CONTAINERS_DIR} read-only there", at=m.origin,
                         evidence=m.raw)
    c = daemon.container
    expected = posixpath.join(data_root(c), "containers")
    seen = seen_in(c, m, CONTAINERS_DIR)
    if seen is None:
        return rule.fail(f"{vol.kind} {vol.name} at {m.target} is not mounted in the dind sidecar {c.name}: the "
                         "runner sees an empty folder and no step logs",
                         f"add '- name: {vol.name}, mountPath: {m.target}' to the volumeMounts of {c.name}",
                         at=m.origin, evidence=m.raw)
    cm, path = seen
    if path != expected:
        return rule.fail(f"the sidecar {c.name} has {vol.name} at {cm.target}, so the runner's {CONTAINERS_DIR} is its "
                         f"{path}; dockerd writes the step logs to {expected}",
                         f"mount {vol.name} at the same path in {c.name}: mountPath: {m.target}", at=cm.origin,
                         evidence=cm.raw)
    if cm.read_only:
        return rule.fail(f"the sidecar {c.name} mounts {vol.name} read-only: dockerd cannot create containers",
                         f"remove readOnly from that volumeMount of {c.name} (read-only belongs in the runner)",
                         at=cm.origin, evidence=cm.raw)
    return None


def working_directory(rule, runner: RunnerSetup) -> Iterator:
    """RD103: WORKING_DIRECTORY is on a volume the daemon sees at the same path."""
    facts = facts_of(runner)
    var = runner.env_var("WORKING_DIRECTORY")
    share = (f"share an emptyDir at /tmp in both containers ('- name: tmp, mountPath: /tmp') with "
             f"WORKING_DIRECTORY=/tmp, and {volume_line('tmp')}")
    if var is None:
        yield rule.fail("WORKING_DIRECTORY is not set: the runner does not know where to prepare steps",
                        "add '- {name: WORKING_DIRECTORY, value: \"/tmp\"}' to the runner's env, and " + share,
                        at=runner.origin)
        return
    if known_value(var) is None:
        yield rule.skip(f"WORKING_DIRECTORY is {var.describe()}: its volume cannot be checked here", at=var.origin)
        return
    wd = var.value.strip()
    if not wd.startswith("/"):
        yield rule.fail(f"WORKING_DIRECTORY={wd!r} is not an absolute path", 'use an absolute path: value: "/tmp"',
                        at=var.origin)
        return
    wd = normpath(wd)
    daemon, _why, _fix = find_daemon(runner)
    m = covering(runner.mounts, wd)
    if m is None:
        who = daemon.name if daemon else "the Docker daemon"
        yield rule.fail(f"WORKING_DIRECTORY={wd} is the runner container's own folder: {who} starts the step "
                        f"containers and bind-mounts the folders the runner prepares under {wd} from its own "
                        "filesystem, where they are not", share.replace("/tmp", wd), at=var.origin)
        return
    vol = facts.volumes.get(m.source or "")
    if m.read_only or (vol is not None and vol.kind in ("secret", "configMap", "downwardAPI", "projected")):
        yield rule.fail(f"{m.target} is read-only in the runner: it must write there", share.replace("/tmp", wd),
                        at=m.origin, evidence=m.raw)
        return
    if vol is None:
        yield rule.fail(f"{m.target} is the volume {m.source!r}, which the pod does not declare",
                        f"declare it: {volume_line(m.source)}", at=m.origin, evidence=m.raw)
        return
    if daemon is None:
        sidecar = next(iter(facts.daemons), None)
        if sidecar is None:
            yield rule.skip("no Docker daemon reaches the runner (RD101), so where the steps look for "
                            "WORKING_DIRECTORY cannot be judged", at=var.origin)
            return
        daemon = Daemon("sidecar", m, vol, sidecar)
    if daemon.container is None:
        node_path = host_path(vol, m, wd)
        if node_path == wd:
            yield rule.ok(f"WORKING_DIRECTORY={wd} is the node's {wd} (hostPath), where the node's daemon looks",
                          at=m.origin, evidence=m.raw)
            return
        yield rule.fail(f"the steps run on the node's Docker Engine, which looks for {wd} on the node, but the "
                        f"runner's {wd} is " + (f"{node_path} there" if node_path else f"the {vol.kind} {vol.name}"),
                        f"mount the hostPath {wd} at {wd}", at=m.origin, evidence=m.raw)
        return
    c = daemon.container
    seen = seen_in(c, m, wd)
    if seen is None:
        yield rule.fail(f"{vol.kind} {vol.name} at {m.target} is not mounted in the dind sidecar {c.name}: the "
                        f"steps it starts find nothing of what the runner prepares under {wd}",
                        f"add '- name: {vol.name}, mountPath: {m.target}' to the volumeMounts of {c.name}",
                        at=m.origin, evidence=m.raw)
        return
    cm, path = seen
    if path != wd:
        yield rule.fail(f"the sidecar {c.name} has {vol.name} at {cm.target}, so the runner's {wd} is its {path}; "
                        f"dockerd resolves the step mounts under {wd} in its own filesystem",
                        f"mount {vol.name} at the same path in both containers: mountPath: {m.target}", at=cm.origin,
                        evidence=cm.raw)
        return
    yield rule.ok(f"WORKING_DIRECTORY={wd} is the {vol.kind} {vol.name}, at the same path in the runner and in "
                  f"{c.name}", at=m.origin, evidence=m.raw)


def docker_config(rule, runner: RunnerSetup) -> Iterator:
    """RD104: a Secret (or ConfigMap) volume gives the runner /root/.docker/config.json."""
    facts = facts_of(runner)
    mount = runner.docker_config_mount
    custom = custom_helper_images(runner)
    names = ", ".join(v.name for v in custom)
    snippet = ("mount a kubernetes.io/dockerconfigjson Secret: volumeMount '- name: docker-config, mountPath: "
               "/root/.docker, readOnly: true' and volume '- name: docker-config, secret: {secretName: regcred, "
               "items: [{key: .dockerconfigjson, path: config.json}]}'")
    if mount is None:
        misplaced = [m for m in runner.mounts if m.target.rstrip("/").endswith((".docker", ".docker/config.json"))]
        if misplaced:
            m = misplaced[-1]
            yield rule.fail(f"a Docker config is mounted at {m.target}, but the runner reads only {CONFIG_FILE}",
                            f"set mountPath: {CONFIG_DIR} on that volumeMount", at=m.origin, evidence=m.raw)
            return
        if custom:
            pulls = (f"; the pod's imagePullSecrets ({', '.join(facts.image_pull_secrets)}) only let the kubelet "
                     "pull the pod's own images, not the images the runner pulls for its steps"
                     if facts.image_pull_secrets else "")
            yield rule.warn(f"{names} name{'s' if len(custom) == 1 else ''} custom image"
                            f"{'s' if len(custom) > 1 else ''} but no Docker config is mounted at {CONFIG_DIR}: fine "
                            f"if they are public, a pull failure if they are private{pulls}",
                            f"for private images {snippet}", at=custom[0].origin, severity=Severity.WARNING)
            return
        yield rule.ok("the helper images are the defaults: no Docker config is needed")
        return
    vol = facts.volumes.get(mount.source or "")
    is_file = normpath(mount.target) == CONFIG_FILE
    sub = _sub_path(mount)
    if is_file and not sub:
        yield rule.fail(f"a volume mounted at {CONFIG_FILE} without subPath makes config.json a folder: the runner "
                        "finds no config file", "add 'subPath: config.json' (the file's path in the volume) to this "
                        "volumeMount, or mount the volume at /root/.docker", at=mount.origin, evidence=mount.raw)
        return
    files = facts.docker_config_files
    wanted = sub if is_file else (f"{sub.rstrip('/')}/config.json" if sub else "config.json")
    if vol is not None and files is not None and wanted not in files:
        shown = ", ".join(sorted(files)) or "no file at all"
        fix = ("map the key to config.json: items: [{key: .dockerconfigjson, path: config.json}] on the volume"
               if ".dockerconfigjson" in files.values() else "add a key config.json to it, or map a key with items:")
        got = f"the subPath {sub} is none of its files ({shown})" if is_file else \
            f"it puts {shown} in {CONFIG_DIR}, and no config.json"
        yield rule.fail(f"the {vol.kind} volume {vol.name} does not give the runner {CONFIG_FILE}: {got}",
                        fix, at=mount.origin, evidence=mount.raw)
        return
    if vol is not None and files is None and vol.kind == "secret" and vol.items is None and not is_file:
        yield rule.warn(f"the Secret {vol.source_name} (not in this input) is mounted at {CONFIG_DIR}: each key "
                        "becomes a file, and a kubernetes.io/dockerconfigjson Secret's key is .dockerconfigjson, not "
                        "config.json", "map it: items: [{key: .dockerconfigjson, path: config.json}] on the volume",
                        at=mount.origin, evidence=mount.raw, severity=Severity.WARNING)
        return
    detail = f" for {names}" if custom else ""
    what = f"{vol.kind} {vol.name}" if vol is not None else f"volume {mount.source}"
    yield rule.ok(f"a Docker config ({what}) is mounted at {mount.target}{detail}", at=mount.origin,
                  evidence=mount.raw)


def supervision(rule, runner: RunnerSetup) -> Iterator:
    """RD004: docker's -t, -d and --restart do not exist here; RD604 checks what restarts the pod."""
    yield rule.skip("on Kubernetes the pod's restartPolicy and its controller restart the runner (see RD604 "
                    "restart-policy); docker's -t, -d and --restart do not apply")


def container_name(rule, runner: RunnerSetup) -> Iterator:
    """RD206: a container name the API server accepts (an RFC 1123 label)."""
    name = runner.name or ""
    facts = facts_of(runner)
    if DNS_LABEL.match(name) and len(name) <= 63:
        yield rule.ok(f"the container is named {name} in the pods of {facts.workload} {facts.workload_name}; "
                      "Kubernetes names the pods itself", at=runner.name_origin, evidence=name)
        return
    fixed = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")[:63] or "runner"
    yield rule.fail(f"the container name {name!r} is not valid: Kubernetes allows lowercase letters, digits and '-' "
                    "(starting and ending with a letter or digit, at most 63 characters), so the API server refuses "
                    "the pod", f"name: {fixed}", at=runner.name_origin, evidence=name)


def secret_exposure(rule, runner: RunnerSetup) -> Iterator:
    """RD205: the OAuth secret is not written in the manifest (a value:, or a Secret kept beside the Job)."""
    problems, fine = [], []
    for var in (v for v in runner.env if v.is_secret):
        value = known_value(var)
        if value is None or not value.strip() or is_placeholder(value):
            fine.append(f"{var.name} is {'given at run time' if value is None else 'not set here'}"
                        + (f" ({var.raw})" if var.raw and value is None else ""))
            continue
        if var.source == "literal":
            problems.append(rule.warn(
                f"{var.name} is written literally in the manifest ({var.describe()}): anyone who can read the file, "
                "its repository or the pod spec (kubectl get -o yaml) has it",
                "keep it in a Secret and read it with valueFrom.secretKeyRef (kubectl create secret generic "
                "runner-oauth-credentials --from-file=oauthClientSecret=./secret.txt)", at=var.origin))
        elif var.source == "secret":
            problems.append(rule.warn(
                f"{var.name} comes from a Secret that is written in this input ({var.raw}; {var.describe()}): base64 "
                "is not encryption, so anyone who can read the file or its repository has the secret",
                "keep the Secret's manifest out of the repository: create it with kubectl create secret (or a "
                "sealed or external secret) and keep only the secretKeyRef here", at=var.origin))
        else:
            fine.append(f"{var.name} comes from {var.raw or var.source}")
    yield from problems
    if not problems:
        yield rule.ok("no secret is written in the manifest" + (f": {'; '.join(fine)}" if fine else ""))


# ------------------------------------------------------------------ shared by the RD6xx rules

def kubernetes_facts(subject) -> Optional[KubernetesFacts]:
    runner = subject.runner
    return facts_of(runner) if runner is not None and runner.form == "kubernetes" else None


class KubernetesRule(Rule):
    """A rule about the pod around the runner: skipped for runners started any other way."""

    form_skip = (("kubernetes",), "not a Kubernetes pod: the pod checks do not apply")

    def skip_reason(self, subject, ctx):
        if kubernetes_facts(subject) is None:  # always so for a runner of another form (form_skip)
            return self.form_skip[1]
        return super().skip_reason(subject, ctx)


_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "m": 1e-3,
          "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?)$")


def parse_quantity(text: str) -> Optional[float]:
    """A Kubernetes resource quantity in base units (bytes for memory), or None when the API would refuse it."""
    m = _QUANTITY.match(text.strip())
    if not m:
        return None
    number = float(m.group(1))
    if m.group(2):
        return number * 10 ** int(m.group(2)[1:])
    return number * _UNITS[m.group(3) or ""]


def human(size: float) -> str:
    for unit, factor in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size:g} bytes"


def text_of_base64(text: str) -> Optional[str]:
    """The text a base64 value decodes to (as Kubernetes and RD605 read Secret data), or None: not base64
    of printable text. The support bundle's stand-ins use it too, so a masked value gets RD605's verdict."""
    compact = "".join(text.split())
    if len(compact) < 8 or len(compact) % 4:
        return None
    try:
        decoded = base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return decoded if decoded.strip() and decoded.strip().isprintable() else None
