"""Subjects from a live daemon: the host itself (host rules) and each runner container (the runner rules)."""

from __future__ import annotations

import json
from typing import List

from doctor.inputs import inspect
from doctor.inputs.common import LoadOptions
from doctor.live.daemon import DaemonFacts
from doctor.model import DockerConfig, Subject


def host_subject(facts: DaemonFacts) -> Subject:
    return Subject(facts.url, "host", None, None, f"Docker Engine at {facts.url} ({facts.source})", host=facts)


def container_subjects(facts: DaemonFacts, opts: LoadOptions, used: set) -> List[Subject]:
    """One runner subject per runner container, parsed from its inspect data like `docker inspect NAME` output.

    Locations point at lines of `docker inspect NAME` (the same 4-space JSON the docker CLI prints).
    """
    out: List[Subject] = []
    for data in facts.containers:
        name = (data.get("Name") or "").lstrip("/") or data.get("Id", "")[:12]
        shown = f"docker inspect {name}"
        text = json.dumps([data], indent=4)
        for setup in inspect.parse(text, shown, opts):
            setup.label = f"container {name} on {facts.url}"
            setup.base_dir = "/"
            setup.facts["daemon"] = facts
            setup.facts["container"] = data
            if not facts.local and setup.docker_config is not None and setup.docker_config.how == "mounted":
                # the config's host path is on the daemon's machine, not this one
                setup.docker_config = DockerConfig(
                    path=setup.docker_config.path, origin=setup.docker_config.origin, how="mounted",
                    member_of_dir=setup.docker_config.member_of_dir,
                    error=f"it is on the remote host {facts.url}; give the file with --docker-config")
            sid = f"{facts.url}/{name}"
            n = 2
            while sid in used:
                sid = f"{facts.url}/{name}#{n}"
                n += 1
            used.add(sid)
            out.append(Subject(sid, "runner", shown, setup.origin.line, setup.label, runner=setup))
    return out
