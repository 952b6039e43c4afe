"""Docker Compose files: one RunnerSetup per service that runs the Bitbucket runner.

The file is read with PyYAML's node API so that every value keeps its line and
column. Anchors, aliases and merge keys (``<<: *defaults``, also a list of
merges) are followed, as is ``extends`` of a service in the same file. Values
are interpolated the way compose does (``$VAR``, ``${VAR:-default}``, ``$$``...)
from the ``.env`` file next to the compose file only: the doctor may run on
another machine, so a variable it cannot see is "provided at deploy time",
not empty.

Scalars are typed the way compose's YAML 1.2 reader types them (``yes`` is a
string there, not a boolean), which matters for ``environment`` mappings: an
unquoted ``{uuid}`` is a flow mapping and compose refuses it.
"""

from __future__ import annotations

import os
import re
import shlex
import weakref
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctor.inputs.common import LoadOptions, attach_docker_config
from doctor.inputs.docker_run import is_runner_image
from doctor.inputs.envfile import read_env_file
from doctor.inputs.yamlaliases import alias_problem
from doctor.model import EnvVar, InputError, Mount, Origin, RunnerKind, RunnerSetup, SyntaxProblem

_IDENTITY_ENV = ("ACCOUNT_UUID", "RUNNER_UUID")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TRUE = ("true", "True", "TRUE", "yes", "on", "1")

# compose service keys recorded in RunnerSetup.flags (as docker run's flags are)
_VALUE_FLAGS = {"restart": "restart", "network_mode": "network", "user": "user", "platform": "platform",
                "cpus": "cpus", "mem_limit": "memory", "memswap_limit": "memory-swap", "pull_policy": "pull"}
_BOOL_FLAGS = {"tty": "tty", "stdin_open": "interactive", "privileged": "privileged", "read_only": "read-only",
               "init": "init"}
# swarm-style deploy.restart_policy.condition -> the restart policy compose applies
_RESTART_CONDITIONS = {"any": "always", "on-failure": "on-failure", "none": "no"}
# how many levels of `extends` are followed (real files use one or two)
_MAX_EXTENDS = 8

