"""A run's live part: gather the facts of the chosen daemons and add their subjects.

Used by the CLI (``runner-doctor check``) and by anything else that builds a
:class:`~doctor.rulebase.Context` itself (the tests' live rule cases).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

from doctor.inputs.common import LoadOptions
from doctor.live import hosts
from doctor.live.daemon import gather_all
from doctor.live.subjects import container_subjects, host_subject
from doctor.model import Subject
from doctor.rulebase import Context


def add_live(subjects: List[Subject], ctx: Context, opts: LoadOptions, host_urls: Sequence[str] = (),
             containers: Sequence[str] = (), timeout: float = 10.0,
             progress: Optional[Callable[[str], None]] = None) -> List[Subject]:
    """The subjects with the live ones added; `ctx` learns the daemon TARGET files are checked against.

    No TARGET subjects: each host (``host_urls``, else the one the docker CLI would use) and
    its runner containers (found by image, or the named ``containers``). With TARGET
    subjects: the first host's facts go to ``ctx.daemon`` (when it answers) and
    ``ctx.daemon_tried``; hosts and containers are added only when asked for explicitly.
    Hosts are gathered concurrently, each call bounded by ``timeout``.
    """
    choices = [hosts.choose(url) for url in host_urls] or [hosts.choose()]
    facts = gather_all(choices, timeout, containers, opts.runner_mirrors, progress)
    if subjects:
        ctx.daemon_tried = facts[0]
        ctx.daemon = facts[0] if facts[0].reachable else None
        if not host_urls and not containers:
            return subjects
    used = {s.id for s in subjects}
    live: List[Subject] = []
    for f in facts:
        live.append(host_subject(f))
        used.add(f.url)
        live.extend(container_subjects(f, opts, used))
    return subjects + live
