"""Kubernetes manifests: runner containers, env resolution, volumes, the pod around the runner."""

import base64
import json
import textwrap

import pytest

from doctor import api
from doctor.inputs import detect, load_targets
from doctor.inputs.common import LoadOptions
from doctor.inputs.kubernetes import facts_of, parse
from doctor.model import InputError, RunnerKind
from doctor.rules._kubernetes import find_daemon, parse_quantity

RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"
SECRET = "ATOAk8sQ7vN2xR5tY8wB1dF4gJ7kM0pS3uV6yZ9bC2eH5jL8nQ1rT4wX7zA0cF3gJ6mP9sV2yB5e"


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _parse(text, path="runner.yaml", **opts):
    return parse(textwrap.dedent(text), path, LoadOptions(**opts))


def _runners(items):
    return [i for i in items if getattr(i, "form", None) == "kubernetes"]


def _pod(containers, volumes="- {name: tmp, emptyDir: {}}", more=""):
    """A Pod with a runner container; ``containers`` continues the runner's fields (indented 6)."""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: runner
spec:
  containers:
    - name: runner
      image: {RUNNER}
{textwrap.indent(textwrap.dedent(containers).strip(), " " * 6)}
  volumes:
{textwrap.indent(textwrap.dedent(volumes).strip(), " " * 4)}
{textwrap.dedent(more)}"""


def test_atlassian_job_gives_one_runner_with_the_pod_around_it(fixture_path):
    path = fixture_path("kubernetes", "atlassian-job.yaml")
    (setup,) = parse(open(path).read(), path, LoadOptions())
    assert setup.kind is RunnerKind.LINUX_DOCKER and setup.form == "kubernetes"
    assert setup.origin.line == 32 and setup.name == "runner"
    assert setup.env_value("ACCOUNT_UUID") == "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
    secret = setup.env_var("OAUTH_CLIENT_SECRET")
    assert secret.value == SECRET and secret.source == "secret"
    assert secret.raw == "secretKeyRef runner-oauth-credentials/oauthClientSecret"
    mounts = {m.target: m for m in setup.mounts}
    assert mounts["/var/lib/docker/containers"].type == "k8s-volume:emptyDir"
    assert mounts["/var/lib/docker/containers"].read_only and not mounts["/tmp"].read_only
    facts = facts_of(setup)
    assert (facts.workload, facts.workload_name) == ("Job", "runner")
    assert facts.restart_policy[0] == "OnFailure" and facts.backoff_limit[0] == "6"
    assert all(v.kind == "emptyDir" and v.defaulted for v in facts.volumes.values())
    (dind,) = facts.daemons
    assert dind.name == "docker" and dind.privileged[0] == "true"
    assert {(label.owner.split()[0], label.key) for label in facts.labels} >= {("the", "runnerUuid"),
                                                                              ("Secret", "accountUuid")}
    daemon, _why, _fix = find_daemon(setup)
    assert daemon.container is dind and daemon.volume.name == "var-run"


def test_env_from_comes_first_and_env_wins():
    items = _parse(_pod("""
        envFrom:
          - secretRef: {name: creds}
          - configMapRef: {name: settings}
            prefix: RUNNER_
        env:
          - {name: ACCOUNT_UUID, value: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"}
          - {name: WORKING_DIRECTORY, value: /tmp}
          - {name: PREFIXED, value: "$(RUNNER_WORKDIR)/x"}
          - {name: ESCAPED, value: "$$(RUNNER_WORKDIR)"}
        volumeMounts:
          - {name: tmp, mountPath: /tmp}
    """, more="""
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData:
          WORKING_DIRECTORY: /wrong
          OAUTH_CLIENT_ID: Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J
        data:
          OAUTH_CLIENT_ID: c2hhZG93ZWQ=
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data:
          WORKDIR: /srv
    """))
    (setup,) = _runners(items)
    names = [v.name for v in setup.env]
    assert names.index("OAUTH_CLIENT_ID") < names.index("ACCOUNT_UUID")  # envFrom before env
    assert setup.env_value("WORKING_DIRECTORY") == "/tmp"  # env wins over envFrom
    assert setup.env_value("OAUTH_CLIENT_ID") == "Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J"  # stringData wins over data
    assert setup.env_value("RUNNER_WORKDIR") == "/srv"  # envFrom prefix
    assert setup.env_value("PREFIXED") == "/srv/x"  # $(VAR) expanded as the kubelet does
    assert setup.env_value("ESCAPED") == "$(RUNNER_WORKDIR)"


def test_a_secret_not_in_the_input_is_given_at_run_time():
    (setup,) = _runners(_parse(_pod("""
        envFrom:
          - secretRef: {name: also-elsewhere}
        env:
          - name: OAUTH_CLIENT_SECRET
            valueFrom: {secretKeyRef: {name: elsewhere, key: secret}}
    """)))
    var = setup.env_var("OAUTH_CLIENT_SECRET")
    assert var.value is None and var.source == "reference"
    (ref,) = setup.env_files  # RD201 skips what envFrom may provide instead of failing
    assert ref.path == "Secret also-elsewhere" and ref.error == "not in this input"


def test_what_kubectl_refuses_is_a_syntax_problem():
    (setup,) = _runners(_parse(_pod("""
        env:
          - {name: RUNTIME_PREREQUISITES_ENABLED, value: true}
          - {name: RUNNER_UUID, value: {0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}}
        volumeMounts:
          - {name: var-run, mountPath: /var/run}
    """)))
    # the unquoted {uuid} is left to RD202
    assert [p.code for p in setup.syntax_problems] == ["undeclared-volume", "env-not-string"]
    assert setup.env_var("RUNNER_UUID").yaml_type == "mapping"
    assert setup.env_var("RUNTIME_PREREQUISITES_ENABLED").yaml_type == "bool"
    assert setup.mounts[-1].type == "k8s-volume:undeclared"


def test_manifests_without_a_runner_are_an_input_error():
    with pytest.raises(InputError) as exc:
        _parse("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers: [{name: web, image: nginx:1.27}]
        """)
    assert "no container in these Kubernetes manifests runs the Bitbucket runner image" in exc.value.reason
    assert "Deployment" in exc.value.reason
    with pytest.raises(InputError) as exc:
        _parse("apiVersion: v1\nkind: Pod\nspec:\n  containers: [unclosed\nmetadata: {}\n")
    assert exc.value.reason.startswith("not valid YAML: line 5")


