"""Start-up stays cheap: a run imports only what it needs (issue 7), and the rule catalog stays in sync."""

import copy
import glob
import json
import os
import subprocess
import sys

from doctor import dockerconfig, engine
from tests.conftest import FIXTURES, ROOT

HEAVY = ("docker", "requests", "jsonschema", "yaml")


def _modules_after(args, cwd):
    """The top-level modules loaded when `runner-doctor ARGS` exits (run in a fresh interpreter)."""
    code = ("import sys, atexit\n"
            "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
            "from doctor.cli import main\n"
            f"sys.argv = ['runner-doctor'] + {list(args)!r}\n"
            "sys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES "))
    return {m.split(".")[0] for m in line.split()[1:]}


def test_offline_check_of_a_script_imports_no_docker_sdk_requests_jsonschema_or_yaml(tmp_path):
    start = os.path.join(FIXTURES, "docker-run", "private-images-config-mounted.sh")
    config = os.path.join(FIXTURES, "docker-config", "hub-login", "config.json")
    loaded = _modules_after(["check", "--offline", "--docker-config", config, start], tmp_path)
    assert not loaded & set(HEAVY), f"imported {sorted(loaded & set(HEAVY))}"


def test_json_format_imports_no_rich(tmp_path):
    start = os.path.join(FIXTURES, "docker-run", "private-images-config-mounted.sh")
    loaded = _modules_after(["check", "--offline", "--format", "json", start], tmp_path)
    assert "rich" not in loaded
    assert not loaded & set(HEAVY)


def test_version_and_help_import_almost_nothing(tmp_path):
    for args in (["--version"], ["--help"]):
        loaded = _modules_after(args, tmp_path)
        assert not loaded & {"rich", "dataclasses", *HEAVY}, args


def test_the_rule_catalog_is_in_sync_with_the_rule_modules():
    with open(os.path.join(ROOT, "rules", "_catalog.py"), encoding="utf-8") as fh:
        assert fh.read() == engine.catalog_source(), (
            "regenerate: python -c \"from doctor import engine; print(engine.catalog_source(), end='')\" "
            "> rules/_catalog.py")
    rules = engine.all_rules()
    assert list(engine.catalog()) == list(rules)
    for rid, info in engine.catalog().items():
        assert (info.name, info.applies_to) == (rules[rid].name, rules[rid].applies_to)


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
        except ValueError:
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
