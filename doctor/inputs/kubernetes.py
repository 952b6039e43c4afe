"""Kubernetes manifests: one RunnerSetup per container that runs the Bitbucket runner.

Reads what ``kubectl apply -f`` reads: several documents (``---``), ``v1 List``
(and ``PodList``, ``DeploymentList``...), Pods and the workloads that hold a pod
template (Job, CronJob, Deployment, StatefulSet, DaemonSet, ReplicaSet), as
written by hand or printed by ``kustomize build``. JSON manifests work too.

Each runner container becomes a Linux Docker runner (``form="kubernetes"``):

- env in Kubernetes' order: ``envFrom`` first (later sources win), then ``env``;
  ``valueFrom.secretKeyRef``/``configMapKeyRef`` and ``envFrom`` are resolved
  against the Secrets and ConfigMaps of the same input (Secret ``data`` is
  base64-decoded once, ``stringData`` taken as is); ``$(VAR)`` references to
  earlier variables are expanded as the kubelet does;
- mounts are the container's ``volumeMounts``, recorded as
  ``Mount(type="k8s-volume:<kind>", source=<volume name>, target=mountPath)``;
- what the Kubernetes meaning of the rules needs (the pod's volumes, the other
  containers with their image, securityContext and resources, restartPolicy,
  labels, the Secret keys the runner reads) is in ``setup.facts["kubernetes"]``
  (:class:`KubernetesFacts`).

ConfigMaps are looked into: the autoscaler's ``job.yaml.template`` (its
``<%placeholders%>`` are values the autoscaler fills in; its ``{% if %}`` lines
are left out) gives a runner subject, and a ``runners_config.yaml`` gives the
autoscaler's groups (:mod:`doctor.inputs.autoscaler`).

Things the API server refuses (an env value that is not a string, a mount of an
undeclared volume) are recorded as syntax problems (RD003).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctor.inputs.common import LoadOptions, load_docker_config, parse_config_text
from doctor.inputs.compose import _get, _mapping, _render, _scalar, _source_text, _yaml_reason
from doctor.inputs.docker_run import is_runner_image
from doctor.inputs.yamlaliases import alias_problem
from doctor.inputs.yamlforms import kubernetes as looks_like  # noqa: F401 - detection without YAML
from doctor.model import (
    DockerConfig, EnvFileRef, EnvVar, InputError, Mount, Origin, RunnerKind, RunnerSetup, SyntaxProblem,
    is_secret_name, normpath,
)
from doctor.runner_facts import UUID_ENV

FORM = "kubernetes"
CONFIG_DIR = "/root/.docker"
CONFIG_FILE = "/root/.docker/config.json"

# workload kind -> the path from the object to its pod template (None: the object is the pod)
WORKLOADS = {
    "Pod": None,
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
}
_IDENTITY_ENV = ("ACCOUNT_UUID", "RUNNER_UUID")
_VOLUME_SOURCES = ("emptyDir", "hostPath", "secret", "configMap", "persistentVolumeClaim", "projected",
                   "downwardAPI", "ephemeral", "nfs", "csi", "image")
TEMPLATE_RE = re.compile(r"<%\s*[A-Za-z_][A-Za-z0-9_]*\s*%>")
_JINJA_LINE = re.compile(r"^[ \t]*\{%-?.*-?%\}[ \t]*$", re.M)
_DEPENDENT_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_ARCH_KEYS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")
_YAML11_NON_STRING = {"tag:yaml.org,2002:bool": "bool", "tag:yaml.org,2002:int": "int",
                      "tag:yaml.org,2002:float": "float", "tag:yaml.org,2002:null": "null"}


# ------------------------------------------------------------------ the model

@dataclass
class Volume:
    """A volume of the pod (``spec.volumes``)."""

    name: str
    kind: str  # emptyDir (also when no source is given: the API's default), hostPath, secret, configMap, ...
    origin: Origin
    path: Optional[str] = None  # hostPath.path
    source_name: Optional[str] = None  # secret.secretName, configMap.name, persistentVolumeClaim.claimName
    items: Optional[List[Tuple[str, str]]] = None  # (key, path) of a secret/configMap volume with items:
    defaulted: bool = False  # no source written: Kubernetes makes it an emptyDir


@dataclass
class Resources:
    memory_request: Optional[Tuple[str, Origin]] = None
    memory_limit: Optional[Tuple[str, Origin]] = None


@dataclass
class Container:
    """A container of the pod, as the Kubernetes rules need it."""

    name: str
    origin: Origin
    image: Optional[str] = None
    image_origin: Origin = Origin()
    init: bool = False  # an initContainer
    restart_policy: Optional[Tuple[str, Origin]] = None  # initContainers: Always = a native sidecar
    privileged: Optional[Tuple[str, Origin]] = None  # securityContext.privileged as written
    mounts: List[Mount] = field(default_factory=list)
    args: List[str] = field(default_factory=list)  # command + args
    resources: Resources = field(default_factory=Resources)
    problems: List[SyntaxProblem] = field(default_factory=list)  # what the API server would refuse

    @property
    def is_docker_daemon(self) -> bool:
        """Runs dockerd: a docker:*dind* image, or dockerd in its command."""
        image = (self.image or "").lower()
        repo = image.split("@", 1)[0].rsplit("/", 1)[-1]
        name, _, tag = repo.partition(":")
        return "dind" in name or (name == "docker" and "dind" in tag) or any(
            os.path.basename(a) == "dockerd" or a.startswith("dockerd ") for a in self.args)


@dataclass
class Label:
    owner: str  # "pod template of Job runner", "Secret runner-oauth-credentials"
    key: str
    value: Optional[str]  # None: not a string (a mapping, a number...)
    origin: Origin
    raw: str = ""


@dataclass
class SecretKey:
    """A key of a Secret (or ConfigMap) the runner's env reads, with what the input says about its value."""

    secret: str  # the object's name
    key: str
    kind: str = "Secret"  # or "ConfigMap"
    found: bool = False  # the object is in the input
    section: Optional[str] = None  # "data" | "stringData" (Secrets), "data" | "binaryData" (ConfigMaps)
    raw: Optional[str] = None  # the text as written
    decoded: Optional[bytes] = None  # data decoded once (what the container gets)
    error: Optional[str] = None  # why the data is not valid base64
    template: bool = False  # an autoscaler <%placeholder%>
    origin: Origin = Origin()
    variables: List[str] = field(default_factory=list)  # env names it feeds


