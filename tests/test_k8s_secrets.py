"""Secrets planted in Kubernetes manifests and pipelines files never appear in any output format."""

import base64
import json

import pytest

from tests.conftest import run_cli

RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"

# one distinct canary per place a secret can live
CANARY = {
    "data": "ATOAcanaryK8sDataOnce0000000000000000000000000000000000000001",
    "double": "ATOAcanaryK8sDataTwice000000000000000000000000000000000000002",
    "newline": "ATOAcanaryK8sDataNewline0000000000000000000000000000000000003",
    "string_data": "ATOAcanaryK8sStringData00000000000000000000000000000000000004",
    "literal": "ATOAcanaryK8sLiteralValue000000000000000000000000000000000005",
    "env_from": "ATOAcanaryK8sEnvFrom0000000000000000000000000000000000000006",
    "unreferenced": "canary-autoscaler-app-password-0007",
    "registry": "canary-k8s-Registry-Passw0rd:0008",
    "step_password": "canary-step-image-password-0009",
    "aws_secret": "canaryAwsSecretKey0010wJalrXUtnFEMIK7MDENG",
}


def _b64(s):
    return base64.b64encode(s.encode()).decode()


def _job(name, env, secrets, volumes=""):
    return f"""apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: {{name: {name}}}
{secrets}
  - apiVersion: batch/v1
    kind: Job
    metadata: {{name: {name}}}
    spec:
      template:
        metadata:
          labels: {{runnerUuid: 0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}}
        spec:
          restartPolicy: OnFailure
          containers:
            - name: runner
              image: {RUNNER}
              env:
                - {{name: ACCOUNT_UUID, value: "{{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}}"}}
                - {{name: RUNNER_UUID, value: "{{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}}"}}
                - {{name: WORKING_DIRECTORY, value: /tmp}}
{env}
              volumeMounts:
                - {{name: tmp, mountPath: /tmp}}
                - {{name: docker-config, mountPath: /root/.docker}}
            - name: docker
              image: docker:dind
              securityContext: {{privileged: true}}
              volumeMounts: [{{name: tmp, mountPath: /tmp}}]
          volumes:
            - {{name: tmp, emptyDir: {{}}}}
{volumes}
"""


def _ref(key, secret="creds"):
    return f"""                - name: OAUTH_CLIENT_SECRET
                  valueFrom: {{secretKeyRef: {{name: {secret}, key: {key}}}}}"""


@pytest.fixture
def planted(tmp_path):
    files = {}
    registry = json.dumps({"auths": {"registry.acme.example:5443": {"auth": _b64("ci-pull:" + CANARY["registry"])}}})
    files["data.yaml"] = _job("creds", _ref("s"), f"    data: {{s: {_b64(CANARY['data'])}}}", """\
            - name: docker-config
              secret:
                secretName: regcred
                items: [{key: .dockerconfigjson, path: config.json}]
  - apiVersion: v1
    kind: Secret
    metadata: {name: regcred}
    type: kubernetes.io/dockerconfigjson
    data:
      .dockerconfigjson: """ + _b64(registry))
    files["double.yaml"] = _job("creds", _ref("s"), f"    data: {{s: {_b64(_b64(CANARY['double']))}}}")
    files["newline.yaml"] = _job("creds", _ref("s"), f"    data: {{s: {_b64(CANARY['newline'] + chr(10))}}}")
    files["string-data.yaml"] = _job("creds", _ref("s"), f"    stringData: {{s: {CANARY['string_data']}}}")
    literal = f"                - {{name: OAUTH_CLIENT_SECRET, value: {CANARY['literal']}}}"
    files["literal.yaml"] = _job("creds", literal, "    stringData: {unused: x}")
    files["env-from.yaml"] = _job(
        "creds", "              envFrom: [{secretRef: {name: creds}}]",
        f"    data: {{OAUTH_CLIENT_SECRET: {_b64(CANARY['env_from'])}, OAUTH_CLIENT_ID: "
        f"{_b64('Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J')}}}")
    files["autoscaler.yaml"] = f"""apiVersion: v1
kind: Secret
metadata: {{name: runner-bitbucket-credentials}}
data:
  bitbucketUsername: {_b64('ci-bot')}
  bitbucketAppPassword: {_b64(CANARY['unreferenced'])}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: runners-autoscaler-config}}
data:
  runners_config.yaml: |
    groups:
      - name: g
        workspace: "{{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}}"
        labels: [build]
        namespace: runners
        strategy: percentageRunnersIdle
        parameters: {{min: 1, max: 2, scale_up_threshold: 0.5, scale_down_threshold: 0.2, scale_up_multiplier: 1.5,
                     scale_down_multiplier: 0.5}}
"""
    files["bitbucket-pipelines.yml"] = f"""image:
  name: registry.acme.example:5443/build/jdk:17
  username: ci-pull
  password: {CANARY['step_password']}
pipelines:
  default:
    - step:
        runs-on: [self.hosted, linux]
        script: [make]
    - step:
        runs-on: [self.hosted, linux]
        image:
          name: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools/publisher:2.3
          aws: {{access-key: AKIAEXAMPLEEXAMPLE12, secret-key: {CANARY['aws_secret']}}}
        script: [publish]
"""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path, sorted(files)


def _assert_clean(text, where):
    for name, secret in CANARY.items():
        for form in (secret, _b64(secret), _b64(_b64(secret)), _b64(secret + "\n")):
            assert form not in text, f"{name} leaked in {where}"


@pytest.mark.parametrize("fmt", ["rich", "json"])
def test_no_secret_in_any_output(planted, fmt):
    folder, names = planted
    for name in names:
        proc = run_cli(["check", "--offline", "--format", fmt, str(folder / name)], cwd=str(folder))
        assert proc.returncode in (0, 1), (name, proc.stderr)
        _assert_clean(proc.stdout + proc.stderr, f"{name} --format {fmt}")


@pytest.mark.parametrize("fmt", ["rich", "json"])
def test_no_secret_with_everything_at_once(planted, fmt):
    folder, names = planted
    proc = run_cli(["check", "--offline", "--format", fmt, *[str(folder / n) for n in names]], cwd=str(folder))
    assert proc.returncode == 1, proc.stderr
    _assert_clean(proc.stdout + proc.stderr, f"all targets --format {fmt}")


def test_the_planted_files_are_read_as_meant(planted):
    """The canaries must reach the rules, or the test above proves nothing."""
    from doctor import api

    folder, _names = planted
    report = api.check([str(folder / "double.yaml"), str(folder / "newline.yaml"), str(folder / "literal.yaml"),
                        str(folder / "bitbucket-pipelines.yml")], select=["RD605", "RD205", "RD704", "RD301"])
    messages = {(f.rule, f.status.value) for f in report.findings}
    assert {("RD605", "fail"), ("RD205", "warn"), ("RD704", "fail")} <= messages
    report = api.check([str(folder / "data.yaml"), str(folder / "env-from.yaml")], select=["RD303", "RD201"])
    assert report.subjects[0].runner.docker_config.data["auths"]
    assert report.subjects[1].runner.env_value("OAUTH_CLIENT_SECRET") == CANARY["env_from"]
