"""Property-based tests of every input parser: whatever the input, a parse result or an InputError.

Arbitrary text, token soups in each form's vocabulary, random structures of the right shape, and the
realistic files under ``fixtures/`` mutated (bytes cut, doubled or inserted; YAML and JSON values
replaced by values of other types) go through each reader, and through ``load_targets`` and every
rule and reporter end to end. Round trips hold where they exist: a word list quoted and split again,
``docker run`` options rendered and read back, env files, ``str(parse_reference(x))``, and ``auth``
blobs decoded as Go's ``base64.StdEncoding`` and ``strings.Cut`` do.

The examples are bounded (the profile below) and derandomized, so CI runs the same ones each time.
``RUNNER_DOCTOR_EXAMPLES=2000 pytest tests/test_properties.py`` explores further, with random examples.
"""

import base64
import binascii
import io
import json
import os
import re
import shlex
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from doctor import engine
from doctor.dockerconfig import AuthDecodeError, convert_to_hostname, decode_auth, secret_strings, unavailable, view
from doctor.imageref import InvalidReference, parse_reference
from doctor.inputs import detect, load_targets, parse_target, STDIN
from doctor.inputs.common import LoadOptions, parse_config_text
from doctor.inputs.docker_run import ALIASES, BOOL_OPTIONS, SHORT_BOOL, SHORT_VALUE, VALUE_OPTIONS, parse_run_args
from doctor.inputs.envfile import parse_env_text
from doctor.inputs.shellwords import Word, split_commands
from doctor.inputs.systemd import parse_unit
from doctor.model import DockerConfig, InputError, Origin, Status
from doctor.redact import Redactor, collect_secrets
from doctor.reporters import FORMATS, render
from doctor.rulebase import Context
from tests.conftest import FIXTURES

_EXAMPLES = os.environ.get("RUNNER_DOCTOR_EXAMPLES")
settings.register_profile(
    "runner-doctor-properties",
    max_examples=int(_EXAMPLES or 100),
    deadline=None,  # timings vary with the machine; time is bounded by the example count instead
    database=None,  # no .hypothesis folder in the working tree
    derandomize=_EXAMPLES is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PROFILE = settings.get_profile("runner-doctor-properties")

RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"
OPTS = LoadOptions()

# ---------------------------------------------------------------- strategies

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
SHELL_CHARS = " \t\n\r\\'\"$`#;&|(){}[]<>-=:/.,~*!?%@^+abcXYZ019é€\u2028\x0b"
SHELL_TEXT = st.text(SHELL_CHARS, max_size=200)
SHELL_TOKENS = [
    "docker", "run", "container", "create", "sudo", "-E", "exec", "env", "podman", "/usr/bin/docker", "-H",
    "unix:///x.sock", "--context", "-v", "--volume", "-e", "--env", "--env-file", "--mount", "--name", "--restart",
    "unless-stopped", "-dit", "-d", "-it", "--rm", "--", "-m", "512m", "--tmpfs", "/tmp", "--network=host",
    "type=bind,source=/x,target=/root/.docker,readonly", "type=volume,dst=/y", "source=/a,target=", "\"a,b\"=c",
    "/var/run/docker.sock:/var/run/docker.sock", "/tmp:/tmp", "/tmp/runner-1:/tmp",
    "/var/lib/docker/containers:/var/lib/docker/containers:ro", "~/.docker:/root/.docker", "$HOME/x:/y:rw,z",
    ":", "::", "a:b:c:d", "ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}", "RUNNER_UUID=", "RUNNER_UUID",
    "OAUTH_CLIENT_ID=abc", "OAUTH_CLIENT_SECRET=s3cr3t-value", "WORKING_DIRECTORY=/tmp", "export", "X=1",
    "IMG=" + RUNNER, "$IMG", "${IMG:-x}", "${", "$(", "`", "$X", "\"$X\"", "'$X'", RUNNER, "bitbucket-pipelines-runner",
    "start.sh", "./start.ps1", "--runtime", "linux-shell", "macos-bash", "linux-docker", "-accountUuid",
    "--runnerUuid=", "--workingDirectory", "\\\n", "\\ \n", "\\  ", "\\", "\n", "\r\n", ";", "&&", "||", "|", "&",
    "#", "# runner-doctor: ignore RD205 -- reason", "# runner-doctor: ignore", "(", ")", "'", "\"", "*/5 * * * *",
    "@reboot", "sh", "-c", "bash", "-lc", "nohup", "%i", "$$",
]
SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\t", "\n", " \\\n  ", ""])


def _join(parts):
    tokens, seps = parts
    return "".join(t + s for t, s in zip(tokens, seps + [""] * len(tokens)))


def soup(tokens, max_size=40):
    """Texts made of a form's tokens and free text, joined by blanks, newlines and continuations."""
    return st.tuples(st.lists(st.sampled_from(tokens) | SHELL_TEXT.map(lambda t: t[:12]), max_size=max_size),
                     st.lists(SEPARATORS, max_size=max_size)).map(_join)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=24),
                    st.sampled_from(["", "x", "~", "yes", "{x}", "${A}", "$$", "<%a%>", "/tmp:/tmp", RUNNER,
                                     "self.hosted", "linux", "512Mi", "true", "0x10", "1e400", "null", "'", "\\"]))


