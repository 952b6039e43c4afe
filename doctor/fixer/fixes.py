"""The fixes, one per rule, applied to an :class:`~doctor.fixer.editor.Editor`.

A fix runs only when ``check`` reported its rule as ``fail`` or ``warn`` for the
runner, and then works from the settings as the earlier fixes left them (an
option moved before the image counts). What it cannot repair - a value only the
user knows, a file other than the TARGET - it leaves, and ``check`` on the
result still reports it. Messages never hold a secret's value.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from doctor.fixer.editor import Editor, Item
from doctor.inputs.docker_run import is_runner_image
from doctor.inputs.files import resolve_host_path
from doctor.model import normpath
from doctor.rules._env import UUID_RE, is_placeholder, is_redacted, known_value, quote_char
from doctor.runner_facts import (
    CONFIG_DIR, CONFIG_FILE, CONTAINERS_DIR, KNOWN_ENV, REQUIRED_ENV, SOCKET_PATH, UUID_ENV, custom_helper_images,
)

KNOWN_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
SECRET = "OAUTH_CLIENT_SECRET"
SECRET_RULE = "RD205"
PREREQ = "RUNTIME_PREREQUISITES_ENABLED"
WORKDIR = "WORKING_DIRECTORY"
STRIP_BRACES = "${RUNNER_UUID//[\\{\\}]/}"  # bash: RUNNER_UUID without its braces


@dataclass
class FixContext:
    docker_config: Optional[str]  # --docker-config PATH
    mirrors: Tuple[str, ...]  # --runner-image
    bash: bool  # the script runs under bash (${VAR//...} is available)


# ---------------------------------------------------------------- RD003 / RD004

def syntax(ed: Editor, ctx: FixContext) -> None:
    """RD003: broken continuations and flattened lines are gone once the command is written anew."""
    seen = set()
    for p in ed.setup.syntax_problems:
        if p.code == "broken-continuation":
            ed.change("RD003", f"line {p.origin.line}: removed the blank after the continuation backslash")
        elif p.code == "escaped-space" and p.code not in seen:
            seen.add(p.code)
            ed.change("RD003", "wrote the flattened one-line command (backslash-spaces) one option per line")


def supervision(ed: Editor, ctx: FixContext) -> None:
    """RD004: the run mode fits what starts the runner."""
    if ed.form == "compose":
        restart = ed.flag("restart")
        if restart is None or restart.value in ("", "no"):
            ed.set_flag("restart", "unless-stopped")
            ed.change("RD004", "restart: unless-stopped (the runner comes back after a crash or a reboot)")
        return
    restart = ed.flag("restart")
    policy = restart is not None and restart.value not in ("", "no")
    if ed.supervisor == "systemd":
        _drop_terminal(ed, "a systemd service has no terminal")
        detached = ed.remove_flag("detach")
        if detached:
            ed.change("RD004", "dropped -d: under systemd the container runs in the foreground, so systemd "
                               "sees it stop and restarts it")
        if policy and (detached or ed.flag("rm") is not None):
            ed.remove_flag("restart")
            ed.change("RD004", "dropped --restart: systemd restarts the runner (with both, a restarted unit "
                               "finds the container still there, or docker refuses --restart with --rm)")
        unit_restart = ed.setup.flag("systemd-restart")
        if unit_restart is None or unit_restart[0] in ("", "no"):
            ed.unit_lines.append("Restart=always")
            ed.change("RD004", "added Restart=always to the unit's [Service] section")
        return
    if ed.supervisor == "cron":
        _drop_terminal(ed, "a cron job has no terminal")
    if ed.flag("rm") is not None and policy:
        ed.remove_flag("rm")
        ed.change("RD004", "dropped --rm: it conflicts with the --restart policy a long-lived runner needs")
    if not policy:
        ed.set_flag("restart", "unless-stopped")
    if ed.flag("detach") is None or not policy:
        ed.set_flag("detach", "")
        _drop_terminal(ed, "it runs detached")
        ed.change("RD004", f"-d --restart {ed.flag('restart').value}: the runner runs in the background and "
                           "comes back after a crash or a reboot")


def _drop_terminal(ed: Editor, why: str) -> None:
    dropped = [f"-{k[0]}" for k in ("interactive", "tty") if ed.remove_flag(k)]
    if dropped:
        ed.change("RD004", f"dropped {' and '.join(dropped)}: {why}")


# ---------------------------------------------------------------- RD101 - RD104

def socket(ed: Editor, ctx: FixContext) -> None:
    at = ed.mounts_at(SOCKET_PATH)
    if not at:
        near = [i for i in ed.mounts() if i.mount.source and normpath(i.mount.source) in KNOWN_SOCKETS]
        if near:
            item = near[-1]
            ed.set_mount(item, item.mount.source, SOCKET_PATH, item.mount.read_only)
            ed.change("RD101", f"the Docker socket is mounted at {SOCKET_PATH}, where the runner looks for it")
            return
        ed.add_mount(ed.host_socket, SOCKET_PATH)
        ed.change("RD101", f"added the Docker socket mount {ed.host_socket}:{SOCKET_PATH}")
        return
    item = at[-1]
    source = item.mount.source or ""
    if not item.mount.is_bind or ("$" not in source and not source.endswith(".sock")):
        ed.set_mount(item, ed.host_socket, SOCKET_PATH, False)
        ed.change("RD101", f"{SOCKET_PATH} is mounted from the host's Docker socket {ed.host_socket}")


def containers_dir(ed: Editor, ctx: FixContext) -> None:
    at = ed.mounts_at(CONTAINERS_DIR)
    if not at:
        elsewhere = [i for i in ed.mounts() if i.mount.source and normpath(i.mount.source).endswith("/containers")
                     and "docker" in i.mount.source]
        if elsewhere:
            item = elsewhere[-1]
            ed.set_mount(item, item.mount.source, CONTAINERS_DIR, True)
            ed.change("RD102", f"{item.mount.source} is mounted read-only at {CONTAINERS_DIR}, where the runner "
                               "reads it")
            return
        ed.add_mount(CONTAINERS_DIR, CONTAINERS_DIR, True)
        ed.change("RD102", f"added {CONTAINERS_DIR}:{CONTAINERS_DIR}:ro (the runner reads the step logs there)")
        return
    item = at[-1]
    if not item.mount.is_bind:
        ed.set_mount(item, CONTAINERS_DIR, CONTAINERS_DIR, True)
        ed.change("RD102", f"{CONTAINERS_DIR} is mounted from the host's folder, read-only")
    elif not item.mount.read_only:
        ed.set_mount(item, item.mount.source, item.mount.target, True, item.expands)
        ed.change("RD102", f"{CONTAINERS_DIR} is mounted read-only (:ro)")


def _covering(ed: Editor, path: str) -> Optional[Item]:
    best = None
    for item in ed.mounts():
        t = normpath(item.mount.target)
        if path == t or path.startswith(t.rstrip("/") + "/"):
            if best is None or len(t) >= len(normpath(best.mount.target)):
                best = item
    return best


def _set_workdir(ed: Editor, item: Optional[Item], value: str, expands: bool = False) -> None:
    if item is not None:
        ed.set_env(item, WORKDIR, value, expands)
    else:
        ed.add_env(WORKDIR, value, expands)


def working_directory(ed: Editor, ctx: FixContext) -> None:
    var, item = ed.effective(WORKDIR)
    if var is None:
        special = {SOCKET_PATH, CONTAINERS_DIR, CONFIG_DIR, CONFIG_FILE}
        same = [i.mount for i in ed.mounts() if i.mount.is_bind and i.mount.source and
                normpath(i.mount.source) == normpath(i.mount.target) and normpath(i.mount.target) not in special
                and i.mount.target.startswith("/")]
        wd = normpath(same[0].target) if same else "/tmp"
        ed.add_env(WORKDIR, wd)
        if not same:
            ed.add_mount(wd, wd)
        unread = [f.path for f in ed.setup.env_files if f.error]
        also = (f" (it may be set in {', '.join(unread)}, which cannot be read here; the -e value wins over "
                "the file)") if unread and ed.form != "compose" else ""
        ed.change("RD103", f"set {WORKDIR}={wd}, mounted at the same path on the host{also}")
        return
    value = known_value(var)
    if value is None or not value.strip().startswith("/"):
        return  # given at run time, or not a path (RD103 says which): the user decides
    wd = normpath(value.strip())
    mount_item = _covering(ed, wd)
    if mount_item is None:
        ed.add_mount(wd, wd)
        ed.change("RD103", f"added the mount {wd}:{wd} for {WORKDIR}={wd}")
        return
    m = mount_item.mount
    if not m.is_bind:
        if normpath(m.target) == wd:
            ed.set_mount(mount_item, wd, wd, False)
        else:
            ed.add_mount(wd, wd)
        ed.change("RD103", f"{wd} is a host folder mounted at the same path (it was a {m.type}, which the host's "
                           "daemon cannot see at that path)")
        return
    if m.read_only:
        ed.set_mount(mount_item, m.source, m.target, False, mount_item.expands)
        ed.change("RD103", f"the mount of {m.target} is writable (the runner prepares the steps there)")
        return
    _same_path(ed, mount_item, item, wd)


def _same_path(ed: Editor, mount_item: Item, item: Optional[Item], wd: str) -> None:
    """Make the host path of the working directory's mount the same as its path in the runner."""
    m = mount_item.mount
    source = m.source or ""
    target = normpath(m.target)
    rel = posixpath.relpath(wd, target)
    if "$" in source:
        prefix = source.split("$", 1)[0]
        if target.startswith(prefix) or not prefix.startswith("/"):
            return  # the rule accepts it: the variable may well expand to the target
        host_src, expands = source.rstrip("/"), True
    else:
        host_src = normpath(source) if source.startswith("/") else resolve_host_path(source, ed.setup.base_dir)
        expands = False
        if host_src is None or normpath(posixpath.join(host_src, rel)) == wd:
            return
    host_wd = host_src if rel == "." else f"{host_src}/{rel}"
    ed.set_mount(mount_item, host_src, host_src, False, expands)
    _set_workdir(ed, item, host_wd, expands)
    ed.change("RD103", f"{WORKDIR} and its mount use the same path on the host and in the runner: "
                       f"{host_src}:{host_src} and {WORKDIR}={host_wd} (was {source}:{m.target} with "
                       f"{WORKDIR}={wd})")


