"""Docker Compose parser: services, mounts, env (list, mapping, env_file, .env interpolation), anchors."""

import os

import pytest

from doctor.inputs import compose, detect, parse_target
from doctor.inputs.common import LoadOptions
from doctor.model import InputError, Origin, RunnerSetup
from tests.conftest import FIXTURES

RUNNER_IMAGE = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"


def load(name, opts=None):
    path = os.path.join(FIXTURES, "compose", name)
    with open(path) as fh:
        text = fh.read()
    return compose.parse(text, path, opts or LoadOptions()), path


def parse_text(tmp_path, text, name="docker-compose.yml"):
    path = tmp_path / name
    path.write_text(text)
    return compose.parse(text, str(path), LoadOptions(cwd=str(tmp_path))), str(path)


def mount(setup: RunnerSetup, target):
    found = setup.mounts_at(target)
    assert found, f"no mount at {target}: {setup.mounts}"
    return found[-1]


def test_single_runner_as_people_write_it():
    setups, path = load("single-runner.yml")
    assert len(setups) == 1
    s = setups[0]
    assert (s.kind.value, s.form, s.supervisor) == ("linux-docker", "compose", "compose")
    assert s.label == f"service bitbucket-runner in {path}"
    assert s.origin == Origin(path, 6, 3)  # the service key
    assert s.base_dir == os.path.dirname(path)
    assert s.image == RUNNER_IMAGE and s.image_origin.line == 7
    assert s.name == "runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0" and s.name_origin.line == 8
    assert s.flags["restart"] == ("unless-stopped", Origin(path, 9, 14))
    assert [(m.type, m.source, m.target, m.read_only) for m in s.mounts] == [
        ("bind", "/tmp", "/tmp", False),
        ("bind", "/var/run/docker.sock", "/var/run/docker.sock", False),
        ("bind", "/var/lib/docker/containers", "/var/lib/docker/containers", True),
    ]
    containers = mount(s, "/var/lib/docker/containers")
    assert containers.origin == Origin(path, 13, 9)
    assert containers.raw == "- /var/lib/docker/containers:/var/lib/docker/containers:ro"
    assert s.env_value("ACCOUNT_UUID") == "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"  # a plain string in a list
    assert s.env_var("ACCOUNT_UUID").origin == Origin(path, 15, 9)
    secret = s.env_var("OAUTH_CLIENT_SECRET")
    assert (secret.value, secret.source) == (None, "inherited")
    assert s.docker_config is None and s.docker_config_mount is None


def test_multi_runner_file_keeps_each_service_and_its_tmp_remap():
    setups, path = load("multi-runner-tmp-remap.yml")
    assert [s.label for s in setups] == [f"service runner-1 in {path}", f"service runner-2 in {path}"]
    assert [s.origin.line for s in setups] == [4, 20]
    work = [mount(s, "/tmp") for s in setups]
    assert [(m.source, m.origin.line) for m in work] == [("/tmp/runner-1", 9), ("/tmp/runner-2", 25)]
    assert all(s.env_value("WORKING_DIRECTORY") == "/tmp" for s in setups)
    secret = setups[0].env_var("OAUTH_CLIENT_SECRET")
    assert (secret.value, secret.source, secret.raw) == (None, "reference", "${RUNNER_1_SECRET}")


def test_anchors_and_merge_keys_are_followed():
    setups, path = load("anchors.yml")
    a, b = setups
    for s in setups:
        assert s.image == RUNNER_IMAGE
        assert s.image_origin.line == 3  # written once, in the anchor
        assert mount(s, "/var/lib/docker/containers").read_only
        assert s.env_value("ACCOUNT_UUID") == "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
        assert s.env_value("WORKING_DIRECTORY") == "/tmp"
    assert a.env_value("RUNNER_UUID") == "{1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d}"
    assert b.env_value("RUNNER_UUID") == "{2b3c4d5e-6f7a-5b8c-9d0e-1f2a3b4c5d6e}"
    # explicit keys win over merged ones; a list of merges is followed
    assert a.flags["memory"] == ("1g", Origin(path, 5, 14))
    assert b.flags["memory"] == ("2g", Origin(path, 35, 16))
    assert b.flags["log-driver"][0] == "json-file" and "log-driver" not in a.flags
    assert a.flags["restart"][0] == b.flags["restart"][0] == "unless-stopped"


