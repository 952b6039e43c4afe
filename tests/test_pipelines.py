"""bitbucket-pipelines.yml: self-hosted steps, what their labels ask for, and which runner can run them."""

import textwrap

import pytest

from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.inputs.pipelines import Server, parse, serve, target
from doctor.model import InputError, Origin, RunnerKind


def _steps(text, path="bitbucket-pipelines.yml"):
    return parse(textwrap.dedent(text), path, LoadOptions())


def test_steps_everywhere_bitbucket_runs_them_and_anchors_once(fixture_path):
    path = fixture_path("pipelines", "docker-steps.yml")
    subjects = parse(open(path).read(), path, LoadOptions())
    steps = [s.step for s in subjects]
    assert [s.name for s in steps] == ["Build and test", "Lint", "ARM image"]  # Deploy runs on Bitbucket Cloud
    build = steps[0]
    assert build.places == ["pipelines.default", "pipelines.branches.main"]  # one step through its anchor
    assert build.labels == ["self.hosted", "linux"] and build.origin.line == 14
    assert build.image.block and build.image.password.value == "$ACME_REGISTRY_PASSWORD"
    assert [s.value for s in build.services] == ["postgres", "docker"]
    assert set(build.service_images) == {"postgres"}  # docker is the built-in service
    assert [i.what for i in build.images()] == ["the step image", "the image of service postgres"]
    lint = steps[1]
    assert lint.image is None and lint.images()[0].what.startswith("the default image")
    assert subjects[0].title == "step 'Build and test' (pipelines.default and 1 more) in " + path


def test_parallel_stage_custom_and_the_string_form():
    subjects = _steps("""
        pipelines:
          custom:
            release:
              - variables: [{name: VERSION}]
              - stage:
                  name: Release
                  steps:
                    - step: {name: A, runs-on: self.hosted, script: [a]}
          pull-requests:
            '**':
              - parallel:
                  fail-fast: true
                  steps:
                    - step: {name: B, runs-on: "self.hosted, linux", script: [b]}
                    - step: {name: C, script: [c]}
    """)
    assert [(s.step.name, s.step.runs_on_string) for s in subjects] == [("A", True), ("B", True)]
    assert subjects[1].step.places == ["pipelines.pull-requests.**"]


def test_literal_credentials_are_secrets_of_the_file(fixture_path):
    path = fixture_path("pipelines", "literal-password.yml")
    subjects = parse(open(path).read(), path, LoadOptions())
    assert subjects[0].secrets == {"Vq3-fake-registry-pass-8841", "wJalrXUtnFEMIfakeK7MDENGbPxRfiCYEXAMPLEKEY"}
    assert subjects[1].step.image.aws["access-key"].value == "$AWS_ACCESS_KEY_ID"


def test_a_file_with_no_self_hosted_step_is_an_input_error(fixture_path):
    path = fixture_path("pipelines", "cloud-only.yml")
    with pytest.raises(InputError) as exc:
        parse(open(path).read(), path, LoadOptions())
    assert exc.value.reason == ("no step in this bitbucket-pipelines.yml runs on a self-hosted runner (1 step, "
                                "none with runs-on: self.hosted)")


@pytest.mark.parametrize("labels,kind,arch", [
    (["self.hosted"], RunnerKind.LINUX_DOCKER, None),
    (["self.hosted", "linux", "gpu"], RunnerKind.LINUX_DOCKER, "amd64"),
    (["self.hosted", "linux.arm64"], RunnerKind.LINUX_DOCKER, "arm64"),
    (["self.hosted", "linux.shell"], RunnerKind.LINUX_SHELL, None),
    (["self.hosted", "windows"], RunnerKind.WINDOWS, None),
    (["self.hosted", "macos"], RunnerKind.MACOS, None),
])
def test_what_labels_ask_for(labels, kind, arch):
    want = target(labels)
    assert (want.kind, want.arch) == (kind, arch)
    assert target(["self.hosted", "linux", "macos"]) is None


def test_which_runner_can_serve():
    docker = Server("docker run", Origin("s.sh", 1), RunnerKind.LINUX_DOCKER, None, None)
    group = Server("group", Origin("c.yaml", 1), RunnerKind.LINUX_DOCKER, "amd64",
                   frozenset({"self.hosted", "linux", "k8s.build"}))
    shell = Server("shell", Origin("s.sh", 2), RunnerKind.LINUX_SHELL, None, None)
    assert serve(docker, ["self.hosted", "linux"]) == ("yes", "")
    assert serve(docker, ["self.hosted", "linux", "gpu"]) == ("maybe", "if it has the label gpu in Bitbucket")
    assert serve(docker, ["self.hosted", "linux.arm64"])[0] == "maybe"
    assert serve(group, ["self.hosted", "k8s.build"]) == ("yes", "")
    assert serve(group, ["self.hosted", "linux", "gpu"]) == ("no", "it has no label gpu")
    assert serve(group, ["self.hosted", "linux.arm64"]) == ("no", "it runs on amd64")
    assert serve(shell, ["self.hosted", "linux"]) == ("no", "it is a Linux Shell runner")
    assert serve(shell, ["self.hosted", "linux.shell"]) == ("yes", "")


def test_steps_learn_the_runners_checked_with_them(fixture_path):
    subjects = load_targets([fixture_path("docker-run", "dialog.sh"), fixture_path("autoscaler", "runners_config.yaml"),
                             fixture_path("kubernetes", "kustomize-build.yaml"),
                             fixture_path("pipelines", "autoscaler-steps.yml")], LoadOptions())
    step = next(s for s in subjects if s.kind == "pipeline-step")
    # the autoscaler's job template is represented by the groups, not as a runner of its own
    assert [(s.kind, s.labels and sorted(s.labels)) for s in step.step.servers] == [
        (RunnerKind.LINUX_DOCKER, None),
        (RunnerKind.LINUX_DOCKER, ["k8s.build", "linux", "self.hosted"]),
        (RunnerKind.LINUX_DOCKER, ["build.large", "linux", "payments", "self.hosted"]),
        (RunnerKind.LINUX_DOCKER, ["k8s.build", "linux", "self.hosted"]),
    ]
