"""One call budget per Haier account, shared by every thread, run, process and machine: evenly spaced, never a burst.

Haier throttles above 100 calls/s per account, whoever makes the calls. A limiter per run let three
overlapping syncs send 300 calls/s between them (46 × 429 in one night), so the budget's state lives
where every run of the account meets:

- ``store=None``: in this process (a client on its own, tests, images per host);
- ``store="sqlite:///…/catalog.sqlite"``: a file beside the SQLite catalogue, updated under ``fcntl.flock``
  (every process on that machine);
- ``store="postgresql…"``: one row per account in the catalogue's PostgreSQL (every machine).

The algorithm is GCRA: the store keeps one number per account, the *next free slot*. A caller atomically
takes ``slot = max(next, now)``, sets ``next = slot + spacing`` and sleeps until ``slot``. So calls leave
exactly ``spacing`` apart however many processes ask, no state is held between calls (a SIGKILLed process
frees its share by dying: at most the few slots it had already reserved go unused), and each call costs one
short critical section (a locked 8-byte file read/write, or one ``UPDATE … RETURNING`` round trip).

Why not pyrate-limiter's ``SQLiteBucket``/``PostgresBucket`` (``benchmarks/shared_budget.py`` measures them
beside this; docs/operations.md): they keep a log of every call and answer "is there room in the window?";
a refused caller sleeps and asks again. With ``Rate(100, 1 s)`` two processes got 101-105 calls into one
second (and 111.7 calls/s on a quiet machine): a log admits a burst at a window's start. With ``Rate(1, 10 ms)``
they are spaced, but every waiter polls, ties are lost to the table lock (``NOWAIT``) or the file lock, and each
miss costs a slot: 61-77 calls/s at a limit of 100, 2 store trips per call. GCRA hands each caller its slot in
one trip (1.01-1.03 per call) and stayed at 97 in its busiest second.

``spacing`` is ``(1 + margin) / rate``: the budget promises that a window of ``1 + margin`` seconds
holds at most ``rate`` departures, so a call delayed on its way to the gateway (thread scheduling on a
busy machine, the network) by less than ``margin`` seconds relative to its neighbours still cannot make
the gateway count more than ``rate`` in any one-second window. The default 80 ms costs 8 % of the rate;
30 ms was not enough on a busy 2-core machine (three syncs, their images and the sandbox: the sandbox
counted 102 calls in its busiest second), and neither was 50 ms once the calls in flight adapt to answer
times (dozens of open connections, so a loaded gateway reads request lines in bunches: 102 again, with two
test passes side by side). A call that is more than ``LATE_LIMIT`` (15 ms) past its slot —
its process was stalled — lets the slot go and takes a new one, so a stall cannot push a call into the next
calls' second either. The clock is read twice: on waking (:meth:`RateLimiter.acquire`), and by the
connection itself right before the request's first byte is written (:meth:`RateLimiter.on_time`, from the
exchange's ``before_send`` hook in :mod:`.deadline`): a stale slot there is let go and the send waits for a
fresh one. Checked only on waking, a
thread descheduled between its slot and its send still sent, late but "within" the limit (101 calls in one
second with three syncs on a loaded 2-core machine); checked before ``requests`` started its own work, the
same happened once in CI.

So every departure leaves within ``LATE_LIMIT`` of its slot, and any one-second window holds departures of
slots from a span of at most ``1 + LATE_LIMIT`` seconds: ``floor((1 + LATE_LIMIT) * rate / (1 + margin)) + 1``
calls (94 at 100/s with the defaults), leaving ``margin - LATE_LIMIT`` (65 ms) for the network and the
gateway's own scheduling.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import struct
import threading
import time
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, exc, text
from sqlalchemy.engine import make_url

from haier_pipeline.pg_sessions import close_session, open_session

JITTER_MARGIN = 0.08  # seconds of delay on the way to the gateway that the spacing absorbs
LATE_LIMIT = 0.015  # seconds after its slot a call may still leave; later, it takes a new slot
STALE_AHEAD = 60.0  # a next slot further ahead than this is a stale clock (reboot), not a queue: start afresh
_NO_DEADLINE = 10.0 * 365 * 86400
_TAT = struct.Struct("<d")
BUDGET_TABLE = "haier_rate_budget"


class BudgetUnavailable(RuntimeError):
    """The shared budget's store could not be reached; the message never holds the database URL."""