@dataclass
class KubernetesFacts:
    """``setup.facts["kubernetes"]``: the pod around the runner container."""

    workload: str  # "Job", "Deployment", "Pod", ...
    workload_name: str
    workload_origin: Origin
    namespace: Optional[str] = None
    restart_policy: Optional[Tuple[str, Origin]] = None  # as written; None: the default
    backoff_limit: Optional[Tuple[str, Origin]] = None
    replicas: Optional[Tuple[str, Origin]] = None
    volumes: Dict[str, Volume] = field(default_factory=dict)
    runner: Optional[Container] = None
    others: List[Container] = field(default_factory=list)  # the pod's other containers and initContainers
    labels: List[Label] = field(default_factory=list)  # pod template, workload and referenced Secret labels
    secret_keys: List[SecretKey] = field(default_factory=list)
    node_arch: Optional[str] = None  # nodeSelector kubernetes.io/arch
    template: bool = False  # the runners autoscaler's job template (values filled in by the autoscaler)
    image_pull_secrets: List[str] = field(default_factory=list)
    # the files the volume mounted at /root/.docker holds (path -> key), when its Secret/ConfigMap is in the input
    docker_config_files: Optional[Dict[str, str]] = None

    @property
    def daemons(self) -> List[Container]:
        return [c for c in self.others if c.is_docker_daemon]


def facts_of(setup: RunnerSetup) -> Optional[KubernetesFacts]:
    return setup.facts.get("kubernetes")


def is_template_value(text: Optional[str]) -> bool:
    return bool(text) and bool(TEMPLATE_RE.search(text))


def yaml11_type(node: Node) -> str:
    """'str', 'bool', 'int', 'float', 'null', 'mapping' or 'sequence', as kubectl's YAML 1.1 reader types it."""
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "sequence"
    if node.style is not None:
        return "str"
    return _YAML11_NON_STRING.get(node.tag, "str")


# ------------------------------------------------------------------ positions

