"""The rich report written without rich (doctor.reporters.layout) is what rich writes, byte for byte.

Where layout can do exactly what rich would do, it writes the report instead of rich (start-up time,
issue 7). These tests write the same reports both ways - every fixture, many widths, with colours and
without, and made-up findings that wrap, fold, span lines and are suppressed.
"""

import glob
import io
import os
import random

import pytest
from rich.console import Console
from rich.table import Table
from rich.text import Span, Text

from doctor import engine, suppress
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.model import Finding, InputError, Origin, Severity, Status, Subject
from doctor.redact import Redactor, collect_secrets
from doctor.reporters import layout, rich_report
from doctor.reporters.layout import Styled
from doctor.rulebase import Context
from tests.conftest import FIXTURES, ROOT

WIDTHS = (40, 63, 80, 133)
# (terminal, colour, rich's colour system): a pipe or file; a terminal (any colour system: the same codes); NO_COLOR
MODES = ((False, False, None), (True, True, "standard"), (True, True, "truecolor"), (True, False, "256"))


class _Output(io.StringIO):
    def __init__(self, encoding="utf-8", tty=False):
        super().__init__()
        self._encoding, self._tty = encoding, tty

    @property
    def encoding(self):  # what the report reads to choose its marks
        return self._encoding

    def isatty(self):
        return self._tty


def _rich_console(out, width, terminal=False, colour=False, system=None):
    return Console(file=out, width=width, highlight=False, soft_wrap=False, force_terminal=terminal,
                   color_system=system if terminal else None, no_color=terminal and not colour)


def _both(subjects, findings, redact, width, notes=(), encoding="utf-8", mode=MODES[0]):
    out = _Output(encoding)
    rich_report.render(subjects, findings, redact, _rich_console(out, width, *mode), notes)
    ours = rich_report.render_layout(subjects, findings, redact, layout.Console(width, mode[0], mode[1]),
                                     encoding == "utf-8", notes)
    return ours, out.getvalue()


def _checked(paths):
    subjects = load_targets(paths, LoadOptions())
    findings = engine.run(subjects, engine.load(engine.selected(), deferred=True), Context(offline=True))
    findings += suppress.apply_to_targets(paths, None, subjects, findings, engine.selected())
    return subjects, findings, Redactor(collect_secrets(subjects))


def _fixtures():
    paths = sorted(p for p in glob.glob(os.path.join(FIXTURES, "**", "*"), recursive=True) if os.path.isfile(p))
    return paths + sorted(glob.glob(os.path.join(ROOT, "examples", "*")))


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: os.path.relpath(p, ROOT))
def test_every_fixture_reads_the_same_as_rich_writes_it(path):
    try:
        subjects, findings, redact = _checked([path])
    except InputError:
        return
    notes = ["1 known finding hidden by the baseline .runner-doctor-baseline.json"]
    for width, encoding, mode in [(w, "utf-8", MODES[0]) for w in WIDTHS] + [(80, "ascii", MODES[0])] + \
            [(100, "utf-8", m) for m in MODES[1:]]:
        ours, theirs = _both(subjects, findings, redact, width, notes, encoding, mode)
        if ours is not None:  # else characters only rich measures (wide, combining, control): rich writes it
            assert ours == theirs, (width, encoding, mode)
        elif "/docker-run/" in path or "/examples/" in path:
            pytest.fail(f"layout left a plain start command to rich ({width}, {encoding}, {mode})")


def test_many_subjects_at_once():
    paths = sorted(glob.glob(os.path.join(FIXTURES, "docker-run", "*.sh")))
    subjects, findings, redact = _checked(paths)
    for width, mode in ((80, MODES[0]), (120, MODES[1])):
        ours, theirs = _both(subjects, findings, redact, width, mode=mode)
        assert ours == theirs


def _words(rnd, n):
    alphabet = "abcdefghij-/.:=${}()'\"0123456789"
    words = []
    for _ in range(n):
        size = rnd.choice([1, 2, 3, 5, 8, 13, 30, 75, 140])
        words.append("".join(rnd.choice(alphabet) for _ in range(size)))
    seps = [" ", "  ", "\n", " \n", "\n\n", "   "]
    return "".join(w + rnd.choice(seps) for w in words).rstrip(rnd.choice(["", " \n"]))