def test_unquoted_uuid_in_env_mapping_is_a_yaml_mapping():
    (s,), path = load("env-mapping-unquoted-uuid.yml")
    account = s.env_var("ACCOUNT_UUID")
    assert account.value is None
    assert account.yaml_type == "mapping"
    assert account.source == "literal"
    assert account.raw == "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
    assert account.origin == Origin(path, 10, 7)
    repo = s.env_var("REPOSITORY_UUID")  # quoted: a string
    assert (repo.value, repo.yaml_type) == ("{7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d}", None)
    flag = s.env_var("RUNTIME_PREREQUISITES_ENABLED")  # unquoted true: a YAML bool, text kept as written
    assert (flag.value, flag.yaml_type) == ("true", "bool")
    secret = s.env_var("OAUTH_CLIENT_SECRET")  # "KEY:" with no value: taken from the environment
    assert (secret.value, secret.source) == (None, "inherited")


def test_env_file_and_interpolation_from_dot_env():
    (s,), path = load(os.path.join("interpolation", "docker-compose.yml"))
    folder = os.path.dirname(path)
    # ${RUNNER_IMAGE:-...}:${RUNNER_TAG:-1} -> defaults; container_name from .env
    assert s.image == RUNNER_IMAGE
    assert s.name == "runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0"
    assert s.flags["restart"][0] == "unless-stopped"  # ${RESTART_POLICY-unless-stopped}
    work = mount(s, "/srv/bitbucket-runner/work")
    assert (work.type, work.source, work.raw) == ("bind", "/srv/bitbucket-runner/work", "- ${WORK_DIR}:${WORK_DIR}")
    # env_file first, environment after it (environment wins in compose)
    # and the project's .env last: values were interpolated from it
    assert [ref.path for ref in s.env_files] == ["runner.env", "./local.env", ".env"]
    assert s.env_files[0].resolved == os.path.join(folder, "runner.env") and s.env_files[0].error is None
    assert s.env_files[1].optional and s.env_files[1].error == "no such file"
    prereq = s.env_all("RUNTIME_PREREQUISITES_ENABLED")
    assert [v.value for v in prereq] == ["false", "true"]
    assert s.env_value("RUNTIME_PREREQUISITES_ENABLED") == "true"
    assert s.env_value("WORKING_DIRECTORY") == "/srv/bitbucket-runner/work"
    assert s.env_var("ACCOUNT_UUID").source == "env-file"
    runner_uuid = s.env_var("RUNNER_UUID")
    assert runner_uuid.value == "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
    assert runner_uuid.raw == "{${RUNNER_ID}}"
    assert runner_uuid.env_file == os.path.join(folder, ".env")
    # unset here: provided at deploy time, not empty
    secret = s.env_var("OAUTH_CLIENT_SECRET")
    assert (secret.value, secret.source) == (None, "reference")
    assert secret.raw.startswith("${OAUTH_CLIENT_SECRET:?")
    pause = s.env_var("PAUSE_IMAGE")  # a default is the value
    assert (pause.value, pause.source) == ("docker-hub.packages.atlassian.com/google/pause:latest", "literal")


def test_doctor_environment_is_not_used_for_interpolation(monkeypatch):
    monkeypatch.setenv("RUNNER_1_SECRET", "from-the-doctors-shell")
    setups, _path = load("multi-runner-tmp-remap.yml")
    assert setups[0].env_var("OAUTH_CLIENT_SECRET").value is None


def test_long_syntax_volumes():
    (s,), path = load("long-syntax-volumes.yml")
    containers = mount(s, "/var/lib/docker/containers")
    assert (containers.type, containers.source, containers.read_only) == ("bind", "/var/lib/docker/containers", True)
    assert containers.origin == Origin(path, 13, 9)
    assert containers.raw == ("type: bind, source: /var/lib/docker/containers, target: /var/lib/docker/containers, "
                              "read_only: true")
    assert not mount(s, "/tmp").read_only
    cache = mount(s, "/opt/atlassian/cache")
    assert (cache.type, cache.source, cache.options) == ("volume", "runner-cache", ("nocopy=true",))


def test_no_runner_service_gives_nothing():
    setups, _path = load("no-runner.yml")
    assert setups == []


def test_loader_reports_a_compose_file_without_runner(fixture_path):
    path = fixture_path("compose", "no-runner.yml")
    with pytest.raises(InputError, match="no service in this compose file runs the Bitbucket runner image"):
        parse_target(path, LoadOptions())


@pytest.mark.parametrize("name", ["single-runner.yml", "anchors.yml", "long-syntax-volumes.yml",
                                  os.path.join("interpolation", "docker-compose.yml")])