class _Where:
    """Turns node marks into origins; shifted for a manifest embedded in a ConfigMap's block scalar."""

    def __init__(self, path: str, line: int = 0, column: int = 0, fixed: Optional[Origin] = None,
                 template: bool = False):
        self.path, self.line, self.column, self.fixed, self.template = path, line, column, fixed, template

    def origin(self, node: Optional[Node]) -> Origin:
        if self.fixed is not None or node is None:
            return self.fixed or Origin(self.path)
        mark = node.start_mark
        return Origin(self.path, self.line + mark.line + 1, self.column + mark.column + 1)

    def inside(self, node: ScalarNode, template: bool) -> "_Where":
        """Where the text of a block scalar is: its lines keep their numbers in the outer file."""
        if self.fixed is not None or node.style != "|" or node.start_mark.buffer is None:
            return _Where(self.path, fixed=self.origin(node), template=template)
        buffer, start = node.start_mark.buffer, node.start_mark.pointer
        body = buffer[buffer.find("\n", start) + 1: node.end_mark.pointer]
        indent = next((len(ln) - len(ln.lstrip(" ")) for ln in body.splitlines() if ln.strip()), 0)
        return _Where(self.path, self.line + node.start_mark.line + 1, self.column + indent, template=template)


def _blank_jinja(text: str) -> str:
    """The autoscaler template's ``{%- if ... %}`` lines made empty (line numbers stay)."""
    return _JINJA_LINE.sub("", text)


# ------------------------------------------------------------------ objects

@dataclass
class _Object:
    kind: str
    name: str
    namespace: Optional[str]
    node: MappingNode
    where: _Where


def _meta(node: Node, *keys: str) -> Optional[str]:
    return _scalar(_get(node, "metadata", *keys))


def _collect(node: Optional[Node], where: _Where, out: List[_Object]) -> None:
    if not isinstance(node, MappingNode):
        return
    kind = _scalar(_get(node, "kind")) or ""
    items = _get(node, "items")
    if kind.endswith("List") and isinstance(items, SequenceNode):
        for item in items.value:
            _collect(item, where, out)
        return
    if kind:
        out.append(_Object(kind, _meta(node, "name") or "", _meta(node, "namespace"), node, where))


class _Manifests:
    """All objects of one input, with its Secrets and ConfigMaps indexed for lookups."""

    def __init__(self, path: str, opts: LoadOptions):
        self.path, self.opts = path, opts
        self.dir = os.path.dirname(os.path.abspath(path)) if path != "<stdin>" else opts.cwd
        self.objects: List[_Object] = []
        self.autoscaler: List[object] = []  # autoscaler group subjects from runners_config.yaml ConfigMaps

    def add_text(self, text: str, where: _Where) -> None:
        if where.template or TEMPLATE_RE.search(text):
            text = _blank_jinja(text)
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        problem = alias_problem(documents, lambda node: (where.origin(node).line, where.origin(node).column))
        if problem:
            raise InputError(self.path, problem)
        for doc in documents:
            _collect(doc, where, self.objects)

    def lookup(self, kind: str, name: Optional[str], namespace: Optional[str]) -> Optional[_Object]:
        found = None
        for obj in self.objects:
            if obj.kind == kind and obj.name == name and (
                    obj.namespace is None or namespace is None or obj.namespace == namespace):
                found = obj
        return found

    # -- ConfigMaps holding the autoscaler's job template or its runners_config.yaml
    def expand_config_maps(self) -> None:
        from doctor.inputs import autoscaler

        for obj in list(self.objects):
            if obj.kind != "ConfigMap":
                continue
            for key, (_k, value) in _mapping(_get(obj.node, "data")).items():
                text = _scalar(value)
                if not text:
                    continue
                if looks_like(text):
                    template = bool(TEMPLATE_RE.search(text))
                    try:
                        self.add_text(text, obj.where.inside(value, template))
                    except yaml.YAMLError as exc:
                        raise InputError(self.path, f"ConfigMap {obj.name}, {key}: {_yaml_reason(exc, text)}") \
                            from None
                elif autoscaler.looks_like(text):
                    try:
                        root = yaml.compose(text, Loader=yaml.SafeLoader)
                    except yaml.YAMLError as exc:
                        raise InputError(self.path, f"ConfigMap {obj.name}, {key}: {_yaml_reason(exc, text)}") \
                            from None
                    problem = alias_problem([root] if root is not None else [])
                    if problem:
                        raise InputError(self.path, f"ConfigMap {obj.name}, {key}: {problem}")
                    inner = obj.where.inside(value, False)
                    self.autoscaler.extend(autoscaler.subjects_from_node(
                        root, self.path, inner.origin, f"{key} in ConfigMap {obj.name}"))

    # -- every Secret value, for the redactor (values feeding non-secret runner variables excepted)
    def secret_values(self, public_keys: set) -> set:
        out = set()
        for obj in self.objects:
            if obj.kind != "Secret":
                continue
            for section in ("data", "stringData"):
                for key, (_k, value) in _mapping(_get(obj.node, section)).items():
                    text = _scalar(value)
                    if not text or (obj.name, key) in public_keys or is_template_value(text):
                        continue
                    out.add(text)
                    if section == "data":
                        out.update(_decoded_forms(text))
        return out