def values(keys):
    """JSON-like structures whose mapping keys come mostly from a form's vocabulary."""
    key = st.sampled_from(keys) | st.text(max_size=8)
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=5),
                        max_leaves=24)


def _fixtures(*folders, ext=()):
    out = []
    for folder in folders:
        for root, _dirs, files in os.walk(os.path.join(FIXTURES, folder)):
            out += [os.path.join(root, f) for f in sorted(files) if not ext or f.endswith(ext)]
    return sorted(out)


ALL_FIXTURES = _fixtures("autoscaler", "compose", "docker-config", "docker-run", "env", "images", "inspect",
                         "kubernetes", "pipelines", "start-scripts", "suppressions", "systemd")


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _structured(path):
    """The fixture's documents, parsed (None for a template that is not plain YAML)."""
    try:
        return list(yaml.safe_load_all(_read(path)))
    except yaml.YAMLError:
        return None


# YAML and JSON fixtures as data (JSON is YAML), to change one value of
STRUCTURED_FIXTURES = [p for p in _fixtures("autoscaler", "compose", "kubernetes", "pipelines", "inspect",
                                            "docker-config", ext=(".yml", ".yaml", ".json"))
                       if _structured(p)]


@st.composite
def mutated_text(draw, text):
    """The text with a few edits: a slice cut, doubled or truncated, tokens or characters put in."""
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 80)))
        edit = draw(st.sampled_from(["cut", "double", "insert", "replace", "truncate"]))
        if edit == "cut":
            text = text[:i] + text[j:]
        elif edit == "double":
            text = text[:j] + text[i:j] + text[j:]
        elif edit == "truncate":
            text = text[:i]
        else:
            piece = draw(st.sampled_from(SHELL_TOKENS + ["---\n", "- ", ": ", "{", "}", "[", "]", ",", "&a ", "*a",
                                                         "<<: *a\n", "\t", "\"\\u0000\"", "null", "9" * 30])
                         | SHELL_TEXT.map(lambda t: t[:6]))
            text = text[:i] + piece + text[j if edit == "replace" else i:]
    return text


@st.composite
def mutated_structure(draw, data, replacement):
    """The parsed document with one value (anywhere) replaced by another of any type."""
    path = []
    node = data
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(node, key=str) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        node = node[key]
    new = draw(replacement)
    if not path:
        return new
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return data


# ---------------------------------------------------------------- helpers

def _one_line(err):
    assert err.reason and "\n" not in err.reason and "Traceback" not in err.reason, repr(err.reason)


