"""What the command line does for its start-up time (doctor.startup, issue 7) changes nothing it shows."""

import argparse
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