def _decoded_forms(text: str) -> List[str]:
    """The value decoded once, and again when that is base64 too (a double-encoded secret)."""
    out = []
    current = text
    for _ in range(2):
        raw = _b64decode(current)
        if raw is None:
            break
        try:
            current = raw.decode("utf-8")
        except UnicodeDecodeError:
            break
        out.extend({current, current.strip()})
    return [s for s in out if s]


def _b64decode(text: str) -> Optional[bytes]:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# ------------------------------------------------------------------ pods

class _Pod:
    """One runner container in one pod spec: reads it into a RunnerSetup."""

    def __init__(self, manifests: _Manifests, obj: _Object, template: Node, spec: Node):
        self.m, self.obj, self.template, self.spec = manifests, obj, template, spec
        self.where = obj.where
        self.namespace = obj.namespace

    def origin(self, node: Optional[Node]) -> Origin:
        return self.where.origin(node)

    # -- the pod
    def volumes(self) -> Dict[str, Volume]:
        out: Dict[str, Volume] = {}
        node = _get(self.spec, "volumes")
        for item in node.value if isinstance(node, SequenceNode) else ():
            fields = _mapping(item)
            name = _scalar(fields.get("name", (None, None))[1])
            if not name:
                continue
            kind = next((k for k in fields if k in _VOLUME_SOURCES), next((k for k in fields if k != "name"), None))
            vol = Volume(name, kind or "emptyDir", self.origin(item), defaulted=kind is None)
            if kind == "hostPath":
                vol.path = _scalar(_get(item, "hostPath", "path"))
            elif kind in ("secret", "configMap", "persistentVolumeClaim"):
                key = {"secret": "secretName", "configMap": "name", "persistentVolumeClaim": "claimName"}[kind]
                vol.source_name = _scalar(_get(item, kind, key))
                items = _get(item, kind, "items")
                if isinstance(items, SequenceNode):
                    vol.items = [(_scalar(_get(i, "key")) or "", _scalar(_get(i, "path")) or "")
                                 for i in items.value]
            out[name] = vol
        return out

    def container(self, node: Node, init: bool, volumes: Dict[str, Volume]) -> Container:
        fields = _mapping(node)
        name = _scalar(fields.get("name", (None, None))[1]) or "(unnamed)"
        c = Container(name, self.origin(node), init=init)
        image = fields.get("image", (None, None))[1]
        if image is not None:
            c.image, c.image_origin = _scalar(image), self.origin(image)
        policy = fields.get("restartPolicy", (None, None))[1]
        if _scalar(policy):
            c.restart_policy = (policy.value, self.origin(policy))
        privileged = _get(node, "securityContext", "privileged")
        if _scalar(privileged) is not None:
            c.privileged = (privileged.value, self.origin(privileged))
        for key in ("command", "args"):
            value = fields.get(key, (None, None))[1]
            if isinstance(value, SequenceNode):
                c.args.extend(_scalar(v) or "" for v in value.value)
        for key, attr in (("requests", "memory_request"), ("limits", "memory_limit")):
            value = _get(node, "resources", key, "memory")
            if isinstance(value, ScalarNode) and value.value:
                setattr(c.resources, attr, (value.value, self.origin(value)))
        mounts = fields.get("volumeMounts", (None, None))[1]
        for item in mounts.value if isinstance(mounts, SequenceNode) else ():
            mount = self.mount(item, volumes, c.name, c.problems)
            if mount is not None:
                c.mounts.append(mount)
        return c

    def mount(self, node: Node, volumes: Dict[str, Volume], container: str,
              problems: List[SyntaxProblem]) -> Optional[Mount]:
        fields = _mapping(node)
        name = _scalar(fields.get("name", (None, None))[1])
        target = _scalar(fields.get("mountPath", (None, None))[1])
        if not name or not target:
            return None
        read_only = (_scalar(fields.get("readOnly", (None, None))[1]) or "").lower() == "true"
        options = tuple(f"{k}={_scalar(fields[k][1])}" for k in ("subPath", "subPathExpr", "mountPropagation")
                        if k in fields and _scalar(fields[k][1]))
        vol = volumes.get(name)
        if vol is None:
            problems.append(SyntaxProblem(
                "undeclared-volume", f"container {container} mounts volume {name!r}, which the pod does not "
                "declare: the API server refuses the pod", self.origin(node),
                f"add '- name: {name}' with its source (emptyDir: {{}}) under the pod's volumes:"))
        kind = vol.kind if vol is not None else "undeclared"
        raw = "- " + ", ".join(f"{k}: {_render(v)}" for k, (_key, v) in fields.items())
        return Mount(f"k8s-volume:{kind}", name, target, read_only, self.origin(node), raw, options)

    # -- env
    def env(self, node: Node, setup: RunnerSetup, keys: List[SecretKey]) -> None:
        fields = _mapping(node)
        env_from = fields.get("envFrom", (None, None))[1]
        for item in env_from.value if isinstance(env_from, SequenceNode) else ():
            self.env_from(item, setup, keys)
        env = fields.get("env", (None, None))[1]
        for item in env.value if isinstance(env, SequenceNode) else ():
            var = self.env_item(item, setup, keys)
            if var is not None:
                setup.env.append(var)

    def env_from(self, item: Node, setup: RunnerSetup, keys: List[SecretKey]) -> None:
        prefix = _scalar(_get(item, "prefix")) or ""
        for ref_key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            ref = _get(item, ref_key)
            if ref is None:
                continue
            name = _scalar(_get(ref, "name"))
            optional = (_scalar(_get(ref, "optional")) or "").lower() == "true"
            obj = self.m.lookup(kind, name, self.namespace)
            origin = self.origin(item)
            if obj is None:
                # its keys are not known here: like an env file that cannot be read (RD201 skips, not fails)
                setup.env_files.append(EnvFileRef(f"{kind} {name}", None, origin,
                                                  error="not in this input", optional=optional))
                continue
            for key, value in self.object_values(obj).items():
                sk = self.secret_key(obj, key, value, [prefix + key])
                keys.append(sk)
                setup.env.append(self.resolved(prefix + key, sk, origin, f"envFrom {kind} {name}"))

    def env_item(self, item: Node, setup: RunnerSetup, keys: List[SecretKey]) -> Optional[EnvVar]:
        name = _scalar(_get(item, "name"))
        if not name:
            return None
        origin = self.origin(item)
        value_from = _get(item, "valueFrom")
        if value_from is not None:
            for ref_key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = _get(value_from, ref_key)
                if ref is None:
                    continue
                obj_name, key = _scalar(_get(ref, "name")), _scalar(_get(ref, "key"))
                written = f"{ref_key} {obj_name}/{key}"
                obj = self.m.lookup(kind, obj_name, self.namespace)
                if obj is None or key is None:
                    keys.append(SecretKey(obj_name or "", key or "", kind, origin=origin, variables=[name]))
                    return EnvVar(name, None, origin, "reference", raw=written)
                value = self.object_values(obj).get(key)
                if value is None:
                    keys.append(SecretKey(obj_name, key, kind, found=True, origin=origin, variables=[name],
                                          error=f"{kind} {obj_name} has no key {key!r}"))
                    return EnvVar(name, None, origin, "reference", raw=written)
                sk = self.secret_key(obj, key, value, [name])
                keys.append(sk)
                return self.resolved(name, sk, origin, written)
            what = next((k for k, _v in _mapping(value_from).items()), "valueFrom")
            return EnvVar(name, None, origin, "reference", raw=what)
        node = _get(item, "value")
        if node is None:
            return EnvVar(name, "", origin, "literal", raw="")
        kind = yaml11_type(node)
        if kind in ("mapping", "sequence"):
            if name in UUID_ENV:  # an unquoted {uuid}: RD202 explains it
                return EnvVar(name, None, origin, "literal", raw=_source_text(node), yaml_type=kind)
            setup.syntax_problems.append(SyntaxProblem(
                "env-not-string", f"{name}: the value is a YAML {kind}, not a string: kubectl refuses the "
                "manifest (cannot unmarshal into EnvVar.value of type string)", self.origin(node),
                f'quote it: value: "{_source_text(node)}"'))
            return EnvVar(name, None, origin, "literal", raw=_source_text(node), yaml_type=kind)
        if kind == "null":
            return EnvVar(name, "", origin, "literal", raw="", yaml_type=kind)
        if kind != "str":
            setup.syntax_problems.append(SyntaxProblem(
                "env-not-string", f"{name}: {node.value} is a YAML {kind}, not a string: kubectl refuses the "
                f"manifest (env values must be strings)", self.origin(node), f'quote it: value: "{node.value}"'))
        raw = node.value
        if is_template_value(raw):
            return EnvVar(name, None, origin, "reference", raw=raw)
        value = _expand(raw, setup.env)
        var = EnvVar(name, value, origin, "literal", raw=raw)
        if kind != "str":
            var.yaml_type = kind
        return var

    def resolved(self, name: str, sk: SecretKey, origin: Origin, written: str) -> EnvVar:
        if sk.template:
            return EnvVar(name, None, origin, "reference", raw=sk.raw)
        if sk.decoded is None:
            return EnvVar(name, None, origin, "reference", raw=written)
        value = sk.decoded.decode("utf-8", errors="replace")
        return EnvVar(name, value, origin, "secret" if sk.kind == "Secret" else "configmap", raw=written)

    def object_values(self, obj: _Object) -> Dict[str, Tuple[str, Node]]:
        """key -> (section, value node); stringData wins over data, as the API server merges them."""
        out: Dict[str, Tuple[str, Node]] = {}
        sections = ("data", "stringData") if obj.kind == "Secret" else ("binaryData", "data")
        for section in sections:
            for key, (_k, value) in _mapping(_get(obj.node, section)).items():
                out[key] = (section, value)
        return out

    def secret_key(self, obj: _Object, key: str, entry: Tuple[str, Node], variables: List[str]) -> SecretKey:
        section, node = entry
        raw = _scalar(node)
        sk = SecretKey(obj.name, key, obj.kind, True, section, raw, origin=obj.where.origin(node),
                       variables=list(variables))
        if raw is None:
            sk.error = "the value is not a string"
        elif is_template_value(raw):
            sk.template = True
        elif (obj.kind == "Secret" and section == "data") or section == "binaryData":
            sk.decoded = _b64decode(raw)
            if sk.decoded is None:
                sk.error = "not valid base64"
        else:
            sk.decoded = raw.encode("utf-8")
        return sk

    # -- the runner container
    def runner_setup(self, node: Node, volumes: Dict[str, Volume], containers: List[Tuple[Node, Container]],
                     index: int) -> RunnerSetup:
        obj = self.obj
        c_node, runner = containers[index]
        where = "the autoscaler's job template" if self.where.template else f"{obj.kind} {obj.name}"
        setup = RunnerSetup(kind=RunnerKind.LINUX_DOCKER, form=FORM, origin=runner.origin,
                            label=f"container {runner.name} of {where} in {self.m.path}", supervisor="kubernetes",
                            base_dir=self.m.dir)
        setup.image, setup.image_origin = runner.image, runner.image_origin
        setup.name, setup.name_origin = runner.name, runner.origin
        setup.mounts = list(runner.mounts)
        for _node, c in containers:  # what the API server refuses in any container of the pod
            setup.syntax_problems.extend(c.problems)
        keys: List[SecretKey] = []
        self.env(c_node, setup, keys)
        facts = KubernetesFacts(obj.kind, obj.name, self.origin(obj.node), obj.namespace, template=self.where.template)
        facts.volumes, facts.runner = volumes, runner
        facts.others = [c for i, (_n, c) in enumerate(containers) if i != index]
        facts.secret_keys = keys
        self.pod_facts(facts, setup)
        setup.facts["kubernetes"] = facts
        return setup

    def pod_facts(self, facts: KubernetesFacts, setup: RunnerSetup) -> None:
        policy = _get(self.spec, "restartPolicy")
        if _scalar(policy):
            facts.restart_policy = (policy.value, self.origin(policy))
        for attr, keys in (("backoff_limit", ("spec", "backoffLimit")), ("replicas", ("spec", "replicas"))):
            value = _get(self.obj.node, *keys)
            if _scalar(value):
                setattr(facts, attr, (value.value, self.origin(value)))
        selector = _mapping(_get(self.spec, "nodeSelector"))
        for key in _ARCH_KEYS:
            if key in selector and _scalar(selector[key][1]):
                facts.node_arch = selector[key][1].value
        pulls = _get(self.spec, "imagePullSecrets")
        for item in pulls.value if isinstance(pulls, SequenceNode) else ():
            if _scalar(_get(item, "name")):
                facts.image_pull_secrets.append(_scalar(_get(item, "name")))
        owners = [(f"the pod template of {self.obj.kind} {self.obj.name}", _get(self.template, "metadata", "labels"))]
        if self.template is not self.obj.node:
            owners.append((f"{self.obj.kind} {self.obj.name}", _get(self.obj.node, "metadata", "labels")))
        for name in sorted({k.secret for k in facts.secret_keys if k.found and k.kind == "Secret"}):
            secret = self.m.lookup("Secret", name, self.namespace)
            owners.append((f"Secret {name}", _get(secret.node, "metadata", "labels") if secret else None))
        for owner, labels in owners:
            for key, (key_node, value) in _mapping(labels).items():
                kind = yaml11_type(value)
                text = value.value if kind == "str" else ("" if kind == "null" else None)
                facts.labels.append(Label(owner, key, text, self.where.origin(value if kind != "null" else key_node),
                                          _source_text(value) if kind != "null" else ""))
        setup.docker_config_mount, setup.docker_config = self.docker_config(setup, facts)

    # -- the Docker config the runner reads at /root/.docker
    def docker_config(self, setup: RunnerSetup, facts: KubernetesFacts
                      ) -> Tuple[Optional[Mount], Optional[DockerConfig]]:
        mount = None
        for m in setup.mounts:
            if normpath(m.target) in (CONFIG_DIR, CONFIG_FILE):
                mount = m
        if mount is None:
            if self.m.opts.docker_config:
                return None, load_docker_config(self.m.opts.docker_config, Origin(None), "given")
            return None, None
        if self.m.opts.docker_config:
            return mount, load_docker_config(self.m.opts.docker_config, Origin(None), "given")
        vol = facts.volumes.get(mount.source or "")
        if vol is None or vol.kind not in ("secret", "configMap"):
            return mount, DockerConfig(path=f"volume {mount.source}", origin=mount.origin, how="mounted",
                                       error="a volume the doctor cannot read; give its config.json with "
                                             "--docker-config to check it")
        kind = "Secret" if vol.kind == "secret" else "ConfigMap"
        obj = self.m.lookup(kind, vol.source_name, self.namespace)
        if obj is None:
            return mount, DockerConfig(path=f"{kind} {vol.source_name}", origin=mount.origin, how="mounted",
                                       error="not in this input; give its config.json with --docker-config to "
                                             "check it")
        values = self.object_values(obj)
        facts.docker_config_files = projected_files(vol, values)
        member = projected_file(vol, mount, values)
        if member is None:
            return mount, None  # RD104 explains which file the runner would see instead
        key, (section, node) = member
        sk = self.secret_key(obj, key, (section, node), [])
        if sk.decoded is None:
            return mount, None
        text = sk.decoded.decode("utf-8", errors="replace")
        cfg = DockerConfig(path=f"{kind} {obj.name} key {key} ({self.m.path})", text=text, origin=mount.origin,
                           how="mounted", member_of_dir=normpath(mount.target) == CONFIG_DIR)
        return mount, parse_config_text(cfg)


