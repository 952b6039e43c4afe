"""Start-up stays cheap: a run imports only what it needs (issue 7), and the rule catalog stays in sync.

What the benchmark (bench/run.py) gained is kept here as what a run may import: timings are noisy, the
list of modules is not.
"""

import copy
import glob
import json
import os
import pty
import subprocess
import sys
import threading

from doctor import dockerconfig, engine
from doctor.rulebase import Context
from tests.conftest import FIXTURES, ROOT

HEAVY = ("docker", "requests", "jsonschema", "yaml")
START = os.path.join(FIXTURES, "docker-run", "private-images-config-mounted.sh")
CONFIG = os.path.join(FIXTURES, "docker-config", "hub-login", "config.json")


def _modules_after(args, cwd, env=None, terminal=False):
    """The modules loaded when `runner-doctor ARGS` exits (a fresh interpreter, output to a pipe or to a
    pseudo-terminal). ``inspect`` counts only when it was really imported, not its stand-in (doctor.startup)."""
    code = ("import sys, atexit\n"
            "def report():  # a stand-in (doctor.startup) has no __file__ until the module is imported\n"
            "    names = [m for m, mod in sys.modules.items() if m != 'inspect' or '__file__' in vars(mod)]\n"
            "    sys.__stderr__.write('\\nMODULES ' + ' '.join(sorted(names)) + '\\n')\n"
            "atexit.register(report)\n"
            "from doctor.cli import main\n"
            f"sys.argv = ['runner-doctor'] + {list(args)!r}\n"
            "sys.exit(main())\n")
    full_env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    full_env.update({"PYTHONPATH": ROOT, **(env or {})})
    if terminal:
        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                stdout=slave, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        shown = []
        reader = threading.Thread(target=_drain, args=(master, shown), daemon=True)
        reader.start()
        try:
            _out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            reader.join(10)
            os.close(master)
        assert b"\x1b[" in b"".join(shown), "the report on a terminal has colours"
    else:
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        err = proc.stderr
    assert proc.returncode in (0, 1), err
    line = next(ln for ln in err.splitlines() if ln.startswith("MODULES "))
    return set(line.split()[1:])


def _drain(fd, into):
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            into.append(chunk)
    except OSError:  # the terminal closed with the process
        return


def _top(modules):
    return {m.split(".")[0] for m in modules}


def _not_needed_offline(modules):
    """Modules an offline check of files must not import: the heavy libraries, the registry stage, the
    bundle's reader and writer (their command-line part is the package itself), the live stage."""
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(("doctor.registry", "doctor.live"))
                  or m.startswith("doctor.bundle."))


def test_offline_check_of_a_script_imports_only_what_it_needs(tmp_path):
    loaded = _modules_after(["check", "--offline", "--docker-config", CONFIG, START], tmp_path)
    assert not _not_needed_offline(loaded)
    # the report goes to a pipe: written without rich (doctor.reporters.layout)
    assert "rich" not in _top(loaded)
    # dataclasses' inspect (every dataclass on the way has a docstring), argparse's shutil (its help width)
    assert not {"inspect", "shutil"} & loaded, "give the new dataclass a docstring" if "inspect" in loaded else ""
    # difflib is imported where a suggestion is made
    assert "difflib" not in loaded
    # argparse's phrases in English without gettext's catalog search (doctor.startup)
    assert not {"gettext", "locale"} & loaded
    # the other commands' parsers (and the modules that make them) are built only for their own run or --help
    assert not {"doctor.fix", "doctor.bundle"} & loaded
    # rules that are skipped offline are reported from the catalog, without their modules
    assert not {"doctor.rules.rd402_image_pullable", "doctor.rules.rd403_not_local_only"} & loaded


def test_json_format_imports_no_rich(tmp_path):
    loaded = _modules_after(["check", "--offline", "--format", "json", START], tmp_path)
    assert "rich" not in _top(loaded)
    # typing's names are imported for type checkers only (`if TYPE_CHECKING:`) on the way of a JSON report
    assert "typing" not in loaded, "import typing's names under `if TYPE_CHECKING:`"
    assert not _not_needed_offline(loaded)