def _looks_like_config(path: str) -> bool:
    p = normpath(path)
    return p.endswith("/.docker") or p.endswith("/config.json") or p == ".docker"


def docker_config(ed: Editor, ctx: FixContext) -> None:
    if ed.mounts_at(CONFIG_DIR) or ed.mounts_at(CONFIG_FILE):
        return
    misplaced = [i for i in ed.mounts() if _looks_like_config(i.mount.source or "") or
                 _looks_like_config(i.mount.target)]
    if misplaced:
        item = misplaced[-1]
        right = CONFIG_FILE if normpath(item.mount.target).endswith(".json") else CONFIG_DIR
        ed.set_mount(item, item.mount.source, right, item.mount.read_only, item.expands)
        ed.change("RD104", f"the Docker config {item.mount.source} is mounted at {right}, where the runner "
                           "reads it")
        return
    if ctx.docker_config:
        path = os.path.abspath(ctx.docker_config)
        ed.add_mount(path, CONFIG_FILE, True)
        ed.change("RD104", f"added the mount of the given Docker config: {path}:{CONFIG_FILE}:ro")
        return
    if custom_helper_images(ed.setup):
        ed.note("the helper images are custom: if they are private, mount a config.json with basic credentials "
                f"at {CONFIG_DIR} (or run fix with --docker-config PATH)")


