"""The word splitter takes its common tokens with one regular expression (issue 7); it must split every
text exactly as the character loop before it did: every word (text, raw, origin, flags), every
SyntaxProblem (code, message, origin, fix), every command boundary.

``old_split_commands`` below is a copy of ``split_commands`` from doctor/inputs/shellwords.py as it was
before that change, kept here (only) as the reference. The texts: every file under fixtures/, generated
runner scripts like the benchmark's, random soups of shell pieces, and the property tests' strategies.
Both paths of the new splitter run on them: the one-regular-expression tokens and the loop that reads
the rest (quotes, escapes, expansions, broken continuations, a "(" before a command).
"""

from __future__ import annotations

import os
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doctor.inputs.shellwords import (_QUOTED_WORD, _TOKEN, _WORD, Command, Word, _recover_end, _unbalanced,
                                     split_commands)
from doctor.model import Origin, SyntaxProblem
from tests.conftest import FIXTURES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional


def _shape(commands):
    """Everything a command holds, in plain values, so that a difference shows where it is."""
    def origin(o):
        return (o.path, o.line, o.column)
    return [([(w.text, w.raw, origin(w.origin), w.quoted, w.expands, w.escaped_space_start) for w in c.words],
             [(p.code, p.message, origin(p.origin), p.fix) for p in c.problems]) for c in commands]


def _same(text, path="t.sh", line=1, column=1):
    new = split_commands(text, path, line, column)
    assert _shape(new) == _shape(old_split_commands(text, path, line, column)), text
    return new


