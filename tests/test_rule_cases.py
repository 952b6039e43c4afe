"""Fixture-driven rule tests (in the spirit of sqlfluff's per-rule YAML cases).

Each ``tests/rule_cases/RDxxx.yaml`` lists realistic input files under
``fixtures/`` and the status the rule must give them::

    rule: RD101
    cases:
      - name: the socket mounted as in the Bitbucket dialog
        target: fixtures/docker-run/dialog.sh   # or targets: [a, b]
        docker_config: fixtures/...             # optional, as --docker-config
        expect: pass                            # pass | warn | fail | skip
        subject: 0                              # optional: only this runner subject (index)
        message: "substring"                    # optional: in one finding's message (case-insensitive)

The status compared is the worst one the rule gives the subject (error > fail >
warn > pass > skip). Every case runs through the API and through the CLI
(``--format json``), and every rule must have a passing and a failing case.
"""

import glob
import json
import os

import pytest
import yaml

from doctor import api, engine
from tests.conftest import ROOT, run_cli

ORDER = {"skip": 0, "pass": 1, "warn": 2, "fail": 3, "error": 4}
CASE_FILES = sorted(glob.glob(os.path.join(ROOT, "tests", "rule_cases", "RD*.yaml")))


def _load():
    cases = []
    for path in CASE_FILES:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
        for case in doc["cases"]:
            cases.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}-{case['name']}"))
    return cases


CASES = _load()


def _targets(case):
    targets = case.get("targets") or [case["target"]]
    return [os.path.join(ROOT, t) for t in targets]


def _check_case(rule, case, subject_ids, findings):
    """findings: (rule, subject, status, message) tuples."""
    assert subject_ids, "the case's target gave no subject"
    chosen = subject_ids if "subject" not in case else [subject_ids[case["subject"]]]
    for sid in chosen:
        mine = [(status, msg) for (rid, subj, status, msg) in findings if rid == rule and subj == sid]
        assert mine, f"{rule} gave no finding for subject {sid}"
        worst = max((status for status, _ in mine), key=ORDER.__getitem__)
        assert worst == case["expect"], mine
        if "message" in case:
            assert any(case["message"].lower() in msg.lower() for _, msg in mine), mine


@pytest.mark.parametrize("rule,case", CASES)
def test_rule_case_api(rule, case):
    report = api.check(_targets(case), docker_config=case.get("docker_config") and
                       os.path.join(ROOT, case["docker_config"]), select=[rule], offline=True)
    _check_case(rule, case, [s.id for s in report.subjects],
                [(f.rule, f.subject, f.status.value, f.message) for f in report.findings])


@pytest.mark.parametrize("rule,case", CASES)
def test_rule_case_cli(rule, case):
    args = ["check", "--offline", "--format", "json", "--select", rule, *_targets(case)]
    if case.get("docker_config"):
        args += ["--docker-config", os.path.join(ROOT, case["docker_config"])]
    proc = run_cli(args)
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    _check_case(rule, case, [s["id"] for s in doc["subjects"]],
                [(f["rule"], f["subject"], f["status"], f["message"]) for f in doc["findings"]])
    has_fail = any(f["status"] in ("fail", "error") for f in doc["findings"])
    assert proc.returncode == (1 if has_fail else 0)


def test_every_rule_has_a_passing_and_a_failing_case():
    covered = {}
    for param in CASES:
        rule, case = param.values
        covered.setdefault(rule, set()).add(case["expect"])
    missing = []
    for rid in engine.all_rules():
        got = covered.get(rid, set())
        if "pass" not in got or not ({"fail", "warn"} & got):
            missing.append(f"{rid}: has {sorted(got) or 'no cases'}")
    assert not missing, "rules without a pass and a fail/warn case:\n" + "\n".join(missing)


def test_every_rule_is_documented():
    for rid, rule in engine.all_rules().items():
        doc = rule.doc
        assert doc, rid
        for heading in ("Why", "Fails", "Passes", "Fix"):
            assert f"**{heading}" in doc or f"## {heading}" in doc, f"{rid} docstring lacks a '{heading}' part"


def test_rule_docstrings_keep_their_backslashes():
    """A `\\` at the end of a line in a normal docstring joins the lines: examples must be raw strings."""
    import ast

    for rid, rule in engine.all_rules().items():
        module = __import__(type(rule).__module__, fromlist=["_"])
        with open(module.__file__, encoding="utf-8") as fh:
            source = fh.read()
        tree = ast.parse(source)
        first = tree.body[0]
        seg = ast.get_source_segment(source, first)
        if "\\\n" in seg:
            assert seg.lstrip().lower().startswith('r"""'), f"{rid}: make the module docstring a raw string (r\"\"\")"