def test_detection_tells_the_yaml_forms_apart(fixture_path):
    for rel, form in (("kubernetes/atlassian-job.yaml", "kubernetes"),
                      ("kubernetes/kubectl-get-job.json", "kubernetes"),
                      ("kubernetes/kustomize-build.yaml", "kubernetes"),
                      ("autoscaler/runners_config.yaml", "autoscaler"), ("pipelines/docker-steps.yml", "pipelines"),
                      ("compose/single-runner.yml", "compose")):
        path = fixture_path(*rel.split("/"))
        assert detect(open(path).read(), path) == form, rel


def test_kubectl_json_output(fixture_path):
    path = fixture_path("kubernetes", "kubectl-get-job.json")
    (subject,) = load_targets([path], LoadOptions())
    assert subject.runner.form == "kubernetes" and subject.runner.env_value("WORKING_DIRECTORY") == "/tmp"
    assert json.load(open(path))["kind"] == "Job"


def test_kustomize_output_gives_the_template_runner_and_the_groups_at_their_lines(fixture_path):
    path = fixture_path("kubernetes", "kustomize-build.yaml")
    lines = open(path).read().splitlines()
    subjects = load_targets([path], LoadOptions())
    assert [s.kind for s in subjects] == ["runner", "autoscaler-group"]
    runner = subjects[0].runner
    assert facts_of(runner).template
    assert lines[runner.origin.line - 1].strip() == "- name: runner"
    assert lines[runner.image_origin.line - 1][runner.image_origin.column - 1:].startswith("docker-public")
    secret = runner.env_var("OAUTH_CLIENT_SECRET")
    assert secret.value is None and secret.raw == "<%oauth_client_secret_base64%>"
    group = subjects[1].group
    assert lines[group.origin.line - 1].strip() == '- name: "Linux Docker runners"'
    assert group.label_set() == {"self.hosted", "linux", "k8s.build"}
    # the autoscaler's app password is a secret of the input, for the redactor
    assert "app-pass-fake-Xw8yB2nM4kQ7" in subjects[1].secrets


def test_a_raw_job_template_with_jinja_lines(fixture_path, tmp_path):
    text = open(fixture_path("kubernetes", "autoscaler-job-template.yaml")).read()
    template = textwrap.dedent(text.split("job.yaml.template: |\n", 1)[1])
    path = tmp_path / "job.yaml.template"
    path.write_text(template)
    (setup,) = load_targets([str(path)], LoadOptions())
    assert facts_of(setup.runner).template
    assert setup.runner.env_var("REPOSITORY_UUID").raw == "{<%repository_uuid%>}"
    assert template.splitlines()[setup.runner.origin.line - 1].strip() == "- name: runner"


def test_docker_config_from_a_secret_volume(fixture_path):
    path = fixture_path("kubernetes", "regcred-items.yaml")
    (setup,) = parse(open(path).read(), path, LoadOptions())
    assert setup.docker_config_mount.target == "/root/.docker"
    assert "registry.acme.example:5443" in setup.docker_config.data["auths"]
    assert facts_of(setup).docker_config_files == {"config.json": ".dockerconfigjson"}
    path = fixture_path("kubernetes", "regcred-no-items.yaml")
    (setup,) = parse(open(path).read(), path, LoadOptions())
    assert setup.docker_config is None and facts_of(setup).docker_config_files == {
        ".dockerconfigjson": ".dockerconfigjson"}


@pytest.mark.parametrize("text,size", [("512Mi", 512 * 2 ** 20), ("1Gi", 2 ** 30), ("1G", 1e9), ("1e3", 1000),
                                       ("0.5Gi", 2 ** 29), ("128974848", 128974848), ("512m", 0.512),
                                       ("512MB", None), ("1 Gi", None)])
def test_quantities(text, size):
    assert parse_quantity(text) == size


def test_the_secret_is_masked_and_each_kind_of_problem_is_found(fixture_path):
    report = api.check([fixture_path("kubernetes", "double-encoded-secret.yaml")], select=["RD605", "RD201"])
    (bad,) = [f for f in report.findings if f.rule == "RD605"]
    assert bad.status.value == "fail" and "twice" in bad.message
    assert SECRET not in bad.message + bad.remediation + bad.evidence
    assert _b64(SECRET) not in bad.message + bad.remediation + bad.evidence


def test_a_script_writing_manifests_is_not_a_manifest_and_helm_templates_get_a_hint(tmp_path):
    script = "#!/bin/sh\ncat > job.yaml <<EOF\napiVersion: batch/v1\nkind: Job\nEOF\n"
    assert detect(script, "make-job.sh") != "kubernetes"
    chart = tmp_path / "job.yaml"
    chart.write_text("apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n"
                     "        - env:\n            {{- toYaml .Values.env | nindent 12 }}\n")
    with pytest.raises(InputError) as exc:
        load_targets([str(chart)], LoadOptions())
    assert exc.value.reason.endswith("(a Helm chart template? check what helm template prints instead)")
