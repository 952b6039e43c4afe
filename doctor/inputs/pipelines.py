"""bitbucket-pipelines.yml: one subject per step that runs on a self-hosted runner.

A step runs on a self-hosted runner when its ``runs-on`` lists ``self.hosted``.
Steps are found wherever Bitbucket runs them: ``pipelines.default``,
``branches``, ``tags``, ``bookmarks``, ``pull-requests`` and ``custom``, inside
``parallel`` (list or ``steps:`` form) and ``stage`` blocks, and through
anchors (``- step: *build``); a step reached from several pipelines is one
subject.

Each becomes a :class:`StepSubject` (kind ``pipeline-step``) with a
:class:`PipelineStep`: its labels, its own ``image:`` (string or ``{name,
username, password, aws}`` form), the file's default image, its ``services``
and the images ``definitions.services`` gives them. This module also knows what
labels mean (which runner kind a label set asks for) and, when runner
configurations are checked in the same run, which of them could serve a step
(:func:`link`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctor.inputs.common import LoadOptions
from doctor.inputs.compose import _get, _mapping, _scalar, read_yaml
from doctor.inputs.yamlforms import pipelines as looks_like  # noqa: F401 - detection without YAML
from doctor.model import InputError, Origin, RunnerKind, Subject
from doctor.runner_facts import go_arch

FORM = "pipelines"
SUBJECT_KIND = "pipeline-step"
SELF_HOSTED = "self.hosted"
# the label that names each runner kind (added by Bitbucket when the runner is created; not removable)
OS_LABELS = {
    "linux": (RunnerKind.LINUX_DOCKER, "amd64"),
    "linux.arm64": (RunnerKind.LINUX_DOCKER, "arm64"),
    "linux.shell": (RunnerKind.LINUX_SHELL, None),
    "windows": (RunnerKind.WINDOWS, None),
    "macos": (RunnerKind.MACOS, None),
}
LABEL_RE = re.compile(r"^[a-z0-9.]+$")
MAX_CUSTOM_LABELS = 10
_SECTIONS = ("branches", "tags", "bookmarks", "pull-requests", "custom")
_VARIABLE = re.compile(r"^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$")


def is_variable(text: Optional[str]) -> bool:
    """``$NAME`` or ``${NAME}``: a repository, workspace or deployment variable."""
    return bool(text) and bool(_VARIABLE.match(text.strip()))


# ------------------------------------------------------------------ the model

@dataclass
class Text:
    value: Optional[str]  # None: not a string
    origin: Origin


@dataclass
class ImageSpec:
    """An ``image:`` as written: a name, or the block form with credentials."""

    what: str  # "the step image", "the default image", "the image of service postgres"
    name: Optional[str]
    origin: Origin
    block: bool = False  # {name, username, password, ...}
    username: Optional[Text] = None
    password: Optional[Text] = None
    aws: Dict[str, Text] = field(default_factory=dict)  # access-key, secret-key, oidc-role

    @property
    def has_credentials(self) -> bool:
        return self.password is not None or bool(self.aws)


@dataclass(frozen=True)
class Target:
    """The runner a label set asks for."""

    kind: RunnerKind
    arch: Optional[str]  # "amd64", "arm64" or None (either)


@dataclass
class Server:
    """A runner checked in the same run, as far as labels go."""

    title: str
    origin: Origin
    kind: RunnerKind
    arch: Optional[str]  # None: not known here
    labels: Optional[FrozenSet[str]]  # every label, when known (autoscaler groups); None: set in Bitbucket's UI


@dataclass
class PipelineStep:
    name: Optional[str]
    origin: Origin
    places: List[str]  # "pipelines.default", "pipelines.branches.main", ...
    runs_on: List[Text] = field(default_factory=list)
    runs_on_origin: Origin = Origin()
    runs_on_string: bool = False  # runs-on: "a, b" (one string), not a list
    image: Optional[ImageSpec] = None  # the step's own
    default_image: Optional[ImageSpec] = None  # the file's top-level image
    services: List[Text] = field(default_factory=list)
    service_images: Dict[str, ImageSpec] = field(default_factory=dict)
    servers: Optional[List[Server]] = None  # runners checked in the same run (None: link() was not called)

    @property
    def labels(self) -> List[str]:
        return [t.value for t in self.runs_on if t.value is not None]

    @property
    def custom_labels(self) -> List[str]:
        return [label for label in self.labels if label != SELF_HOSTED and label not in OS_LABELS]

    @property
    def shown_name(self) -> str:
        return repr(self.name) if self.name else f"at line {self.origin.line}"

    def images(self) -> List[ImageSpec]:
        """The images a Docker runner pulls for this step: its own (or the default one) and its services'."""
        out = [self.image or self.default_image] if (self.image or self.default_image) else []
        return out + [self.service_images[s.value] for s in self.services if s.value in self.service_images]


