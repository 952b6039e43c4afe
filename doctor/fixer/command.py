"""A ``docker run`` runner command as editable items, rendered back as a clean command.

The command's words are read with the docker-run parser's own option table.
Options written after the image (which docker would hand to the container) are
moved before it. The result is rendered the conventional way: ``docker container
run`` and the run mode (``-d``, ``--rm``, ``--restart``) on the first line, then
one option per line - other options in the order written, mounts, env files,
variables in the order of Bitbucket's dialog, ``--name`` - and the image last.
Options that were not changed keep the text they were written with.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from doctor.fixer.editor import Editor, Item, make_var
from doctor.fixer.shell import CannotLocate, Located, quote, value_raw
from doctor.inputs.docker_run import (
    ALIASES, BOOL_OPTIONS, SHORT_BOOL, SHORT_VALUE, VALUE_OPTIONS, find_docker_run, parse_mount, parse_run_args,
    parse_volume,
)
from doctor.inputs.shellwords import Word
from doctor.model import RunnerSetup, normpath
from doctor.runner_facts import CONFIG_DIR, CONFIG_FILE, CONTAINERS_DIR, SOCKET_PATH

FIRST_LINE = ("detach", "interactive", "tty", "rm", "restart")
SHORT = {"volume": "-v", "env": "-e", "publish": "-p", "label": "-l", "detach": "-d", "interactive": "-i",
         "tty": "-t"}
ENV_ORDER = ("ACCOUNT_UUID", "REPOSITORY_UUID", "RUNNER_UUID", "RUNTIME_PREREQUISITES_ENABLED", "OAUTH_CLIENT_ID",
             "OAUTH_CLIENT_SECRET", "WORKING_DIRECTORY")
_GROUPS = ("other", "mount", "env-file", "env", "name")


def _is_docker_option(text: str) -> bool:
    if text.startswith("--") and len(text) > 2:
        name = text[2:].partition("=")[0]
        return ALIASES.get(name, name) in VALUE_OPTIONS or name in BOOL_OPTIONS
    return bool(re.match(r"^-[A-Za-z]", text)) and (text[1] in SHORT_BOOL or text[1] in SHORT_VALUE)


def _takes_next(text: str) -> bool:
    """Whether an option word takes the next word as its value."""
    if text.startswith("--"):
        name, eq, _ = text[2:].partition("=")
        return not eq and ALIASES.get(name, name) in VALUE_OPTIONS
    for j, c in enumerate(text[1:], 1):
        if c in SHORT_VALUE:
            return j == len(text) - 1
        if c not in SHORT_BOOL:
            return False
    return False


class CommandEditor(Editor):
    """A runner's ``docker run`` command in a script, a crontab or a systemd unit."""

    def __init__(self, setup: RunnerSetup, located: Located):
        super().__init__(setup, located.context)
        self.located = located
        words = located.command.words
        found = find_docker_run(words)
        if found is None:
            raise CannotLocate("the docker command cannot be read again")
        start, global_options = found
        host = global_options.get("host", "")
        if host.startswith("unix://") and len(host) > len("unix://"):
            self.host_socket = host[len("unix://"):]  # docker -H unix:///run/user/1000/docker.sock run ...
        run_words = 2 if start >= 2 and words[start - 2].text == "container" else 1
        self.launcher = [value_raw(w) for w in words[:start - run_words]]
        self.verb = words[start - 1].text
        parsed = parse_run_args(words[start:])
        self._by_origin = {(m.origin.line, m.origin.column): m for m in setup.mounts}
        self._env_by_origin = {(v.origin.line, v.origin.column): v for v in setup.env if v.source != "env-file"}
        unknown = {(p.origin.line, p.origin.column) for p in parsed.problems if p.code == "unknown-option"}
        self._keep_unknown(words[start:], unknown, parsed.image)
        for name, value, word in parsed.options:
            self.items.append(self._item(name, value, word))
        if parsed.image is not None:
            self.image = Item("image", parsed.image.text, value_raw(parsed.image), parsed.image.origin,
                              parsed.image.expands)
        self.args: List[str] = []
        self._move_trailing(parsed.args)

    # ---- reading the words
    def _item(self, name: str, value: str, word: Word, moved: bool = False) -> Item:
        joined = not (word.text == value and name in VALUE_OPTIONS)
        raw = value_raw(word) if not joined else self._joined_raw(word, value)
        if name in BOOL_OPTIONS:
            raw = value
        item = Item(name, value, raw, word.origin, word.expands)
        where = (word.origin.line, word.origin.column)
        if name == "env":
            item.name, eq, rest = value.partition("=")
            item.value = rest if eq else None
            item.var = self._env_by_origin.get(where) if not moved else None
            if item.var is None:
                item.var = make_var(item.name, item.value, word.expands, word.origin)
        elif name == "volume":
            item.mount = self._by_origin.get(where) if not moved else None
            item.mount = item.mount or parse_volume(value, word, self.setup.base_dir)
        elif name == "mount":
            item.mount = self._by_origin.get(where) if not moved else None
            item.mount = item.mount or parse_mount(value, word)[0]
        return item

    @staticmethod
    def _joined_raw(word: Word, value: str) -> Optional[str]:
        raw = value_raw(word)
        if not re.search(r"[\"'\\$`]", raw):
            return quote(value)
        m = re.match(r"^(--[A-Za-z-]+=|-[A-Za-z]+=?)", raw)
        if m and not re.search(r"[\"'\\]", m.group(0)):
            return raw[m.end():]
        return None

    def _keep_unknown(self, words: List[Word], unknown: set, image: Optional[Word]) -> None:
        """Options docker does not know stay as written (RD003 keeps reporting them)."""
        i = 0
        while i < len(words) and (image is None or words[i].origin != image.origin):
            w = words[i]
            if (w.origin.line, w.origin.column) in unknown and w.text.startswith("-"):
                raw = [value_raw(w)]
                if w.text.startswith("--") and "=" not in w.text and i + 2 < len(words) \
                        and not words[i + 1].text.startswith("-"):
                    i += 1
                    raw.append(value_raw(words[i]))
                self.items.append(Item("unknown", w.text, " ".join(raw), w.origin))
            i += 1

    def _move_trailing(self, args: List[Word]) -> None:
        i = 0
        while i < len(args):
            w = args[i]
            if not _is_docker_option(w.text):
                self.args.append(value_raw(w))
                i += 1
                continue
            group = [w] + ([args[i + 1]] if _takes_next(w.text) and i + 1 < len(args) else [])
            for name, value, word in parse_run_args(group).options:
                item = self._item(name, value, word, moved=True)
                item.raw = None if name not in BOOL_OPTIONS else item.raw
                self.items.append(item)
            shown = " ".join(x.text for x in group)
            self.change("RD003", f"moved '{shown}' before the image: after it, docker handed it to the runner "
                                 "as an argument")
            i += len(group)

    # ---- rendering
    def render(self) -> str:
        """The command, one option per line (one line in a crontab)."""
        head = list(self.launcher) + ["container", self.verb]
        live = self.live()
        shorts = "".join(SHORT[k][1] for k in ("detach", "interactive", "tty") if self._on(k))
        if shorts:
            head.append("-" + shorts)
        for key in ("rm", "restart"):
            item = self.flag(key) if key == "rm" else self._last(key)
            if item is not None:
                head.append(self._option(item))
        lines = [" ".join(head)]
        groups: Dict[str, List[Tuple[Tuple, Item]]] = {g: [] for g in _GROUPS}
        for n, item in enumerate(live):
            if item.key in FIRST_LINE:
                continue
            group = {"volume": "mount", "mount": "mount", "env-file": "env-file", "env": "env",
                     "name": "name"}.get(item.key, "other")
            groups[group].append((self._rank(item, n), item))
        for group in _GROUPS:
            for _rank, item in sorted(groups[group], key=lambda x: x[0]):
                lines.append(self._option(item))
        tail = [self._image()] + self.args
        lines.append(" ".join(t for t in tail if t))
        if self.context == "cron":
            return " ".join(lines)
        return (" \\\n" + self.located.indent).join(lines)

    def _on(self, key: str) -> bool:
        return self.flag(key) is not None

    def _last(self, key: str) -> Optional[Item]:
        found = [i for i in self.live() if i.key == key]
        return found[-1] if found else None

    def _rank(self, item: Item, n: int) -> Tuple:
        if item.mount is not None:
            target = normpath(item.mount.target)
            var, written = self.effective("WORKING_DIRECTORY")
            wd = var.value if var is not None and var.value else (written.value if written is not None else None)
            roles = {SOCKET_PATH: 1, CONTAINERS_DIR: 2, CONFIG_DIR: 3, CONFIG_FILE: 3}
            if wd and normpath(wd) == target:
                return (0, n)
            return (roles.get(target, 4), n)
        if item.key == "env":
            return (ENV_ORDER.index(item.name) if item.name in ENV_ORDER else len(ENV_ORDER), n)
        return (0, n)

    def _option(self, item: Item) -> str:
        if item.key == "unknown":
            return item.raw or ""
        flag = SHORT.get(item.key, f"--{item.key}")
        if item.key in BOOL_OPTIONS:
            return flag if not item.value else f"--{item.key}={item.value}"
        if item.raw is not None:
            return f"{flag} {item.raw}"
        if item.key == "env":
            text = item.name if item.value is None else f"{item.name}={item.value}"
            return f"{flag} {quote(text, item.expands, self.context)}"
        return f"{flag} {quote(item.value or '', item.expands, self.context)}"

    def _image(self) -> str:
        if self.image is None:
            return ""
        if self.image.raw is not None:
            return self.image.raw
        return quote(self.image.value or "", self.image.expands, self.context)
