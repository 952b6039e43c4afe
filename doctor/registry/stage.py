"""The registry stage of a run: check every image the runners pull, all at once, bounded in time.

:func:`check_images` collects the pulls of every runner subject
(:func:`doctor.registry.plan.pulls`), probes each distinct (image, credentials)
pair directly and, when the subject's daemon answers, through the daemon too —
all concurrently, connections and tokens shared per registry — and returns the
:class:`~doctor.registry.results.RegistryResults` the rules read. Each request is
bounded by ``timeout``; the stage as a whole by a few times that (a probe makes
at most four requests in a row), after which what has not finished is reported
as a timeout. It never raises.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from doctor.model import Subject
from doctor.registry import results as R
from doctor.registry.plan import Pull, host_docker_config, pulls
from doctor.registry.probe import Policy, Prober
from doctor.registry.results import ImageCheck, Probe, RegistryResults
from doctor.registry.transport import DEFAULT_CERTS_D, Transport

MAX_WORKERS = 32
REQUESTS_PER_PROBE = 4  # ping, token, HEAD, index GET
GRACE = 1.0


def check_images(subjects: Sequence[Subject], ctx, timeout: float, certs_d: str = DEFAULT_CERTS_D,
                 progress: Optional[Callable[[str], None]] = None, policy: Optional[Policy] = None) -> RegistryResults:
    say = progress or (lambda _m: None)
    host_config = host_docker_config()
    work: Dict[str, Tuple[Pull, List]] = {}  # key -> (pull, daemons)
    out = RegistryResults(logins=[host_config] if host_config is not None else [])
    for subject in subjects:
        if subject.runner is None or not subject.runner.is_docker:
            continue
        found, _unknown = pulls(subject, host_config)
        daemon = ctx.daemon_for(subject)
        for pull in found:
            out.pulls.setdefault(subject.id, {})[pull.what] = pull.key
            entry = work.setdefault(pull.key, (pull, []))
            if daemon is not None and daemon.choice is not None and all(d is not daemon for d in entry[1]):
                entry[1].append(daemon)
    if not work:
        return out
    if policy is None:
        daemon = next((d for _p, ds in work.values() for d in ds), None) or ctx.daemon
        policy = Policy((daemon.info or {}).get("RegistryConfig") if daemon is not None else None)
    if policy.loopback_only:
        out.notes.append("only loopback registries were contacted (RUNNER_DOCTOR_LOOPBACK_ONLY is set)")
    prober = Prober(timeout, policy, Transport(timeout, certs_d))
    daemon_probers = {}
    for _pull, daemons in work.values():
        for d in daemons:
            if d.url not in daemon_probers:
                from doctor.registry.via_daemon import DaemonProber

                daemon_probers[d.url] = DaemonProber(d, timeout)
    registries = {p.ref.domain for p, _d in work.values()}
    total = len(work)
    say(f"checking {total} image{'s' if total != 1 else ''} in {len(registries)} "
        f"registr{'ies' if len(registries) != 1 else 'y'}")
    for key, (pull, daemons) in work.items():
        out.checks[key] = ImageCheck(key, str(pull.ref), pull.ref.domain, pull.credentials_label,
                                     daemon_url=daemons[0].url if daemons else "")
    pool = ThreadPoolExecutor(max_workers=min(MAX_WORKERS, 2 * total))
    futures = {}
    for key, (pull, daemons) in work.items():
        futures[pool.submit(_direct, prober, pull)] = (key, "direct")
        if daemons:
            if not policy.contacts(pull.ref.domain):
                continue
            futures[pool.submit(daemon_probers[daemons[0].url].probe, pull)] = (key, "daemon")
    deadline = time.monotonic() + REQUESTS_PER_PROBE * timeout + GRACE
    pending = set(futures)
    done_count = 0
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        done, pending = wait(pending, timeout=left, return_when="FIRST_COMPLETED")
        for fut in done:
            key, via = futures[fut]
            probe = fut.result()
            setattr(out.checks[key], via, probe)
            if via == "direct":
                done_count += 1
                say(f"checked {out.checks[key].image} ({done_count}/{total})")
    for fut in pending:
        key, via = futures[fut]
        setattr(out.checks[key], via, Probe(via, R.TIMEOUT, f"the check did not finish within "
                                            f"{REQUESTS_PER_PROBE * timeout + GRACE:g} s (a name lookup or the "
                                            "registry hung)", "check the network path to the registry, or raise "
                                            "--timeout"))
    pool.shutdown(wait=False, cancel_futures=True)
    prober.close()
    for dp in daemon_probers.values():
        dp.close()
    return out


def _direct(prober: Prober, pull: Pull) -> Probe:
    try:
        return prober.probe(pull)
    except Exception as exc:  # noqa: BLE001 - a probe bug is reported on its image, the run goes on
        return Probe("direct", R.PROTOCOL, f"runner-doctor failed while probing ({type(exc).__name__}: {exc})",
                     "please report this as a runner-doctor bug")
