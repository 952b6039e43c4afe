"""A proxy in front of a real Docker socket that breaks on cue: for the daemon-fault tests.

``FaultProxy(upstream_socket, folder)`` listens on ``folder/proxy.sock`` (or, with
``tcp=True``, on 127.0.0.1) and relays every connection to the real daemon's unix
socket, reading the HTTP requests that pass so that a fault can be tied to one of
them. ``on(pattern, ...)`` arms a fault for the ``nth`` request whose request line
(``GET /v1.47/containers/json?all=1 HTTP/1.1``) matches the regular expression:

- ``cut_after=N``: forward the request, relay N bytes of the answer, then cut the
  connection (a TCP reset with ``tcp=True``; on a unix socket the client reads an
  early end of the answer);
- ``hang=True``: never forward it and never answer; the connection stays open;
- ``trickle=SECONDS``: forward it and relay the answer one byte every SECONDS (each
  read gets a byte in time, so only a deadline on the whole step stops it);
- ``die=True``: the daemon dies: every connection is cut and the listener closed,
  its socket file removed (as dockerd removes its own when it stops);
- ``before=FUNCTION``: call it first (e.g. remove a container on the real daemon,
  or kill a dockerd), then forward the request.

``requests`` lists the request lines seen, in order. Everything runs in daemon
threads with bounded waits and is closed by ``stop()`` (or leaving the ``with``).
"""

from __future__ import annotations

import os
import re
import select
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Callable, List, Optional

from tests.lab.broken import accept_until

POLL = 0.2  # seconds between checks of the stop flag while waiting
UPSTREAM_TIMEOUT = 30.0  # a real daemon answers a lab request within this
HEAD_LIMIT = 64 * 1024


@dataclass
class _Fault:
    pattern: "re.Pattern[str]"
    nth: int
    cut_after: Optional[int] = None
    hang: bool = False
    trickle: Optional[float] = None
    die: bool = False
    before: Optional[Callable[[], None]] = None
    seen: int = 0


class _Connection:
    """One client connection and its upstream twin; the fault of the request being answered, if any."""

    def __init__(self, proxy: "FaultProxy", client: socket.socket):
        self.proxy = proxy
        self.client = client
        self.upstream: Optional[socket.socket] = None
        self.answer_fault: Optional[_Fault] = None
        self.relayed = 0  # bytes of the current answer relayed so far

    def close(self, reset: bool = False) -> None:
        if reset and self.proxy.tcp:
            try:  # SO_LINGER 0: close() sends a TCP RST instead of a FIN
                self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        for s in (self.client, self.upstream):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    # client -> daemon: read each request, apply its fault, forward it
    def relay_requests(self) -> None:
        buf = b""
        try:
            self.upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.upstream.settimeout(UPSTREAM_TIMEOUT)
            self.client.settimeout(UPSTREAM_TIMEOUT)
            self.upstream.connect(self.proxy.upstream_path)
            threading.Thread(target=self.relay_answers, daemon=True, name="faultproxy answers").start()
            while not self.proxy.stopping.is_set():
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    data = self._recv(self.client)
                    if data is None:
                        continue
                    if not data:
                        break
                    buf += data
                    if len(buf) > HEAD_LIMIT:
                        break
                    continue
                head, rest = buf[:end + 4], buf[end + 4:]
                m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
                length = int(m.group(1)) if m else 0
                while len(rest) < length:
                    data = self._recv(self.client)
                    if data == b"":
                        return
                    rest += data or b""
                request, buf = head + rest[:length], rest[length:]
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                if not self._forward(line, request):
                    return
        except OSError:
            pass
        finally:
            self.close()

    def _forward(self, line: str, request: bytes) -> bool:
        """Apply the request's fault and forward it; False when the connection is done."""
        fault = self.proxy.fault_for(line)
        if fault is not None and fault.before is not None:
            fault.before()
        if fault is not None and fault.die:
            self.proxy.die()
            return False
        if fault is not None and fault.hang:
            self.proxy.stopping.wait()  # silent until the test ends
            return False
        self.answer_fault, self.relayed = fault, 0
        self.upstream.sendall(request)
        return True

    # daemon -> client: relay the answers, cutting or trickling the one with a fault
    def relay_answers(self) -> None:
        try:
            while not self.proxy.stopping.is_set():
                data = self._recv(self.upstream)
                if data is None:
                    continue
                if not data:
                    break
                fault = self.answer_fault
                if fault is not None and fault.cut_after is not None:
                    room = fault.cut_after - self.relayed
                    self.client.sendall(data[:max(room, 0)])
                    self.relayed += len(data)
                    if self.relayed >= fault.cut_after:
                        self.close(reset=True)
                        return
                elif fault is not None and fault.trickle is not None:
                    for i in range(len(data)):
                        if self.proxy.stopping.wait(fault.trickle):
                            return
                        self.client.sendall(data[i:i + 1])
                else:
                    self.client.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def _recv(self, s: socket.socket) -> Optional[bytes]:
        """Some bytes, b"" at the end (or once the other thread closed it), None when nothing came within POLL."""
        if s.fileno() < 0:
            return b""
        try:
            ready, _, _ = select.select([s], [], [], POLL)
        except ValueError:  # closed meanwhile
            return b""
        return s.recv(65536) if ready else None


class FaultProxy:
    def __init__(self, upstream_path: str, folder: str, tcp: bool = False):
        self.upstream_path = upstream_path
        self.tcp = tcp
        self.faults: List[_Fault] = []
        self.requests: List[str] = []
        self.stopping = threading.Event()
        self.connections: List[_Connection] = []
        self.lock = threading.Lock()
        if tcp:
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.bind(("127.0.0.1", 0))
            self.path = None
            self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        else:
            self.path = os.path.join(folder, "proxy.sock")
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(self.path)
            self.url = f"unix://{self.path}"
        self.listener.listen(16)
        self.listener.settimeout(POLL)
        self._thread = threading.Thread(target=accept_until, args=(self.listener, self.stopping, self._opened),
                                        daemon=True, name=f"faultproxy {self.url}")
        self._thread.start()

    def on(self, pattern: str, nth: int = 1, cut_after: Optional[int] = None, hang: bool = False,
           trickle: Optional[float] = None, die: bool = False,
           before: Optional[Callable[[], None]] = None) -> "FaultProxy":
        self.faults.append(_Fault(re.compile(pattern), nth, cut_after, hang, trickle, die, before))
        return self

    def fault_for(self, line: str) -> Optional[_Fault]:
        with self.lock:
            self.requests.append(line)
            for fault in self.faults:
                if fault.pattern.search(line):
                    fault.seen += 1
                    if fault.seen == fault.nth:
                        return fault
        return None

    def _opened(self, client: socket.socket) -> None:
        conn = _Connection(self, client)
        with self.lock:
            self.connections.append(conn)
        threading.Thread(target=conn.relay_requests, daemon=True, name="faultproxy requests").start()

    def die(self) -> None:
        """Stop answering for good: the listener and every connection closed, the socket file gone."""
        try:
            self.listener.close()
        except OSError:
            pass
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            conn.close(reset=True)

    def stop(self) -> None:
        self.stopping.set()
        self.die()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