def projected_files(vol: Volume, keys: Dict[str, object]) -> Dict[str, str]:
    """file path in the volume -> the key it holds (``items:`` maps keys to paths, else each key is a file)."""
    if vol.items is not None:
        return {path: key for key, path in vol.items if key in keys}
    return {key: key for key in keys}


def projected_file(vol: Volume, mount: Mount, keys: Dict[str, object]):
    """(key, value) of the file the runner reads as /root/.docker/config.json through this mount, or None."""
    files = projected_files(vol, keys)
    sub = next((o.split("=", 1)[1] for o in mount.options if o.startswith("subPath=")), None)
    if normpath(mount.target) == CONFIG_FILE:
        wanted = sub
    else:
        wanted = f"{sub.rstrip('/')}/config.json" if sub else "config.json"
    key = files.get(wanted or "")
    return (key, keys[key]) if key is not None else None


def _expand(text: str, env: List[EnvVar]) -> str:
    """The kubelet's ``$(VAR)`` expansion with the variables defined before; unknown references stay."""
    if "$" not in text:
        return text
    known: Dict[str, Optional[str]] = {}
    for var in env:
        known[var.name] = var.value

    def sub(m: "re.Match") -> str:
        if m.group(0) == "$$":
            return "$"
        value = known.get(m.group(1))
        return value if value is not None else m.group(0)

    return _DEPENDENT_VAR.sub(sub, text)