def test_made_up_findings_wrap_and_fold_as_rich_does():
    rnd = random.Random(7)
    subject = Subject("deploy.sh:3", "docker-config", "deploy.sh", 3, "docker run at deploy.sh:3:1 " + "x" * 90)
    for _round in range(60):
        findings = []
        for n in range(rnd.randint(1, 8)):
            findings.append(Finding(
                f"RD{rnd.randint(100, 999)}", rnd.choice(["docker-socket", "a", "n" * 40]), rnd.choice(list(Status)),
                Severity.ERROR, subject.id, _words(rnd, rnd.randint(0, 30)), _words(rnd, rnd.randint(0, 12)),
                rnd.choice([Origin(), Origin("deploy.sh", 4, 7), Origin("/very/long/" + "p" * 120, 9)]),
                rnd.choice(["", _words(rnd, 5)]), "",
                suppressed=rnd.choice([None, "rotated by the vault agent", ""]),
                suppressed_until=rnd.choice([None, "2027-03-01"])))
            if rnd.random() < 0.3:  # adjacent skips with one reason are folded into one row
                findings.append(Finding("RD60" + str(n), "k", Status.SKIP, Severity.ERROR, subject.id, "same reason"))
                findings.append(Finding("RD61" + str(n), "k", Status.SKIP, Severity.ERROR, subject.id, "same reason"))
        width = rnd.choice(WIDTHS + (41, 47, 58, 79, 81, 99, 200))
        ours, theirs = _both([subject], findings, Redactor(["vault"]), width, mode=rnd.choice(MODES))
        assert ours == theirs, width


def _styled(rnd):
    text = _words(rnd, rnd.randint(0, 12))
    spans = []
    for _ in range(rnd.randint(0, 4)):
        a = rnd.randint(0, len(text))
        spans.append((a, rnd.randint(a, len(text)), rnd.choice(["bold", "dim", "cyan", "bold red", "green"])))
    return Styled(text, rnd.choice(["", "dim", "bold green"]), tuple(spans))


def _rich_text(st):
    return Text(st.text, style=st.style, spans=[Span(*s) for s in st.spans])


def test_text_wraps_as_rich_wraps_it():
    rnd = random.Random(3)
    console = Console(file=io.StringIO(), width=200)
    for _ in range(1500):
        st = _styled(rnd)
        width = rnd.randint(1, 60)
        for overflow, justify, no_wrap in (("fold", "default", False), ("fold", "left", False),
                                           ("ellipsis", "left", True), ("crop", "left", False)):
            expected = [(line.plain, line.style, [tuple(s) for s in line.spans]) for line in
                        _rich_text(st).wrap(console, width, justify=justify, overflow=overflow, no_wrap=no_wrap)]
            got = [(line.text, line.style, list(line.spans)) for line in
                   layout.wrap(st, width, overflow, justify, no_wrap)]
            assert got == expected, (st, width, overflow)


def test_lines_and_tables_are_written_as_rich_writes_them():
    rnd = random.Random(5)
    columns = (layout.Column(width=2, no_wrap=True), layout.Column(no_wrap=True, style="dim"),
               layout.Column(overflow="fold"))
    for _ in range(300):
        rows = [(Styled(rnd.choice(["✓", "ok", "!"]), rnd.choice(["green", "bold red", ""])),
                 rnd.choice(["RD101", "skip", "RD9"]), _styled(rnd)) for _ in range(rnd.randint(1, 5))]
        width = rnd.randint(layout.MIN_WIDTH, 160)
        terminal, colour, system = rnd.choice(MODES)
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1), expand=False)
        table.add_column(width=2, no_wrap=True)
        table.add_column(no_wrap=True, style="dim")
        table.add_column(overflow="fold")
        for mark, rule, detail in rows:
            table.add_row(_rich_text(mark), rule, _rich_text(detail))
        out = io.StringIO()
        console = _rich_console(out, width, terminal, colour, system)
        console.print(table)
        console.print(_rich_text(rows[0][2]))
        ours = layout.Console(width, terminal, colour)
        assert layout.table([(m, Styled(r), d) for m, r, d in rows], columns, ours) + \
            layout.print_text(rows[0][2], ours) == out.getvalue(), (rows, width)


@pytest.mark.parametrize("env, tty, expected", [
    ({}, False, (80, False, False)), ({"COLUMNS": "120"}, False, (120, False, False)),
    ({"COLUMNS": "x"}, False, (80, False, False)), ({"COLUMNS": "12"}, False, None),
    ({"FORCE_COLOR": "1"}, False, None), ({"FORCE_COLOR": ""}, False, None), ({"TTY_COMPATIBLE": "1"}, False, None),
    ({"TERM": "xterm-256color"}, True, (80, True, True)), ({"COLORTERM": "truecolor"}, True, (80, True, True)),
    ({"NO_COLOR": "1"}, True, (80, True, False)), ({"NO_COLOR": ""}, True, (80, True, True)),
    ({"TERM": "dumb"}, True, None), ({"COLUMNS": "100", "TERM": "linux"}, True, (100, True, True)),
])
def test_the_console_is_the_one_rich_would_make(monkeypatch, env, tty, expected):
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "TERM", "COLORTERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: (_ for _ in ()).throw(OSError("not a terminal")))
    out = _Output(tty=tty)
    assert layout.console_for(out) == (None if expected is None else layout.Console(*expected))
    if expected is not None:  # rich makes the same choice
        console = Console(file=out)
        assert (console.width, console.is_terminal, console.is_terminal and not console.no_color) == expected
        assert console.color_system is None or console.color_system in ("standard", "256", "truecolor")
    assert layout.console_for(out, 100, no_color=True) in (None, layout.Console(100, tty, False))
