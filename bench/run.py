"""Start-up and batch benchmark of runner-doctor (issue 7). Run: python bench/run.py

Builds its own inputs and a throwaway venv in a temporary folder, then measures whole processes
as a user runs them - the `runner-doctor` console script of a NON-editable install - each
target against its baseline, alternating (baseline, subject, baseline, subject, ...), and prints
medians and ratios. Exits 1 when a target is missed, 2 when the bench itself cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = ["fixtures/docker-run/*.sh", "fixtures/env/*.sh", "fixtures/start-scripts/*.sh",
             "fixtures/suppressions/*.sh", "fixtures/docker-config/*.sh"]
START = "fixtures/docker-run/private-images-config-mounted.sh"
CONFIG = "fixtures/docker-config/hub-login/config.json"
YAML_10_LINES = "---\nname: demo\nitems:\n  - a\n  - b\nmap:\n  key: value\n  n: 3\nflag: true\nend: null\n"
WRAPPER = """#!{python}
import re
import sys
from {module} import {func}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({func}())
"""
TIMEOUT = 300  # seconds: the longest any one measured run may take
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fail(msg: str) -> None:
    sys.stderr.write(f"bench: {msg}\n")
    sys.exit(2)


def build_venv(tmp: Path) -> Path:
    """A venv with runner-doctor installed from the repo (not editable); the dependencies (and
    yamllint) come from the current environment's site-packages through a .pth line."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=TIMEOUT)
    python = venv / "bin" / "python"
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           str(REPO)], capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode:
        fail(f"pip install --no-deps {REPO} failed:\n{proc.stderr[-2000:]}")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout.strip())
    (site / "_bench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run([str(python), "-c", "import rich, yaml, jsonschema, docker, yamllint, doctor; "
                            "print(doctor.__file__)"], capture_output=True, text=True, cwd=tmp,
                           timeout=TIMEOUT)
    if probe.returncode:
        fail("the dependencies or yamllint are missing from this environment: "
             "pip install -e '.[bench]' (or pip install yamllint), then run again\n" + probe.stderr[-500:])
    if not probe.stdout.startswith(str(site)):
        fail(f"runner-doctor is imported from {probe.stdout.strip()}, not from the throwaway venv")
    (venv / "bin" / "yamllint").write_text(WRAPPER.format(python=python, module="yamllint.cli", func="run"))
    (venv / "bin" / "yamllint").chmod(0o755)
    subprocess.run([str(python), "-m", "compileall", "-q", str(site / "doctor")], check=True, timeout=TIMEOUT)
    return venv


def checkable(cmd, path: Path) -> bool:
    proc = subprocess.run(cmd + ["check", "--offline", "--format", "json", str(path)], capture_output=True,
                          text=True, cwd=path.parent, timeout=TIMEOUT)
    return proc.returncode in (0, 1)


def vary(text: str, rnd: random.Random, n: int) -> str:
    """Small variations of a fixture: new UUIDs, a comment, and sometimes a mount or brace broken."""
    text = UUID_RE.sub(lambda _m: str(uuid.UUID(int=rnd.getrandbits(128), version=4)), text)
    lines = text.splitlines(keepends=True)
    at = 1 if lines and lines[0].startswith("#!") else 0
    lines.insert(at, f"# generated variant {n}\n")
    text = "".join(lines)
    roll = rnd.random()
    if roll < 0.15:
        text = text.replace("/var/lib/docker/containers:ro", "/var/lib/docker/containers")
    elif roll < 0.3:
        text = text.replace("/var/run/docker.sock:/var/run/docker.sock", "/run/docker.sock:/var/run/docker.sock")
    elif roll < 0.4:
        text = re.sub(r"\{([0-9a-f-]{36})\}", r"\1", text, count=1)
    elif roll < 0.5:
        text = text.replace("WORKING_DIRECTORY=/tmp", f"WORKING_DIRECTORY=/tmp/runner-{n}")
    return text


def make_inputs(tmp: Path, cmd, count: int) -> list:
    inputs = tmp / "inputs"
    inputs.mkdir()
    for env in (REPO / "fixtures" / "env").glob("*.env"):  # env files the scripts name
        shutil.copy(env, inputs / env.name)
    shutil.copy(REPO / START, inputs / "start.sh")
    shutil.copy(REPO / CONFIG, inputs / "config.json")
    (inputs / "ten-lines.yaml").write_text(YAML_10_LINES)
    templates = []
    for pattern in TEMPLATES:
        for path in sorted(REPO.glob(pattern)):
            copy = inputs / f"template-{path.parent.name}-{path.name}"
            shutil.copy(path, copy)
            if checkable(cmd, copy):
                templates.append(path.read_text(encoding="utf-8"))
            copy.unlink()
    rnd = random.Random(7)
    batch = inputs / "batch"
    batch.mkdir()
    files = []
    start = (REPO / START).read_text(encoding="utf-8")
    for n in range(count):  # the first (the one-file baseline of target 2) from the start command of target 1
        name = f"runner-{n:04d}.sh"
        (batch / name).write_text(vary(start if n == 0 else rnd.choice(templates), rnd, n), encoding="utf-8")
        files.append(f"batch/{name}")
    return files