# ------------------------------------------------------------------ entry point

def _runners(manifests: _Manifests) -> List[RunnerSetup]:
    out: List[RunnerSetup] = []
    for obj in manifests.objects:
        if obj.kind not in WORKLOADS:
            continue
        path = WORKLOADS[obj.kind]
        template = obj.node if path is None else _get(obj.node, *path)
        spec = _get(template, "spec")
        if not isinstance(spec, MappingNode):
            continue
        pod = _Pod(manifests, obj, template, spec)
        volumes = pod.volumes()
        containers: List[Tuple[Node, Container]] = []
        for key, init in (("containers", False), ("initContainers", True)):
            node = _get(spec, key)
            for item in node.value if isinstance(node, SequenceNode) else ():
                if isinstance(item, MappingNode):
                    containers.append((item, pod.container(item, init, volumes)))
        for index, (node, c) in enumerate(containers):
            if not c.init and (is_runner_image(c.image, manifests.opts.runner_mirrors)
                               or _env_names(node) & set(_IDENTITY_ENV)):
                out.append(pod.runner_setup(node, volumes, containers, index))
    return out


def _env_names(container: Node) -> set:
    env = _get(container, "env")
    return {_scalar(_get(item, "name")) for item in (env.value if isinstance(env, SequenceNode) else ())}


