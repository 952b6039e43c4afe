"""The lab holding exactly a case's containers (from ``tests/lab/specs.py``), for live rule cases and tests.

``holding(lab, ["DIALOG", "BROKEN"])`` removes every container on the lab (and
forgets it in ``lab.containers``, so tests that reuse containers create them
again), creates the named specs, starts those with ``start=True`` and waits
(bounded) until each has settled, and removes them all again afterwards. A spec
is named by its variable in ``specs.py`` (``DIALOG``), by its container name, or
given as a ``ContainerSpec``. ``{lab}`` in a spec's volumes stands for the lab's
folder (``lab.root``: its socket is ``{lab}/docker.sock``, its data-root
``{lab}/data``).

Settled means: a started spec without a command is running; one whose command
ends, with no restart policy, has exited; one whose command ends under a restart
policy has restarted ``RESTARTS`` times, so that docker's doubling back-off keeps
it "restarting" for seconds between runs of a few milliseconds.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Union

from tests.lab import specs
from tests.lab.dockerd import RUNNER_IMAGE, RUNNER_TAG, Lab, create_container
from tests.lab.specs import ContainerSpec

SETTLE_TIMEOUT = 20.0  # seconds a started container may take to settle
RESTARTS = 5  # restarts 0.1+0.2+0.4+0.8+1.6 s apart: about 3 s


def find_spec(name: Union[str, ContainerSpec]) -> ContainerSpec:
    if isinstance(name, ContainerSpec):
        return name
    spec = getattr(specs, name, None)
    if isinstance(spec, ContainerSpec):
        return spec
    for value in vars(specs).values():
        if isinstance(value, ContainerSpec) and value.name == name:
            return value
    raise KeyError(f"no container spec {name!r} in tests/lab/specs.py")


def clear(lab: Lab) -> None:
    """Remove every container on the lab, running or not."""
    for summary in lab.api.containers(all=True):
        lab.api.remove_container(summary["Id"], force=True)
    lab.containers.clear()


def at_lab(spec: ContainerSpec, lab: Lab) -> ContainerSpec:
    """The spec with ``{lab}`` in its volumes replaced by the lab's folder."""
    return dataclasses.replace(spec, volumes=[v.replace("{lab}", lab.root) for v in spec.volumes])


def create(lab: Lab, spec: ContainerSpec) -> str:
    """Create (and start, when the spec says so) the spec's container; its id. Does not wait."""
    spec = at_lab(spec, lab)
    cid = create_container(lab, spec.name, f"{RUNNER_IMAGE}:{RUNNER_TAG}", spec.volumes, spec.env,
                           restart=spec.restart, memory=spec.memory, command=spec.command)
    if spec.start:
        lab.api.start(cid)
    return cid


def _settled(spec: ContainerSpec, state: dict, restart_count: int) -> bool:
    if not spec.command:
        return state.get("Status") == "running"
    if spec.restart in ("always", "unless-stopped", "on-failure"):
        return bool(state.get("Restarting")) and restart_count >= RESTARTS
    return state.get("Status") == "exited"


def settle(lab: Lab, spec: ContainerSpec) -> None:
    """Wait until a started container has settled (see the module's docstring); bounded."""
    if not spec.start:
        return
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        data = lab.api.inspect_container(spec.name)
        if _settled(spec, data.get("State") or {}, data.get("RestartCount") or 0):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{spec.name} did not settle within {SETTLE_TIMEOUT:.0f} s: {data.get('State')}")
        time.sleep(0.1)


@contextmanager
def holding(lab: Lab, names: Sequence[Union[str, ContainerSpec]]) -> Iterator[List[ContainerSpec]]:
    chosen = [find_spec(n) for n in names]
    clear(lab)
    try:
        for spec in chosen:
            create(lab, spec)
        for spec in chosen:
            settle(lab, spec)
        yield chosen
    finally:
        clear(lab)