def test_the_report_on_a_terminal_imports_no_rich(tmp_path):
    loaded = _modules_after(["check", "--offline", START], tmp_path, env={"TERM": "xterm-256color"}, terminal=True)
    assert "rich" not in _top(loaded)


def test_rich_writes_the_report_where_only_it_knows_what_to_write(tmp_path):
    loaded = _modules_after(["check", "--offline", START], tmp_path, env={"FORCE_COLOR": "1"})
    assert "rich.table" in loaded


def test_version_and_help_import_almost_nothing(tmp_path):
    for args in (["--version"], ["--help"]):
        loaded = _top(_modules_after(args, tmp_path))
        assert not loaded & {"rich", "dataclasses", "shutil", *HEAVY}, args


def test_a_deferred_rule_reports_what_the_rule_itself_reports():
    """engine.load(deferred=True) (the command line) and the rules themselves give the same findings."""
    from doctor.inputs import load_targets
    from doctor.inputs.common import LoadOptions

    paths = sorted(glob.glob(os.path.join(FIXTURES, "docker-run", "*.sh")) +
                   glob.glob(os.path.join(FIXTURES, "env", "*.sh")))
    subjects = load_targets(paths + [CONFIG], LoadOptions())
    selected = engine.selected()
    for ctx in (Context(offline=True), Context()):
        assert engine.run(subjects, engine.load(selected, deferred=True), ctx) == \
            engine.run(subjects, engine.load(selected), ctx)
    deferred = engine.load(selected, deferred=True)
    assert [(r.id, r.name, r.severity, r.applies_to, r.docs_url, r.summary) for r in deferred] == \
        [(r.id, r.name, r.severity, r.applies_to, r.docs_url, r.summary) for r in engine.all_rules().values()]


def test_the_rule_catalog_is_in_sync_with_the_rule_modules():
    with open(os.path.join(ROOT, "rules", "_catalog.py"), encoding="utf-8") as fh:
        assert fh.read() == engine.catalog_source(), (
            "regenerate: python -c \"from doctor import engine; print(engine.catalog_source(), end='')\" "
            "> rules/_catalog.py")
    rules = engine.all_rules()
    assert list(engine.catalog()) == list(rules)
    for rid, info in engine.catalog().items():
        rule = rules[rid]
        assert (info.name, info.applies_to, info.severity, info.docker_only, info.needs) == \
            (rule.name, rule.applies_to, rule.severity.value, rule.docker_only, tuple(sorted(rule.needs)))


def test_loading_by_subject_kind_keeps_every_applicable_rule_in_order():
    selected = engine.selected()
    everything = engine.load(selected)
    assert everything == list(engine.all_rules().values())
    for kinds in ({"runner"}, {"docker-config"}, {"host"}, {"runner", "pipeline-step"}, set()):
        assert engine.load(selected, kinds) == [r for r in everything if kinds & set(r.applies_to)]
    assert [r.id for r in engine.select_rules(["RD1", "docker-config-valid"], ["RD101"])] == \
        ["RD102", "RD103", "RD104", "RD301"]


def test_the_quick_schema_check_never_passes_a_config_that_jsonschema_rejects():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(dockerconfig.load_schema())
    samples = []
    for path in glob.glob(os.path.join(ROOT, "fixtures", "**", "*.json"), recursive=True):
        try:
            with open(path, encoding="utf-8") as fh:
                samples.append(json.load(fh))
        except (ValueError, RecursionError):  # not JSON, or nested too deep for json (fixtures/nasty)
            continue
    odd = [None, 1, 1.5, True, "s", [], ["a", None], [1], {}, {"a": "b"}, {"auth": 3}, {"r": {"auth": 1}},
           {"default": {"httpProxy": 1}}, {"p": {"k": 1}}]
    for base in [s for s in samples if isinstance(s, dict)] + [{}]:
        for key in ("auths", "AUTHS", "credsStore", "credHelpers", "proxies", "plugins", "psFormat",
                    "pruneFilters", "unknownKey"):
            for value in odd:
                data = copy.deepcopy(base)
                data[key] = value
                valid = not list(validator.iter_errors(data))
                assert dockerconfig._conforms(data, dockerconfig.load_schema()) == valid, (key, value)
