"""What every input form shares: load options, and attaching the Docker client config a runner will read."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from doctor.inputs.files import read_text, resolve_host_path
from doctor.model import DockerConfig, Mount, Origin, RunnerSetup, normpath
from doctor.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Dict, Optional, Tuple

CONFIG_DIR = "/root/.docker"
CONFIG_FILE = "/root/.docker/config.json"


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class LoadOptions(Record):
    """How the inputs are read: the options of the command line that change what a file means."""

    docker_config: Optional[str] = None  # --docker-config PATH
    runner_mirrors: Tuple[str, ...] = ()  # extra repositories accepted as the runner image
    cwd: str = field(default_factory=os.getcwd)
    # the TARGET texts as read (path -> text), so later stages (inline suppressions) need not read them again
    texts: Dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __init__(self, docker_config=None, runner_mirrors=(), cwd=None, texts=None):
        self.docker_config = docker_config
        self.runner_mirrors = runner_mirrors
        self.cwd = os.getcwd() if cwd is None else cwd
        self.texts = {} if texts is None else texts


def load_docker_config(path: str, origin: Origin = Origin(), how: str = "given",
                       shown: Optional[str] = None, member_of_dir: bool = False) -> DockerConfig:
    """Read a Docker client config.json. Never raises; problems are recorded on the result."""
    text, err, mode = read_text(path)
    cfg = DockerConfig(path=shown or path, resolved=os.path.abspath(path), text=text, error=err, mode=mode,
                       origin=origin, how=how, member_of_dir=member_of_dir)
    return parse_config_text(cfg)


def parse_config_text(cfg: DockerConfig) -> DockerConfig:
    """Fill ``data`` (or ``parse_error`` with line and column) from the config's text, when it has one."""
    if cfg.text is not None:
        try:
            cfg.data = json.loads(cfg.text)
        except json.JSONDecodeError as exc:
            cfg.parse_error = (exc.msg, exc.lineno, exc.colno)
        except RecursionError:
            cfg.parse_error = ("nested too deeply", 1, 1)
    return cfg


def config_mount(setup: RunnerSetup) -> Optional[Mount]:
    """The mount that gives the runner /root/.docker or /root/.docker/config.json."""
    found = None
    for m in setup.mounts:
        # normpath only drops components: a target without ".docker" is neither (issue 7: no normpath then)
        if ".docker" in m.target and normpath(m.target) in (CONFIG_DIR, CONFIG_FILE):
            found = m
    return found


def attach_docker_config(setup: RunnerSetup, opts: LoadOptions) -> None:
    """Find the config.json the runner will read: --docker-config wins, else the mount's host side."""
    mount = config_mount(setup)
    setup.docker_config_mount = mount
    if opts.docker_config:
        setup.docker_config = load_docker_config(opts.docker_config, Origin(None), "given")
        return
    if mount is None:
        return
    if not mount.is_bind or not mount.source:
        setup.docker_config = DockerConfig(
            path=mount.source or "(anonymous volume)", error=f"a {mount.type} cannot be read from here; "
            "give the file with --docker-config", origin=mount.origin, how="mounted")
        return
    host = resolve_host_path(mount.source, setup.base_dir)
    is_dir = normpath(mount.target) == CONFIG_DIR
    shown = mount.source.rstrip("/") + "/config.json" if is_dir else mount.source
    if host is None:
        setup.docker_config = DockerConfig(path=shown, error="its host path uses a variable that is not known here",
                                           origin=mount.origin, how="mounted", member_of_dir=is_dir)
        return
    if is_dir:
        if os.path.isfile(host):
            setup.docker_config = DockerConfig(
                path=mount.source, resolved=host, origin=mount.origin, how="mounted",
                error="is a file, but it is mounted at the folder /root/.docker", member_of_dir=True)
            return
        host = os.path.join(host, "config.json")
    setup.docker_config = load_docker_config(host, mount.origin, "mounted", shown=shown, member_of_dir=is_dir)