def _public_keys(runners: List[RunnerSetup]) -> set:
    """(Secret, key) pairs that feed variables that are not secret (ACCOUNT_UUID, OAUTH_CLIENT_ID...)."""
    out = set()
    for setup in runners:
        for sk in facts_of(setup).secret_keys:
            if sk.variables and not any(is_secret_name(v) for v in sk.variables) and sk.kind == "Secret":
                out.add((sk.secret, sk.key))
    return out


def parse(text: str, path: str, opts: LoadOptions) -> List[object]:
    """Runner setups (and autoscaler group subjects) in Kubernetes manifests. Raises InputError."""
    manifests = _Manifests(path, opts)
    try:
        manifests.add_text(text, _Where(path, template=bool(TEMPLATE_RE.search(text))))
        manifests.expand_config_maps()
        runners = _runners(manifests)
    except yaml.YAMLError as exc:
        hint = " (a Helm chart template? check what helm template prints instead)" if "{{" in text else ""
        raise InputError(path, _yaml_reason(exc, text) + hint) from None
    except RecursionError:
        raise InputError(path, "not valid YAML: nested too deeply") from None
    if not runners and not manifests.autoscaler:
        kinds = sorted({o.kind for o in manifests.objects})
        seen = f" (found {', '.join(kinds)})" if kinds else ""
        raise InputError(path, f"no container in these Kubernetes manifests runs the Bitbucket runner image{seen}")
    secrets = manifests.secret_values(_public_keys(runners))
    for setup in runners:
        setup.facts["secrets"] = secrets
    for subject in manifests.autoscaler:
        subject.secrets = frozenset(secrets)
    return [*runners, *manifests.autoscaler]
