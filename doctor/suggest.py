"""Fix hints written in the syntax of the form the runner is defined in (docker run flags or compose keys)."""

from __future__ import annotations

from doctor.model import RunnerSetup


def mount(runner: RunnerSetup, source: str, target: str, read_only: bool = False) -> str:
    ro = ":ro" if read_only else ""
    if runner.form == "compose":
        return f"'- {source}:{target}{ro}' under the service's volumes:"
    return f"-v {source}:{target}{ro}"


def env(runner: RunnerSetup, name: str, value: str) -> str:
    if runner.form == "compose":
        return f"'{name}: {value}' under the service's environment:"
    return f"-e {name}={value}"
