"""Hard wall-clock limits on HTTP exchanges: a connection still busy at its deadline is shut down.

``requests``' ``timeout`` bounds each wait for a byte, not the exchange: a server that sends one
byte every 100 ms keeps a download (or an answer's headers) alive for ever, and a deadline checked
between 64 KiB reads is never reached. So every connection made by a :class:`DeadlineAdapter`
session reports to the exchange the calling thread has open (:func:`hard_deadline`), and one
watchdog thread shuts down the socket of any exchange still open at its deadline. The blocked read
then returns, and the caller sees ``expired`` set — whatever the read itself reported.

The same connections run the exchange's ``before_send`` hook right before a request's first byte is
written (after urllib3 and ``requests`` have done their work): the gateway transport checks there
that its rate-limit slot is still fresh, as close to the wire as Python gets.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Exchange:
    """One request/answer with an absolute deadline (``time.monotonic()`` seconds)."""

    def __init__(self, deadline: float, before_send: Callable[[], None] | None = None) -> None:
        self.deadline = deadline
        self.expired = False
        self.before_send = before_send  # runs right before each request's first byte
        self._finished = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, connection: Any) -> None:
        """Watch ``connection`` (its socket may come later: it is read at expiry)."""
        with self._lock:
            if self._finished:
                return
            if connection not in self._connections:
                self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def finish(self) -> None:
        with self._lock:
            self._finished = True
            self._connections.clear()

    @property
    def finished(self) -> bool:
        return self._finished


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, not SSLSocket's (which would drop its SSL object under a reader).
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watchdog:
    """One daemon thread expiring exchanges in deadline order."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        if self._pid != os.getpid():
            self._reset()  # a forked child: the parent's thread did not come along
        with self._cond:
            heapq.heappush(self._heap, (exchange.deadline, next(self._order), exchange))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="http-deadline-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is exchange:
                # Only a new earliest deadline changes the watchdog's wait. Waking it for every call put one
                # more thread between each gateway call and its first byte (it must take the GIL).
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2].finished:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        exchange = heapq.heappop(self._heap)[2]
                        break
                    self._cond.wait(wait)
            exchange.expire()


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextmanager
def hard_deadline(deadline: float, before_send: Callable[[], None] | None = None) -> Iterator[Exchange]:
    """Cut every connection this thread uses inside the block once ``time.monotonic()`` passes ``deadline``.

    ``before_send`` runs right before each request's first byte is written (it may block, or raise: nothing
    has been sent yet).
    """
    exchange = Exchange(deadline, before_send)
    previous = getattr(_current, "exchange", None)
    _current.exchange = exchange
    _WATCHDOG.watch(exchange)
    try:
        yield exchange
    finally:
        exchange.finish()
        _current.exchange = previous


def _attach_current(connection: Any) -> None:
    exchange = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.attach(connection)


class WatchedConnection:
    """Mixin for urllib3 connections: join the calling thread's exchange when used."""

    def connect(self) -> None:
        _attach_current(self)
        super().connect()  # type: ignore[misc]
        if getattr(getattr(_current, "exchange", None), "expired", False):
            _shut(self)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _attach_current(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def endheaders(self, *args: Any, **kwargs: Any) -> Any:
        before_send = getattr(getattr(_current, "exchange", None), "before_send", None)
        if before_send is not None:
            before_send()  # may block (a new slot) or raise (nothing has been written yet)
        return super().endheaders(*args, **kwargs)  # type: ignore[misc]


def watched(base: type[HTTPConnection]) -> type[HTTPConnection]:
    """``base`` with :class:`WatchedConnection` mixed in."""
    return type(f"Watched{base.__name__}", (WatchedConnection, base), {})


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) obey :func:`hard_deadline`."""

    def connection_class(self, base: type[HTTPConnection]) -> type[HTTPConnection]:
        """The connection class for ``base``; subclasses add their own checks on top."""
        return watched(base)

    def _pool_classes(self) -> dict[str, type]:
        http_conn, https_conn = self.connection_class(HTTPConnection), self.connection_class(HTTPSConnection)
        return {
            "http": type("WatchedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("WatchedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes()

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._pool_classes()
        return manager


def read_capped(response: Any, exchange: Exchange, max_bytes: int, chunk: int = 64 * 1024) -> tuple[bytes, bool]:
    """Read a streamed ``requests`` answer's body: ``(body, over)`` where ``over`` means it passed ``max_bytes``.

    Stops reading at ``max_bytes + 1`` bytes. Check ``exchange.expired`` afterwards: a body cut at
    the deadline may look complete (a connection shut down reads as an ordinary end of data).
    """
    body = bytearray()
    for piece in response.iter_content(chunk):
        body += piece
        if len(body) > max_bytes:
            return bytes(body[: max_bytes + 1]), True
        if exchange.expired:
            break
    return bytes(body), False