@dataclass
class StepSubject(Subject):
    step: Optional[PipelineStep] = None
    secrets: FrozenSet[str] = frozenset()  # literal passwords and keys of the file (for the redactor)


def os_labels(labels: Iterable[str]) -> List[str]:
    return sorted({label for label in labels if label in OS_LABELS})


def target(labels: Iterable[str]) -> Optional[Target]:
    """The runner kind the labels ask for; no OS label means a Linux Docker step. None: two OS labels."""
    found = os_labels(labels)
    if not found:
        return Target(RunnerKind.LINUX_DOCKER, None)
    if len(found) > 1:
        return None
    kind, arch = OS_LABELS[found[0]]
    return Target(kind, arch)


def serve(server: Server, labels: List[str]) -> Tuple[str, str]:
    """("yes" | "maybe" | "no", why): can this runner run a step with these labels?"""
    want = target(labels)
    if want is None:
        return "no", "no runner has two OS labels"
    if server.kind is not want.kind:
        return "no", f"it is a {server.kind.label} runner"
    if want.arch and server.arch and server.arch != want.arch:
        return "no", f"it runs on {server.arch}"
    if server.labels is not None:
        missing = sorted(set(labels) - server.labels)
        if missing:
            return "no", f"it has no label {', '.join(missing)}"
        return "yes", ""
    notes = []
    if want.arch == "arm64" and server.arch is None:
        notes.append("if it was created as a Linux Docker (arm64) runner")
    custom = [label for label in labels if label != SELF_HOSTED and label not in OS_LABELS]
    if custom:
        notes.append(f"if it has the label{'s' if len(custom) > 1 else ''} {', '.join(custom)} in Bitbucket")
    return ("maybe" if notes else "yes"), " and ".join(notes)


def _arch(runner) -> Optional[str]:
    facts = runner.facts.get("kubernetes")
    arch = getattr(facts, "node_arch", None)
    platform = runner.flag("platform")
    if arch is None and platform:
        arch = platform[0].rsplit("/", 1)[-1]
    return go_arch(arch)


def servers_of(subjects: Iterable[Subject]) -> List[Server]:
    subjects = list(subjects)
    groups = [s for s in subjects if getattr(s, "group", None) is not None]
    out = []
    for s in subjects:
        if s.runner is not None:
            facts = s.runner.facts.get("kubernetes")
            if getattr(facts, "template", False) and groups:
                continue  # the autoscaler's groups say which runners its template becomes
            out.append(Server(s.title, s.runner.origin, s.runner.kind, _arch(s.runner), None))
        elif s in groups:
            out.append(Server(s.title, s.group.origin, RunnerKind.LINUX_DOCKER, "amd64", s.group.label_set()))
    return out


def link(subjects: List[Subject]) -> None:
    """Give every step the runners checked in the same run."""
    servers = servers_of(subjects)
    for s in subjects:
        if isinstance(s, StepSubject):
            s.step.servers = servers


# ------------------------------------------------------------------ reading

