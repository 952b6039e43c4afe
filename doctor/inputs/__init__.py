"""Input parsers: each turns one kind of file into subjects. The kind is detected from the content.

Forms: shell scripts and pasted `docker run` commands (:mod:`.script`), Docker
Compose files (:mod:`.compose`), systemd units (:mod:`.systemd`), `docker
inspect` JSON (:mod:`.inspect`) and Docker client `config.json` files
(:mod:`.common`); Kubernetes manifests (:mod:`.kubernetes`), the runners
autoscaler's `runners_config.yaml` (:mod:`.autoscaler`) and
`bitbucket-pipelines.yml` (:mod:`.pipelines`).
"""

from __future__ import annotations

import json
import os
import re

from doctor.inputs import jsondepth
from doctor.inputs.common import LoadOptions, load_docker_config
from doctor.inputs.files import read_text
from doctor.model import DockerConfig, InputError, Origin, RunnerSetup, Subject

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import List, Optional, Sequence

MAX_SUBJECTS_PER_TARGET = 1000  # runners, autoscaler groups, pipeline steps in one TARGET

DOCKER_CONFIG_KEYS = {"auths", "credsstore", "credhelpers", "httpheaders", "proxies", "currentcontext",
                      "psformat", "imagesformat", "plugins", "aliases", "features", "detachkeys",
                      "clipluginsextradirs", "stackorchestrator", "experimental", "kubernetes"}

_SYSTEMD_WORDS = ("[Service]", "[Unit]", "[Install]", "ExecStart")  # one of them is in every unit