def clock(cmd, cwd: Path, env, terminal: bool = False):
    """(wall-clock, CPU) seconds of one run, its output to nowhere or to a pseudo-terminal. CPU is the
    child's user + system time: shown too, as it moves less than wall-clock time on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    code, err = (on_terminal if terminal else to_nowhere)(cmd, cwd, env)
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code not in (0, 1):
        fail(f"{' '.join(cmd[:4])}... exited {code}: {err.decode(errors='replace')[-500:]}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def to_nowhere(cmd, cwd: Path, env):
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(f"{' '.join(cmd[:4])}... took more than {TIMEOUT} s")
    return proc.returncode, proc.stderr


def on_terminal(cmd, cwd: Path, env):
    """Run with standard output on a pseudo-terminal (what a person at a terminal sees: colours)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)

    def drain():
        try:
            while os.read(master, 65536):
                pass
        except OSError:  # the terminal closed with the process
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        _out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail(f"{' '.join(cmd[:4])}... took more than {TIMEOUT} s")
    finally:
        reader.join(5)
        os.close(master)
    return proc.returncode, err


def pair(baseline, subject, runs: int, cwd: Path, env, terminal: bool = False):
    """Medians (wall-clock, CPU) of the two commands, run alternately after one warm-up each."""
    clock(baseline, cwd, env, terminal)
    clock(subject, cwd, env, terminal)
    a, b = [], []
    for _ in range(runs):
        a.append(clock(baseline, cwd, env, terminal))
        b.append(clock(subject, cwd, env, terminal))
    return tuple(statistics.median(t[k] for t in a) for k in (0, 1)), \
        tuple(statistics.median(t[k] for t in b) for k in (0, 1))


def findings_by_path(doc: dict) -> dict:
    paths = {s["id"]: s["path"] for s in doc["subjects"]}
    out: dict = {}
    for f in doc["findings"]:
        out.setdefault(paths.get(f["subject"]), []).append(f)
    return out


def verify(rd, files, sample: int, cwd: Path, env) -> str:
    """The batch run's findings for each file equal the file's own run (a sample, or all files)."""
    proc = subprocess.run(rd + ["check", "--offline", "--format", "json"] + files, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    batch = findings_by_path(json.loads(proc.stdout))
    chosen = files if sample >= len(files) else random.Random(3).sample(files, sample)
    for path in chosen:
        one = subprocess.run(rd + ["check", "--offline", "--format", "json", path], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=TIMEOUT)
        alone = findings_by_path(json.loads(one.stdout)).get(path, [])
        if alone != batch.get(path, []):
            return f"MISMATCH for {path}: its own run and the batch run differ"
    kinds = {f["status"] for fs in batch.values() for f in fs}
    return (f"identical for {len(chosen)} of {len(files)} files checked one by one "
            f"(statuses in the batch: {', '.join(sorted(kinds))})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="runs of each command in the start-up targets")
    ap.add_argument("--batch-runs", type=int, default=5, help="runs of each command in the batch target")
    ap.add_argument("--files", type=int, default=1000, help="generated start-command files")
    ap.add_argument("--verify", type=int, default=50, help="files checked one by one against the batch run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rd-bench-"))
    try:
        venv = build_venv(tmp)
        bin_ = venv / "bin"
        rd, py = [str(bin_ / "runner-doctor")], str(bin_ / "python")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
        files = make_inputs(tmp, rd, args.files)
        cwd = tmp / "inputs"
        one = rd + ["check", "--offline", "--docker-config", "config.json", "start.sh"]
        yamllint = [str(bin_ / "yamllint"), "ten-lines.yaml"]
        rich = [py, "-c", "import rich.console"]
        targets = [
            ("1. check start.sh + config.json, rich report  vs  yamllint (10-line YAML)", yamllint, one, 1.0,
             args.runs, False),
            ("1. the same, both on a terminal (pty)         vs  yamllint", yamllint, one, 1.0, args.runs, True),
            ("1. the same with --format json                vs  yamllint", yamllint,
             one[:2] + ["--format", "json"] + one[2:], 0.6, args.runs, False),
            (f"2. check --offline {len(files)} files (json)      vs  the first of them", rd + [
                "check", "--offline", "--format", "json", files[0]],
             rd + ["check", "--offline", "--format", "json"] + files, 15.0, args.batch_runs, False),
            ("3. runner-doctor --version                    vs  python -c 'import rich.console'", rich,
             rd + ["--version"], 1.2, args.runs, False),
            ("3. runner-doctor --help                       vs  python -c 'import rich.console'", rich,
             rd + ["--help"], 1.2, args.runs, False),
        ]
        print(f"runner-doctor from a non-editable install in {venv}; {os.cpu_count()} CPUs; "
              f"Python {sys.version.split()[0]}; medians of alternating runs (wall-clock; CPU user+system)")
        missed = 0
        for title, base, subject, limit, runs, terminal in targets:
            (a, a_cpu), (b, b_cpu) = pair(base, subject, runs, cwd, env, terminal)
            ok = b / a <= limit
            missed += not ok
            print(f"{title}: {b * 1000:8.1f} ms vs {a * 1000:7.1f} ms  ratio {b / a:5.2f} "
                  f"(target <= {limit}) {'met' if ok else 'MISSED'}  [CPU {b_cpu / a_cpu:5.2f}]")
        same = verify(rd, files, args.verify, cwd, env)
        print(f"2. findings of the batch run: {same}")
        missed += same.startswith("MISMATCH")
        return 1 if missed else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