class _File:
    def __init__(self, path: str):
        self.path = path
        self.secrets: set = set()

    def origin(self, node: Optional[Node]) -> Origin:
        if node is None:
            return Origin(self.path)
        return Origin(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def text(self, node: Optional[Node]) -> Optional[Text]:
        if node is None:
            return None
        value = node.value if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:null" else None
        return Text(value, self.origin(node))

    def image(self, node: Optional[Node], what: str) -> Optional[ImageSpec]:
        if node is None:
            return None
        if isinstance(node, ScalarNode):
            return ImageSpec(what, node.value or None, self.origin(node))
        spec = ImageSpec(what, _scalar(_get(node, "name")), self.origin(node), block=True)
        spec.username = self.text(_get(node, "username"))
        spec.password = self.text(_get(node, "password"))
        for key, (_k, value) in _mapping(_get(node, "aws")).items():
            spec.aws[key] = self.text(value)
        for secret in (spec.password, spec.aws.get("secret-key")):
            if secret is not None and secret.value and not is_variable(secret.value):
                self.secrets.add(secret.value)
        return spec

    def steps(self, root: Node) -> List[Tuple[Node, str]]:
        found: List[Tuple[Node, str]] = []
        for section, (_k, value) in _mapping(_get(root, "pipelines")).items():
            if section == "default":
                self.walk(value, "pipelines.default", found)
            elif section in _SECTIONS:
                for name, (_n, items) in _mapping(value).items():
                    self.walk(items, f"pipelines.{section}.{name}", found)
        return found

    def walk(self, node: Optional[Node], place: str, found: List[Tuple[Node, str]]) -> None:
        for item in node.value if isinstance(node, SequenceNode) else ():
            fields = _mapping(item)
            if "step" in fields and isinstance(fields["step"][1], MappingNode):
                found.append((fields["step"][1], place))
            if "parallel" in fields:
                inner = fields["parallel"][1]
                self.walk(inner if isinstance(inner, SequenceNode) else _get(inner, "steps"), place, found)
            if "stage" in fields:
                self.walk(_get(fields["stage"][1], "steps"), place, found)

    def step(self, node: Node, places: List[str], root: Node) -> PipelineStep:
        fields = _mapping(node)
        step = PipelineStep(_scalar(fields.get("name", (None, None))[1]), self.origin(node), places)
        runs_on = fields.get("runs-on", (None, None))[1]
        if runs_on is not None:
            step.runs_on_origin = self.origin(runs_on)
            if isinstance(runs_on, SequenceNode):
                step.runs_on = [self.text(item) for item in runs_on.value]
            elif isinstance(runs_on, ScalarNode):
                step.runs_on_string = True
                step.runs_on = [self.text(runs_on)]
        step.image = self.image(fields.get("image", (None, None))[1], "the step image")
        step.default_image = self.image(_get(root, "image"), "the default image (top-level image:)")
        services = fields.get("services", (None, None))[1]
        for item in services.value if isinstance(services, SequenceNode) else ():
            step.services.append(self.text(item))
        definitions = _mapping(_get(root, "definitions", "services"))
        for service in step.services:
            if service.value in definitions:
                spec = self.image(_get(definitions[service.value][1], "image"), f"the image of service {service.value}")
                if spec is not None:
                    step.service_images[service.value] = spec
        return step


def _title(step: PipelineStep, path: str) -> str:
    where = step.places[0] + (f" and {len(step.places) - 1} more" if len(step.places) > 1 else "")
    name = f"step {step.name!r}" if step.name else "step"
    return f"{name} ({where}) in {path}"


def parse(text: str, path: str, opts: LoadOptions) -> List[StepSubject]:
    """A subject per self-hosted step of a bitbucket-pipelines.yml. Raises InputError."""
    documents = read_yaml(text, path, single=True)
    root = documents[0] if documents else None
    f = _File(path)
    places: Dict[int, Tuple[Node, List[str]]] = {}
    for node, place in f.steps(root):
        entry = places.setdefault(id(node), (node, []))
        if place not in entry[1]:
            entry[1].append(place)
    steps = [f.step(node, where, root) for node, where in places.values()]
    # self.hosted, and the misspellings RD701 explains (self-hosted, "self.hosted, linux")
    chosen = [s for s in steps if any("self" in label.lower() for label in s.labels)]
    if not chosen:
        raise InputError(path, f"no step in this bitbucket-pipelines.yml runs on a self-hosted runner "
                               f"({len(steps)} step{'s' if len(steps) != 1 else ''}, none with runs-on: self.hosted)")
    secrets = frozenset(f.secrets)
    return [StepSubject(f"{path}:{s.origin.line}", SUBJECT_KIND, path, s.origin.line, _title(s, path), step=s,
                        secrets=secrets) for s in chosen]