class BudgetStore(Protocol):
    """Where the next free slot of an account lives."""

    def reserve(self, spacing: float, max_wait: float) -> float | None:
        """Take the next slot: its time in this process's ``time.monotonic()``, or ``None`` (nothing taken) if it
        is more than ``max_wait`` seconds away."""

    def close(self) -> None: ...


def account_key(*identity: str | None) -> str:
    """A stable, secret-free name for an account's budget (a hash of gateway, client id, customer code)."""
    return hashlib.sha256("\n".join(part or "" for part in identity).encode()).hexdigest()[:20]


class MemoryStore:
    """The budget of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def reserve(self, spacing: float, max_wait: float) -> float | None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            if slot - now > max_wait:
                return None
            self._next = slot + spacing
            return slot

    def close(self) -> None:
        pass


class FileStore:
    """The budget of one machine: the next slot (``CLOCK_MONOTONIC``, machine-wide) in a file under ``flock``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._lock = threading.Lock()  # flock is per open file: threads of this process queue here first

    def reserve(self, spacing: float, max_wait: float) -> float | None:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # the kernel drops it if this process dies holding it
            try:
                now = time.monotonic()
                raw = os.pread(self._fd, _TAT.size, 0)
                stored = _TAT.unpack(raw)[0] if len(raw) == _TAT.size else 0.0
                if not math.isfinite(stored) or stored > now + STALE_AHEAD:
                    stored = 0.0
                slot = max(stored, now)
                if slot - now > max_wait:
                    return None
                os.pwrite(self._fd, _TAT.pack(slot + spacing), 0)
                return slot
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class PostgresStore:
    """The budget of every machine: one row per account, moved by one ``UPDATE … RETURNING`` per call.

    Slots are in the server's clock (``clock_timestamp()``), so every machine draws from one timeline.
    The answer carries the slot and the server's time; the caller sleeps until the slot in its own
    clock, converted with an offset estimated from the fastest recent round trip (error at most half
    of it). Sleeping "the wait the server computed" instead would add each answer's own delivery delay
    to its departure — measured: bursts of 104 calls in a second on a busy machine. The row lock
    serialises the update; nothing is held between calls, so a killed process (its transaction rolled
    back with its connection) leaves no trace.
    """

    _SLOT = ("CASE WHEN next_slot > clock_timestamp() + make_interval(secs => :stale) THEN clock_timestamp() "
             "ELSE GREATEST(next_slot, clock_timestamp()) END")
    # One statement: READ COMMITTED re-evaluates SET and WHERE on the row's latest version after its lock.
    _RESERVE = text(f"UPDATE {BUDGET_TABLE} SET next_slot = {_SLOT} + make_interval(secs => :spacing) "
                    f"WHERE account = :account AND {_SLOT} <= clock_timestamp() + make_interval(secs => :max_wait) "
                    "RETURNING EXTRACT(EPOCH FROM next_slot)::float8 - :spacing AS slot, "
                    "EXTRACT(EPOCH FROM clock_timestamp())::float8 AS server_now")
    OFFSET_WINDOW = 30.0  # seconds a clock-offset estimate is kept before a fresh one may replace it

    def __init__(self, url: str, account: str) -> None:
        self._url = make_url(url)
        self._account = account
        self._lock = threading.Lock()  # one session per process; its calls take well under a millisecond
        self._conn: Connection | None = None
        self._offset = 0.0  # server clock minus local clock
        self._offset_rtt = math.inf
        self._offset_at = 0.0

    def _session(self) -> Connection:
        if self._conn is None:
            conn = open_session(self._url, "haier-budget")
            try:
                conn.execute(text(f"CREATE TABLE IF NOT EXISTS {BUDGET_TABLE} "
                                  "(account text PRIMARY KEY, next_slot timestamptz NOT NULL)"))
                conn.execute(text(f"INSERT INTO {BUDGET_TABLE} (account, next_slot) "
                                  "VALUES (:account, clock_timestamp()) ON CONFLICT (account) DO NOTHING"),
                             {"account": self._account})
                for _ in range(3):  # a first estimate of the clock offset
                    sent = time.time()
                    server_now = conn.execute(text("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")).scalar_one()
                    self._sample(sent, float(server_now), time.time())
            except BaseException:
                close_session(conn)
                raise
            self._conn = conn
        return self._conn

    def _sample(self, sent: float, server_now: float, received: float) -> None:
        """Keep the offset of the fastest round trip of the last :attr:`OFFSET_WINDOW` seconds."""
        rtt = received - sent
        if rtt <= self._offset_rtt or received - self._offset_at > self.OFFSET_WINDOW:
            self._offset, self._offset_rtt, self._offset_at = server_now - (sent + received) / 2, rtt, received

    def reserve(self, spacing: float, max_wait: float) -> float | None:
        params = {"account": self._account, "spacing": spacing, "max_wait": max_wait, "stale": STALE_AHEAD}
        with self._lock:
            for attempt in (1, 2):  # a session the server or the network dropped is reopened once
                try:
                    conn = self._session()
                    sent = time.time()
                    row = conn.execute(self._RESERVE, params).first()
                    received = time.time()
                except exc.DBAPIError as error:
                    self._drop()
                    if attempt == 2 or not error.connection_invalidated and not _is_connection_error(error):
                        raise BudgetUnavailable(f"the shared call budget in PostgreSQL is unreachable: "
                                                f"{type(error.orig).__name__}") from None
                    continue
                if row is None:
                    return None
                self._sample(sent, float(row.server_now), received)
                return time.monotonic() + (float(row.slot) - self._offset - time.time())
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                close_session(conn)
            except exc.DBAPIError:
                pass

    def close(self) -> None:
        with self._lock:
            self._drop()


