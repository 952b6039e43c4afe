"""The runner's settings as the fixes change them, whatever form they are written in.

An :class:`Editor` holds the options a runner is started with as :class:`Item`\\ s
(mounts, variables written in the command or service, the name, the image, docker
flags). The fixes in :mod:`doctor.fixer.fixes` read and change them through this
one interface; each form renders the result its own way (a ``docker run`` command
in :mod:`doctor.fixer.command`, a compose service in :mod:`doctor.fixer.compose`).
An item that was not changed keeps the text it was written with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from doctor.inputs.docker_run import parse_volume
from doctor.inputs.shellwords import Word
from doctor.model import NOWHERE, EnvVar, Mount, Origin, RunnerSetup, normpath


@dataclass
class Item:
    """One setting: a docker option, or a compose key/entry."""

    key: str  # the docker option's long name: "volume", "mount", "env", "name", "restart", "detach", ...
    value: Optional[str]  # the value as text; for "env" the part after NAME= (None: given at run time)
    raw: Optional[str] = None  # as written, while unchanged (None: render from value)
    origin: Origin = NOWHERE
    expands: bool = False  # the value holds $references meant to be expanded
    name: str = ""  # "env": the variable's name
    var: Optional[EnvVar] = None  # "env": what the runner sees (value resolved as the parsers resolve it)
    mount: Optional[Mount] = None  # "volume"/"mount": the mount it makes
    handle: Any = None  # the form's own reference (YAML nodes)
    style: str = ""  # compose: "list"/"mapping" (environment), "short"/"long" (volumes)
    new: bool = False
    removed: bool = False


@dataclass
class Change:
    rule: str
    message: str


class Editor:
    """What every form's editor offers the fixes."""

    def __init__(self, setup: RunnerSetup, context: str):
        self.setup = setup
        self.context = context  # "script" | "cron" | "systemd" | "systemd-shell" | "compose"
        self.items: List[Item] = []
        self.image: Optional[Item] = None
        self.changes: List[Change] = []
        self.notes: List[str] = []  # what the user must do besides using the printed text
        self.lost_secrets: List[str] = []  # variables whose literal value the fix replaced by a reference
        self.unit_lines: List[str] = []  # systemd [Service] lines to add after ExecStart=
        self.host_socket = "/var/run/docker.sock"  # the host's socket of the daemon the command talks to

    @property
    def form(self) -> str:
        return "compose" if self.context == "compose" else "command"

    @property
    def supervisor(self) -> Optional[str]:
        return self.setup.supervisor

    def change(self, rule: str, message: str) -> None:
        self.changes.append(Change(rule, message))

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    # ---- reading
    def live(self) -> List[Item]:
        return [i for i in self.items if not i.removed]

    def mounts(self) -> List[Item]:
        return [i for i in self.live() if i.mount is not None]

    def mounts_at(self, target: str) -> List[Item]:
        t = normpath(target)
        return [i for i in self.mounts() if normpath(i.mount.target) == t]

    def env(self, name: Optional[str] = None) -> List[Item]:
        return [i for i in self.live() if i.key == "env" and (name is None or i.name == name)]

    def effective(self, name: str) -> Tuple[Optional[EnvVar], Optional[Item]]:
        """The variable the runner sees and the item that sets it (None when an env file does)."""
        written = self.env(name)
        if written:
            return written[-1].var, written[-1]
        from_files = [v for v in self.setup.env if v.name == name and v.source == "env-file"]
        return (from_files[-1] if from_files else None), None

    def flag(self, key: str) -> Optional[Item]:
        found = [i for i in self.live() if i.key == key]
        if not found:
            return None
        value = (found[-1].value or "").lower()
        return None if value in ("false", "0") and key != "restart" else found[-1]

    def name_item(self) -> Optional[Item]:
        return self.flag("name")

    # ---- changing (the forms render the result)
    def remove(self, item: Item) -> None:
        item.removed = True

    def set_mount(self, item: Item, source: str, target: str, read_only: bool, expands: bool = False) -> None:
        """Make the item a bind mount of source at target; other mount options are kept."""
        old = item.mount
        if item.key == "mount":
            options = old.options  # the --mount fields: the ones besides type/source/target/readonly stay
        elif item.style == "long":
            options = ("ro",) if read_only else ()
        else:
            options = tuple([o for o in old.options if o not in ("ro", "rw", "readonly")] + (["ro"] if read_only
                                                                                               else []))
        item.mount = Mount("bind", source, target, read_only, item.origin, old.raw, options)
        item.value = self.mount_text(item)
        item.raw = None
        item.expands = expands or item.expands

    def add_mount(self, source: str, target: str, read_only: bool = False, expands: bool = False) -> Item:
        text = f"{source}:{target}" + (":ro" if read_only else "")
        mount = parse_volume(text, Word(text, text, NOWHERE), None)
        item = Item("volume", text, None, NOWHERE, expands, mount=mount, style="short", new=True)
        self.items.append(item)
        return item

    def mount_text(self, item: Item) -> str:
        m = item.mount
        if item.key == "mount":  # --mount CSV: keep the fields that are not source/target/readonly
            return self._mount_csv(item)
        text = f"{m.source}:{m.target}"
        return text + (":" + ",".join(m.options) if m.options else "")

    @staticmethod
    def _mount_csv(item: Item) -> str:
        m = item.mount
        skip = ("type", "source", "src", "target", "destination", "dst", "readonly", "ro")
        extra = [f for f in m.options if f.partition("=")[0].strip().lower() not in skip]
        fields = [f"type={m.type}", f"source={m.source}", f"target={m.target}"] + extra
        return ",".join(fields + (["readonly"] if m.read_only else []))

    def set_env(self, item: Item, name: str, value: Optional[str], expands: bool = False) -> None:
        item.name, item.value, item.raw, item.expands = name, value, None, expands
        item.var = make_var(name, value, expands, item.origin)

    def add_env(self, name: str, value: Optional[str], expands: bool = False) -> Item:
        item = Item("env", value, None, NOWHERE, expands, name=name, var=make_var(name, value, expands, NOWHERE),
                    new=True, style=self.env_style())
        self.items.append(item)
        return item

    def env_style(self) -> str:
        return ""

    def set_flag(self, key: str, value: str) -> Item:
        """Give an option (docker flag or compose key) this value; a repeated one is written once."""
        existing = [i for i in self.live() if i.key == key]
        for extra in existing[:-1]:
            self.remove(extra)
        if existing:
            item = existing[-1]
            item.value, item.raw = value, None
            return item
        item = Item(key, value, None, NOWHERE, new=True)
        self.items.append(item)
        return item

    def remove_flag(self, key: str) -> bool:
        found = [i for i in self.live() if i.key == key]
        for i in found:
            self.remove(i)
        return bool(found)

    def set_image(self, text: str) -> None:
        self.image.value, self.image.raw = text, None

    # ---- output
    @property
    def touched(self) -> bool:
        return bool(self.changes)


def make_var(name: str, value: Optional[str], expands: bool, origin: Origin) -> EnvVar:
    if value is None:
        return EnvVar(name, None, origin, "inherited", raw=name)
    if expands and "$" in value:
        return EnvVar(name, None, origin, "reference", raw=value)
    return EnvVar(name, value, origin, "literal", raw=value)
