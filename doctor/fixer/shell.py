"""Where a runner's start command is written, and how to write shell words.

A runner found by the parsers knows only where its command starts (the origin of
its first word). The fixer needs the command's words as written (raw, quotes
included) and the exact span of text they occupy, so that it can replace that
span and keep everything around it byte-for-byte. The words are split again with
the parsers' own shell word splitter, from the command's first word: in a script
(a cron line's schedule is left before it), in a systemd ``ExecStart=`` (as
systemd joins its continuation lines), or inside the ``sh -c "..."`` string of
an ``ExecStart=``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from doctor.inputs.shellwords import Command, Word, split_commands
from doctor.inputs.systemd import Assignment, parse_unit, shell_script
from doctor.model import Origin

_EXEC_PREFIX = re.compile(r"^[-@:+!]*")
_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./{}-]+$")
_SAFE_EXPANDING = re.compile(r"^[A-Za-z0-9_@%+=:,./{}$-]+$")


class CannotLocate(Exception):
    """The command's text cannot be rewritten safely (the reason is the message)."""


@dataclass
class Located:
    """A runner command in a file's text."""

    command: Command  # its words, as written
    start: int  # offset of the first word
    end: int  # offset just after the last word
    context: str  # "script" | "cron" | "systemd" | "systemd-shell"
    indent: str  # indentation of its continuation lines
    region: Tuple[int, int]  # the lines shown for it (0-based, inclusive): the command's, or the whole ExecStart=


class Lines:
    """Offsets of a text's lines (1-based line and column, as in Origin)."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def line_of(self, offset: int) -> int:
        """0-based line index of an offset."""
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def line_text(self, index: int) -> str:
        end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[index]:end]


def word_end(word: Word) -> Tuple[int, int]:
    """(line, column) just after a word, from its origin and its text as written."""
    line, col = word.origin.line or 1, word.origin.column or 1
    if "\n" in word.raw:
        return line + word.raw.count("\n"), len(word.raw.rsplit("\n", 1)[1]) + 1
    return line, col + len(word.raw)


def _indent_of(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


def _first_command(text: str, path: Optional[str], line: int, column: int) -> Command:
    commands = split_commands(text, path, start_line=line, start_column=column)
    if not commands:
        raise CannotLocate("the command's words cannot be found again")
    return commands[0]


def _finish(lines: Lines, command: Command, context: str,
            region_lines: Optional[Tuple[int, int]] = None) -> Located:
    first, last = command.words[0], command.words[-1]
    start = lines.offset(first.origin.line, first.origin.column)
    end = lines.offset(*word_end(last))
    first_line, last_line = lines.line_of(start), lines.line_of(end)
    if last_line > first_line:
        indent = _indent_of(lines.line_text(first_line + 1))
    else:
        indent = _indent_of(lines.line_text(first_line)) + "  "
    if context.startswith("systemd") and not indent:
        indent = "  "
    region = region_lines or (first_line, last_line)
    return Located(command, start, end, context, indent, region)


def locate(text: str, path: Optional[str], origin: Origin, form: str, supervisor: Optional[str]) -> Located:
    """The command that starts at ``origin`` in a script or a systemd unit. Raises CannotLocate."""
    lines = Lines(text)
    if not origin.line or not origin.column:
        raise CannotLocate("the command's position is not known")
    if form == "systemd":
        return _locate_in_unit(text, lines, path, origin)
    offset = lines.offset(origin.line, origin.column)
    command = _first_command(text[offset:], path, origin.line, origin.column)
    return _finish(lines, command, "cron" if supervisor == "cron" else "script")


def _assignment_at(text: str, line: int) -> Assignment:
    for a in parse_unit(text):
        if a.key == "ExecStart" and a.line <= line <= a.line + a.text.count("\n"):
            return a
    raise CannotLocate("no ExecStart= holds the command")


def _locate_in_unit(text: str, lines: Lines, path: Optional[str], origin: Origin) -> Located:
    a = _assignment_at(text, origin.line)
    prefix = _EXEC_PREFIX.match(a.text).group(0)
    region = (a.line - 1, a.line - 1 + a.text.count("\n"))
    outer = _first_command(a.text[len(prefix):], path, a.line, a.column + len(prefix))
    if (origin.line, origin.column) == (a.line, a.column + len(prefix)):
        if "@" in prefix and len(outer.words) > 1:
            raise CannotLocate("ExecStart=@ (a separate argv[0]) is not rewritten")
        return _finish(lines, outer, "systemd", region)
    script = shell_script(outer)
    if script is None:
        raise CannotLocate("the command is not where the unit's ExecStart= starts")
    raw = script.raw
    if not (len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and raw[0] not in raw[1:-1]
            and (raw[0] == "'" or not re.search(r"\\[^\n]", raw[1:-1]))):
        raise CannotLocate("the sh -c script uses escapes; it is not rewritten")
    body_line, body_col = script.origin.line, script.origin.column + 1
    for command in split_commands(raw[1:-1], path, start_line=body_line, start_column=body_col):
        if command.words and (command.words[0].origin.line, command.words[0].origin.column) == (
                origin.line, origin.column):
            return _finish(lines, command, "systemd-shell" if raw[0] == '"' else "systemd-shell-single", region)
    raise CannotLocate("the command cannot be found in the sh -c script")


def quote(text: str, expands: bool = False, context: str = "script") -> str:
    """A shell word that means ``text``; ``$`` references stay references when ``expands``."""
    if _SAFE.match(text) and not ("{" in text and "," in text):
        return text
    if expands and "$" in text:
        if _SAFE_EXPANDING.match(text) and not ("{" in text and "," in text and "${" not in text):
            return text
        inner = re.sub(r'(["\\`])', r"\\\1", text)
        return f'\\"{inner}\\"' if context == "systemd-shell" else f'"{inner}"'
    if context == "systemd-shell-single":
        inner = re.sub(r'(["\\`$])', r"\\\1", text)
        return f'"{inner}"'
    return "'" + text.replace("'", "'\"'\"'") + "'"


def value_raw(word: Word) -> str:
    """A word as written, without a backslash-escaped blank in front (a flattened command's ``\\ -v``)."""
    if re.match(r"^\\[ \t]", word.raw) and not word.text.startswith((" ", "\t")):
        return re.sub(r"^(\\[ \t])+", "", word.raw)
    return word.raw