def _is_connection_error(error: exc.DBAPIError) -> bool:
    return isinstance(error, (exc.OperationalError, exc.InterfaceError))


def budget_file(database: str, account: str) -> Path:
    """The budget file beside a SQLite catalogue file."""
    path = Path(database).expanduser().resolve()
    return path.with_name(f"{path.name}.budget-{account}")


def open_store(store: str | None, account: str) -> BudgetStore:
    """The store named by a catalogue URL (``None`` or in-memory SQLite: this process only)."""
    if store is None:
        return MemoryStore()
    url = make_url(store)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return FileStore(budget_file(url.database, account)) if url.database not in (None, "", ":memory:") \
            else MemoryStore()
    if backend == "postgresql":
        return PostgresStore(store, account)
    raise ValueError(f"no shared call budget on {backend!r} databases (sqlite or postgresql)")


class RateLimiter:
    """Blocks each caller until its slot: one call per ``spacing_s`` seconds across everyone sharing the store."""

    def __init__(self, calls_per_second: float, store: str | None = None, account: str = "haier",
                 margin: float = JITTER_MARGIN) -> None:
        if not calls_per_second > 0 or math.isinf(calls_per_second):
            raise ValueError("rate_limit must be a positive number of calls per second")
        if not 0 <= margin < 1:
            raise ValueError("margin must be within [0, 1) seconds")
        self.calls_per_second = calls_per_second
        self.spacing_s = (1.0 + margin) / calls_per_second
        self._store = open_store(store, account)
        self._taken = threading.local()  # the slot each thread last took, for the check right before sending
        self.late_slots = 0  # slots let go because the caller was too late for them

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the next slot; ``False`` (no slot taken) when it is more than ``timeout`` seconds away.

        A caller that wakes more than :data:`LATE_LIMIT` after its slot (a stalled process) does not use
        it: sent now, it would crowd into the second of the calls behind it. It takes a fresh slot instead.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            max_wait = _NO_DEADLINE if deadline is None else max(0.0, deadline - time.monotonic())
            slot = self._store.reserve(self.spacing_s, max_wait)
            if slot is None:
                return False
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() - slot <= LATE_LIMIT:
                self._taken.slot = slot
                return True
            self.late_slots += 1

    def on_time(self) -> bool:
        """Spend this thread's slot (its last :meth:`acquire`) if it may still be used: asked right before sending.

        ``False`` when more than :data:`LATE_LIMIT` has passed since the slot (the thread was descheduled, or
        waited for a token, after taking it), or the slot was already spent: it is let go and the caller must
        :meth:`acquire` again.
        """
        slot = getattr(self._taken, "slot", None)
        fresh = slot is not None and time.monotonic() - slot <= LATE_LIMIT
        self._taken.slot = None  # one send per slot
        if not fresh:
            self.late_slots += 1
        return fresh

    def close(self) -> None:
        self._store.close()
