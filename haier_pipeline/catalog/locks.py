"""Locks in the catalog database that the operating system frees when a process dies.

Two kinds, both refusing to outlive a ``kill -9`` (a lock row someone must delete would block
syncs forever after one crash):

- :func:`sync_lock` — one sync of each kind (a ``haier_sync_log.sync_type``: ``products``,
  ``prices``, ``stock``, ``manual``, …) at a time per catalogue. A second one *waits its turn*
  (``on_wait`` hears "waiting for run X" when it starts waiting and every minute after), for at most
  ``wait`` seconds (default :data:`SYNC_LOCK_WAIT`, 30 minutes); only then is it refused with
  :class:`SyncBusy`, whose message names the run holding the lock.
- :func:`run_lock` / :func:`runs_alive` — a run holds its own (shared) lock from start to end,
  so "is run X still alive?" has an exact answer that no Dagster instance can give after a
  ``kill -9`` (the killed run stays ``STARTED`` there; a run of another instance is not there).

How each database holds them:

- PostgreSQL: a session on its own connection (no pool; ``pg_sessions.py``: TCP keepalives, no
  ``idle_session_timeout``). A sync lock is a session-level advisory lock, a run lock is the session
  itself, named ``haier-run <run id>`` in ``application_name``. When the process dies its connections
  close and the server forgets both. A heartbeat thread pings each lock session every
  :data:`HEARTBEAT` seconds: a lost sync-lock session makes :meth:`HeldLock.check` raise
  :class:`LockLost` (the sync stops instead of writing unlocked — another run may hold the lock now);
  a lost run-lock session is simply reopened, and :func:`runs_alive` calls a run dead only when its
  session is missing twice, :data:`CONFIRM_DEAD` seconds apart (longer than a reopen takes).
- SQLite: ``flock`` on files beside the database (``<db>.sync-<kind>.lock``,
  ``<db>.run-<run id>.lock``); the kernel drops them with the process. Holders write their run id,
  pid and host into sync-lock files for the refusal message.
- In-memory SQLite: locks in this process (nothing else can open that database).

Locks are Linux/Unix only (``fcntl``).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from haier_pipeline.pg_sessions import close_session, open_session

from .tables import SYNC_TYPES

LOCK_NAMESPACE = 0x48414952  # "HAIR": the first key of every advisory lock this project takes
SYNC_APP_PREFIX = "haier-sync "
RUN_APP_PREFIX = "haier-run "
SYNC_LOCK_WAIT = 1800.0  # seconds a sync waits for its kind's lock before it is refused
ACQUIRE_WAIT = 2.0  # seconds media cleanup waits for the images lock before it gives up (it never queues)
IMAGES_LOCK = "manual"  # the images pass logs and locks as a 'manual' sync; media cleanup takes the same lock
POLL = 0.05
WAIT_NOTICE_EVERY = 60.0  # seconds between "waiting for run X" notices
HEARTBEAT = 2.0  # seconds between pings of a PostgreSQL lock session
CONFIRM_DEAD = 5.0  # seconds between the two misses that declare a PostgreSQL run dead

_memory_guard = threading.Lock()
_memory_locks: dict[str, threading.Lock] = {}
_memory_holders: dict[str, dict] = {}
_memory_runs: dict[str, int] = {}


class SyncBusy(RuntimeError):
    """Another run held the lock of this sync kind for longer than this run would wait; the message names it."""

    def __init__(self, kind: str, holder: Holder | None, waited: float = 0.0) -> None:
        self.kind, self.holder = kind, holder
        who = holder.describe() if holder else "another run (it did not say which)"
        super().__init__(f"a {kind!r} sync is already running against this catalogue: {who}; "
                         f"this run waited {waited:.0f} s for it and was refused rather than sync alongside it")


class LockLost(RuntimeError):
    """The session holding a sync lock on PostgreSQL is gone: another run may hold the lock now."""

    def __init__(self, kind: str, run_id: str | None) -> None:
        super().__init__(f"run {run_id} lost its {kind!r} sync lock (its PostgreSQL session dropped); "
                         "stopping rather than syncing unlocked")


class HeldLock:
    """A held sync lock; :meth:`check` raises :class:`LockLost` once its session is known to be gone."""

    def __init__(self, kind: str, run_id: str | None) -> None:
        self.kind, self.run_id = kind, run_id
        self.lost = threading.Event()

    def check(self) -> None:
        if self.lost.is_set():
            raise LockLost(self.kind, self.run_id)


WaitNotice = Callable[["Holder | None", float], None]  # (holder, seconds waited so far)


@dataclass(frozen=True)
class Holder:
    """Who holds a sync lock."""

    run_id: str | None
    pid: int | None = None
    host: str | None = None
    since: str | None = None

    def describe(self) -> str:
        where = f" (pid {self.pid} on {self.host}, since {self.since})" if self.pid else ""
        return f"run {self.run_id}{where}"


def _backend(engine: Engine) -> str:
    name = engine.url.get_backend_name()
    if name == "sqlite":
        return "memory" if engine.url.database in (None, "", ":memory:") else "file"
    if name == "postgresql":
        return "postgresql"
    raise ValueError(f"no sync locks for {name!r} databases")


def _key(kind: str) -> int:
    if kind not in SYNC_TYPES:
        raise ValueError(f"sync kind must be one of {SYNC_TYPES}, not {kind!r}")
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF


def _holder_record(run_id: str | None) -> dict:
    return {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds")}


def _lock_connection(engine: Engine, application_name: str) -> Connection:
    """A session of its own (never pooled), in autocommit, named for ``pg_stat_activity``, kept alive."""
    return open_session(engine.url, application_name)


def _alive(conn: Connection) -> bool:
    try:
        conn.execute(text("SELECT 1"))
        return True
    except DBAPIError:
        return False


def _heartbeat(stop: threading.Event, name: str, beat: Callable[[], bool]) -> threading.Thread:
    """Call ``beat`` every :data:`HEARTBEAT` seconds until ``stop`` is set or ``beat`` returns False."""

    def run() -> None:
        while not stop.wait(HEARTBEAT):
            if not beat():
                return

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


class _Waiter:
    """Deadline and "waiting for run X" notices of one lock acquisition."""

    def __init__(self, wait: float, on_wait: WaitNotice | None) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + wait
        self.on_wait = on_wait
        self._next_notice = self.started

    def waited(self) -> float:
        return time.monotonic() - self.started

    def still(self, holder: Callable[[], Holder | None], kind: str) -> None:
        """Raise :class:`SyncBusy` past the deadline; else notice (now and then) and sleep a poll."""
        now = time.monotonic()
        if now >= self.deadline:
            raise SyncBusy(kind, holder(), self.waited())
        if self.on_wait is not None and now >= self._next_notice:
            self._next_notice = now + WAIT_NOTICE_EVERY
            self.on_wait(holder(), self.waited())
        time.sleep(POLL)


# --- sync locks ------------------------------------------------------------------------------------

@contextmanager
def sync_lock(engine: Engine, kind: str, run_id: str | None, wait: float = SYNC_LOCK_WAIT,
              on_wait: WaitNotice | None = None) -> Iterator[HeldLock]:
    """Hold ``kind``'s lock for the block, waiting up to ``wait`` seconds for it; :class:`SyncBusy` after that."""
    _key(kind)
    locker = {"postgresql": _pg_sync_lock, "file": _file_sync_lock, "memory": _memory_sync_lock}[_backend(engine)]
    with locker(engine, kind, run_id, _Waiter(wait, on_wait)) as held:
        yield held