def _fixture_texts():
    for folder, _dirs, names in sorted(os.walk(FIXTURES)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                data = fh.read()
            try:
                yield os.path.relpath(path, FIXTURES), data.decode("utf-8")
            except UnicodeDecodeError:
                continue


def test_every_fixture_splits_as_before():
    checked = 0
    for name, text in _fixture_texts():
        checked += sum(len(c.words) for c in _same(text, name))
        checked += sum(len(c.words) for c in _same(text.replace("\n", "\r\n"), name, 7, 12))
    assert checked > 5000


_PIECES = ["docker", "run", "container", "-d", "--restart", "unless-stopped", "-v", "/tmp:/tmp", "-e",
           "ACCOUNT_UUID={6513270e-269e-4d37}", "OAUTH_CLIENT_SECRET=\"$OAUTH_CLIENT_SECRET\"", "--env-file",
           "/etc/r.env", "--name", "runner-1", "bitbucket-pipelines-runner:1", "# a comment", "#", "a#b", " ", "  ",
           "\t", "\n", "\n\n", "\\\n", " \\\n  ", "\\\r\n", "\\ \n", "\\ ", "\\", "'q w'", "'open",
           '"d $X \\" e"', '"open', '"multi\nline"', "$V", "${V:-x}", "$(date)", "`id`", ";", ";;", "&&", "&", "|",
           "||", "|&", "(", ")", "(cd", "x)", "{", "}", "é", "€", "a=b", "\r", "\r\n", "=", "-", "--",
           '"a b"', "'c d'", '"$X"', "$", '$"', "$'", "'\"'", "\"'\"", '""', "''", '"x\\y"', "'x\\y'",
           '"it\'s"', "a\"b\"c'd'e", "${X}", '"${Z}"', '"$(y)"', '"`z`"', "'a\nb'", '"a\nb"']


def test_generated_scripts_split_as_before():
    rnd = random.Random(7)
    checked = 0
    for _ in range(3000):
        text = "".join(rnd.choice(_PIECES) + rnd.choice(["", " ", " ", "\n", " \\\n  "])
                       for _ in range(rnd.randint(1, 40)))
        checked += sum(len(c.words) for c in _same(text))
    assert checked > 20000


def test_both_paths_are_taken_and_agree():
    """A plain word through the regular expression, the same word after a "(" through the loop."""
    fast = _same("docker run -v /a:/b img # c\nnext")
    assert [w.text for w in fast[0].words] == ["docker", "run", "-v", "/a:/b", "img"]
    assert [(w.text, w.origin.column) for w in fast[1].words] == [("next", 1)]
    slow = _same("(docker run \\ \n -v '/a:/b' img)")
    assert [(w.text, w.origin.line, w.origin.column) for w in slow[0].words] == [
        ("docker", 1, 2), ("run", 1, 9), ("-v", 2, 2), ("/a:/b", 2, 5), ("img)", 2, 13)]
    assert [(p.code, p.origin.column) for p in slow[0].problems] == [("broken-continuation", 13)]
    mixed = _same("echo (x) \\\n  'y' z", "u.sh", 3, 10)
    assert [(w.text, w.origin.line, w.origin.column) for w in mixed[0].words] == [
        ("echo", 3, 10), ("(x)", 3, 15), ("y", 4, 3), ("z", 4, 7)]


def test_quoted_words_on_both_paths():
    """Quotes closed on their line, without an escape: the regular expression; else the loop."""
    assert [_TOKEN.match(w).lastindex for w in ("x", " 'A=b c'", '"B=$X y"', "$V")] == [_WORD] + [_QUOTED_WORD] * 3
    slow_kinds = {_TOKEN.match(w).lastindex for w in ('"a\\"b"', "'x\ny'", "$(id)", "${V}", "`id`")}
    assert not slow_kinds & {_WORD, _QUOTED_WORD}
    fast = _same("""run -e 'A=b c' -e "B=$X y" C='it"s'"$Z" $V""")[0].words
    assert [(w.text, w.quoted, w.expands, w.origin.column) for w in fast] == [
        ("run", False, False, 1), ("-e", False, False, 5), ("A=b c", True, False, 8), ("-e", False, False, 16),
        ("B=$X y", True, True, 19), ('C=it"s$Z', True, True, 28), ("$V", False, True, 41)]
    slow = _same("""run "a\\"b" 'x\ny' "$(id)" ${V}""")[0].words
    assert [(w.text, w.quoted, w.expands, w.origin.line, w.origin.column) for w in slow] == [
        ("run", False, False, 1, 1), ('a"b', True, False, 1, 5), ("x\ny", True, False, 1, 12),
        ("$(id)", True, True, 2, 4), ("${V}", False, True, 2, 12)]


@pytest.mark.parametrize("column", [1, 9])
def test_blanks_and_continuations_before_a_word_count_lines_and_columns(column):
    words = _same(" \t\\\n\\\r\n   a  \\\n b\r c", "t", 5, column)[0].words
    assert [(w.text, w.origin.line, w.origin.column) for w in words] == [("a", 7, 4), ("b", 8, 2), ("c", 8, 5)]


_SHELL_CHARS = " \t\n\r\\'\"$`#;&|(){}[]<>-=:/.,~*!?%@^+abcXYZ019é€\u2028\x0b"


@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
       | st.text(_SHELL_CHARS, max_size=200)
       | st.lists(st.sampled_from(_PIECES) | st.text(_SHELL_CHARS, max_size=6), max_size=60).map("".join))
def test_any_text_splits_as_before(text):
    _same(text)


# ---------------------------------------------------------------- the splitter before issue 7's third pass

_OPERATORS = ("&&", "||", ";;", "|&", ";", "&", "|")
_OPERATOR_STARTS = frozenset(o[0] for o in _OPERATORS)  # a cheap test before the startswith calls
# Runs of characters the splitter takes as they are, a run at a time instead of a character at a time
# (no newline in any of them, except inside double quotes, where advance() counts the lines):
_BLANKS = re.compile(r"[ \t\r]+")
_PLAIN = re.compile(r"[^ \t\r\n\\'\"$`;&|]+")  # in a word: up to a blank, quote, escape, $, ` or operator
_PLAIN_QUOTED = re.compile(r'[^"\\$]+')  # in double quotes: up to the closing quote, an escape or a $
_SIMPLE_WORD = re.compile(_PLAIN.pattern + r"(?=[ \t\r\n;&|]|\Z)")  # a whole word of plain characters
_BROKEN_CONTINUATION = re.compile(r"\\([ \t]+)(\r?\n|$)")  # a backslash, blanks, the end of the line


def old_split_commands(text: str, path: Optional[str] = None, start_line: int = 1,
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
