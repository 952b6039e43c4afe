"""The Bitbucket runners autoscaler's ``runners_config.yaml``: one subject per runner group.

The autoscaler (``bitbucketpipelines/runners-autoscaler``, installed with
kustomize) reads ``constants`` and a list of ``groups``; for each group it
creates runners in Bitbucket (labels: ``self.hosted``, ``linux`` and the
group's labels) and a Kubernetes Job per runner from its job template. The file
is read as a TARGET, or from a ConfigMap of a Kubernetes manifest (kustomize's
``configMapGenerator`` output) by :mod:`doctor.inputs.kubernetes`.

Each group becomes a :class:`AutoscalerSubject` (kind ``autoscaler-group``)
holding an :class:`AutoscalerGroup` with every value and its origin; the
groups of one file share their :class:`AutoscalerConfig`, so a rule can compare
a group with the others (duplicate label sets). Parameter names are read in the
snake_case of the current template and in the camelCase older READMEs show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctor.inputs.common import LoadOptions
from doctor.inputs.kubernetes import yaml11_type
from doctor.inputs.compose import _get, _mapping, _source_text, read_yaml
from doctor.inputs.yamlforms import autoscaler as looks_like  # noqa: F401 - detection without YAML
from doctor.model import InputError, Origin, Subject

FORM = "autoscaler"
SUBJECT_KIND = "autoscaler-group"
# the labels the autoscaler gives every runner it creates
DEFAULT_LABELS = frozenset({"self.hosted", "linux"})
MAX_GROUPS = 10
RESERVED_NAMESPACE = "bitbucket-runner-control-plane"
STRATEGIES = ("percentageRunnersIdle",)
PARAMETERS = ("min", "max", "scale_up_threshold", "scale_down_threshold", "scale_up_multiplier",
              "scale_down_multiplier")
_CAMEL = {"scaleUpThreshold": "scale_up_threshold", "scaleDownThreshold": "scale_down_threshold",
          "scaleUpMultiplier": "scale_up_multiplier", "scaleDownMultiplier": "scale_down_multiplier"}


@dataclass
class Value:
    """A value as written: its text (None for a mapping or list), its YAML type and where it is."""

    text: Optional[str]
    origin: Origin
    yaml_type: str = "str"  # str, int, float, bool, null, mapping, sequence
    raw: str = ""
    key: str = ""  # the key as written (scaleUpThreshold for scale_up_threshold)


@dataclass
class AutoscalerConfig:
    path: str
    where: str  # "runners_config.yaml", "runners_config.yaml in ConfigMap runners-autoscaler-config"
    origin: Origin  # of groups:
    groups: List["AutoscalerGroup"] = field(default_factory=list)


@dataclass
class AutoscalerGroup:
    index: int  # 0-based position in groups:
    origin: Origin
    config: AutoscalerConfig
    fields: Dict[str, Value] = field(default_factory=dict)  # name, workspace, repository, namespace, strategy
    labels: Optional[List[Value]] = None  # None: no labels: key
    labels_value: Optional[Value] = None  # the labels: value itself
    parameters: Dict[str, Value] = field(default_factory=dict)  # canonical (snake_case) name -> value
    parameters_value: Optional[Value] = None
    resources: Dict[str, Value] = field(default_factory=dict)  # "requests.memory", "limits.cpu", ...

    @property
    def name(self) -> str:
        value = self.fields.get("name")
        return value.text if value is not None and value.text else f"group {self.index + 1}"

    def label_set(self) -> FrozenSet[str]:
        """The labels of the runners this group creates (the autoscaler adds self.hosted and linux)."""
        return frozenset(v.text for v in self.labels or () if v.text) | DEFAULT_LABELS


@dataclass
class AutoscalerSubject(Subject):
    group: Optional[AutoscalerGroup] = None
    secrets: FrozenSet[str] = frozenset()  # secret values of the input it came from (for the redactor)


def _value(node: Node, origin: Callable[[Node], Origin], key: str = "") -> Value:
    kind = yaml11_type(node)
    text = node.value if isinstance(node, ScalarNode) and kind != "null" else None
    return Value(text, origin(node), kind, _source_text(node), key)


def _group(index: int, node: Node, origin: Callable[[Node], Origin], config: AutoscalerConfig) -> AutoscalerGroup:
    group = AutoscalerGroup(index, origin(node), config)
    fields = _mapping(node)
    for key in ("name", "workspace", "repository", "namespace", "strategy"):
        if key in fields:
            group.fields[key] = _value(fields[key][1], origin, key)
    if "labels" in fields:
        labels = fields["labels"][1]
        group.labels_value = _value(labels, origin, "labels")
        if isinstance(labels, SequenceNode):
            group.labels = [_value(item, origin) for item in labels.value]
        else:
            group.labels = []
    if "parameters" in fields:
        params = fields["parameters"][1]
        group.parameters_value = _value(params, origin, "parameters")
        for key, (_k, value) in _mapping(params).items():
            group.parameters[_CAMEL.get(key, key)] = _value(value, origin, key)
    for section in ("requests", "limits"):
        for key, (_k, value) in _mapping(_get(node, "resources", section)).items():
            group.resources[f"{section}.{key}"] = _value(value, origin, f"{section}.{key}")
    return group


def subjects_from_node(root: Optional[Node], path: str, origin: Callable[[Node], Origin],
                       where: str) -> List[AutoscalerSubject]:
    """A subject per group of a parsed runners_config.yaml (``origin`` maps nodes to file positions)."""
    groups = _get(root, "groups")
    if not isinstance(groups, SequenceNode):
        return []
    config = AutoscalerConfig(path, where, origin(groups))
    out = []
    for index, item in enumerate(groups.value):
        if not isinstance(item, MappingNode):
            continue
        group = _group(index, item, origin, config)
        config.groups.append(group)
        title = f"autoscaler group {group.name!r} ({where})"
        out.append(AutoscalerSubject(f"{path}:{group.origin.line}", SUBJECT_KIND, path, group.origin.line, title,
                                     group=group))
    return out


def parse(text: str, path: str, opts: LoadOptions) -> List[AutoscalerSubject]:
    """The groups of a runners_config.yaml. Raises InputError."""
    documents = read_yaml(text, path, single=True)
    root = documents[0] if documents else None

    def origin(node: Node) -> Origin:
        return Origin(path, node.start_mark.line + 1, node.start_mark.column + 1)

    found = subjects_from_node(root, path, origin, os.path.basename(path))
    if not found:
        raise InputError(path, "no runner group in this runners_config.yaml (groups: is empty or not a list)")
    return found

