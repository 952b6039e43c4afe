"""Machine output formats: SARIF against the official schema, JUnit XML, Markdown, GitHub annotations."""

import io
import json
import os
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from doctor import api
from doctor.redact import Redactor, collect_secrets
from doctor.reporters import github, junit, markdown, sarif
from tests.conftest import FIXTURES, ROOT

TARGETS = [os.path.join(ROOT, "examples", "broken-runner.sh"), os.path.join(ROOT, "examples", "start-runner.sh"),
           os.path.join(FIXTURES, "start-scripts", "linux-shell.sh")]


@pytest.fixture(scope="module")
def report():
    r = api.check(TARGETS)
    return r, Redactor(collect_secrets(r.subjects))


def _render(module, report, *extra):
    r, redact = report
    out = io.StringIO()
    module.render(r.subjects, r.findings, *extra, redact, out)
    return out.getvalue()


def test_sarif_is_valid_against_the_official_2_1_0_schema(report):
    with open(os.path.join(ROOT, "tests", "schemas", "sarif-2.1.0.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    doc = json.loads(_render(sarif, report, report[0].rules))
    jsonschema.Draft202012Validator(schema).validate(doc)
    run = doc["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.id for r in report[0].rules]
    assert len(run["results"]) == len(report[0].findings)
    failing = [x for x in run["results"] if x["properties"]["status"] == "fail"]
    assert failing and all(x["level"] == "error" and x["kind"] == "fail" for x in failing)
    rd103 = next(x for x in failing if x["ruleId"] == "RD103")
    loc = rd103["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("examples/broken-runner.sh") and loc["region"]["startLine"] == 4
    assert "Fix:" in rd103["message"]["text"]
    for x in run["results"]:
        assert run["tool"]["driver"]["rules"][x["ruleIndex"]]["id"] == x["ruleId"]
        assert x["ruleId"] and run["tool"]["driver"]["rules"][x["ruleIndex"]]["helpUri"]


def test_junit_has_one_testcase_per_rule_and_subject(report):
    root = ET.fromstring(_render(junit, report))
    r = report[0]
    suites = root.findall("testsuite")
    assert len(suites) == len(r.subjects)
    pairs = {(f.subject, f.rule) for f in r.findings}
    cases = root.findall(".//testcase")
    assert len(cases) == len(pairs)
    failed_pairs = {(f.subject, f.rule) for f in r.findings if f.status.value == "fail"}
    assert int(root.get("failures")) == len(failed_pairs) == len(root.findall(".//failure"))
    skipped_pairs = {p for p in pairs if all(f.status.value == "skip" for f in r.findings if (f.subject, f.rule) == p)}
    assert int(root.get("skipped")) == len(skipped_pairs)
    assert int(root.get("tests")) == len(pairs)
    case = next(c for c in cases if c.get("name") == "RD103 working-directory" and c.find("failure") is not None)
    assert "fix:" in case.find("failure").text


def test_markdown_report(report):
    text = _render(markdown, report)
    assert text.startswith("# runner-doctor report")
    assert "**Result: FAIL**" in text
    assert text.count("\n## ") == len(report[0].subjects)
    assert "| ❌ fail | [RD103 working-directory](" in text


def test_github_annotations(report):
    text = _render(github, report)
    lines = text.splitlines()
    bad = [f for f in report[0].findings if f.status.value in ("warn", "fail", "error")]
    assert len(lines) == len(bad)
    rd103 = next(line for line in lines if "title=RD103 working-directory" in line)
    assert rd103.startswith("::error file=") and ",line=4,col=3," in rd103
    assert "%0Afix%3A" not in rd103 and "%0Afix: " in rd103  # data is %-escaped only for %, CR, LF
    assert all("\n" not in line for line in lines)