# ---------------------------------------------------------------- RD201 - RD206

def required_env(ed: Editor, ctx: FixContext) -> None:
    """RD201: a misspelt variable gets its right name; a missing or placeholder secret is given at run time."""
    for item in ed.env():
        value = known_value(item.var) if item.var is not None else None
        if item.var is not None and item.var.is_secret and value is not None and is_placeholder(value):
            ed.set_env(item, item.name, _run_time(ed, item.name), ed.form == "compose")
            ed.change("RD201", f"{item.name} held a placeholder: it is given at run time ({_reference(ed, item.name)})")
            ed.note(_where_secret(ed, item.name))
    quoted = sorted({v.env_file for v in ed.setup.env if v.source == "env-file" and v.value and
                     quote_char(v.value) and v.env_file})
    for path in quoted:
        ed.note(f"remove the quotes around the values in {path}: docker's --env-file keeps them as part of the value")
    if any(f.error and not f.optional for f in ed.setup.env_files):
        return  # the missing ones may be in that file
    for name in REQUIRED_ENV:
        if ed.effective(name)[0] is not None:
            continue
        unknown = [i for i in ed.env() if i.name not in KNOWN_ENV]
        close = difflib.get_close_matches(name, [i.name for i in unknown], n=1, cutoff=0.75)
        if close:
            item = next(i for i in unknown if i.name == close[0])
            old = item.name
            ed.set_env(item, name, item.value, item.expands)
            ed.change("RD201", f"renamed {old} to {name} (a misspelling: the runner reads only {name})")
            continue
        if name == SECRET:
            ed.add_env(name, _run_time(ed, name), ed.form == "compose")
            ed.change("RD201", f"{name} is given at run time ({_reference(ed, name)})")
            ed.note(_where_secret(ed, name))


