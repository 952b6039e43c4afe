"""systemd units that start the runner with ``docker run`` in ``ExecStart=``.

The unit is read the way systemd reads it: ``[Section]`` headers, ``Key=value``
lines, comments starting with ``#`` or ``;``, and a trailing backslash that
continues a value on the next line (comment lines inside a continuation are
skipped; blanks after the backslash do not matter to systemd). Each
``ExecStart=`` command is then split with the shell word splitter, keeping the
original lines so that findings point at the right one.

What the docker CLI started by the unit sees: the unit's ``Environment=`` and
``EnvironmentFile=`` variables (the files override ``Environment=``), which
``-e KEY`` passes on and which systemd substitutes for ``${KEY}`` (anywhere in
a word) and ``$KEY`` (a whole word) in ``ExecStart=``. Specifiers such as
``%i`` and ``%n`` are kept as written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional

from doctor.inputs.common import LoadOptions
from doctor.inputs.envfile import read_env_file
from doctor.inputs.script import runners_from_commands
from doctor.inputs.shellwords import Command, Word, split_commands
from doctor.model import EnvFileRef, EnvVar, Origin, RunnerSetup

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=", re.S)
_EXEC_PREFIX = re.compile(r"^[-@:+!]*")
_SHELLS = {"sh", "bash", "dash", "ash", "ksh", "zsh"}
_ESCAPES = {"n": "\n", "t": "\t", "s": " ", "\\": "\\", '"': '"', "'": "'"}
# ${NAME} anywhere, $NAME (a whole word only for systemd; anywhere in a shell), $$ = a literal $
_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_ENV_OPTION = re.compile(r"^(-[dit]*e|--env)$")
_ENV_OPTION_JOINED = re.compile(r"^(-[dit]*e.|--env=)")
_MAX_SHELL_DEPTH = 3
# a systemd specifier (%i, %n, %H...): systemd fills it in when it starts the unit; "%%" is a literal %
_SPECIFIER = re.compile(r"(?<!%)(?:%%)*%[A-Za-z]")


@dataclass
class Assignment:
    """One ``Key=value`` of a unit, continuation lines included."""

    section: Optional[str]
    key: str
    value: str  # as systemd reads it: continuations joined with a blank, comment lines dropped
    text: str  # the value with its original line breaks, for re-splitting with the right lines
    line: int
    column: int  # 1-based column of the value's first character


def parse_unit(text: str) -> List[Assignment]:
    out: List[Assignment] = []
    lines = text.split("\n")
    section: Optional[str] = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            continue
        key, eq, rest = line.partition("=")
        if not eq:
            continue
        value_start = len(key) + 1 + (len(rest) - len(rest.lstrip()))
        lineno = i
        parts = [line[value_start:].rstrip()]  # physical lines of the value
        joined = [parts[0]]
        while parts[-1].endswith("\\") and i < len(lines):
            nxt = lines[i].rstrip()
            i += 1
            if nxt.strip()[:1] in ("#", ";"):
                parts.append("\\")  # keeps the line count; systemd skips the comment
                continue
            parts.append(nxt)
            joined.append(nxt)
        # systemd replaces each continuation backslash with a blank; keep the line breaks for the splitter
        text_lines = [p[:-1] + " \\" if p.endswith("\\") and n < len(parts) - 1 else p
                      for n, p in enumerate(parts)]
        if text_lines[-1].endswith("\\"):
            text_lines[-1] = text_lines[-1][:-1]
        value = " ".join(p[:-1] if p.endswith("\\") else p for p in joined).strip()
        out.append(Assignment(section, key.strip(), value, "\n".join(text_lines), lineno, value_start + 1))
    return out


def _unquote_words(value: str) -> List[str]:
    """systemd's word splitting for ``Environment=``: quotes group, C escapes are decoded."""
    words: List[str] = []
    buf: List[str] = []
    in_word = False
    quote = None
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            buf.append(_ESCAPES.get(value[i + 1], value[i + 1]))
            in_word = True
            i += 2
            continue
        if quote:
            if c == quote:
                quote = None
            else:
                buf.append(c)
        elif c in "'\"":
            quote = c
            in_word = True
        elif c.isspace():
            if in_word:
                words.append("".join(buf))
                buf, in_word = [], False
        else:
            buf.append(c)
            in_word = True
        i += 1
    if in_word and quote is None:  # systemd ignores an assignment whose quote is never closed
        words.append("".join(buf))
    return words


def _expand_words(words: List[Word], environ: Dict[str, EnvVar], shell: bool) -> List[Word]:
    """Substitute the unit's variables (systemd rules, or a shell's for ``sh -c`` scripts).

    The values of ``-e``/``--env`` are left to the docker-run parser, which resolves them
    against the same environment and keeps the reference as written.
    """
    out: List[Word] = []
    env_value_next = False
    for w in words:
        skip = env_value_next or bool(_ENV_OPTION_JOINED.match(w.text))
        env_value_next = bool(_ENV_OPTION.match(w.text))
        if skip or "$" not in w.text:
            out.append(w)
            continue
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w.text)
        var = environ.get(whole.group(1)) if whole else None
        if var is not None and var.value is not None:
            if shell and w.quoted:
                out.append(Word(var.value, w.raw, w.origin, w.quoted))
            else:  # $NAME as a word: replaced by the value split at blanks
                out.extend(Word(part, w.raw, w.origin, w.quoted) for part in var.value.split())
            continue
        unresolved = False

        def sub(m: re.Match) -> str:
            nonlocal unresolved
            if m.group(0) == "$$":
                return "$" if not shell else "$$"
            name = m.group(1) or m.group(2)
            var = environ.get(name)
            if m.group(2) and not shell or var is None or var.value is None:
                unresolved = True
                return m.group(0)
            return var.value

        text = _REF.sub(sub, w.text)
        out.append(Word(text, w.raw, w.origin, w.quoted, unresolved, w.escaped_space_start))
    return out


