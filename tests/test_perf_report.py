"""The faster ways of writing a batch's report and the steps before it give what the plain ways give (issue 7).

The JSON writer makes one template per distinct finding and writes ~64 KB at a time (else: json.dumps);
suppressions group only the findings of files that have one; secrets are searched once per variable name;
severity overrides copy the list when there are none.
"""

import io
import json
import os
import shutil

import pytest

from doctor import config, engine, suppress
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.model import EnvVar, Finding, Origin, RunnerKind, RunnerSetup, Severity, Status, Subject
from doctor.redact import MASK, Redactor, collect_secrets
from doctor.reporters import json_report
from doctor.rulebase import Context
from tests.conftest import FIXTURES

SECRET = "hunter2-secret-value"


class _Writes(io.StringIO):
    """A StringIO that counts its writes."""

    writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


def _both(subjects, findings, redact):
    out = _Writes()
    json_report.render(subjects, findings, redact, out)
    return out, json.dumps(json_report.build(subjects, findings, redact), indent=2) + "\n"


def _findings(subject_id, path):
    """A subject's findings of many shapes: no file first, no line or column, %, quotes, a secret, suppressed."""
    return [
        Finding("RD101", "a", Status.FAIL, Severity.ERROR, subject_id, "no file", "", Origin(None), "", "d"),
        Finding("RD102", "b", Status.PASS, Severity.INFO, subject_id, '50% "of" %s', "fix\nit", Origin(path, 3),
                "", "d"),
        Finding("RD103", "c", Status.WARN, Severity.WARNING, subject_id, f"has {SECRET}", "", Origin(path, 4, 7),
                f"-e X={SECRET}", "d"),
        Finding("RD104", "d", Status.FAIL, Severity.ERROR, subject_id, "covered", "", Origin(path, 5, 1), "", "d",
                suppressed="a reason", suppressed_until="2099-01-01"),
        Finding("RD105", "e", Status.SKIP, Severity.INFO, subject_id, "\x00\u2028é", "", Origin(path, None, 2),
                "", "d"),
    ]


def test_a_batch_of_repeated_findings_is_written_as_json_dumps_writes_it():
    subjects, findings = [], []
    for n in range(40):  # the same findings for every subject: their templates are used again and again
        path = f"dir/run-{n}.sh"
        subjects.append(Subject(f"{path}:2", "runner", path, 2, f"docker run at {path}:2"))
        findings += _findings(f"{path}:2", path)
    findings += _findings(subjects[0].id, subjects[0].path)  # a subject's findings after another's
    redact = Redactor([SECRET])
    json_report._text(subjects, findings, redact)  # the fast path writes them (no TypeError)
    out, slow = _both(subjects, findings, redact)
    assert out.getvalue() == slow and SECRET not in slow and MASK in slow
    assert out.writes > 4  # the start, the findings in two pieces (~1,000 pieces), the end, the newline


def test_findings_the_fast_path_cannot_write_are_written_by_json_dumps():
    subject = Subject("s", "runner", "a.sh", 1, "t")
    usual = Finding("RD101", "a", Status.FAIL, Severity.ERROR, "s", "m", "", Origin("a.sh", 1, 1), "", "d")
    for odd in (True, 1.0):  # equal to the line 1 above, but json.dumps writes them otherwise
        findings = [usual, Finding("RD101", "a", Status.FAIL, Severity.ERROR, "s", "m", "", Origin("a.sh", odd, 1),
                                   "", "d")]
        with pytest.raises(TypeError):
            json_report._text([subject], findings, Redactor())
        out, slow = _both([subject], findings, Redactor())
        assert out.getvalue() == slow and json.dumps(odd) in slow


def test_findings_of_another_shape_are_written_one_dict_at_a_time(monkeypatch):
    subjects = [Subject("s", "runner", "a.sh", 2, "t")]
    findings = _findings("s", "a.sh") * 3
    fast, slow = _both(subjects, findings, Redactor([SECRET]))
    monkeypatch.setattr(json_report, "_usual_shape", lambda finding: False)
    general, _ = _both(subjects, findings, Redactor([SECRET]))
    assert fast.getvalue() == general.getvalue() == slow


