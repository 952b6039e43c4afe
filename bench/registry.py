"""Registry benchmark of RD402 (issue 4). Run: python bench/registry.py

In one run, on this machine only (127.0.0.1): starts a Debian ``docker-registry`` (open) and a
token-auth one with the lab's token server (tests/lab/), pushes 12 images to each (schema2, OCI
manifest, OCI index and Docker manifest list in turn), and puts a delaying TCP proxy
(tests/lab/netfaults.DelayProxy) in front of each registry and of the token server. Then, for a
round-trip latency of 0 and 50 ms and for N = 3 and 12 images, it times alternately:

- ``runner-doctor check --select RD402 --format json START.sh``: START.sh starts one runner (N=3:
  the runner image, PAUSE_IMAGE and AUTH_PROXY_IMAGE, with CLONE_IMAGE naming the PAUSE_IMAGE
  again) or three runners with four distinct images each (N=12), all addressed through the proxy;
  run with ``RUNNER_DOCTOR_LOOPBACK_ONLY=1``;
- ``skopeo inspect --tls-verify=false docker://PROXY/REPO:TAG`` for the same N images one after
  another (``--no-creds``, or ``--creds`` for the token registry; ``--retry-times 0``).

It prints medians and the ratio doctor / skopeo per case. Target: at 50 ms, N = 12, open registry,
the doctor's whole run takes at most 0.25 of the sequential skopeo time. Exit 0 when met, 1 when
missed, 2 when the benchmark cannot run (a tool missing, or RD402 not checking the images - e.g.
reported ``skip`` because the doctor does not implement it yet - or not passing them).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab.dockerd import LabUnavailable  # noqa: E402
from tests.lab.netfaults import DelayProxy  # noqa: E402
from tests.lab.registry import Registry, start_registry  # noqa: E402
from tests.lab.tokenserver import start_token_server  # noqa: E402

TARGET = 0.25  # doctor / sequential skopeo at 50 ms, N = 12, open registry
TARGET_CASE = ("open", 50, 12)
DELAYS_MS = (0, 50)
SIZES = (3, 12)
KINDS = ("schema2", "oci", "oci-index", "list")
# per runner: (what, repository under bench/rN/, tag)
ROLES = (("runner", "bitbucket-pipelines-runner", "1"), ("PAUSE_IMAGE", "pause", "3.9"),
         ("AUTH_PROXY_IMAGE", "auth-proxy", "prod-stable"), ("CLONE_IMAGE", "dvcs-tools", "prod-stable"))
TOKEN_USER = ("bench", "bench-pa55")
TOKEN_ADMIN = ("admin", "adm1n-pa55")
RUN_TIMEOUT = 180  # seconds for one doctor run or one skopeo call


class CannotRun(Exception):
    """The benchmark cannot measure what it should (the reason in the message)."""


@dataclass
class Setup:
    """One registry behind its proxy, with the images pushed to it."""

    name: str  # "open" | "token"
    registry: Registry
    proxy: DelayProxy
    proxies: List[DelayProxy]  # every proxy whose delay the case sets (the registry's, the token server's)
    creds: Optional[Tuple[str, str]]
    docker_config: str  # folder with the config.json the doctor reads (mounted as /root/.docker, and DOCKER_CONFIG)

    def refs(self, runner: int) -> List[str]:
        return [f"{self.proxy.host}/bench/r{runner}/{repo}:{tag}" for _, repo, tag in ROLES]


def start(tmp: Path, stoppers: list) -> List[Setup]:
    """Start the registries, token server and proxies (each appended to `stoppers`); push the images."""
    setups = []
    open_reg = start_registry(str(tmp / "open"), "open")
    stoppers.append(open_reg)
    setups.append(_setup("open", open_reg, [], None, tmp, stoppers))

    server = start_token_server(str(tmp / "token-server"), users=dict([TOKEN_USER, TOKEN_ADMIN]),
                                grants={TOKEN_USER[0]: {"bench/*": ["pull"]},
                                        TOKEN_ADMIN[0]: {"*": ["pull", "push", "delete"]}})
    stoppers.append(server)
    token_proxy = DelayProxy(*_split(server.host), 0)
    stoppers.append(token_proxy)
    server.realm = f"http://{token_proxy.host}/token"  # the registry sends clients through the proxy
    token_reg = start_registry(str(tmp / "token"), "token", token_server=server)
    stoppers.append(token_reg)
    setups.append(_setup("token", token_reg, [token_proxy], TOKEN_USER, tmp, stoppers))
    return setups


def _setup(name: str, registry: Registry, extra: List[DelayProxy], creds, tmp: Path, stoppers: list) -> Setup:
    proxy = DelayProxy(*_split(registry.host), 0)
    stoppers.append(proxy)
    config_dir = tmp / f"docker-config-{name}"
    config_dir.mkdir()
    auths = {}
    if creds:
        auths[proxy.host] = {"auth": base64.b64encode(":".join(creds).encode()).decode()}
    (config_dir / "config.json").write_text(json.dumps({"auths": auths}, indent=2) + "\n")
    setup = Setup(name, registry, proxy, [proxy, *extra], creds, str(config_dir))
    for runner in (1, 2, 3):
        for index, (_, repo, tag) in enumerate(ROLES):
            registry.push(f"bench/r{runner}/{repo}", tag, KINDS[(runner + index) % len(KINDS)])
    return setup


def _split(host: str) -> Tuple[str, int]:
    name, port = host.rsplit(":", 1)
    return name, int(port)


def start_script(setup: Setup, size: int, path: Path) -> List[str]:
    """Write the start script for `size` images; return the distinct image references it names."""
    blocks, refs = [], []
    for runner in range(1, (size // 4 or 1) + 1):
        images = setup.refs(runner)
        if size == 3:
            images[3] = images[1]  # CLONE_IMAGE = PAUSE_IMAGE: three distinct references
        refs += [ref for i, ref in enumerate(images) if ref not in images[:i]]
        uuid = f"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f{runner}"
        blocks.append(
            f"docker container run -d --restart unless-stopped \\\n"
            f"  -v /tmp:/tmp -v /var/run/docker.sock:/var/run/docker.sock \\\n"
            f"  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \\\n"
            f"  -v {setup.docker_config}:/root/.docker:ro \\\n"
            f"  -e ACCOUNT_UUID={{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}} -e RUNNER_UUID={{{uuid}}} \\\n"
            f"  -e RUNTIME_PREREQUISITES_ENABLED=true -e OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J \\\n"
            f"  -e OAUTH_CLIENT_SECRET -e WORKING_DIRECTORY=/tmp \\\n"
            f"  -e PAUSE_IMAGE={images[1]} -e AUTH_PROXY_IMAGE={images[2]} -e CLONE_IMAGE={images[3]} \\\n"
            f"  --name runner-{uuid} \\\n"
            f"  {images[0]}\n")
    if len(refs) != size:
        raise CannotRun(f"the {size}-image script names {len(refs)} images")
    path.write_text("#!/bin/sh\n" + "\n".join(blocks))
    return refs


def doctor_command() -> List[str]:
    script = Path(sys.executable).parent / "runner-doctor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "doctor"]


def run_doctor(setup: Setup, script: Path, expected: int) -> float:
    """One timed doctor run; raises CannotRun unless RD402 passes every image of the script."""
    env = {**os.environ, "RUNNER_DOCTOR_LOOPBACK_ONLY": "1", "NO_COLOR": "1", "DOCKER_CONFIG": setup.docker_config}
    started = time.monotonic()
    proc = subprocess.run([*doctor_command(), "check", "--select", "RD402", "--format", "json", str(script)],
                          capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    try:
        findings = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "RD402"]
    except (ValueError, KeyError):
        raise CannotRun(f"runner-doctor exited {proc.returncode} without a JSON report: {proc.stderr.strip()[-500:]}")
    skipped = [f for f in findings if f["status"] == "skip"]
    if skipped:
        raise CannotRun("RD402 reports skip, so the doctor does not check the images yet: " + skipped[0]["message"])
    bad = [f for f in findings if f["status"] != "pass"]
    if bad or len(findings) != expected:
        detail = "; ".join(f"{f['status']}: {f['message']}" for f in bad[:3])
        raise CannotRun(f"RD402 gave {len(findings)} findings for {expected} images, not all pass: {detail}")
    return seconds


def run_skopeo(setup: Setup, refs: List[str]) -> float:
    """`skopeo inspect` of each image, one after another; the total seconds."""
    auth = ["--creds", ":".join(setup.creds)] if setup.creds else ["--no-creds"]
    started = time.monotonic()
    for ref in refs:
        proc = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--retry-times", "0", *auth,
                               f"docker://{ref}"], capture_output=True, text=True, timeout=RUN_TIMEOUT,
                              stdin=subprocess.DEVNULL)
        if proc.returncode:
            raise CannotRun(f"skopeo inspect docker://{ref} failed: {proc.stderr.strip()[-500:]}")
    return time.monotonic() - started


def measure(setup: Setup, size: int, delay_ms: int, runs: int, tmp: Path) -> Dict[str, float]:
    for proxy in setup.proxies:
        proxy.delay = delay_ms / 1000
    script = tmp / f"start-{setup.name}-{size}.sh"
    refs = start_script(setup, size, script)
    expected = 4 * (size // 4 or 1)  # one RD402 finding per image a runner names (duplicates included)
    n = len(setup.registry.requests_log())
    run_doctor(setup, script, expected)  # warm-up, and how many requests each side makes
    m = len(setup.registry.requests_log())
    run_skopeo(setup, refs)
    requests = {"doctor_requests": m - n, "skopeo_requests": len(setup.registry.requests_log()) - m}
    doctor, skopeo = [], []
    for _ in range(runs):
        skopeo.append(run_skopeo(setup, refs))
        doctor.append(run_doctor(setup, script, expected))
    return {"doctor": statistics.median(doctor), "skopeo": statistics.median(skopeo), **requests}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side per case (default 3)")
    parser.add_argument("--no-token", action="store_true", help="only the open registry")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        print("bench: skopeo is not installed (apt-get install skopeo, or scripts/setup as root)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="rd-bench-registry-"))
    stoppers: list = []
    rows = []
    try:
        setups = start(tmp, stoppers)
        if args.no_token:
            setups = setups[:1]
        print(f"{' '.join(doctor_command())} check --select RD402 vs skopeo inspect of the same images one "
              f"after another;\ndocker-registry on 127.0.0.1 behind a delaying TCP proxy; {os.cpu_count()} CPUs; "
              f"medians of {args.runs} alternating runs\n")
        print(f"{'registry':9} {'RTT':>6} {'images':>6} {'runner-doctor':>14} {'skopeo xN':>10} {'ratio':>6} "
              f"{'requests (doctor/skopeo)':>25}")
        for delay in DELAYS_MS:
            for setup in setups:
                for size in SIZES:
                    result = measure(setup, size, delay, args.runs, tmp)
                    ratio = result["doctor"] / result["skopeo"]
                    rows.append(((setup.name, delay, size), ratio))
                    mark = f"  target <= {TARGET}" if (setup.name, delay, size) == TARGET_CASE else ""
                    print(f"{setup.name:9} {delay:>4} ms {size:>6} {result['doctor']:>12.2f} s "
                          f"{result['skopeo']:>8.2f} s {ratio:>6.2f} "
                          f"{result['doctor_requests']:>12} / {result['skopeo_requests']:<10}{mark}", flush=True)
    except CannotRun as exc:
        print(f"\nbench: cannot measure: {exc}", file=sys.stderr)
        return 2
    except LabUnavailable as exc:
        print(f"bench: the registry lab cannot start: {exc}", file=sys.stderr)
        return 2
    finally:
        for thing in reversed(stoppers):
            thing.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    ratio = dict(rows)[TARGET_CASE]
    met = ratio <= TARGET
    print(f"\ntarget: {TARGET_CASE[0]} registry, {TARGET_CASE[1]} ms, {TARGET_CASE[2]} images: "
          f"ratio {ratio:.2f} <= {TARGET}: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
