"""Start-up time of the command line: what a run imports but seldom uses is not loaded until it is used.

``dataclasses`` imports ``inspect`` (with ``ast``, ``dis``, ``tokenize``: ~10 ms, a sixth of a check's
start-up) only to write a docstring for a dataclass that has none; every dataclass on the way of a
check of start commands and config.json files has one (tests/test_imports.py keeps it so), so such a
run never needs ``inspect``. :func:`defer` puts a stand-in module in ``sys.modules`` that imports
the real one the first time any attribute is asked for, so a program that does use it sees no
difference. ``copy`` (with ``weakref``: ~0.8 ms), which ``dataclasses`` imports only for ``asdict`` and
``astuple``, is deferred the same way.

argparse's phrases are not translated: see :func:`_argparse_in_english`.

argparse's help formatter asks ``shutil`` for the terminal width (importing ``shutil`` costs ~3 ms
with ``zlib``, ``bz2`` and ``lzma``) each time an argument is added. :class:`ArgumentParser` gives it
the same width, found the way ``shutil.get_terminal_size`` finds it, so ``--help`` looks the same.
"""

from __future__ import annotations

import _thread
import os
import sys
import types


def _english(message):
    return message


def _english_plural(singular, plural, n):
    return singular if n == 1 else plural


def _argparse_in_english():
    """argparse, its messages untranslated: a stand-in ``gettext`` is in ``sys.modules`` while it loads.

    argparse asks gettext for each of its phrases ("usage: ", "options", ...), and gettext looks for a
    catalog on disk each time (importing ``locale`` and ``gettext``, ~2.5 ms of a check's start-up). No
    argparse catalog ships with Python, and runner-doctor's own messages are English: its usage lines
    and errors stay English too. Without effect when gettext is already loaded; the stand-in is removed
    at once, so ``import gettext`` later gives the real module.
    """
    if "argparse" in sys.modules or "gettext" in sys.modules:
        import argparse

        return argparse
    stand_in = types.ModuleType("gettext")
    stand_in.gettext, stand_in.ngettext = _english, _english_plural
    sys.modules["gettext"] = stand_in
    try:
        import argparse
    finally:
        if sys.modules.get("gettext") is stand_in:
            del sys.modules["gettext"]
    return argparse


argparse = _argparse_in_english()
DEFERRED = ("inspect", "copy")
_LOCK = _thread.RLock()  # a module imported while it loads may ask the stand-in too


class _Deferred(types.ModuleType):
    """Stands for a module until the first attribute is asked for; then that module is imported."""

    def __getattr__(self, attr: str):  # only for attributes the stand-in lacks: all until it is loaded
        with _LOCK:
            real = sys.modules.get(self.__name__)
            if real is self or real is None:
                del sys.modules[self.__name__]
                try:
                    real = __import__(self.__name__)
                except BaseException:
                    sys.modules.setdefault(self.__name__, self)
                    raise
            self.__dict__.update(real.__dict__)  # later look-ups on the stand-in find the attribute directly
        return getattr(real, attr)


def defer(names=DEFERRED) -> None:
    """Import these top-level modules only when first used (not when another module imports them)."""
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = _Deferred(name)


def help_width() -> int:
    """What argparse's HelpFormatter uses by default: ``shutil.get_terminal_size().columns - 2``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns - 2


_SIZED = {}


def _sized(formatter_class):
    """The formatter class with its width found by :func:`help_width` instead of by shutil."""
    if formatter_class not in _SIZED:
        def __init__(self, prog, indent_increment=2, max_help_position=24, width=None, **kwargs):
            formatter_class.__init__(self, prog, indent_increment, max_help_position,
                                     help_width() if width is None else width, **kwargs)

        _SIZED[formatter_class] = type(formatter_class.__name__, (formatter_class,), {"__init__": __init__})
    return _SIZED[formatter_class]


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser (and, by default, its subcommands' parsers), with :func:`help_width`."""

    def __init__(self, *args, formatter_class=argparse.HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=_sized(formatter_class), **kwargs)
