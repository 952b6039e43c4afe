"""The JSON report's writer gives json.dumps(build(...), indent=2), byte for byte, faster (issue 7)."""

import glob
import io
import json
import os
import random

import pytest

from doctor import engine, suppress
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.model import Finding, InputError, Origin, Severity, Status, Subject
from doctor.redact import Redactor, collect_secrets
from doctor.reporters import json_report
from doctor.rulebase import Context
from tests.conftest import FIXTURES


def _both(subjects, findings, redact):
    out = io.StringIO()
    json_report.render(subjects, findings, redact, out)
    return out.getvalue(), json.dumps(json_report.build(subjects, findings, redact), indent=2) + "\n"


def test_every_fixture_is_written_as_json_dumps_writes_it():
    paths = sorted(p for p in glob.glob(os.path.join(FIXTURES, "**", "*"), recursive=True) if os.path.isfile(p))
    checked = 0
    for path in paths:
        try:
            subjects = load_targets([path], LoadOptions())
        except InputError:
            continue
        findings = engine.run(subjects, engine.load(engine.selected(), deferred=True), Context(offline=True))
        findings += suppress.apply_to_targets([path], None, subjects, findings, engine.selected())
        fast, slow = _both(subjects, findings, Redactor(collect_secrets(subjects)))
        assert fast == slow, path
        checked += 1
    assert checked > 50


def test_suppressed_odd_and_empty_findings():
    subject = Subject("s", "runner", "a%s.sh", 1, 'title with "quotes" and \\ and é')
    findings = [
        Finding("RD101", "docker-socket", Status.FAIL, Severity.ERROR, "s", "50% of %s", "fix\nit",
                Origin("a.sh", 2, 3),
                "secret-value here", "https://x", suppressed="rotated", suppressed_until="2027-03-01"),
        Finding("RD102", "n", Status.PASS, Severity.INFO, "s", "", "", Origin(), "", ""),
        Finding("RD103", "n", Status.WARN, Severity.WARNING, "s", "\x00\u2028", "", Origin(None, 7), "", ""),
    ]
    redact = Redactor(["secret-value"])
    for some in ([], findings, findings[1:], findings[:1]):
        fast, slow = _both([subject], some, redact)
        assert fast == slow
        assert "secret-value" not in fast


def test_the_writer_writes_what_json_dumps_writes_with_indent():
    rnd = random.Random(11)

    def value(depth):
        roll = rnd.random()
        if depth > 4 or roll < 0.4:
            return rnd.choice([None, True, False, 0, -7, 10 ** 20, "", "%s", "%", "é\n\"\\", "\U0001F600", 1.5])
        if roll < 0.7:
            return [value(depth + 1) for _ in range(rnd.randint(0, 4))]
        return {rnd.choice(["a", "%s", "b%", "é", ""]) + str(rnd.randint(0, 3)): value(depth + 1)
                for _ in range(rnd.randint(0, 4))}

    for _ in range(5000):
        v = value(0)
        try:
            ours = json_report.Writer().value(v, "\n")
        except TypeError:  # a float: the report falls back to json.dumps
            assert "1.5" in json.dumps(v)
            continue
        assert ours == json.dumps(v, indent=2)
    for odd in ({1: 2}, (1, 2), 1.5, float("nan")):
        with pytest.raises(TypeError):
            json_report.Writer().value(odd, "\n")
