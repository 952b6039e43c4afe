"""runner-doctor runs on Python 3.9 and later (pyproject's requires-python): syntax and regular expressions.

The test suite runs on one interpreter; what a newer one accepts and 3.9 refuses shows up only on a
runner host with an older Python. Checked here without that interpreter: the grammar of 3.9, and no
regular expression syntax that only 3.11 compiles (possessive quantifiers, atomic groups).
"""

import ast
import glob
import os
import re
import sys

import pytest

from tests.conftest import ROOT

SOURCES = sorted(glob.glob(os.path.join(ROOT, "doctor", "**", "*.py"), recursive=True)
                 + glob.glob(os.path.join(ROOT, "rules", "*.py")))
# after an unescaped quantifier, a "+" makes it possessive; "(?>" opens an atomic group (both 3.11+);
# looked for outside character classes ([-?+] is three characters) and escapes
NEWER_REGEX = re.compile(r"[*+?}]\+|\(\?>")
COMPILERS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}
CLASS_OR_ESCAPE = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]", re.S)


def _newer(pattern):
    return bool(NEWER_REGEX.search(CLASS_OR_ESCAPE.sub("_", pattern)))


def test_pyproject_says_3_9():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as fh:
        assert 'requires-python = ">=3.9"' in fh.read()


@pytest.mark.skipif(sys.version_info < (3, 9), reason="ast feature_version needs a newer parser")
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_parses_as_python_3_9(path):
    with open(path, encoding="utf-8") as fh:
        ast.parse(fh.read(), path, feature_version=(3, 9))


def _patterns(tree):
    """The constant patterns given to re.* and lazyre.compile calls (their string constants joined)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in COMPILERS \
                and isinstance(node.func.value, ast.Name) and node.func.value.id in ("re", "lazyre") and node.args:
            text = "".join(n.value for n in ast.walk(node.args[0])
                           if isinstance(n, ast.Constant) and isinstance(n.value, str))
            yield node.lineno, text


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_regular_expressions_compile_on_python_3_9(path):
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    newer = [(line, text) for line, text in _patterns(tree) if _newer(text)]
    assert not newer, f"{path}: possessive quantifiers or atomic groups (Python 3.11+): {newer}"


def test_the_check_finds_what_it_looks_for():
    tree = ast.parse('import re\nA = re.compile(r"(?:a|b)*+" r"c")\nB = lazyre.compile("(?>x)")\n'
                     'C = re.compile(r"\\++")\nD = re.match(r"(:?[-?+])[]+]*", s)\nE = re.sub(r"[^]]?+", "", s)\n')
    assert [(line, _newer(text)) for line, text in _patterns(tree)] == \
        [(2, True), (3, True), (4, False), (5, False), (6, True)]
