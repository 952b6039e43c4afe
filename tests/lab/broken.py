"""Docker hosts that do not work, each a real thing on this machine: for RD501 cases and the live tests.

Kinds (``broken_host(kind, folder)`` yields the ``--host`` URL):

- ``missing-socket``: a socket path in an existing folder, with no file;
- ``not-a-socket``: a folder where the socket should be (what a bind mount of a missing socket leaves);
- ``stale-socket``: a socket file that nothing listens on (a daemon that died);
- ``hung``: a unix socket whose server accepts connections and never answers;
- ``refused``: ``tcp://127.0.0.1:PORT`` with nothing listening;
- ``blackhole``: ``tcp://127.0.0.1:PORT`` whose listener's backlog is full, so connecting hangs.

Everything lives in ``folder`` or on 127.0.0.1 and is closed when the context ends.
"""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, List

KINDS = ("missing-socket", "not-a-socket", "stale-socket", "hung", "refused", "blackhole")
ACCEPT_POLL = 0.2  # seconds between checks of the stop flag while waiting for a connection


def accept_until(listener: socket.socket, stopping: threading.Event,
                 handle: Callable[[socket.socket], None]) -> None:
    """Give each connection the listener accepts to ``handle``, until ``stopping`` is set or the listener is
    closed. The listener has a timeout (ACCEPT_POLL here): the flag is looked at between connections."""
    while not stopping.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            return
        handle(conn)


class HungDaemon:
    """Accepts connections on a unix socket (or 127.0.0.1) and never answers; keeps them open until stopped."""

    def __init__(self, path: str = ""):
        family = socket.AF_UNIX if path else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind(path or ("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(ACCEPT_POLL)
        self.url = f"unix://{path}" if path else f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: List[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=accept_until, args=(self.listener, self._stop, self.accepted.append),
                                        name=f"hung daemon {self.url}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.listener.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def broken_host(kind: str, folder: str) -> Iterator[str]:
    """The URL of a broken Docker host of this kind, made in `folder` (or on 127.0.0.1); undone after."""
    sock = os.path.join(folder, "docker.sock")
    closers = []
    if kind == "missing-socket":
        url = f"unix://{sock}"
    elif kind == "not-a-socket":
        os.mkdir(sock)
        url = f"unix://{sock}"
    elif kind == "stale-socket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sock)
        s.close()  # the file stays; nothing listens
        url = f"unix://{sock}"
    elif kind == "hung":
        daemon = HungDaemon(sock)
        closers.append(daemon.stop)
        url = daemon.url
    elif kind == "refused":
        url = f"tcp://127.0.0.1:{free_port()}"
    elif kind == "blackhole":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler = socket.create_connection(listener.getsockname(), timeout=2)  # fills the backlog of one
        closers += [filler.close, listener.close]
        url = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    else:
        raise ValueError(f"unknown broken host kind {kind!r}; one of {', '.join(KINDS)}")
    try:
        yield url
    finally:
        for close in closers:
            close()