def parsed_or_input_error(path, text, opts=OPTS):
    """parse_target's result, or None after a one-line InputError; any other exception fails the test."""
    try:
        return parse_target(path, opts, text)
    except InputError as err:
        _one_line(err)
        return None


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of fixtures/ to write mutated files into (env files and configs they name are found beside them)."""
    root = tmp_path_factory.mktemp("fixtures")
    copy = os.path.join(root, "fixtures")
    shutil.copytree(FIXTURES, copy)
    return copy


_RULES = None


def end_to_end(path):
    """load_targets, every rule offline and every reporter, as `runner-doctor check --offline` runs them.

    Returns the findings, or None after a one-line InputError. No rule may break on the input.
    """
    global _RULES
    if _RULES is None:
        _RULES = engine.select_rules()
    try:
        subjects = load_targets([path], LoadOptions(cwd=os.path.dirname(path)))
    except InputError as err:
        _one_line(err)
        return None
    findings = engine.run(subjects, _RULES, Context(offline=True))
    broken = [f"{f.rule} on {f.subject}: {f.message}" for f in findings if f.status is Status.ERROR]
    assert not broken, broken
    redact = Redactor(collect_secrets(subjects))
    for fmt in FORMATS:
        render(fmt, subjects, findings, _RULES, redact, io.StringIO())
    return findings


def _write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


# ---------------------------------------------------------------- the shell word splitter

@PROFILE
@given(ANY_TEXT | SHELL_TEXT | soup(SHELL_TOKENS))
def test_split_commands_takes_any_text_and_places_every_word_inside_it(text):
    lines = text.count("\n") + 1
    for cmd in split_commands(text, "t.sh"):
        assert cmd.words
        for w in cmd.words:
            assert 1 <= w.origin.line <= lines and w.origin.column >= 1, (w, text)
        for p in cmd.problems:
            assert 1 <= p.origin.line <= lines, (p, text)


WORD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16)


def _double_quoted(word):
    return '"' + re.sub(r'([\\"$`])', r"\\\1", word) + '"'


@PROFILE
@given(st.lists(WORD, min_size=1, max_size=8), st.lists(st.booleans(), min_size=8, max_size=8))
def test_quoted_words_split_back_into_the_same_words(words, double):
    """shlex quoting (single quotes) and shell double quoting, mixed, both read back word for word."""
    text = " ".join(_double_quoted(w) if d else shlex.quote(w) for w, d in zip(words, double))
    commands = split_commands(text + "\n")
    assert len(commands) == 1, (text, commands)
    assert [w.text for w in commands[0].words] == words
    assert not commands[0].problems


# ---------------------------------------------------------------- docker run

_VALUE_CHARS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_LONG_VALUE = sorted(VALUE_OPTIONS)
_LONG_BOOL = sorted(BOOL_OPTIONS)


@st.composite
def run_option(draw):
    """(words, expected (name, value) options) for one option in one of the ways docker accepts it."""
    kind = draw(st.sampled_from(["long", "long=", "short", "short-joined", "bool", "bool=", "cluster"]))
    value = draw(_VALUE_CHARS)
    if kind == "long":
        name = draw(st.sampled_from(_LONG_VALUE))
        return [f"--{name}", value], [(ALIASES.get(name, name), value)]
    if kind == "long=":
        name = draw(st.sampled_from(_LONG_VALUE))
        return [f"--{name}={value}"], [(ALIASES.get(name, name), value)]
    if kind in ("short", "short-joined"):
        letter = draw(st.sampled_from(sorted(SHORT_VALUE)))
        if kind == "short-joined" and value and not value.startswith("="):
            return [f"-{letter}{value}"], [(SHORT_VALUE[letter], value)]
        return [f"-{letter}", value], [(SHORT_VALUE[letter], value)]
    if kind == "bool":
        name = draw(st.sampled_from(_LONG_BOOL))
        return [f"--{name}"], [(name, "")]
    if kind == "bool=":
        name = draw(st.sampled_from(_LONG_BOOL))
        flag = draw(st.sampled_from(["true", "false"]))
        return [f"--{name}={flag}"], [(name, flag)]
    letters = draw(st.lists(st.sampled_from(sorted(SHORT_BOOL)), min_size=1, max_size=4))
    return ["-" + "".join(letters)], [(SHORT_BOOL[c], "") for c in letters]


IMAGE = st.sampled_from([RUNNER, "bitbucket-pipelines-runner", "alpine:3", "$IMG", "localhost:5000/x@sha256:" + "a" * 64])


@PROFILE
@given(st.lists(run_option(), max_size=10), IMAGE, st.lists(_VALUE_CHARS, max_size=4))
def test_docker_run_options_are_read_back_as_written(options, image, args):
    words = [w for ws, _ in options for w in ws] + [image] + args
    parsed = parse_run_args([Word(w, w, Origin("t.sh", 1, 1)) for w in words])
    assert [(name, value) for name, value, _w in parsed.options] == [o for _, exp in options for o in exp]
    assert parsed.image is not None and parsed.image.text == image
    assert [w.text for w in parsed.args] == args


@PROFILE
@given(st.lists(st.sampled_from(SHELL_TOKENS) | _VALUE_CHARS, max_size=30))
def test_docker_run_reader_takes_any_word_list(words):
    parsed = parse_run_args([Word(w, w, Origin("t.sh", 1, n + 1)) for n, w in enumerate(words)])
    assert len(parsed.options) <= 4 * len(words)


NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
PLAIN = st.text("abcXYZ019/._-:{}@+ ", max_size=16)


@PROFILE
@given(st.lists(st.tuples(NAME, PLAIN), max_size=6), st.lists(st.tuples(PLAIN, PLAIN), max_size=4))
def test_a_quoted_docker_run_script_gives_its_env_and_mounts(env, volumes):
    """shlex.join(docker run ...) read as a script: every -e and -v is there, in order."""
    words = ["docker", "run"]
    for name, value in env:
        words += ["-e", f"{name}={value}"]
    mounts = [(s, t) for s, t in volumes if ":" not in s + t and t]
    for source, target in mounts:
        words += ["-v", f"{source}:{target}"]
    (setup,) = parsed_or_input_error("t.sh", shlex.join(words + [RUNNER]) + "\n")
    assert [(v.name, v.value) for v in setup.env] == env
    assert [(m.source, m.target) for m in setup.mounts] == mounts


# ---------------------------------------------------------------- each form through parse_target

@PROFILE
@given(ANY_TEXT | SHELL_TEXT | soup(SHELL_TOKENS, 60))
def test_scripts_and_pasted_commands(text):
    parsed_or_input_error("t.sh", text)


UNIT_LINES = ["[Service]", "[Unit]", "[Install]", "ExecStart=", "ExecStart=-/usr/bin/docker run ",
              "ExecStart=@/usr/bin/docker docker run ", "ExecStart=/bin/sh -c '", "Environment=", "Environment=\"A=b c\"",
              "Environment=RUNNER_UUID={%i}", "EnvironmentFile=-/nonexistent/x.env", "EnvironmentFile=",
              "Restart=always", "Restart=", "# comment", "; comment", "\\", "  ", "%i", "%%", "$$", "${A}", "$A"]


@PROFILE
@given(st.lists(st.sampled_from(UNIT_LINES) | soup(SHELL_TOKENS, 8), max_size=25))
def test_systemd_units(lines):
    text = "\n".join(lines)
    assert all(a.line >= 1 for a in parse_unit(text))
    parsed_or_input_error("runner.service", "[Service]\n" + text)


COMPOSE_KEYS = ["services", "image", "volumes", "environment", "env_file", "extends", "service", "file", "restart",
                "network_mode", "tty", "stdin_open", "read_only", "deploy", "resources", "limits", "memory",
                "restart_policy", "condition", "logging", "driver", "entrypoint", "command", "container_name", "type",
                "source", "target", "bind", "volume", "tmpfs", "path", "required", "x-common", "<<", "labels",
                "ACCOUNT_UUID", "RUNNER_UUID", "OAUTH_CLIENT_SECRET", "WORKING_DIRECTORY", "mem_limit", "platform"]


@PROFILE
@given(st.dictionaries(st.sampled_from(COMPOSE_KEYS), values(COMPOSE_KEYS), max_size=8))
def test_compose_services_of_any_shape(service):
    doc = {"services": {"runner": dict(service, image=service.get("image", RUNNER))}}
    parsed_or_input_error("docker-compose.yml", yaml.safe_dump(doc))


K8S_KEYS = ["apiVersion", "kind", "metadata", "name", "namespace", "labels", "spec", "template", "jobTemplate",
            "containers", "initContainers", "image", "env", "value", "valueFrom", "secretKeyRef", "configMapKeyRef",
            "key", "envFrom", "secretRef", "configMapRef", "volumeMounts", "mountPath", "subPath", "volumes",
            "hostPath", "path", "emptyDir", "secret", "secretName", "items", "configMap", "data", "stringData",
            "restartPolicy", "resources", "requests", "limits", "memory", "securityContext", "privileged",
            "nodeSelector", "kubernetes.io/arch", "imagePullSecrets", "backoffLimit", "replicas", "args", "command",
            "Job", "Pod", "Deployment", "List", "Secret", "ConfigMap", "CronJob", "v1", "batch/v1", "apps/v1",
            "job.yaml.template", "runners_config.yaml", "ACCOUNT_UUID", "RUNNER_UUID", "OAUTH_CLIENT_SECRET"]
AUTOSCALER_KEYS = ["constants", "groups", "name", "workspace", "repository", "labels", "namespace", "strategy",
                   "parameters", "min", "max", "scale_up_threshold", "scale_down_threshold", "scale_up_multiplier",
                   "scale_down_multiplier", "resources", "requests", "limits", "memory", "cpu",
                   "percentageRunnersIdle", "default_sleep_time_runner_setup", "self.hosted", "linux"]
PIPELINE_KEYS = ["pipelines", "default", "branches", "tags", "pull-requests", "custom", "step", "parallel", "stage",
                 "steps", "runs-on", "image", "name", "username", "password", "aws", "access-key", "secret-key",
                 "services", "definitions", "script", "self.hosted", "linux", "linux.shell", "windows", "macos",
                 "docker", "size", "2x", "8x", "$PASSWORD", "fail-fast"]


@st.composite
def yaml_document(draw):
    """A document of one of the YAML forms, with values of any shape under its own keys."""
    form = draw(st.sampled_from(["kubernetes", "autoscaler", "pipelines"]))
    if form == "kubernetes":
        body = draw(st.dictionaries(st.sampled_from(K8S_KEYS), values(K8S_KEYS), max_size=6))
        kind = draw(st.sampled_from(["Job", "Pod", "Deployment", "CronJob", "List", "Secret", "ConfigMap", "x"]))
        return dict(body, apiVersion=body.get("apiVersion", "v1"), kind=body.get("kind", kind))
    if form == "autoscaler":
        groups = draw(st.lists(st.dictionaries(st.sampled_from(AUTOSCALER_KEYS), values(AUTOSCALER_KEYS), max_size=8),
                               max_size=3))
        return {"groups": [dict(g, strategy=g.get("strategy", "percentageRunnersIdle")) for g in groups]}
    return {"pipelines": draw(st.dictionaries(st.sampled_from(PIPELINE_KEYS), values(PIPELINE_KEYS), max_size=5))}


@PROFILE
@given(yaml_document(), st.booleans())
def test_kubernetes_autoscaler_and_pipelines_documents_of_any_shape(doc, as_json):
    text = json.dumps(doc) if as_json else yaml.safe_dump(doc)
    parsed_or_input_error("manifest.yaml", text)


INSPECT_KEYS = ["Id", "Name", "Config", "HostConfig", "Image", "Env", "Cmd", "Mounts", "Type", "Source",
                "Destination", "RW", "Mode", "RestartPolicy", "MaximumRetryCount", "Memory", "Tty", "OpenStdin",
                "Privileged", "AutoRemove", "ReadonlyRootfs", "NetworkMode", "User", "State", "GraphDriver",
                "NetworkSettings", "RUNNER_UUID=x", "ACCOUNT_UUID={x}"]


@PROFILE
@given(st.lists(st.dictionaries(st.sampled_from(INSPECT_KEYS), values(INSPECT_KEYS), max_size=8), max_size=3))
def test_docker_inspect_output_of_any_shape(containers):
    for item in containers:
        item.setdefault("HostConfig", {})
        item.setdefault("Config", {"Image": RUNNER})
    parsed_or_input_error("inspect.json", json.dumps(containers, indent=4))


CONFIG_KEYS = ["auths", "Auths", "AUTHS", "credsStore", "credHelpers", "HttpHeaders", "proxies", "currentContext",
               "auth", "username", "password", "identitytoken", "registrytoken", "serveraddress", "email", "Auth",
               "https://index.docker.io/v1/", "docker.io", "registry.acme.example:5443", "http://x:1/v2/", "[::1]:5000"]


@PROFILE
@given(values(CONFIG_KEYS) | ANY_TEXT | soup(["{", "}", "[", "]", ",", ":", "\"auths\"", "\"auth\"", "\"QQ==\"",
                                              "\"dTpw\"", "null", "1", "\"x\""]))
def test_docker_config_json_of_any_shape(data):
    text = data if isinstance(data, str) else json.dumps(data)
    cfg = parse_config_text(DockerConfig(path="config.json", text=text))
    v = view(cfg)
    for entry in v.entries:
        entry.evidence()
    assert isinstance(v.schema_issues, list) and isinstance(v.misspelled, list)
    unavailable(cfg)
    assert all(isinstance(s, str) for s in secret_strings(cfg))
    v.origin(("auths",))


@PROFILE
@given(ANY_TEXT, st.sampled_from(["docker", "compose", "systemd"]))
def test_env_files_of_any_text(text, dialect):
    for var in parse_env_text(text, "x.env", dialect):
        assert var.origin.line >= 1


ENV_VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r\x0b\x0c\x1c\x1d\x1e"
                                  "\x85\u2028\u2029"), max_size=20)


@PROFILE
@given(st.lists(st.tuples(NAME, ENV_VALUE), max_size=8))
def test_docker_env_files_keep_each_value_as_written(pairs):
    """docker's CLI takes KEY=VALUE literally: quotes, blanks and '#' stay part of the value."""
    text = "".join(f"{name}={value}\n" for name, value in pairs)
    assert [(v.name, v.value) for v in parse_env_text(text, "x.env", "docker")] == pairs


