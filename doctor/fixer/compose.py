"""A compose service as editable items, written back as edits of the file's own lines.

Each change becomes an edit of the text where the value is written: a scalar
replaced in place, an entry added after the last one of its list or mapping, a
key added to the service. Comments, quoting and the order of everything else
stay as they are. An edit is safe only inside the service's own block: a value
that comes from an anchor, a merge key (``<<: *defaults``) or ``extends`` is
shared with other services, and a key the service would have to add while it
inherits one would replace the inherited value. Such a service is printed
flattened (anchors expanded) and not written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from doctor.fixer.editor import Editor, Item
from doctor.model import RunnerSetup

_MERGE_TAG = "tag:yaml.org,2002:merge"
_TYPED = re.compile(r"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|no|on|off|[-+]?[0-9][0-9_.]*)$")
_KEYS = {"volume": "volumes", "env": "environment", "name": "container_name", "restart": "restart"}


@dataclass
class Edit:
    start: int
    end: int
    text: str
    rank: int = 0  # among insertions at one place: entries of a list or mapping (0) before service keys (1)


def scalar(text: str) -> str:
    """A YAML scalar for a string: plain when that is unambiguous, else double-quoted."""
    if (text and text[0] not in "-?:,[]{}#&*!|>'\"%@`" and ": " not in text and " #" not in text
            and not text.endswith(":") and text == text.strip() and "\n" not in text and not _TYPED.match(text)):
        return text
    return json.dumps(text)


def _walk(node: Node, seen: Optional[set] = None):
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    yield node
    if isinstance(node, MappingNode):
        for k, v in node.value:
            yield from _walk(k, seen)
            yield from _walk(v, seen)
    elif isinstance(node, SequenceNode):
        for v in node.value:
            yield from _walk(v, seen)


class ComposeEditor(Editor):
    """One runner service of a compose file."""

    def __init__(self, setup: RunnerSetup, text: str, documents: List[Node]):
        super().__init__(setup, "compose")
        self.text = text
        self.unsafe: List[str] = []
        self.service_name, self.key_node, self.node = self._find(documents)
        self.own = {k.value: (k, v) for k, v in self.node.value if isinstance(k, ScalarNode) and k.tag != _MERGE_TAG}
        self.lo = self.key_node.start_mark.pointer
        self.hi = self._last_char(self.node)
        self._index: Dict[Tuple[int, int], Node] = {}
        self._pairs: Dict[Tuple[int, int], Tuple[Node, Node]] = {}
        for doc in documents:
            for n in _walk(doc):
                self._index.setdefault(self._at(n), n)
                if isinstance(n, MappingNode):
                    for k, v in n.value:
                        self._pairs.setdefault(self._at(k), (k, v))
        self._read_items()

    # ---- finding the service and its values
    def _find(self, documents: List[Node]) -> Tuple[str, Node, MappingNode]:
        for doc in documents:
            if not isinstance(doc, MappingNode):
                continue
            for k, v in doc.value:
                if isinstance(k, ScalarNode) and k.value == "services" and isinstance(v, MappingNode):
                    for key, value in v.value:
                        if self._at(key) == (self.setup.origin.line, self.setup.origin.column):
                            return key.value, key, value
        raise ValueError("the service is not in the file")  # the parser found it: cannot happen

    @staticmethod
    def _at(node: Node) -> Tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def _last_char(self, node: Node) -> int:
        """Offset just after the last character written for a node (its children inside it included)."""
        if isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style:
            ends = [self._last_char(c) for pair in (node.value if isinstance(node, MappingNode) else
                                                   [(v,) for v in node.value]) for c in pair
                    if c.start_mark.pointer >= node.start_mark.pointer]
            return max(ends) if ends else node.start_mark.pointer
        chunk = self.text[node.start_mark.pointer:node.end_mark.pointer]
        return node.start_mark.pointer + len(chunk.rstrip())

    def owns(self, node: Node) -> bool:
        return self.lo <= node.start_mark.pointer < self.hi

    def _read_items(self) -> None:
        s = self.setup
        for m in s.mounts:
            node = self._index.get((m.origin.line, m.origin.column))
            style = "short" if isinstance(node, ScalarNode) else "long"
            raw = node.value if isinstance(node, ScalarNode) else m.raw
            self.items.append(Item("volume", raw, raw, m.origin, mount=m, handle=node, style=style))
        for var in s.env:
            if var.origin.path != s.origin.path:
                continue  # read from an env file: not written in the service
            where = (var.origin.line, var.origin.column)
            if where in self._pairs:
                _key, value = self._pairs[where]
                text = value.value if isinstance(value, ScalarNode) and value.value != "" else None
                self.items.append(Item("env", text, "", var.origin, name=var.name, var=var,
                                       handle=self._pairs[where], style="mapping"))
            elif isinstance(self._index.get(where), ScalarNode):
                node = self._index[where]
                _name, eq, rest = node.value.partition("=")
                self.items.append(Item("env", rest if eq else None, node.value, var.origin, name=var.name, var=var,
                                       handle=node, style="list"))
        for key, flag in (("container_name", "name"), ("restart", "restart")):
            if key in self.own:
                node = self.own[key][1]
                self.items.append(Item(flag, node.value, node.value, self.setup.origin, handle=node))
            elif flag == "restart" and s.flag("restart"):
                self.items.append(Item("restart", s.flag("restart")[0], "", s.flag("restart")[1]))
            elif flag == "name" and s.name:
                self.items.append(Item("name", s.name, "", s.name_origin))
        if "image" in self.own:
            node = self.own["image"][1]
            self.image = Item("image", node.value, node.value, self.setup.origin, handle=node)

    def env_style(self) -> str:
        node = self._section("environment")
        return "list" if isinstance(node, SequenceNode) else "mapping"

    def _section(self, key: str) -> Optional[Node]:
        return self.own[key][1] if key in self.own else None

    # ---- edits
    def edits(self) -> List[Edit]:
        """Text edits that make the file say what the items say; self.unsafe lists what cannot be done."""
        out: List[Edit] = []
        added: Dict[Optional[str], List[Item]] = {}
        for item in self.items:
            if item.new:
                if not item.removed:
                    added.setdefault(_KEYS.get(item.key), []).append(item)
            elif item.removed:
                self._delete(item, out)
            elif item.raw is None:
                self._replace(item, out)
        for key, items in added.items():
            self._append(key, items, out)
        if self.image is not None and self.image.raw is None:
            self._set_scalar(self.image.handle, scalar(self.image.value or ""), out)
        return out

    def _set_scalar(self, node: Optional[Node], text: str, out: List[Edit], what: str = "") -> None:
        if node is None or not self.owns(node) or node.start_mark.line != self._line_of(self._last_char(node)):
            self.unsafe.append(what or "a value that is not written on one line of the service itself")
            return
        out.append(Edit(node.start_mark.pointer, self._last_char(node), text))

    def _line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset)

    def _replace(self, item: Item, out: List[Edit]) -> None:
        if item.key == "volume":
            node = item.handle
            if item.style == "long" and node is not None and self.owns(node):
                # a changed long-syntax volume is written in the short syntax, in its place
                out.append(Edit(node.start_mark.pointer, self._last_char(node), scalar(self.mount_text(item))))
                return
            self._set_scalar(node, scalar(self.mount_text(item)), out, f"the volume {item.mount.raw}")
        elif item.key == "env" and item.style == "mapping":
            key, value = item.handle
            text = scalar(item.value) if item.value is not None else ""
            if not self.owns(key):
                self.unsafe.append(f"{item.name} (set outside the service: an anchor or extends)")
                return
            colon = self.text.index(":", key.end_mark.pointer)
            if isinstance(value, ScalarNode) and value.value == "" and value.style is None:
                out.append(Edit(key.start_mark.pointer, colon + 1, f"{item.name}: {text}".rstrip()))
                return
            if key.value != item.name:
                out.append(Edit(key.start_mark.pointer, key.end_mark.pointer, item.name))
            self._set_scalar(value, text, out, item.name)
        elif item.key == "env":
            text = item.name if item.value is None else f"{item.name}={item.value}"
            self._set_scalar(item.handle, scalar(text), out, item.name)
        elif item.handle is not None:
            self._set_scalar(item.handle, scalar(item.value or ""), out, _KEYS.get(item.key, item.key))
        else:
            self.unsafe.append(f"{_KEYS.get(item.key, item.key)} (set outside the service)")

    def _delete(self, item: Item, out: List[Edit]) -> None:
        node = item.handle[0] if isinstance(item.handle, tuple) else item.handle
        if node is None or not self.owns(node):
            self.unsafe.append(f"{item.name or item.key} (set outside the service)")
            return
        start = self.text.rfind("\n", 0, node.start_mark.pointer) + 1
        end = self.text.find("\n", self._last_char(item.handle[1] if isinstance(item.handle, tuple) else node))
        out.append(Edit(start, len(self.text) if end < 0 else end + 1, ""))

    def _entry(self, item: Item, mapping: bool) -> str:
        if item.key == "volume":
            return scalar(self.mount_text(item))
        if mapping:
            return f"{item.name}: {scalar(item.value)}" if item.value is not None else f"{item.name}:"
        return scalar(item.name if item.value is None else f"{item.name}={item.value}")

    def _append(self, key: Optional[str], items: List[Item], out: List[Edit]) -> None:
        """Add entries to a section of the service (or the section itself, or a key like restart:)."""
        if key is None:
            self.unsafe.append(", ".join(i.key for i in items))
            return
        if key in ("container_name", "restart"):
            self._add_line(self.node, f"{key}: {scalar(items[-1].value or '')}", out)
            return
        section = self._section(key)
        mapping = key == "environment" and not isinstance(section, SequenceNode)
        if section is None:
            inherited = self.setup.mounts if key == "volumes" else [
                v for v in self.setup.env if v.origin.path == self.setup.origin.path]
            if inherited:
                self.unsafe.append(f"{key} (the service inherits it from an anchor or extends; adding its own "
                                   f"would replace the inherited one)")
                return
            lead = self._key_indent() + " " * self._step() + ("" if mapping else "- ")
            lines = [f"{key}:"] + [lead + self._entry(i, mapping) for i in items]
            self._add_line(self.node, "\n".join(lines), out)
            return
        if not self.owns(section):
            self.unsafe.append(f"{key} (it comes from an anchor)")
            return
        for item in items:
            if section.flow_style:
                close = self._last_char(section) - 1
                sep = ", " if section.value or item is not items[0] else ""
                out.append(Edit(close, close, sep + self._entry(item, mapping)))
                continue
            indent = " " * (section.value[0][0].start_mark.column if mapping else section.start_mark.column)
            self._insert_after(self._last_char(section), indent + ("" if mapping else "- ") +
                               self._entry(item, mapping), out)

    def _key_indent(self) -> str:
        return " " * self.node.value[0][0].start_mark.column

    def _step(self) -> int:
        return max(2, self.node.value[0][0].start_mark.column - self.key_node.start_mark.column)

    def _add_line(self, mapping: MappingNode, line: str, out: List[Edit]) -> None:
        if mapping.flow_style:
            self.unsafe.append("the service is written in flow style ({...})")
            return
        self._insert_after(self._last_char(mapping), self._key_indent() + line, out, rank=1)

    def _insert_after(self, offset: int, line: str, out: List[Edit], rank: int = 0) -> None:
        end = self.text.find("\n", offset)
        at = len(self.text) if end < 0 else end + 1
        prefix = "\n" if end < 0 else ""
        out.append(Edit(at, at, prefix + line + "\n", rank))

    # ---- what to print
    def has_aliases(self) -> bool:
        return any(not self.owns(n) for n in _walk(self.node))

    def flattened(self) -> str:
        """The service with anchors, merge keys and the fixes applied, as plain YAML."""
        data = _plain(self.node)
        volumes = [self.mount_text(i) if i.raw is None or i.style == "short" else _plain(i.handle)
                   for i in self.mounts()]
        if volumes:
            data["volumes"] = volumes
        env = [i for i in self.env()]
        if env:
            if self.env_style() == "mapping":
                data["environment"] = {i.name: i.value for i in env}
            else:
                data["environment"] = [i.name if i.value is None else f"{i.name}={i.value}" for i in env]
        for item in self.live():
            if item.key in ("name", "restart"):
                data[_KEYS[item.key]] = item.value
        if self.image is not None:
            data["image"] = self.image.value
        return yaml.safe_dump({"services": {self.service_name: data}}, sort_keys=False, default_flow_style=False,
                              width=1000)


def _plain(node: Node):
    """Python data for a node, merge keys applied, scalars kept as the strings written (YAML 1.2 types)."""
    if isinstance(node, ScalarNode):
        if node.style is None and re.match(r"^(true|false)$", node.value, re.I):
            return node.value.lower() == "true"
        if node.style is None and re.match(r"^[-+]?[0-9]+$", node.value):
            return int(node.value)
        if node.style is None and re.match(r"^(~|null|)$", node.value, re.I):
            return None
        return node.value
    if isinstance(node, SequenceNode):
        return [_plain(v) for v in node.value]
    out: Dict = {}
    own = {}
    for k, v in node.value:
        if k.tag == _MERGE_TAG:
            for src in reversed(v.value if isinstance(v, SequenceNode) else [v]):
                out.update(_plain(src))
        else:
            own[k.value] = _plain(v)
    out.update(own)
    return out


def parse_documents(text: str) -> List[Node]:
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))