def test_fixtures_are_detected_as_compose(name):
    path = os.path.join(FIXTURES, "compose", name)
    with open(path) as fh:
        assert detect(fh.read(), path) == "compose"


def test_service_flags_command_and_entrypoint(tmp_path):
    (s,), path = parse_text(tmp_path, """\
services:
  runner:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    tty: true
    stdin_open: true
    privileged: false
    network_mode: host
    user: "0:0"
    entrypoint: ["/bin/sh", "-c"]
    command: "/opt/atlassian/pipelines/runner/entrypoint.sh --debug"
    deploy:
      restart_policy:
        condition: any
      resources:
        limits:
          memory: 2G
""")
    assert s.flags["tty"] == ("true", Origin(path, 4, 10))
    assert s.flags["interactive"][0] == "true"
    assert "privileged" not in s.flags
    assert s.flags["network"][0] == "host" and s.flags["user"][0] == "0:0"
    assert s.flags["entrypoint"] == ("/bin/sh -c", Origin(path, 9, 17))
    assert [a for a, _o in s.command_args] == ["/opt/atlassian/pipelines/runner/entrypoint.sh", "--debug"]
    assert s.flags["memory"] == ("2G", Origin(path, 16, 19))
    assert s.flags["restart"][0] == "always"


def test_service_found_by_identity_when_image_is_a_variable(tmp_path):
    setups, _path = parse_text(tmp_path, """\
services:
  ci-runner:
    image: ${REGISTRY}/bitbucket/runner-mirror:${TAG}
    environment:
      RUNNER_UUID: "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
  app:
    image: ${REGISTRY}/app:${TAG}
""")
    assert [s.label.split()[1] for s in setups] == ["ci-runner"]
    assert setups[0].image == "${REGISTRY}/bitbucket/runner-mirror:${TAG}"


def test_runner_mirror_is_a_runner(tmp_path):
    text = "services:\n  runner:\n    image: registry.example.com/mirror/pipelines-runner:1\n"
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    assert compose.parse(text, str(path), LoadOptions()) == []
    opts = LoadOptions(runner_mirrors=("registry.example.com/mirror/pipelines-runner",))
    assert len(compose.parse(text, str(path), opts)) == 1


def test_list_environment_forms_and_merges_in_mapping(tmp_path):
    (tmp_path / ".env").write_text("ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}\nEMPTY=\n")
    (s,), path = parse_text(tmp_path, """\
x-ids: &ids
  RUNNER_UUID: "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
x-more: &more
  RUNNER_UUID: "{11111111-1111-5111-8111-111111111111}"
  WORKING_DIRECTORY: /tmp
services:
  runner:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner
    environment:
      <<: [*ids, *more]
      ACCOUNT_UUID:
      A: ${EMPTY:-fallback}
      B: ${EMPTY-kept-empty}
      C: ${UNSET:+alt}
      D: 0x1F
      E: 1.5
      F: yes
      G: price-$$5-$1
""")
    # earlier merges win over later ones
    assert s.env_value("RUNNER_UUID") == "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
    assert s.env_value("WORKING_DIRECTORY") == "/tmp"
    account = s.env_var("ACCOUNT_UUID")  # no value: compose takes it from .env
    assert (account.value, account.source) == ("{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}", "inherited")
    assert s.env_value("A") == "fallback"
    assert s.env_value("B") == ""
    assert s.env_var("C").source == "reference"
    assert (s.env_var("D").value, s.env_var("D").yaml_type) == ("0x1F", "int")
    assert (s.env_var("E").value, s.env_var("E").yaml_type) == ("1.5", "float")
    assert (s.env_var("F").value, s.env_var("F").yaml_type) == ("yes", None)  # YAML 1.2: a string
    assert s.env_value("G") == "price-$5-$1"  # $$ is a literal $; "$" before a digit stays


def test_list_of_mappings_in_environment_is_reported(tmp_path):
    (s,), path = parse_text(tmp_path, """\
services:
  runner:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    environment:
      - WORKING_DIRECTORY: /tmp
      - ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}
""")
    assert s.env_value("WORKING_DIRECTORY") == "/tmp"
    (problem,) = s.syntax_problems
    assert problem.code == "environment-entry" and problem.origin == Origin(path, 5, 9)