def _run_time(ed: Editor, name: str) -> Optional[str]:
    """How a value given at run time is written: -e NAME (inherited), or ${NAME} in compose."""
    return "${%s}" % name if ed.form == "compose" else None


def uuid_format(ed: Editor, ctx: FixContext) -> None:
    for name in UUID_ENV:
        var, item = ed.effective(name)
        if var is None:
            continue
        if item is None:
            if known_value(var) and not re.fullmatch(r"\{" + UUID_RE.pattern + r"\}", known_value(var).strip()):
                ed.note(f"{name} comes from {var.env_file or 'an env file'}: write it there as "
                        "{uuid}, braces included")
            continue
        if var.yaml_type == "mapping":
            found = UUID_RE.search(var.raw or "")
            if found:
                ed.set_env(item, name, "{" + found.group(0) + "}")
                ed.change("RD202", f"{name}: quoted the {{uuid}} (unquoted, YAML reads it as a mapping)")
            continue
        value = known_value(var)
        if value is None or is_placeholder(value) or is_redacted(value):
            continue
        found = UUID_RE.search(value)
        fixed = "{" + found.group(0) + "}" if found else None
        if fixed is None or value == fixed:
            continue
        if "$" in (var.raw or "") and var.raw != value:
            ed.note(f"{name} gets its value from {var.raw}: write it there as {fixed}")
            continue
        ed.set_env(item, name, fixed)
        ed.change("RD202", f"{name}={fixed} (Bitbucket's UUIDs are written in braces)")


def duplicates(ed: Editor, ctx: FixContext) -> None:
    """RD204: a variable written twice keeps the value docker uses (the last one) only."""
    names = [i.name for i in ed.env()]
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        written = ed.env(name)
        for extra in written[:-1]:
            ed.remove(extra)
        ed.change("RD204", f"{name} was given {len(written)} times: kept the last one, the value docker uses")


def runtime_prerequisites(ed: Editor, ctx: FixContext) -> None:
    written = ed.env(PREREQ)
    var, _item = ed.effective(PREREQ)
    if var is not None and known_value(var) is None:
        return
    if var is None and any(f.error and not f.optional for f in ed.setup.env_files):
        return
    if written:
        for extra in written[:-1]:
            ed.remove(extra)
        ed.set_env(written[-1], PREREQ, "true")
    else:
        ed.add_env(PREREQ, "true")
    ed.change("RD203", f"{PREREQ}=true, once (as Bitbucket's dialog sets it)")


def secret_exposure(ed: Editor, ctx: FixContext) -> None:
    """RD205: a secret written in the command becomes a reference; the value is never shown."""
    for item in ed.env():
        var = item.var
        if var is None or not var.is_secret or var.source != "literal":
            continue
        value = known_value(var)
        if value is None or not value.strip() or is_placeholder(value) or is_redacted(value):
            continue
        if "$" in (var.raw or "") and var.raw != value:
            ed.note(f"{var.name} comes from a variable assigned in the script ({var.raw}): keep the value out of "
                    "the script (a secret store, or an env file with mode 0600)")
            continue
        ed.set_env(item, var.name, _run_time(ed, var.name), ed.form == "compose")
        ed.lost_secrets.append(var.name)
        ed.change("RD205", f"{var.name} is no longer written in the {_where(ed)}: it is given at run time "
                           f"({_reference(ed, var.name)})")
        ed.note(_where_secret(ed, var.name))
    for var in ed.setup.env:
        if var.is_secret and var.source == "inherited" and var.value and not var.env_file:
            ed.note(f"{var.name} is assigned in the script and passed with -e {var.name}: remove that assignment "
                    "and provide the value from a secret store")
    for ref in ed.setup.env_files:
        held = [v.name for v in ed.setup.env if v.is_secret and v.env_file in (ref.path, ref.resolved)]
        if held and ref.mode is not None and ref.mode & 0o044:
            ed.note(f"run: chmod 600 {ref.resolved or ref.path} (it holds {', '.join(sorted(set(held)))})")