# YAML 1.2 core schema (what compose's Go YAML reader resolves plain scalars to)
_YAML_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_YAML_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_YAML_INT = re.compile(r"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_YAML_FLOAT = re.compile(r"^([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


# ---------------------------------------------------------------- YAML nodes

# merged view of each mapping node, computed once (a merge graph can share nodes many times)
_MERGED: "weakref.WeakKeyDictionary[Node, Dict[str, Tuple[Node, Node]]]" = weakref.WeakKeyDictionary()

def _origin(path: str, node: Node) -> Origin:
    mark = node.start_mark
    return Origin(path, mark.line + 1, mark.column + 1)


def _source_text(node: Node) -> str:
    """The node as written in the file, on one line."""
    start, end = node.start_mark, node.end_mark
    if start.buffer is None or end.pointer < start.pointer:
        return node.value if isinstance(node, ScalarNode) else ""
    return " ".join(start.buffer[start.pointer:end.pointer].split())


def _render(node: Node, limit: int = 200) -> str:
    """A value on one line: scalars as written, collections in flow style (cut after ``limit`` characters)."""
    out: List[str] = []

    def put(text: str) -> bool:
        out.append(text)
        return sum(map(len, out)) <= limit

    def walk(n: Node) -> bool:
        if isinstance(n, ScalarNode):
            return put(n.value)
        is_map = isinstance(n, MappingNode)
        if not put("{" if is_map else "["):
            return False
        for i, child in enumerate(n.value):
            if i and not put(", "):
                return False
            if is_map and not (walk(child[0]) and put(": ") and walk(child[1])):
                return False
            if not is_map and not walk(child):
                return False
        return put("}" if is_map else "]")

    if walk(node):
        return "".join(out)
    return "".join(out)[:limit] + "..."


def _key_text(node: Node) -> str:
    return node.value if isinstance(node, ScalarNode) else _source_text(node)


def _is_merge_key(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _MERGE_TAG


def _mapping(node: Optional[Node], _seen: frozenset = frozenset()) -> Dict[str, Tuple[Node, Node]]:
    """key -> (key node, value node) with merge keys applied: explicit keys win, then earlier merges."""
    if not isinstance(node, MappingNode):
        return {}
    cached = _MERGED.get(node)
    if cached is not None:
        return cached
    seen = _seen | {id(node)}
    merged: Dict[str, Tuple[Node, Node]] = {}
    own: Dict[str, Tuple[Node, Node]] = {}
    for key, value in node.value:
        if _is_merge_key(key):
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for src in reversed(sources):
                if id(src) not in seen:
                    merged.update(_mapping(src, seen))
        else:
            own[_key_text(key)] = (key, value)
    merged.update(own)
    _MERGED[node] = merged
    return merged


def _duplicate_keys(node: Node) -> List[Tuple[str, Node, Node]]:
    """Keys written twice in one mapping (compose refuses the file): (key, first, second)."""
    first: Dict[str, Node] = {}
    out = []
    if isinstance(node, MappingNode):
        for key, _value in node.value:
            if _is_merge_key(key):
                continue
            text = _key_text(key)
            if text in first:
                out.append((text, first[text], key))
            else:
                first[text] = key
    return out


def _get(node: Optional[Node], *keys: str) -> Optional[Node]:
    for key in keys:
        pair = _mapping(node).get(key)
        if pair is None:
            return None
        node = pair[1]
    return node


def _scalar(node: Optional[Node]) -> Optional[str]:
    return node.value if isinstance(node, ScalarNode) else None


def yaml_type(node: Node) -> str:
    """'str', 'null', 'bool', 'int', 'float', 'mapping' or 'sequence', as compose's YAML 1.2 reader sees it."""
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "sequence"
    if node.style is not None:  # quoted or block scalar
        return "str"
    for name, pattern in (("null", _YAML_NULL), ("bool", _YAML_BOOL), ("int", _YAML_INT), ("float", _YAML_FLOAT)):
        if pattern.match(node.value):
            return name
    return "str"


def read_yaml(text: str, path: str, single: bool = False) -> List[Node]:
    """The documents of a YAML file as nodes (marks kept). Raises InputError with line and column.

    ``single``: the file must hold one document (an empty file gives none).
    """
    try:
        if single:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            documents = [] if root is None else [root]
        else:
            documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise InputError(path, _yaml_reason(exc, text)) from None
    except RecursionError:
        raise InputError(path, "not valid YAML: nested too deeply") from None
    problem = alias_problem(documents)
    if problem:
        raise InputError(path, problem)
    return documents


def _yaml_reason(exc: yaml.YAMLError, text: str) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        return f"not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        char = f" #x{exc.character:04x}" if isinstance(exc.character, int) else ""
        return f"not valid YAML: line {line}: unacceptable character{char}: {exc.reason}"
    return "not valid YAML: " + " ".join(str(exc).split())


# ------------------------------------------------------------- interpolation

@dataclass
class Expanded:
    text: str  # interpolated; references to variables not known here are kept as written
    complete: bool  # no unknown variable was needed
    from_dotenv: bool  # a value came from the .env file
    error: Optional[str] = None  # compose refuses this template


class _InvalidTemplate(Exception):
    pass


class Interpolator:
    """Compose's variable interpolation, with the variables of the project's ``.env`` file."""

    def __init__(self, variables: Dict[str, EnvVar], dotenv_path: Optional[str] = None):
        self.variables = variables
        self.dotenv_path = dotenv_path

    def expand(self, text: str) -> Expanded:
        if "$" not in text:
            return Expanded(text, True, False)
        state = {"complete": True, "dotenv": False}
        try:
            out = self._expand(text, state)
        except _InvalidTemplate as exc:
            return Expanded(text, False, False, str(exc))
        return Expanded(out, state["complete"], state["dotenv"])

    def _lookup(self, name: str, state: dict) -> Tuple[bool, Optional[str]]:
        """(known here, value)."""
        var = self.variables.get(name)
        if var is None or var.value is None:
            return False, None
        state["dotenv"] = True
        return True, var.value

    def _expand(self, text: str, state: dict) -> str:
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            c = text[i]
            if c != "$":
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1: i + 2]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            m = _NAME.match(text, i + 1)
            if m:
                known, value = self._lookup(m.group(0), state)
                if known:
                    out.append(value)
                else:
                    state["complete"] = False
                    out.append("$" + m.group(0))
                i = m.end()
                continue
            if nxt == "{":
                close = _closing_brace(text, i + 2)
                if close < 0:
                    raise _InvalidTemplate("a '${' is never closed with '}'")
                out.append(self._braced(text[i + 2: close], text[i: close + 1], state))
                i = close + 1
                continue
            out.append("$")  # "$" before anything else is kept literally
            i += 1
        return "".join(out)

    def _braced(self, inner: str, written: str, state: dict) -> str:
        m = _BRACED.match(inner)
        if not m:
            raise _InvalidTemplate("a '${...}' does not start with a variable name")
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        known, value = self._lookup(name, state)
        if op in (":-", "-"):
            if known and (value or op == "-"):
                return value
            return self._expand(arg, state)
        if op in (":+", "+") and known:
            return self._expand(arg, state) if (value or op == "+") else ""
        if known and op in (None, "?") or known and op == ":?" and value:
            return value
        # unset here (or required but empty): it is up to the environment compose runs in
        state["complete"] = False
        return written


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_outside_braces(text: str, sep: str) -> List[str]:
    """Split at ``sep`` except inside ``${...}`` (a volume like ``${DIR:-/srv}:/tmp``)."""
    parts: List[str] = []
    depth = 0
    cur: List[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            cur.append("${")
            i += 2
            continue
        c = text[i]
        if c == "}" and depth:
            depth -= 1
        if c == sep and not depth:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


# ------------------------------------------------------------------ services

class _ComposeFile:
    def __init__(self, path: str, opts: LoadOptions):
        self.path = path
        self.opts = opts
        self.dir = os.path.dirname(os.path.abspath(path))
        # compose reads the project's .env for interpolation (it is not passed to the container)
        ref, variables = read_env_file(".env", Origin(path), [self.dir], dialect="compose", optional=True)
        self.dotenv = ref if ref.error is None else None
        self.interp = Interpolator({v.name: v for v in variables}, ref.resolved if self.dotenv else None)

    # -- helpers
    def origin(self, node: Node) -> Origin:
        return _origin(self.path, node)

    def text(self, node: Node, setup: RunnerSetup) -> Optional[str]:
        """A scalar, interpolated (unknown references kept as written); None for a non-scalar."""
        raw = _scalar(node)
        if raw is None:
            return None
        exp = self.interp.expand(raw)
        if exp.error:
            self.bad_template(exp.error, node, setup)
        return exp.text

    def bad_template(self, error: str, node: Node, setup: RunnerSetup) -> None:
        setup.syntax_problems.append(SyntaxProblem(
            "invalid-interpolation", f"compose refuses this value: {error}", self.origin(node),
            "write variables as $NAME or ${NAME}, ${NAME:-default}; write $$ for a literal $"))

    def problem(self, setup: RunnerSetup, code: str, message: str, node: Node, fix: str) -> None:
        setup.syntax_problems.append(SyntaxProblem(code, message, self.origin(node), fix))

    # -- the service and the services it extends
    def layers(self, name: str, services: Dict[str, Tuple[Node, Node]], seen: Tuple[str, ...] = ()
               ) -> List[Dict[str, Tuple[Node, Node]]]:
        """The service's mapping, preceded by those of the services it ``extends`` in this file."""
        fields = _mapping(services[name][1])
        ext = fields.get("extends")
        base = None
        if ext is not None:
            base = _scalar(ext[1])
            if isinstance(ext[1], MappingNode):
                base = None if _get(ext[1], "file") is not None else _scalar(_get(ext[1], "service"))
        if base and base in services and base not in seen and base != name and len(seen) < _MAX_EXTENDS:
            return self.layers(base, services, seen + (name,)) + [fields]
        return [fields]

    def service(self, name: str, key_node: Node, layers: List[Dict[str, Tuple[Node, Node]]],
                own: Node) -> Optional[RunnerSetup]:
        fields: Dict[str, Tuple[Node, Node]] = {}
        for layer in layers:
            fields.update(layer)
        setup = RunnerSetup(kind=RunnerKind.LINUX_DOCKER, form="compose", origin=self.origin(key_node),
                            label=f"service {name} in {self.path}", supervisor="compose", base_dir=self.dir)
        for key, first, second in _duplicate_keys(own):
            self.problem(setup, "duplicate-key", f"{key!r} is written twice in service {name!r} (lines "
                         f"{first.start_mark.line + 1} and {second.start_mark.line + 1}): compose refuses the "
                         "file", second, f"keep one {key!r}")
        if "image" in fields:
            image = self.text(fields["image"][1], setup)
            setup.image, setup.image_origin = image, self.origin(fields["image"][1])
        if "container_name" in fields:
            setup.name = self.text(fields["container_name"][1], setup)
            setup.name_origin = self.origin(fields["container_name"][1])
        for layer in layers:
            if "env_file" in layer:
                self.env_files(layer["env_file"][1], setup)
        for layer in layers:
            if "environment" in layer:
                self.environment(layer["environment"][1], setup)
        for layer in layers:
            if "volumes" in layer:
                self.volumes(layer["volumes"][1], setup)
        self.flags(fields, setup)
        if "command" in fields:
            setup.command_args = self.command(fields["command"][1], setup)
        identity = any(setup.env_var(n) is not None for n in _IDENTITY_ENV)
        if not (is_runner_image(setup.image, self.opts.runner_mirrors)
                or identity and (setup.image is None or "$" in setup.image)):
            return None
        if self.dotenv is not None and any(v.env_file == self.dotenv.resolved for v in setup.env):
            # values interpolated from the project's .env: that file holds them (RD205 checks its mode)
            setup.env_files.append(self.dotenv)
        attach_docker_config(setup, self.opts)
        return setup

    # -- env_file and environment
    def env_files(self, node: Node, setup: RunnerSetup) -> None:
        items = node.value if isinstance(node, SequenceNode) else [node]
        for item in items:
            path_node, required = item, True
            if isinstance(item, MappingNode):
                path_node = _get(item, "path")
                req = _scalar(_get(item, "required"))
                required = req is None or req in _TRUE
            written = self.text(path_node, setup) if path_node is not None else None
            if not written:
                continue
            ref, variables = read_env_file(written, self.origin(item), [self.dir, self.opts.cwd],
                                           dialect="compose", optional=not required)
            setup.env_files.append(ref)
            setup.env.extend(variables)

    def environment(self, node: Node, setup: RunnerSetup) -> None:
        if isinstance(node, MappingNode):
            for key, first, second in _duplicate_keys(node):
                self.problem(setup, "duplicate-key", f"{key!r} is set twice in environment (lines "
                             f"{first.start_mark.line + 1} and {second.start_mark.line + 1}): compose refuses "
                             "the file", second, f"keep one {key!r}")
            for name, (key, value) in _mapping(node).items():
                setup.env.append(self.env_from_node(name, value, self.origin(key), setup))
        elif isinstance(node, SequenceNode):
            for item in node.value:
                if isinstance(item, MappingNode):
                    # "- KEY: value": a one-key mapping in a list; compose wants "- KEY=value"
                    for name, (_key, value) in _mapping(item).items():
                        self.problem(setup, "environment-entry", f"'- {name}: ...' in an environment list is a "
                                     "mapping, not KEY=VALUE: compose refuses the file", item,
                                     f"write '- {name}=VALUE', or drop the dashes to use the mapping form")
                        setup.env.append(self.env_from_node(name, value, self.origin(item), setup))
                    continue
                text = _scalar(item)
                if text is None:
                    continue
                name, eq, raw = text.partition("=")
                if eq:
                    setup.env.append(self.env_value(name, raw, self.origin(item), setup, item))
                else:
                    setup.env.append(self.inherited(name, self.origin(item)))

    def env_from_node(self, name: str, node: Node, origin: Origin, setup: RunnerSetup) -> EnvVar:
        kind = yaml_type(node)
        if kind == "null":
            return self.inherited(name, origin)
        if kind in ("mapping", "sequence"):
            return EnvVar(name, None, origin, "literal", raw=_source_text(node), yaml_type=kind)
        var = self.env_value(name, node.value, origin, setup, node)
        if kind != "str":
            var.yaml_type = kind
        return var

    def env_value(self, name: str, raw: str, origin: Origin, setup: RunnerSetup, node: Node) -> EnvVar:
        exp = self.interp.expand(raw)
        if exp.error:
            self.bad_template(exp.error, node, setup)
        if not exp.complete:
            return EnvVar(name, None, origin, "reference", raw=raw)
        if exp.from_dotenv:
            return EnvVar(name, exp.text, origin, "env-file", raw=raw, env_file=self.interp.dotenv_path)
        return EnvVar(name, exp.text, origin, "literal", raw=raw)

    def inherited(self, name: str, origin: Origin) -> EnvVar:
        """``- KEY`` / ``KEY:``: compose takes it from its environment, which includes ``.env``."""
        var = self.interp.variables.get(name)
        if var is not None and var.value is not None:
            return EnvVar(name, var.value, origin, "inherited", raw=name, env_file=self.interp.dotenv_path)
        return EnvVar(name, None, origin, "inherited", raw=name)

    # -- volumes
    def volumes(self, node: Node, setup: RunnerSetup) -> None:
        if not isinstance(node, SequenceNode):
            return
        for item in node.value:
            mount = self.long_volume(item, setup) if isinstance(item, MappingNode) else self.short_volume(item, setup)
            if mount is not None:
                setup.mounts.append(mount)

    def short_volume(self, node: Node, setup: RunnerSetup) -> Optional[Mount]:
        text = self.text(node, setup)
        if text is None:
            return None
        raw = f"- {node.value}"
        parts = _split_outside_braces(text, ":")
        if len(parts) == 1:
            return Mount("volume", None, parts[0], False, self.origin(node), raw)
        src, dst = parts[0], parts[1]
        options = tuple(o for o in ",".join(parts[2:]).split(",") if o)
        is_bind = src.startswith(("/", ".", "~", "$")) or src == ""
        return Mount("bind" if is_bind else "volume", src, dst, "ro" in options, self.origin(node), raw, options)

    def long_volume(self, node: MappingNode, setup: RunnerSetup) -> Optional[Mount]:
        fields = _mapping(node)
        target_node = fields.get("target", (None, None))[1]
        target = self.text(target_node, setup) if target_node is not None else None
        raw = ", ".join(f"{k}: {_render(v)}" for k, (_key, v) in fields.items())
        if not target:
            self.problem(setup, "bad-mount", f"this volume has no target ({raw})", node,
                         "give the path inside the container as target:")
            return None
        source_node = fields.get("source", (None, None))[1]
        source = self.text(source_node, setup) if source_node is not None else None
        mtype = _scalar(fields.get("type", (None, None))[1])
        if not mtype:
            mtype = "bind" if source and source.startswith(("/", ".", "~", "$")) else "volume"
        read_only = _scalar(fields.get("read_only", (None, None))[1]) in _TRUE
        options: List[str] = ["ro"] if read_only else []
        for section in ("bind", "volume", "tmpfs"):
            for key, (_k, value) in _mapping(_get(node, section)).items():
                options.append(f"{key}={_render(value)}")
        return Mount(mtype, source, target, read_only, self.origin(node), raw, tuple(options))

    # -- flags, command, entrypoint
    def flags(self, fields: Dict[str, Tuple[Node, Node]], setup: RunnerSetup) -> None:
        for key, flag in _VALUE_FLAGS.items():
            if key in fields and _scalar(fields[key][1]):
                setup.flags[flag] = (self.text(fields[key][1], setup), self.origin(fields[key][1]))
        for key, flag in _BOOL_FLAGS.items():
            if key in fields and _scalar(fields[key][1]) in _TRUE:
                setup.flags[flag] = (fields[key][1].value, self.origin(fields[key][1]))
        deploy = fields.get("deploy", (None, None))[1]
        limits = (("memory", "memory"), ("cpus", "cpus"))
        for key, flag in limits:
            node = _get(deploy, "resources", "limits", key)
            if flag not in setup.flags and _scalar(node):
                setup.flags[flag] = (self.text(node, setup), self.origin(node))
        condition = _get(deploy, "restart_policy", "condition")
        if "restart" not in setup.flags and _scalar(condition):
            policy = _RESTART_CONDITIONS.get(condition.value, condition.value)
            setup.flags["restart"] = (policy, self.origin(condition))
        driver = _get(fields.get("logging", (None, None))[1], "driver")
        if _scalar(driver):
            setup.flags["log-driver"] = (self.text(driver, setup), self.origin(driver))
        if "entrypoint" in fields:
            words = self.command(fields["entrypoint"][1], setup)
            setup.flags["entrypoint"] = (" ".join(w for w, _o in words), self.origin(fields["entrypoint"][1]))

    def command(self, node: Node, setup: RunnerSetup) -> List[Tuple[str, Origin]]:
        if isinstance(node, SequenceNode):
            return [(self.text(item, setup) or _source_text(item), self.origin(item)) for item in node.value]
        text = self.text(node, setup)
        if not text:
            return []
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        return [(w, self.origin(node)) for w in words]


def parse(text: str, path: str, opts: LoadOptions) -> List[RunnerSetup]:
    """Runner setups for the services of a compose file that run the Bitbucket runner. Raises InputError."""
    documents = read_yaml(text, path)
    try:
        return _services(documents, path, opts)
    except RecursionError:
        raise InputError(path, "anchors, merge keys or extends are nested too deeply to follow") from None


def _services(documents: List[Node], path: str, opts: LoadOptions) -> List[RunnerSetup]:
    compose = _ComposeFile(path, opts)
    out: List[RunnerSetup] = []
    for doc in documents:
        services_node = _get(doc, "services")
        services = _mapping(services_node)
        for name, (key_node, node) in services.items():
            if not isinstance(node, MappingNode):
                continue
            setup = compose.service(name, key_node, compose.layers(name, services), node)
            if setup is not None:
                out.append(setup)
    return out
