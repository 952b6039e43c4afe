"""What the command line does for its start-up time (doctor.startup, issue 7) changes nothing it shows."""

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys

import pytest

from doctor import startup
from tests.conftest import ROOT


def test_a_deferred_module_is_imported_when_first_used():
    code = ("from doctor import startup\n"
            "startup.defer()\n"
            "import dataclasses, inspect\n"
            "assert '__file__' not in vars(inspect), 'imported by dataclasses'\n"
            "@dataclasses.dataclass\n"
            "class WithoutDocstring:\n"
            "    a: int\n"
            "assert '__file__' in vars(inspect) and WithoutDocstring.__doc__ == 'WithoutDocstring(a: int)'\n"
            "from inspect import signature\n"
            "assert str(signature(WithoutDocstring)) == '(a: int) -> None' and inspect.isclass(int)\n")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("columns", [None, "100", "52", "0", "wide"])
def test_help_is_as_wide_as_argparse_makes_it(monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert startup.help_width() == shutil.get_terminal_size().columns - 2
    for formatter in (argparse.HelpFormatter, argparse.RawDescriptionHelpFormatter):
        ours = startup.ArgumentParser(prog="p", description="a description " * 20, formatter_class=formatter)
        theirs = argparse.ArgumentParser(prog="p", description="a description " * 20, formatter_class=formatter)
        for parser in (ours, theirs):
            parser.add_argument("--option", metavar="VALUE", help="what it does " * 12)
            parser.add_subparsers(dest="command").add_parser("sub", help="a subcommand " * 6)
        assert ours.format_help() == theirs.format_help()


def test_copy_is_deferred_too_and_asdict_still_copies():
    code = ("from doctor import startup\n"
            "startup.defer()\n"
            "import copy, dataclasses\n"
            "assert '__file__' not in vars(copy), 'imported by dataclasses'\n"
            "@dataclasses.dataclass\n"
            "class Box:\n"
            "    '''A box.'''\n"
            "    items: list\n"
            "box = Box([[1]])\n"
            "plain = dataclasses.asdict(box)\n"
            "assert plain == {'items': [[1]]} and plain['items'][0] is not box.items[0]\n"
            "assert '__file__' in vars(copy) and copy.deepcopy([1]) == [1]\n")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def _twins(frozen):
    """The same dataclass twice: as @dataclass generates it, and on doctor.record's base."""
    from doctor.record import FrozenRecord, Record

    def body():
        return {"__annotations__": {"a": "int", "b": "object", "hidden": "str", "ignored": "int"},
                "b": None, "hidden": dataclasses.field(default="s", repr=False),
                "ignored": dataclasses.field(default=0, compare=False), "__doc__": "A twin."}

    generated = dataclasses.dataclass(frozen=frozen)(type("Twin", (), body()))
    base = FrozenRecord if frozen else Record
    ours = dataclasses.dataclass(frozen=frozen, eq=False, repr=False)(type("Twin", (base,), body()))
    return generated, ours


@pytest.mark.parametrize("frozen", [False, True])
def test_a_record_compares_hashes_and_prints_as_a_generated_dataclass(frozen):
    generated, ours = _twins(frozen)
    assert dataclasses.is_dataclass(ours) and [f.name for f in dataclasses.fields(ours)] == ["a", "b", "hidden",
                                                                                              "ignored"]
    samples = [(1,), (1, "x"), (1, "x", "t"), (1, "x", "s", 5), (2, [1, (2, None)]), (float("nan"),)]
    for args in samples:
        g, o = generated(*args), ours(*args)
        assert repr(g) == repr(o)
        for other in samples:
            assert (g == generated(*other)) == (o == ours(*other)), (args, other)
            assert (g != generated(*other)) == (o != ours(*other)), (args, other)
        assert (g == args) == (o == args) and o.__eq__(args) is NotImplemented
        if frozen and args[1:2] != ([1, (2, None)],):
            assert hash(g) == hash(o)
        elif not frozen:
            with pytest.raises(TypeError):
                hash(o)
            assert generated.__hash__ is None and ours.__hash__ is None
    g, o = generated(1), ours(1)
    if not frozen:  # an object that holds itself prints as ... where it is met again
        g.b, o.b = [g], [o]
        assert repr(g) == repr(o) == "Twin(a=1, b=[...], ignored=0)"
    else:
        with pytest.raises(dataclasses.FrozenInstanceError):
            o.a = 2


def test_a_record_holding_an_unhashable_value_is_unhashable_as_a_generated_one():
    generated, ours = _twins(frozen=True)
    for cls in (generated, ours):
        with pytest.raises(TypeError):
            hash(cls(1, [1]))


def test_a_check_run_builds_only_the_check_command_and_says_the_same():
    from doctor import cli

    def check_parser(parser):
        return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["check"]

    full, only = cli.build_parser(), cli.build_parser("check")
    assert sorted(next(a for a in only._actions if isinstance(a, argparse._SubParsersAction)).choices) == ["check"]
    assert check_parser(full).format_help() == check_parser(only).format_help()
    assert check_parser(full).format_usage() == check_parser(only).format_usage()
    for argv in (["check", "--offline", "x.sh"], ["check", "--format", "json", "--select", "RD1", "-"]):
        assert vars(full.parse_args(argv)) == vars(only.parse_args(argv))


def test_argparse_speaks_english_without_gettext_and_gettext_stays_real():
    show = ("from doctor import cli\n"
            "parser = cli.build_parser()\n"
            "print(parser.format_help())\n"
            "print(cli.build_parser('check').format_help())\n"
            "try:\n"
            "    parser.parse_args(['check', '--timeout'])\n"
            "except SystemExit:\n"
            "    pass\n")
    ours = ("import sys\n" + show +
            "assert 'gettext' not in sys.modules and 'locale' not in sys.modules\n"
            "import argparse, gettext\n"
            "assert hasattr(gettext, 'translation') and argparse._ is not gettext.gettext\n")
    theirs = "import gettext, argparse\nassert argparse._ is gettext.gettext\n" + show
    env = {**os.environ, "PYTHONPATH": ROOT, "COLUMNS": "90", "LANG": "C.UTF-8"}
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
            for code in (ours, theirs)]
    assert [p.returncode for p in runs] == [0, 0], [p.stderr for p in runs]
    assert runs[0].stdout == runs[1].stdout and "usage: runner-doctor" in runs[0].stdout
    assert runs[0].stderr == runs[1].stderr and "expected one argument" in runs[0].stderr
