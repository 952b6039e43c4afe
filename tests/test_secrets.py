"""Known secret values planted in every input form never appear in any output format."""

import pytest

from tests.conftest import run_cli
from tests.lab.canaries import RUNNER, b64, plant

# one distinct canary per place a secret can live
CANARY = {
    "script": "ATOAcanaryScriptLiteral0000000000000000000000000000000000001",
    "envfile": "ATOAcanaryEnvFile00000000000000000000000000000000000000000002",
    "compose": "ATOAcanaryComposeLiteral00000000000000000000000000000000000003",
    "dotenv": "ATOAcanaryComposeDotEnv000000000000000000000000000000000004",
    "systemd": "ATOAcanarySystemdEnvironment0000000000000000000000000000005",
    "systemd_file": "ATOAcanarySystemdEnvFile00000000000000000000000000000000006",
    "inspect": "ATOAcanaryInspectEnv0000000000000000000000000000000000000007",
    "shell_runner": "ATOAcanaryStartShArgument000000000000000000000000000000008",
    "registry_password": "canary-Registry-Passw0rd:with:colons",
    "plain_password": "canary-PlainPasswordField-0009",
    "identitytoken": "canary-identity-token-eyJhbGciOiJSUzI1NiJ9.0010",
    "registrytoken": "canary-registry-token-0011",
}


@pytest.fixture
def planted(tmp_path):
    d = tmp_path
    plant(d, CANARY)
    (d / "runner2.service").write_text(f"""[Service]
EnvironmentFile={d / 'secret.env'}
ExecStart=/usr/bin/docker run --rm -e OAUTH_CLIENT_SECRET --env-file {d / 'secret.env'} {RUNNER}
""")
    return d


def _assert_clean(text, where):
    for name, secret in CANARY.items():
        assert secret not in text, f"{name} leaked in {where}"
        assert b64(secret) not in text, f"{name} (base64) leaked in {where}"
    for blob in (b64("ci-bot:" + CANARY["registry_password"]),):
        assert blob not in text, f"auth blob leaked in {where}"


TARGETS = ["start.sh", "docker-compose.yml", "runner.service", "runner2.service", "inspect.json",
           "docker/config.json"]


FORMATS = ["rich", "json", "sarif", "junit", "markdown", "github"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_in_any_output(planted, target, fmt):
    proc = run_cli(["check", "--offline", "--format", fmt, str(planted / target)], cwd=str(planted))
    assert proc.returncode in (0, 1), proc.stderr
    _assert_clean(proc.stdout + proc.stderr, f"{target} --format {fmt}")


def test_no_secret_in_written_reports_and_baselines(planted):
    outs = [f"{fmt}={planted / ('out.' + fmt)}" for fmt in FORMATS]
    args = ["check", "--offline", "--write-baseline", str(planted / "baseline.json"),
            *[a for o in outs for a in ("--output", o)], *[str(planted / t) for t in TARGETS[:-1]]]
    proc = run_cli(args, cwd=str(planted))
    assert proc.returncode in (0, 1), proc.stderr
    for fmt in FORMATS + ["baseline"]:
        path = planted / ("baseline.json" if fmt == "baseline" else "out." + fmt)
        _assert_clean(path.read_text(), str(path))


@pytest.mark.parametrize("fmt", ["rich", "json"])
def test_no_secret_with_everything_at_once(planted, fmt):
    proc = run_cli(["check", "--format", fmt, "--docker-config", str(planted / "docker" / "config.json"),
                    *[str(planted / t) for t in TARGETS[:-1]]], cwd=str(planted))
    assert proc.returncode in (0, 1), proc.stderr
    _assert_clean(proc.stdout + proc.stderr, f"all targets --format {fmt}")


def test_no_secret_from_standard_input(planted):
    text = (planted / "start.sh").read_text()
    for fmt in ("rich", "json"):
        proc = run_cli(["check", "--format", fmt, "-"], cwd=str(planted), stdin=text)
        _assert_clean(proc.stdout + proc.stderr, f"stdin --format {fmt}")


def test_no_secret_from_any_other_command(planted):
    """fix, bundle, check --bundle in every format, rules, explain: no canary anywhere."""
    targets = [str(planted / t) for t in TARGETS[:-1]]
    config = str(planted / "docker" / "config.json")
    runs = [["fix", str(planted / "start.sh")],
            ["fix", str(planted / "docker-compose.yml")], ["fix", str(planted / "runner.service")],
            ["bundle", "--offline", "--docker-config", config, "-o", str(planted / "bundle.json"), *targets],
            ["rules"], ["explain", "RD205"]]
    for args in runs:
        proc = run_cli(args, cwd=str(planted))
        assert proc.returncode in (0, 1), (args, proc.stderr)
        _assert_clean(proc.stdout + proc.stderr, " ".join(args[:2]))
    _assert_clean((planted / "bundle.json").read_text(), "the bundle")
    for fmt in FORMATS:
        proc = run_cli(["check", "--bundle", str(planted / "bundle.json"), "--format", fmt], cwd=str(planted))
        assert proc.returncode in (0, 1), proc.stderr
        _assert_clean(proc.stdout + proc.stderr, f"check --bundle --format {fmt}")