@contextmanager
def _pg_sync_lock(engine: Engine, kind: str, run_id: str | None, waiter: _Waiter) -> Iterator[HeldLock]:
    conn = _lock_connection(engine, SYNC_APP_PREFIX + (run_id or "-"))
    stop = threading.Event()
    guard = threading.Lock()  # the heartbeat and the holder lookup share the session
    try:
        while True:
            with guard:
                got = conn.execute(text("SELECT pg_try_advisory_lock(CAST(:ns AS integer), CAST(:key AS integer))"),
                                   {"ns": LOCK_NAMESPACE, "key": _key(kind)}).scalar_one()
            if got:
                break

            def holder() -> Holder | None:
                with guard:
                    return _pg_sync_holder(conn, kind)

            waiter.still(holder, kind)
        held = HeldLock(kind, run_id)

        def beat() -> bool:
            with guard:
                if _alive(conn):
                    return True
            held.lost.set()
            return False

        _heartbeat(stop, f"haier-lock-{kind}", beat)
        yield held
    finally:
        stop.set()
        with guard:
            try:
                close_session(conn)  # closing the session releases the advisory lock
            except DBAPIError:
                pass  # already gone, and the lock with it


def _pg_sync_holder(conn: Connection, kind: str) -> Holder | None:
    row = conn.execute(text(
        "SELECT a.application_name, a.pid, a.client_addr::text AS host, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :ns AND l.objid::bigint = :key "
        "AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ), {"ns": LOCK_NAMESPACE, "key": _key(kind)}).first()
    if row is None:
        return None
    name = row.application_name or ""
    run_id = name[len(SYNC_APP_PREFIX):] if name.startswith(SYNC_APP_PREFIX) else None
    return Holder(run_id if run_id != "-" else None, row.pid, row.host or "local socket",
                  row.backend_start.isoformat(timespec="seconds") if row.backend_start else None)


def _lock_path(engine: Engine, name: str) -> Path:
    database = Path(str(engine.url.database)).expanduser().resolve()
    return database.with_name(f"{database.name}.{name}.lock")


@contextmanager
def _file_sync_lock(engine: Engine, kind: str, run_id: str | None, waiter: _Waiter) -> Iterator[HeldLock]:
    path = _lock_path(engine, f"sync-{kind}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waiter.still(lambda: _read_holder(fd), kind)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder_record(run_id)).encode(), 0)
        yield HeldLock(kind, run_id)  # a flock cannot be lost while the process lives
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _read_holder(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


@contextmanager
def _memory_sync_lock(engine: Engine, kind: str, run_id: str | None, waiter: _Waiter) -> Iterator[HeldLock]:
    name = f"{engine.url}:{kind}"
    with _memory_guard:
        lock = _memory_locks.setdefault(name, threading.Lock())

    def holder() -> Holder | None:
        with _memory_guard:
            record = _memory_holders.get(name)
        return Holder(**record) if record else None

    while not lock.acquire(timeout=POLL):
        waiter.still(holder, kind)
    with _memory_guard:
        _memory_holders[name] = _holder_record(run_id)
    try:
        yield HeldLock(kind, run_id)
    finally:
        with _memory_guard:
            _memory_holders.pop(name, None)
        lock.release()


# --- run locks -------------------------------------------------------------------------------------

class RunLock:
    """Held while a run is alive; :meth:`release` when it ends (a dead process releases it by dying)."""

    def __init__(self, engine: Engine, run_id: str) -> None:
        self.run_id = run_id
        start = {"postgresql": _pg_run_lock, "file": _file_run_lock, "memory": _memory_run_lock}[_backend(engine)]
        self._release: Callable[[], None] | None = start(engine, run_id)

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


def run_lock(engine: Engine, run_id: str) -> RunLock:
    """Mark ``run_id`` alive (several processes of one run may hold it at once)."""
    return RunLock(engine, run_id)


def runs_alive(engine: Engine, run_ids: Iterable[str], confirm: float = CONFIRM_DEAD) -> set[str]:
    """Which of ``run_ids`` hold their run lock right now.

    On PostgreSQL a run whose session is missing is looked for again ``confirm`` seconds later and
    counted dead only if it is missing both times: a run whose session dropped reopens it meanwhile.
    """
    wanted = {run_id for run_id in run_ids if run_id}
    if not wanted:
        return set()
    backend = _backend(engine)
    if backend == "postgresql":
        alive = _pg_runs_alive(engine, wanted)
        if alive != wanted and confirm > 0:
            time.sleep(confirm)  # the second look, some seconds after the first miss
            alive |= _pg_runs_alive(engine, wanted - alive)
        return alive
    if backend == "file":
        return {run_id for run_id in wanted if _file_run_held(_lock_path(engine, f"run-{run_id}"))}
    with _memory_guard:
        return {run_id for run_id in wanted if _memory_runs.get(f"{engine.url}:{run_id}")}


def _pg_runs_alive(engine: Engine, wanted: set[str]) -> set[str]:
    with engine.connect() as conn:
        names = conn.execute(text("SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
                                  " AND application_name LIKE :prefix"), {"prefix": RUN_APP_PREFIX + "%"}).scalars()
        return wanted & {name[len(RUN_APP_PREFIX):] for name in names}


def _pg_run_lock(engine: Engine, run_id: str) -> Callable[[], None]:
    name = RUN_APP_PREFIX + run_id
    session = [_lock_connection(engine, name)]
    stop = threading.Event()
    guard = threading.Lock()

    def beat() -> bool:  # a dropped session is reopened: the run is alive, and says so again
        with guard:
            if stop.is_set() or _alive(session[0]):
                return True
            try:
                close_session(session[0])
            except DBAPIError:
                pass
            try:
                session[0] = _lock_connection(engine, name)
            except DBAPIError:
                pass  # the server is unreachable: try again at the next beat
        return True

    _heartbeat(stop, "haier-run-lock", beat)

    def release() -> None:
        stop.set()
        with guard:
            close_session(session[0])

    return release


def _file_run_lock(engine: Engine, run_id: str) -> Callable[[], None]:
    path = _lock_path(engine, f"run-{run_id}")
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits out a probe's brief exclusive hold
            if os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
                break  # still the file others will look at (a prober may have unlinked an idle one)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)

    def release() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the last holder of this run removes the file
            os.unlink(path)
        except (BlockingIOError, FileNotFoundError):
            pass
        finally:
            os.close(fd)

    return release


def _file_run_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    try:
        os.unlink(path)  # a dead run's leftover: nobody holds it, nobody will (run ids are not reused)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)
    return False


def _memory_run_lock(engine: Engine, run_id: str) -> Callable[[], None]:
    name = f"{engine.url}:{run_id}"
    with _memory_guard:
        _memory_runs[name] = _memory_runs.get(name, 0) + 1

    def release() -> None:
        with _memory_guard:
            _memory_runs[name] -= 1
            if not _memory_runs[name]:
                del _memory_runs[name]

    return release