# ---------------------------------------------------------------- end to end: load_targets, rules, reporters

@PROFILE
@given(st.sampled_from(ALL_FIXTURES), st.data())
def test_mutated_fixtures_end_to_end(tree, path, data):
    text = data.draw(mutated_text(_read(path)))
    copy = _write(os.path.join(tree, os.path.relpath(os.path.dirname(path), FIXTURES)), os.path.basename(path), text)
    try:
        end_to_end(copy)
    finally:
        shutil.copyfile(path, copy)  # the next example starts from the real fixture again


@PROFILE
@given(st.sampled_from(STRUCTURED_FIXTURES), st.data())
def test_fixtures_with_a_value_of_another_type_end_to_end(tree, path, data):
    documents = _structured(path)
    index = data.draw(st.integers(0, len(documents) - 1))
    documents[index] = data.draw(mutated_structure(documents[index], values(K8S_KEYS + COMPOSE_KEYS + INSPECT_KEYS)))
    text = json.dumps(documents[0], indent=2) if path.endswith(".json") else yaml.safe_dump_all(documents)
    folder = os.path.join(tree, os.path.relpath(os.path.dirname(path), FIXTURES))
    copy = _write(folder, os.path.basename(path), text)
    try:
        end_to_end(copy)
    finally:
        shutil.copyfile(path, copy)


