"""A POSIX-shell word splitter that keeps where each word came from.

It is not a shell: it does no expansion. It splits text into simple commands
(at newlines, ``;``, ``&``, ``&&``, ``||``, ``|``), removes quotes, joins
``\\<newline>`` continuations, skips comments, and records what a person most
often gets wrong when copying a runner command:

* a backslash followed by spaces and then the end of the line: the backslash
  escapes the space, the newline ends the command, and the next lines run as
  separate commands;
* a backslash-space in the middle of a line (a multi-line command flattened by a
  web page): the shell passes ``" -v"`` as one word;
* a quote that is never closed.

For the broken forms the splitter still returns the command the author meant
(the continuation is treated as intended), together with a :class:`SyntaxProblem`
pointing at the exact place, so the other rules can still check the intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from doctor.model import Origin, SyntaxProblem
from doctor.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import List, Optional, Tuple

_NAME_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(eq=False, repr=False)  # == and repr() of Record
class Word(Record):
    """One shell word: its text after quote removal, as written, and where it starts."""

    text: str  # after quote removal
    raw: str  # as written (quotes included)
    origin: Origin
    quoted: bool = False
    expands: bool = False  # contains a $VAR / ${VAR} / $(...) outside single quotes
    escaped_space_start: bool = False  # begins with a backslash-escaped blank

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False, repr=False)  # == and repr() of Record
class Command(Record):
    """One simple command: its words, and what in it does not mean what it looks like."""

    words: List[Word]
    problems: List[SyntaxProblem] = field(default_factory=list)

    @property
    def origin(self) -> Origin:
        return self.words[0].origin if self.words else Origin()

    @property
    def last_line(self) -> Optional[int]:
        return self.words[-1].origin.line if self.words else None


_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|")
_OPERATOR_STARTS = frozenset(o[0] for o in _OPERATORS)  # a cheap test before the startswith calls
# Runs of characters the splitter takes as they are, a run at a time instead of a character at a time
# (no newline in any of them, except inside double quotes, where advance() counts the lines):
_BLANKS = re.compile(r"[ \t\r]+")
_PLAIN = re.compile(r"[^ \t\r\n\\'\"$`;&|]+")  # in a word: up to a blank, quote, escape, $, ` or operator
_PLAIN_QUOTED = re.compile(r'[^"\\$]+')  # in double quotes: up to the closing quote, an escape or a $
_SIMPLE_WORD = re.compile(_PLAIN.pattern + r"(?=[ \t\r\n;&|]|\Z)")  # a whole word of plain characters
_BROKEN_CONTINUATION = re.compile(r"\\([ \t]+)(\r?\n|$)")  # a backslash, blanks, the end of the line
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


def split_commands(text: str, path: Optional[str] = None, start_line: int = 1,
                   start_column: int = 1) -> List[Command]:
    """Split shell text into simple commands of words with origins."""
    commands: List[Command] = []
    words: List[Word] = []
    problems: List[SyntaxProblem] = []

    n = len(text)
    i = 0
    line = start_line
    col = start_column

    def origin_at(ln: int, cl: int) -> Origin:
        return Origin(path, ln, cl)

    def end_command() -> None:
        nonlocal words, problems
        if words:
            commands.append(Command(words, problems))
        elif problems and commands:
            commands[-1].problems.extend(problems)
        words = []
        problems = []

    def advance(k: int = 1) -> None:
        nonlocal i, line, col
        if k == 1 and i < n and text[i] != "\n":
            col += 1
            i += 1
            return
        passed = text[i:i + k]  # past the end, each step still counts a column
        last = passed.rfind("\n")
        if last < 0:
            col += k
        else:
            line += passed.count("\n")
            col = k - last
        i += k

    while i < n:
        ch = text[i]
        # blanks between words
        if ch in " \t\r":
            advance(_BLANKS.match(text, i).end() - i)
            continue
        if ch == "\n":
            advance()
            end_command()
            continue
        if ch == "#":
            # a comment runs to the end of the line
            end = text.find("\n", i)
            advance((n if end < 0 else end) - i)
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None) if ch in _OPERATOR_STARTS else None
        if op:
            advance(len(op))
            end_command()
            continue
        if ch in "()" and not words:
            advance()
            continue
        # line continuation between words
        if ch == "\\":
            m = _BROKEN_CONTINUATION.match(text, i)
            if m:
                # backslash, blanks, end of line: the author meant a continuation
                problems.append(
                    SyntaxProblem(
                        "broken-continuation",
                        "a space after the line-continuation backslash: the backslash escapes the "
                        "space, the line ends the command, and the next lines run as separate commands",
                        origin_at(line, col),
                        "delete the spaces after the backslash so that it is the last character of the line",
                    )
                )
                advance(len(m.group(0)))
                continue
            if text.startswith("\\\n", i) or text.startswith("\\\r\n", i):
                advance(2 if text[i + 1] == "\n" else 3)
                continue
        # a word
        simple = _SIMPLE_WORD.match(text, i)
        if simple:  # the whole word is plain characters: no quote, escape or expansion in it
            raw = simple.group()
            words.append(Word(raw, raw, origin_at(line, col)))
            col += len(raw)
            i += len(raw)
            continue
        w_line, w_col = line, col
        raw_start = i
        buf: List[str] = []
        quoted = False
        expands = False
        escaped_space_start = False
        while i < n:
            plain = _PLAIN.match(text, i)
            if plain:
                buf.append(plain.group())
                advance(plain.end() - i)
                continue
            ch = text[i]
            if ch in " \t\r\n" or (ch in _OPERATOR_STARTS and any(text.startswith(o, i) for o in _OPERATORS)):
                break
            if ch == "\\":
                nxt = text[i + 1] if i + 1 < n else ""
                if nxt == "\n":
                    advance(2)
                    continue
                if nxt == "\r" and text[i + 2: i + 3] == "\n":
                    advance(3)
                    continue
                if nxt in " \t":
                    rest = _BROKEN_CONTINUATION.match(text, i)
                    if rest:
                        # word\<blanks><newline>: same broken continuation, word ends here
                        break
                    if not buf:
                        escaped_space_start = True
                    problems.append(
                        SyntaxProblem(
                            "escaped-space",
                            "a backslash followed by a space in the middle of a line: the shell keeps the "
                            "space as part of the next word (a command copied from a page that flattened "
                            "its lines)",
                            origin_at(line, col),
                            "put each continued part on its own line with the backslash as the last "
                            "character, or remove the backslashes from a one-line command",
                        )
                    )
                buf.append(nxt)
                advance(2)
                continue
            if ch == "'":
                quoted = True
                q_line, q_col = line, col
                j = text.find("'", i + 1)
                if j < 0:
                    problems.append(_unbalanced("'", origin_at(q_line, q_col)))
                    j = _recover_end(text, i)
                    buf.append(text[i + 1: j])
                    advance(j - i)
                    continue
                buf.append(text[i + 1: j])
                advance(j + 1 - i)
                continue
            if ch == '"':
                quoted = True
                q_line, q_col = line, col
                advance()
                closed = False
                while i < n:
                    plain = _PLAIN_QUOTED.match(text, i)
                    if plain:
                        buf.append(plain.group())
                        advance(plain.end() - i)
                        continue
                    c = text[i]
                    if c == '"':
                        advance()
                        closed = True
                        break
                    if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                        if text[i + 1] != "\n":
                            buf.append(text[i + 1])
                        advance(2)
                        continue
                    if c == "$":
                        expands = True
                    buf.append(c)
                    advance()
                if not closed:
                    problems.append(_unbalanced('"', origin_at(q_line, q_col)))
                    # recovery: the quote was meant to close at the end of its line
                    joined = "".join(buf)
                    cut = joined.find("\n")
                    if cut >= 0:
                        buf = [joined[:cut]]
                continue
            if ch == "$":
                expands = True
                if text.startswith("$(", i) or text.startswith("${", i):
                    close = ")" if text[i + 1] == "(" else "}"
                    depth = 0
                    j = i
                    while j < n:
                        if text[j] in "({":
                            depth += 1
                        elif text[j] in ")}":
                            depth -= 1
                            if depth == 0 and text[j] == close:
                                break
                        j += 1
                    buf.append(text[i: j + 1])
                    advance(j + 1 - i)
                    continue
            if ch == "`":
                expands = True
                j = text.find("`", i + 1)
                j = n - 1 if j < 0 else j
                buf.append(text[i: j + 1])
                advance(j + 1 - i)
                continue
            buf.append(ch)
            advance()
        raw = text[raw_start:i]
        if raw:
            words.append(Word("".join(buf), raw, origin_at(w_line, w_col), quoted, expands, escaped_space_start))
    end_command()
    return commands


def _unbalanced(quote: str, origin: Origin) -> SyntaxProblem:
    kind = "single" if quote == "'" else "double"
    return SyntaxProblem(
        "unbalanced-quote",
        f"this {kind} quote is never closed: the shell reads everything after it, newlines included, "
        f"as one word (or waits for more input)",
        origin,
        f"close the {kind} quote ({quote}) at the end of the value it starts",
    )


def _recover_end(text: str, i: int) -> int:
    """End of the line holding an unclosed single quote (recovery for reporting)."""
    j = text.find("\n", i + 1)
    return len(text) if j < 0 else j


def references(value: str) -> List[str]:
    """Names of the $VAR / ${VAR} references in a value."""
    return [a or b for a, b in _NAME_RE.findall(value)]


def split_assignment(word: str) -> Optional[Tuple[str, str]]:
    m = _ASSIGNMENT.match(word)
    return (m.group(1), m.group(2)) if m else None
