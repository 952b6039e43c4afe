"""The runners autoscaler's runners_config.yaml: groups, their values and where they are written."""

import textwrap

import pytest

from doctor import api
from doctor.inputs.autoscaler import parse
from doctor.inputs.common import LoadOptions
from doctor.model import InputError


def _groups(text, path="runners_config.yaml"):
    return [s.group for s in parse(textwrap.dedent(text), path, LoadOptions())]


def test_every_group_with_its_values_and_origins(fixture_path):
    path = fixture_path("autoscaler", "runners_config.yaml")
    subjects = parse(open(path).read(), path, LoadOptions())
    assert [s.kind for s in subjects] == ["autoscaler-group", "autoscaler-group"]
    first, second = (s.group for s in subjects)
    assert first.name == "Workspace Linux Docker runners" and first.origin.line == 9
    assert first.fields["workspace"].text == "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
    assert first.parameters["scale_up_multiplier"].text == "1.5"
    assert first.resources["limits.memory"].text == "2Gi"
    assert second.fields["repository"].origin.line == 31
    assert second.label_set() == {"self.hosted", "linux", "payments", "build.large"}
    assert first.config is second.config and second.config.groups == [first, second]
    assert subjects[0].title == "autoscaler group 'Workspace Linux Docker runners' (runners_config.yaml)"


def test_camel_case_parameters_and_yaml_types():
    (group,) = _groups("""
        groups:
          - name: g
            workspace: {3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}
            labels: build
            parameters: {min: 1, max: 10, scaleUpThreshold: 0.8, scaleDownMultiplier: 0.5}
    """)
    assert group.fields["workspace"].yaml_type == "mapping"
    assert group.labels == [] and group.labels_value.yaml_type == "str"
    assert group.parameters["scale_up_threshold"].key == "scaleUpThreshold"
    assert group.parameters["min"].yaml_type == "int" and group.parameters["scale_down_multiplier"].yaml_type == "float"


def test_a_file_without_groups_is_an_input_error():
    with pytest.raises(InputError) as exc:
        _groups("constants:\n  runner_cool_down_period: 300\ngroups: []\n")
    assert "no runner group" in exc.value.reason


def test_the_parameters_of_the_readme_example_pass_and_percentages_fail(fixture_path):
    report = api.check([fixture_path("autoscaler", "broken-parameters.yaml")], select=["RD612"])
    first = [f for f in report.findings if f.subject == report.subjects[0].id]
    assert {f.status.value for f in first} == {"fail"}
    assert any("a percentage? write 0.8" in f.message for f in first)
    report = api.check([fixture_path("autoscaler", "runners_config.yaml")], select=["RD61"])
    assert {f.status.value for f in report.findings} == {"pass"}