@PROFILE
@given(ANY_TEXT | soup(SHELL_TOKENS + UNIT_LINES + ["services:", "apiVersion: v1", "kind: Pod", "groups:",
                                                    "pipelines:", "{", "[", "\"HostConfig\":", "\"auths\":"]),
       st.sampled_from(["target", "config.json", "x.json", "runner.service", "docker-compose.yml"]))
def test_any_text_end_to_end(tree, text, name):
    assert detect(text, name) in ("", "docker-config", "inspect", "systemd", "compose", "script", "kubernetes",
                                  "autoscaler", "pipelines")
    end_to_end(_write(tree, name, text))


@PROFILE
@given(ANY_TEXT | soup(SHELL_TOKENS))
def test_standard_input_end_to_end(text):
    try:
        load_targets(["-"], OPTS, text)
    except InputError as err:
        _one_line(err)
        assert err.path == STDIN


# ---------------------------------------------------------------- image references

_COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True)
_DOMAIN = st.sampled_from(["", "docker.io/", "index.docker.io/", "localhost/", "localhost:5000/",
                           "registry.acme.example:5443/", "10.0.0.5/", "[::1]:5000/", "Registry.Example/",
                           "docker-public.packages.atlassian.com/"])
_TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_DIGEST = st.sampled_from(["sha256:" + "0" * 64, "sha256:" + "ab" * 32, "sha512:" + "f" * 128])