def _where(ed: Editor) -> str:
    return {"compose": "compose file", "systemd": "unit", "systemd-shell": "unit"}.get(ed.context, "command")


def _reference(ed: Editor, name: str) -> str:
    return f"{name}: ${{{name}}}" if ed.form == "compose" else f"-e {name}"


def _where_secret(ed: Editor, name: str) -> str:
    if ed.form == "compose":
        return (f"put {name}=<the secret> in the .env file next to the compose file (chmod 600 .env), or export "
                f"{name} before 'docker compose up'")
    if ed.context.startswith("systemd"):
        return (f"put {name}=<the secret> in /etc/bitbucket-runner/runner.env (chmod 600) and add "
                "EnvironmentFile=/etc/bitbucket-runner/runner.env to the unit's [Service] section, if it has none")
    return (f"export {name} from your secret store before the command runs (or keep it in an env file with mode "
            "0600 and pass --env-file)")


def container_name(ed: Editor, ctx: FixContext) -> None:
    var, _ = ed.effective("RUNNER_UUID")
    value = known_value(var) if var is not None else None
    found = UUID_RE.search(value or "")
    expected = f"runner-{found.group(0).lower()}" if found else None
    item = ed.name_item()
    if item is None:
        if expected and ed.form != "compose":
            ed.set_flag("name", expected)
            ed.change("RD206", f"--name {expected} (docker would pick a random name)")
        return
    written = item.value or ""
    if "$" in written and ed.form != "compose":
        if ctx.bash and re.search(r"\$\{?RUNNER_UUID\}?", written):
            fixed = re.sub(r"\$\{RUNNER_UUID\}|\$RUNNER_UUID\b", lambda _m: STRIP_BRACES, written)
            ed.set_flag("name", fixed).raw = f'"{fixed}"'
            ed.change("RD206", f"--name \"{fixed}\" (the braces of RUNNER_UUID are removed for the name)")
        elif expected:
            ed.set_flag("name", expected)
            ed.change("RD206", f"--name {expected} (the braces of RUNNER_UUID are not allowed in a name)")
        return
    bare = written.lstrip("/")
    if expected and bare.lower() != expected and (UUID_RE.search(bare) or "{" in bare or "}" in bare):
        ed.set_flag("name", expected)
        ed.change("RD206", f"{'container_name: ' if ed.form == 'compose' else '--name '}{expected}")
    elif ("{" in bare or "}" in bare) and not is_placeholder(bare):
        fixed = re.sub(r"[{}]", "", bare)
        ed.set_flag("name", fixed)
        ed.change("RD206", f"the container name is {fixed} (braces are not allowed)")


def runner_image(ed: Editor, ctx: FixContext) -> None:
    """RD002: Atlassian's runner image (or a declared mirror) without a tag, or on latest, gets the tag 1."""
    image = ed.image
    if image is None or not image.value or "$" in image.value or "@" in image.value:
        return
    text = image.value
    last = text.rsplit("/", 1)[-1]
    repo, _, tag = (text.rpartition(":") if ":" in last else (text, "", ""))
    if tag not in ("", "latest") or not is_runner_image(f"{repo}:1", ctx.mirrors):
        return
    ed.set_image(f"{repo}:1")
    ed.change("RD002", f"the runner image uses the tag 1 (was {'latest' if tag else 'untagged, which is latest'})")


FIXES: Sequence[Tuple[str, Callable[[Editor, FixContext], None]]] = (
    ("RD003", syntax),
    ("RD004", supervision),
    ("RD204", duplicates),
    ("RD201", required_env),
    ("RD202", uuid_format),
    ("RD205", secret_exposure),
    ("RD203", runtime_prerequisites),
    ("RD101", socket),
    ("RD102", containers_dir),
    ("RD103", working_directory),
    ("RD104", docker_config),
    ("RD206", container_name),
    ("RD002", runner_image),
)


def apply(ed: Editor, flagged: set, ctx: FixContext) -> List[str]:
    """Run the fixes for the rules check flagged; the rule ids whose fix changed something."""
    for rule_id, fix in FIXES:
        if rule_id in flagged:
            fix(ed, ctx)
    return sorted({c.rule for c in ed.changes})