def test_duplicate_keys_and_bad_templates_are_syntax_problems(tmp_path):
    (s,), path = parse_text(tmp_path, """\
services:
  runner:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    environment:
      WORKING_DIRECTORY: /tmp
      WORKING_DIRECTORY: /var/tmp
      RUNNER_UUID: ${RUNNER_UUID
""")
    codes = {(p.code, p.origin.line) for p in s.syntax_problems}
    assert codes == {("duplicate-key", 6), ("invalid-interpolation", 7)}
    assert s.env_value("WORKING_DIRECTORY") == "/var/tmp"
    assert s.env_var("RUNNER_UUID").value is None


def test_extends_in_the_same_file(tmp_path):
    setups, path = parse_text(tmp_path, """\
services:
  runner-base:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    profiles: ["template"]
    volumes:
      - /tmp:/tmp
      - /var/run/docker.sock:/var/run/docker.sock
    environment:
      WORKING_DIRECTORY: /tmp
  runner-1:
    extends: runner-base
    environment:
      RUNNER_UUID: "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
  loop:
    extends:
      service: loop
""")
    base, one = setups
    assert one.image == base.image
    assert [m.target for m in one.mounts] == ["/tmp", "/var/run/docker.sock"]
    assert one.env_value("WORKING_DIRECTORY") == "/tmp"
    assert one.env_value("RUNNER_UUID").startswith("{0f1e")


def test_relative_bind_and_named_volume_and_anonymous(tmp_path):
    (s,), _path = parse_text(tmp_path, """\
services:
  runner:
    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
    volumes:
      - ./docker:/root/.docker:ro
      - runner-tmp:/tmp
      - /cache
      - "${DATA:-/srv/data}:/data:rw,z"
""")
    kinds = [(m.type, m.source, m.target, m.read_only, m.options) for m in s.mounts]
    assert kinds == [
        ("bind", "./docker", "/root/.docker", True, ("ro",)),
        ("volume", "runner-tmp", "/tmp", False, ()),
        ("volume", None, "/cache", False, ()),
        ("bind", "/srv/data", "/data", False, ("rw", "z")),
    ]
    # the config mount is found (its folder does not exist here: reported on the config)
    assert s.docker_config_mount is s.mounts[0]
    assert s.docker_config is not None and s.docker_config.error


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    text = "services:\n  runner:\n    image: x\n   environment: [\n"
    with pytest.raises(InputError) as err:
        parse_text(tmp_path, text)
    assert "line 4" in err.value.reason and "column" in err.value.reason


@pytest.mark.parametrize("text", [
    "services:\n",
    "services: [a, b]\n",
    "- services\n",
    "services:\n  runner: 3\n",
    "services:\n  runner:\n    image: [1, 2]\n    volumes: {a: b}\n    environment: 7\n",
    "services:\n  runner:\n    image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1\n"
    "    volumes: [{type: bind}, [x], ~]\n    env_file: [{required: false}, 3]\n    environment: [[a], ~]\n"
    "    command: {a: 1}\n    deploy: {resources: []}\n",
    "services:\n  r:\n    image: $\n    container_name: ${}\n    environment: {A: '${A:-${B}', B: $$$$}\n",
    "---\nservices: {}\n---\nservices:\n  r: {image: bitbucket-pipelines-runner}\n",
])
def test_odd_compose_files_never_raise(tmp_path, text):
    setups, _path = parse_text(tmp_path, text)
    assert isinstance(setups, list)


@pytest.mark.parametrize("text", [
    "services:\n  a: *undefined\n",
    "services:\n  a: [\n",
    "services:\n  a: 'x\x01'\n",
    "\t\tservices:\n   - : :\n",
    "[" * 5000 + "\nservices:\n",
    "services:\n  a: b\n c: d\n",
    # alias loops: docker compose's YAML reader refuses them too ("anchor 's' value contains itself")
    "services: &s\n  runner:\n    <<: *s\n",
    "x: &a [*a]\nservices:\n  runner:\n    image: docker-public.packages.atlassian.com/sox/atlassian/"
    "bitbucket-pipelines-runner:1\n    volumes:\n      - {type: bind, source: /x, target: /y, bind: *a}\n",
])
def test_broken_yaml_raises_input_error_only(tmp_path, text):
    with pytest.raises(InputError) as err:
        parse_text(tmp_path, text)
    assert err.value.reason.startswith("not valid YAML")
    assert "\n" not in err.value.reason


def test_random_text_never_raises_anything_but_input_error(tmp_path):
    import random

    rng = random.Random(1234)
    alphabet = "services:\n -[]{}&*<>!|'\"#$%@`,?:\t\\ab1{}" + "é\u2028"
    for _ in range(300):
        text = "services:\n" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        try:
            parse_text(tmp_path, text)
        except InputError:
            pass