@st.composite
def image_reference(draw):
    domain = draw(_DOMAIN)
    components = draw(st.lists(_COMPONENT, min_size=1, max_size=3))
    # without a domain, a first component with a '.' (or "localhost") before a '/' is read as a registry host
    assume(domain or len(components) == 1 or ("." not in components[0] and components[0] != "localhost"))
    name = domain + "/".join(components)
    if draw(st.booleans()):
        name += ":" + draw(_TAG)
    if draw(st.booleans()):
        name += "@" + draw(_DIGEST)
    return name


def _same(a, b):
    return (a.domain, a.path, a.tag, a.digest) == (b.domain, b.path, b.tag, b.digest)


@PROFILE
@given(image_reference())
def test_valid_image_references_print_and_parse_back_the_same(text):
    ref = parse_reference(text)
    assert _same(parse_reference(str(ref)), ref), (text, str(ref))
    first, slash, _rest = ref.familiar.partition("/")
    if not (slash and ref.is_docker_hub and ("." in first or ":" in first or first == "localhost")):
        # docker's FamiliarString has the same gap: docker.io/a.b/c prints as a.b/c, a registry a.b
        assert _same(parse_reference(ref.familiar), ref), (text, ref.familiar)


@PROFILE
@given(ANY_TEXT.map(lambda t: t[:80]) | image_reference().map(lambda t: t + "\x00") | st.text("aZ09:/@._-[]$ ", max_size=40))
def test_any_image_reference_parses_or_says_why_not(text):
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        assert str(exc)
        return
    assert _same(parse_reference(str(ref)), ref)


