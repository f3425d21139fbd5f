"""Locks in the catalog database that the operating system frees when a process dies.

Two kinds, both refusing to outlive a ``kill -9`` (a lock row someone must delete would block
syncs forever after one crash):

- :func:`sync_lock` — one sync of each kind (a ``haier_sync_log.sync_type``: ``products``,
  ``prices``, ``stock``, ``manual``, …) at a time per catalogue. A second one is refused with
  :class:`SyncBusy`, whose message names the run holding the lock.
- :func:`run_lock` / :func:`runs_alive` — a run holds its own (shared) lock from start to end,
  so "is run X still alive?" has an exact answer that no Dagster instance can give after a
  ``kill -9`` (the killed run stays ``STARTED`` there; a run of another instance is not there).

How each database holds them:

- PostgreSQL: a session on its own connection (no pool). A sync lock is a session-level advisory
  lock, a run lock is the session itself, named ``haier-run <run id>`` in ``application_name``.
  When the process dies its connections close and the server forgets both.
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

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from .tables import SYNC_TYPES

LOCK_NAMESPACE = 0x48414952  # "HAIR": the first key of every advisory lock this project takes
SYNC_APP_PREFIX = "haier-sync "
RUN_APP_PREFIX = "haier-run "
ACQUIRE_WAIT = 2.0  # seconds a sync waits for its lock before it is refused (rides out lock probes)
POLL = 0.05

_memory_guard = threading.Lock()
_memory_locks: dict[str, threading.Lock] = {}
_memory_holders: dict[str, dict] = {}
_memory_runs: dict[str, int] = {}


class SyncBusy(RuntimeError):
    """Another run holds the lock of this sync kind; the message names that run."""

    def __init__(self, kind: str, holder: Holder | None) -> None:
        self.kind, self.holder = kind, holder
        who = holder.describe() if holder else "another run (it did not say which)"
        super().__init__(f"a {kind!r} sync is already running against this catalogue: {who}; "
                         "this run was refused rather than sync alongside it — wait for it to finish")


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
    """A connection of its own (never pooled), in autocommit, named for ``pg_stat_activity``."""
    own = create_engine(engine.url, poolclass=NullPool, connect_args={"application_name": application_name[:63]})
    return own.connect().execution_options(isolation_level="AUTOCOMMIT")


# --- sync locks ------------------------------------------------------------------------------------

@contextmanager
def sync_lock(engine: Engine, kind: str, run_id: str | None, wait: float = ACQUIRE_WAIT) -> Iterator[None]:
    """Hold ``kind``'s lock for the block; :class:`SyncBusy` if it stays taken for ``wait`` seconds."""
    _key(kind)
    locker = {"postgresql": _pg_sync_lock, "file": _file_sync_lock, "memory": _memory_sync_lock}[_backend(engine)]
    with locker(engine, kind, run_id, wait):
        yield


@contextmanager
def _pg_sync_lock(engine: Engine, kind: str, run_id: str | None, wait: float) -> Iterator[None]:
    conn = _lock_connection(engine, SYNC_APP_PREFIX + (run_id or "-"))
    try:
        deadline = time.monotonic() + wait
        while not conn.execute(text("SELECT pg_try_advisory_lock(CAST(:ns AS integer), CAST(:key AS integer))"),
                               {"ns": LOCK_NAMESPACE, "key": _key(kind)}).scalar_one():
            if time.monotonic() >= deadline:
                raise SyncBusy(kind, _pg_sync_holder(conn, kind))
            time.sleep(POLL)
        yield
    finally:
        conn.close()  # closing the session releases the advisory lock
        conn.engine.dispose()


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
def _file_sync_lock(engine: Engine, kind: str, run_id: str | None, wait: float) -> Iterator[None]:
    path = _lock_path(engine, f"sync-{kind}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SyncBusy(kind, _read_holder(fd)) from None
                time.sleep(POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder_record(run_id)).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _read_holder(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


@contextmanager
def _memory_sync_lock(engine: Engine, kind: str, run_id: str | None, wait: float) -> Iterator[None]:
    name = f"{engine.url}:{kind}"
    with _memory_guard:
        lock = _memory_locks.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=wait):
        with _memory_guard:
            holder = _memory_holders.get(name)
        raise SyncBusy(kind, Holder(**holder) if holder else None)
    with _memory_guard:
        _memory_holders[name] = _holder_record(run_id)
    try:
        yield
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


def runs_alive(engine: Engine, run_ids: Iterable[str]) -> set[str]:
    """Which of ``run_ids`` hold their run lock right now."""
    wanted = {run_id for run_id in run_ids if run_id}
    if not wanted:
        return set()
    backend = _backend(engine)
    if backend == "postgresql":
        with engine.connect() as conn:
            names = conn.execute(text("SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND application_name LIKE :prefix"), {"prefix": RUN_APP_PREFIX + "%"}).scalars()
            return wanted & {name[len(RUN_APP_PREFIX):] for name in names}
    if backend == "file":
        return {run_id for run_id in wanted if _file_run_held(_lock_path(engine, f"run-{run_id}"))}
    with _memory_guard:
        return {run_id for run_id in wanted if _memory_runs.get(f"{engine.url}:{run_id}")}


def _pg_run_lock(engine: Engine, run_id: str) -> Callable[[], None]:
    conn = _lock_connection(engine, RUN_APP_PREFIX + run_id)

    def release() -> None:
        conn.close()
        conn.engine.dispose()

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
