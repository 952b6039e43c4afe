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


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Word(Record):
    """One shell word: its text after quote removal, as written, and where it starts."""

    text: str  # after quote removal
    raw: str  # as written (quotes included)
    origin: Origin
    quoted: bool = False
    expands: bool = False  # contains a $VAR / ${VAR} / $(...) outside single quotes
    escaped_space_start: bool = False  # begins with a backslash-escaped blank

    def __init__(self, text, raw, origin, quoted=False, expands=False, escaped_space_start=False):
        self.text = text
        self.raw = raw
        self.origin = origin
        self.quoted = quoted
        self.expands = expands
        self.escaped_space_start = escaped_space_start

    def __str__(self) -> str:
        return self.text


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Command(Record):
    """One simple command: its words, and what in it does not mean what it looks like."""

    words: List[Word]
    problems: List[SyntaxProblem] = field(default_factory=list)

    def __init__(self, words, problems=None):
        self.words = words
        self.problems = [] if problems is None else problems

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
_PLAIN = re.compile(r"[^ \t\r\n\\'\"$`;&|]+")  # in a word: up to a blank, quote, escape, $, ` or operator
_PLAIN_QUOTED = re.compile(r'[^"\\$]+')  # in double quotes: up to the closing quote, an escape or a $
_BROKEN_CONTINUATION = re.compile(r"\\([ \t]+)(\r?\n|$)")  # a backslash, blanks, the end of the line
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
# The common tokens, each taken whole by one match in C (issue 7: a character loop with a regular
# expression per run cost ~80 ms of a 1,000-file batch, this ~40 ms): the blanks and line continuations
# before the token, then the token. A plain word is a run of _PLAIN characters, not starting with "(",
# ")" or "#", up to a blank, the end of the line or an operator; a quoted word may also hold "..."
# (without a backslash), '...' and a $ not starting ${ or $(, all on one line (_unquoted reads it).
# The operators are _OPERATORS, longest first. The end of a line takes the comment before it and the
# blank and comment lines after it: they end no more than the first newline does (~10 fewer tokens a
# script). Anything else (an escape, ${...}, $(...), `...`, a quote that is not closed on its line, a
# "(" or ")" starting a word, a backslash followed by blanks) matches as nothing after the blanks: the
# loop after the match reads it, a character at a time, as before. So the expression matches wherever
# it starts. No possessive quantifiers (Python 3.11+; runner-doctor runs on 3.9): each branch's
# characters cannot end it early (a plain word's class excludes what its look-ahead wants; a quoted
# word's items begin with different characters), so backtracking finds no other match, only fails
# sooner or later on the way to branch 6.
_TOKEN = re.compile(r"""
    (?:[ \t\r]|\\\r?\n)*                                           # blanks, continuations
    (?: ([^ \t\r\n\\'"$`;&|()\#][^ \t\r\n\\'"$`;&|]*)(?=[ \t\r\n;&|]|\Z)  # 1: a plain word
      | ((?:\#[^\n]*)?\n(?:[ \t\r]*(?:\#[^\n]*)?\n)*)               # 2: the end of a line (or more)
      | (\#[^\n]*)                                                 # 3: a comment on the last line
      | (&&|\|\||;;|\|&|[;&|])                                      # 4: an operator: the command ends
      | ((?![()\#])(?:[^ \t\r\n\\'"$`;&|]|\$(?![({])|"[^"\\\n]*"|'[^'\n]*')+)(?=[ \t\r\n;&|]|\Z)
                                                                   # 5: a quoted word
      | ()                                                         # 6: something else (or the end)
    )""", re.X)
_WORD, _NEWLINES, _COMMENT, _OPERATOR, _QUOTED_WORD = 1, 2, 3, 4, 5
_PIECE = re.compile(r"""'([^']*)'|"([^"]*)"|[^'"]+""")  # of a quoted word: '...', "..." or neither


def _unquoted(raw: str) -> Tuple[str, bool]:
    """A quoted word's text (its quotes removed) and whether it expands (a $ outside single quotes)."""
    parts = []
    expands = False
    for m in _PIECE.finditer(raw):
        single = m.group(1)
        if single is not None:
            parts.append(single)
            continue
        piece = m.group(2)
        if piece is None:
            piece = m.group()
        expands = expands or "$" in piece
        parts.append(piece)
    return "".join(parts), expands


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
    token = _TOKEN.match
    # no function in here: its variables stay plain locals, not the cells a closure shares (issue 7)
    while i < n:
        m = token(text, i)
        kind = m.lastindex
        start, end = m.span(kind)
        if start - i > 1 and text.find("\n", i, start) >= 0:  # a line continuation before the token
            line += text.count("\n", i, start)
            col = start - text.rfind("\n", i, start)
        else:
            col += start - i
        i = end
        if kind == _WORD:
            raw = text[start:end]
            words.append(Word(raw, raw, Origin(path, line, col)))
            col += end - start
        elif kind == _QUOTED_WORD:
            raw = text[start:end]
            unquoted, expands = _unquoted(raw)
            words.append(Word(unquoted, raw, Origin(path, line, col), "'" in raw or '"' in raw, expands))
            col += end - start
        elif kind == _NEWLINES or kind == _OPERATOR:  # the command ends
            if kind == _NEWLINES:
                line += text.count("\n", start, end)
                col = 1
            else:
                col += end - start
            _end_command(commands, words, problems)
            words = []
            problems = []
        elif kind == _COMMENT:
            col += end - start
        elif i < n:  # (at the end: blanks only)
            i, line, col = _read_other(text, i, line, col, path, words, problems)
    _end_command(commands, words, problems)
    return commands


def _end_command(commands: List[Command], words: List[Word], problems: List[SyntaxProblem]) -> None:
    """The words read since the last command end are a command; problems without words go to the one before."""
    if words:
        commands.append(Command(words, problems))
    elif problems and commands:
        commands[-1].problems.extend(problems)


def _read_other(text: str, i: int, line: int, col: int, path: Optional[str], words: List[Word],
                problems: List[SyntaxProblem]) -> Tuple[int, int, int]:
    """Read what _TOKEN does not take, a character at a time, from text[i] at (line, col): a "(" or ")"
    before a command, a backslash and blanks at the end of a line, a word with an escape or expansion
    or with quotes over lines. Adds the word and the problems found; returns the new i, line and col."""
    n = len(text)

    def origin_at(ln: int, cl: int) -> Origin:
        return Origin(path, ln, cl)

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

    ch = text[i]
    if ch in "()" and not words:
        advance()
        return i, line, col
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
            return i, line, col
        if text.startswith("\\\n", i) or text.startswith("\\\r\n", i):
            advance(2 if text[i + 1] == "\n" else 3)
            return i, line, col
    # a word with a quote, escape or expansion (or one that starts with "(" or ")")
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
    return i, line, col


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