def detect(text: str, path: str) -> str:
    """The input form of a file's content: docker-config, inspect, systemd, compose, script, or ''."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            data = None
            # a broken JSON file named like a Docker config is still one: RD301 reports where it breaks
            if os.path.basename(path).endswith(".json") and re.search(r'"(auths|credsStore|credHelpers)"', text):
                return "docker-config"
            if os.path.basename(path) == "config.json":
                return "docker-config"
            # a cut-off paste of docker inspect output: the inspect parser reports where it breaks
            if re.search(r'"(HostConfig|GraphDriver|NetworkSettings)"\s*:', text):
                return "inspect"
        if isinstance(data, dict) and ("HostConfig" in data or "Config" in data and "Mounts" in data):
            return "inspect"
        if isinstance(data, list) and data and all(isinstance(x, dict) for x in data) and any(
                "HostConfig" in x or "Mounts" in x for x in data):
            return "inspect"
        if isinstance(data, dict) and "apiVersion" in data and "kind" in data:
            return "kubernetes"
        if isinstance(data, dict) and ({k.lower() for k in data} & DOCKER_CONFIG_KEYS or not data):
            return "docker-config"
        if data is not None:
            return ""
    from doctor.inputs.yamlforms import LOOKS_LIKE

    for form, looks_like in LOOKS_LIKE.items():  # Kubernetes manifests, autoscaler config, pipelines file
        if looks_like(text):
            return form
    # [ \t]*, not \s*: a \s* at each line start would run over every blank line after it (quadratic).
    # The words first: "in" finds a word in C at once, the ^ of a multi-line search is tried at each
    # character (issue 7: 4 us a search in a 1 KiB script)
    if any(word in text for word in _SYSTEMD_WORDS) and re.search(
            r"^[ \t]*(\[(Service|Unit|Install)\][ \t]*$|ExecStart[ \t]*=)", text, re.M):
        return "systemd"
    if "services" in text and re.search(r"^services\s*:", text, re.M):
        return "compose"
    from doctor.inputs import script

    if script.looks_like(text):
        return "script"
    return ""


def _yaml_forms() -> dict:
    from doctor.inputs import autoscaler, kubernetes, pipelines

    return {kubernetes.FORM: kubernetes, autoscaler.FORM: autoscaler, pipelines.FORM: pipelines}


def _runner_subject(setup: RunnerSetup, used: set) -> Subject:
    base = f"{setup.origin.path or 'stdin'}:{setup.origin.line or 0}"
    sid = base
    n = 2
    while sid in used:
        sid = f"{base}#{n}"
        n += 1
    used.add(sid)
    title = setup.label or f"{setup.kind.label} runner at {setup.origin}"
    return Subject(sid, "runner", setup.origin.path, setup.origin.line, title, runner=setup)


def parse_target(path: str, opts: LoadOptions, text: Optional[str] = None) -> List[object]:
    """Runner setups and standalone Docker configs in one TARGET (or given text). Raises InputError."""
    if text is None:
        text, err, _mode = read_text(path)
        if text is None:
            raise InputError(path, err or "cannot be read")
        opts.texts[path] = text
    if not text.strip():
        raise InputError(path, "the file is empty: no Bitbucket runner configuration found")
    if text.lstrip().startswith(("{", "[")):
        deep = jsondepth.too_deep(text)
        if deep:
            raise InputError(path, jsondepth.reason(deep))
    form = detect(text, path)
    if form == "docker-config":
        if path == STDIN:
            raise InputError(path, "give a Docker config as a file (--docker-config PATH), not on standard input")
        return [load_docker_config(path, Origin(path), "given")]
    if form == "inspect":
        from doctor.inputs import inspect

        found = inspect.parse(text, path, opts)
    elif form == "systemd":
        from doctor.inputs import systemd

        found = systemd.parse(text, path, opts)
    elif form == "compose":
        from doctor.inputs import compose

        found = compose.parse(text, path, opts)
    elif form == "script":
        from doctor.inputs import script

        found = script.parse(text, path, opts)
    elif form in _yaml_forms():
        found = _yaml_forms()[form].parse(text, path, opts)  # raises InputError when it finds nothing
    else:
        found = []
    if not found:
        what = {
            "inspect": "no Bitbucket runner container in this docker inspect output",
            "systemd": "no Bitbucket runner start command in this unit's ExecStart",
            "compose": "no service in this compose file runs the Bitbucket runner image",
        }.get(form, "no Bitbucket runner start command found")
        raise InputError(path, what)
    if len(found) > MAX_SUBJECTS_PER_TARGET:  # each is checked by every rule: time and memory grow with them
        raise InputError(path, f"{len(found)} runner configurations in one file; the limit is "
                               f"{MAX_SUBJECTS_PER_TARGET:,} (check them in smaller files)")
    return list(found)


STDIN = "<stdin>"


def load_targets(paths: Sequence[str], opts: LoadOptions, stdin_text: Optional[str] = None) -> List[Subject]:
    """Subjects for every TARGET. A config.json TARGET is the config the runners in this run will read.

    The TARGET ``-`` is standard input (``stdin_text``), shown as ``<stdin>``.
    """
    runners: List[RunnerSetup] = []
    configs: List[DockerConfig] = []
    others: List[Subject] = []  # subjects of their own kind: autoscaler groups, pipeline steps
    for path in paths:
        items = parse_target(STDIN, opts, stdin_text or "") if path == "-" else parse_target(path, opts)
        for item in items:
            if isinstance(item, DockerConfig):
                configs.append(item)
            elif isinstance(item, Subject):
                others.append(item)
            else:
                runners.append(item)
    if configs and runners and not opts.docker_config:
        # the config given as a TARGET is the one the runners will read
        for setup in runners:
            if setup.is_docker:
                setup.docker_config = configs[-1]
        configs = configs[:-1]
    used: set = set()
    subjects = [_runner_subject(r, used) for r in runners]
    for cfg in configs:
        sid = cfg.path
        used.add(sid)
        subjects.append(Subject(sid, "docker-config", cfg.path, None, f"Docker config {cfg.path}", docker_config=cfg))
    for other in others:
        base, n = other.id, 2
        while other.id in used:
            other.id = f"{base}#{n}"
            n += 1
        used.add(other.id)
        subjects.append(other)
    if any(s.kind == "pipeline-step" for s in subjects):  # only the pipelines reader makes steps
        from doctor.inputs import pipelines

        pipelines.link(subjects)  # steps learn which of the checked runners could serve them
    if not runners and not configs and opts.docker_config:
        cfg = load_docker_config(opts.docker_config, Origin(None), "given")
        subjects.append(Subject(cfg.path, "docker-config", cfg.path, None, f"Docker config {cfg.path}",
                                docker_config=cfg))
    return subjects