def _check(paths):
    opts = LoadOptions()
    subjects = load_targets(paths, opts)
    findings = engine.run(subjects, engine.load(engine.selected(), deferred=True), Context(offline=True))
    meta = suppress.apply_to_targets(paths, None, subjects, findings, engine.selected(), opts.texts)
    return findings, meta


def _seen(findings, path):
    return [(f.rule, f.status, f.suppressed, f.suppressed_until) for f in findings if f.subject.startswith(path)]


def test_suppressions_of_a_batch_are_those_of_each_file_alone(tmp_path):
    source = os.path.join(FIXTURES, "suppressions")
    paths = []
    for name in ("current.sh", "expired.sh", "unused.sh"):
        shutil.copy(os.path.join(source, name), tmp_path / name)
        plain = tmp_path / f"plain-{name}"  # the same runner without the suppression
        plain.write_text("".join(ln for ln in open(os.path.join(source, name)) if "runner-doctor:" not in ln))
        paths += [str(tmp_path / name), str(plain)]
    named = tmp_path / "named.sh"  # rules named by their names, and a name that is no rule
    named.write_text(open(os.path.join(source, "current.sh")).read().replace("ignore RD205", "ignore secret-exposure"))
    unknown = tmp_path / "unknown.sh"
    unknown.write_text(open(os.path.join(source, "current.sh")).read().replace("ignore RD205", "ignore no-such-rule"))
    paths += [str(named), str(unknown)]
    findings, meta = _check(paths)
    assert any(f.suppressed for f in findings)
    for path in paths:
        alone, alone_meta = _check([path])
        assert _seen(findings, path) == _seen(alone, path), path
        assert [m.to_json() for m in meta if m.location.path == path] == [m.to_json() for m in alone_meta], path
        if "plain-" in path:
            assert not alone_meta and not any(f.suppressed for f in alone)
    assert any(f.suppressed and f.rule == "RD205" for f in findings if f.subject.startswith(str(named)))
    assert any("'no-such-rule' is not a rule" in m.message for m in meta)


def _runner(n, secret, plain):
    env = [EnvVar("OAUTH_CLIENT_SECRET", secret), EnvVar("WORKING_DIRECTORY", plain),
           EnvVar("DB_PASSWORD", None, source="reference", raw="$DB_PASSWORD")]
    setup = RunnerSetup(RunnerKind.LINUX_DOCKER, "docker-run", Origin(f"r{n}.sh", 1), env=env)
    return Subject(f"r{n}.sh:1", "runner", f"r{n}.sh", 1, "t", runner=setup)


def test_every_subjects_secret_is_collected_when_the_names_repeat():
    subjects = [_runner(n, f"secret-value-{n}", f"/plain/{n}") for n in range(5)]
    found = collect_secrets(subjects)
    for n in range(5):
        assert f"secret-value-{n}" in found and f"/plain/{n}" not in found
    assert not any("DB_PASSWORD" in s for s in found)  # a reference's raw is no value


def test_severity_without_overrides_is_a_copy_of_the_findings():
    findings = [Finding("RD101", "a", Status.FAIL, Severity.ERROR, "s", "m"),
                Finding("RD102", "b", Status.WARN, Severity.WARNING, "s", "m")]
    kept, dropped = config.apply_severity(findings, {})
    assert kept == findings and kept is not findings and dropped == []
    same, _ = config.apply_severity(findings, {"RD999": "off"})  # an override that matches nothing: the loop
    assert same == kept
    changed, dropped = config.apply_severity(findings, {"RD101": "off", "RD102": "error"})
    assert [(f.rule, f.status, f.severity) for f in changed] == [("RD102", Status.FAIL, Severity.ERROR)]
    assert dropped == ["RD101"]