# ---------------------------------------------------------------- auth blobs, as docker's Go code decodes them

def go_decode_auth(s):
    """docker/cli decodeAuth, emulated from the reference (§1.3, §1.4): (user, password), or None for an error.

    Go's base64.StdEncoding: standard alphabet, '=' padding required, '\\r' and '\\n' skipped; then
    strings.Cut at the first ':', an empty user name refused, NUL bytes trimmed from the password.
    The reference's emulation, b64decode(validate=True) after dropping '\\r\\n', also accepts padding
    after a complete quantum ("QUJD==") that Go refuses: the length is checked as well.
    """
    cleaned = s.replace("\r", "").replace("\n", "")
    if len(cleaned) % 4:
        return None
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = raw.decode("utf-8", "surrogateescape").partition(":")
    if not colon or not user:
        return None
    return user, password.strip("\x00")


B64_NOISE = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n -_*é:", max_size=40)
USER_PASSWORD = st.tuples(st.text(max_size=12), st.text(max_size=12)).map(lambda up: f"{up[0]}:{up[1]}")


@st.composite
def auth_blob(draw):
    """base64 of user:password (or of any bytes), sometimes with newlines inserted or characters changed."""
    raw = draw(USER_PASSWORD.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=24))
    blob = base64.b64encode(raw).decode()
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(blob)))
        blob = blob[:i] + draw(st.sampled_from(["\n", "\r\n", "=", "-", "_", " ", "A", "é", ""])) + blob[i + 1:]
    return blob


@PROFILE
@given(auth_blob() | B64_NOISE)
def test_auth_blobs_decode_exactly_as_docker_decodes_them(blob):
    assume(blob)  # empty: "no credentials" to docker, tested in test_dockerconfig
    want = go_decode_auth(blob)
    try:
        got = decode_auth(blob)
    except AuthDecodeError as exc:
        assert want is None, (blob, want)
        assert blob not in str(exc) or len(blob) < 8  # the message never holds the value
        return
    assert got == want, blob


_HOST = st.sampled_from(["myreg", "myreg:5000", "registry.acme.example", "registry.acme.example:5443", "10.0.0.5:80",
                         "[::1]:5000", "localhost"])


@PROFILE
@given(_HOST, st.sampled_from(["", "https://", "http://"]), st.sampled_from(["", "/", "/v2/", "/v1/x?y#z"]))
def test_auths_keys_convert_to_their_registry_host(host, scheme, path):
    """docker/cli ConvertToHostname: a URL gives its host[:port]; otherwise the key up to its first '/'."""
    assert convert_to_hostname(scheme + host + path) == host