def shell_script(cmd: Command) -> Optional[Word]:
    """The script word of ``sh -c '...'`` / ``bash -lc "..."`` (possibly after ``env``), if any."""
    words = cmd.words
    i = 0
    if words and os.path.basename(words[0].text) == "env":
        i = 1
        while i < len(words) and (_ASSIGNMENT.match(words[i].text) or words[i].text.startswith("-")):
            i += 1
    if i >= len(words) or os.path.basename(words[i].text) not in _SHELLS:
        return None
    for j in range(i + 1, len(words) - 1):
        t = words[j].text
        if not t.startswith("-"):
            return None
        if not t.startswith("--") and "c" in t[1:]:
            return words[j + 1]
    return None


def _script_commands(word: Word, path: str) -> List[Command]:
    """Split the string given to ``sh -c``; origins point into the unit."""
    raw = word.raw
    line, col = word.origin.line or 1, word.origin.column or 1
    body_is_raw = (len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" and raw[0] not in raw[1:-1]
                   and (raw[0] == "'" or not re.search(r"\\[^\n]", raw[1:-1])))
    if body_is_raw:
        # the text as written (its line breaks included), one column after the opening quote
        return split_commands(raw[1:-1], path, start_line=line, start_column=col + 1)
    return split_commands(word.text, path, start_line=line, start_column=col)


def _commands(commands: List[Command], path: str, environ: Dict[str, EnvVar], shell: bool,
              depth: int = 0) -> List[Command]:
    out: List[Command] = []
    for cmd in commands:
        script = shell_script(cmd) if depth < _MAX_SHELL_DEPTH else None
        if script is not None:
            out.extend(_commands(_script_commands(script, path), path, environ, True, depth + 1))
            continue
        out.append(Command(_expand_words(cmd.words, environ, shell), cmd.problems))
    return out


def _exec_start(a: Assignment, path: str, environ: Dict[str, EnvVar]) -> List[Command]:
    prefix = _EXEC_PREFIX.match(a.text).group(0)
    commands = split_commands(a.text[len(prefix):], path, start_line=a.line, start_column=a.column + len(prefix))
    if "@" in prefix and commands and len(commands[0].words) > 1:
        # "@/usr/bin/docker docker run ...": the second word is only argv[0]
        del commands[0].words[1]
    return _commands(commands, path, environ, shell=False)


def parse(text: str, path: str, opts: LoadOptions) -> List[RunnerSetup]:
    """Runner setups started by the unit's ``ExecStart=`` commands."""
    assignments = [a for a in parse_unit(text) if a.section in (None, "Service")]
    base_dir = os.path.dirname(os.path.abspath(path))
    env_vars: Dict[str, EnvVar] = {}
    env_files: List[EnvFileRef] = []
    file_vars: List[EnvVar] = []
    exec_starts: List[Assignment] = []
    restart = None
    for a in assignments:
        origin = Origin(path, a.line, a.column)
        if a.key == "Environment":
            if not a.value:
                env_vars.clear()
            for word in _unquote_words(a.value):
                if _ASSIGNMENT.match(word):
                    name, _eq, value = word.partition("=")
                    env_vars[name] = EnvVar(name, value, origin, "systemd", raw=word)
        elif a.key == "EnvironmentFile":
            if not a.value:
                env_files.clear()
                file_vars.clear()
                continue
            optional = a.value.startswith("-")
            ref, found = read_env_file(a.value.lstrip("-"), origin, [base_dir, opts.cwd], dialect="systemd",
                                       optional=optional)
            env_files.append(ref)
            file_vars.extend(found)
        elif a.key == "ExecStart":
            if not a.value:
                exec_starts.clear()
            else:
                exec_starts.append(a)
        elif a.key == "Restart":
            restart = (a.value, origin) if a.value else None  # empty: back to the default, "no"
    environ = dict(env_vars)
    environ.update((v.name, v) for v in file_vars)  # EnvironmentFile= overrides Environment=
    out: List[RunnerSetup] = []
    for a in exec_starts:
        commands = _exec_start(a, path, environ)
        for setup in runners_from_commands(commands, path, opts, supervisor="systemd", environ=environ):
            setup.form = "systemd"
            setup.label = f"ExecStart in {path}"
            setup.env_files[:0] = env_files
            for var in setup.env:
                if var.value is not None and _SPECIFIER.search(var.value):
                    # "{%i}": known only when systemd starts the instance
                    var.raw = var.raw or var.value
                    var.value, var.source = None, "reference"
            if restart is not None:
                setup.flags["systemd-restart"] = restart
            out.append(setup)
    return out
