"""One sync of each kind at a time per catalog database, held by a lock the operating system frees.

A sync kind is a ``haier_sync_log.sync_type`` (``products``, ``prices``, ``stock``, ``manual``
for images, …). :func:`sync_lock` holds that kind's lock while a sync of it runs; a second
sync of the same kind is refused with :class:`SyncBusy`, whose message names the run holding it.

The lock must not outlive a killed process, or one ``kill -9`` would block syncs forever. So
it is never a row that someone has to delete:

- PostgreSQL: a session-level advisory lock on a connection kept open for the sync. When the
  process dies its connection closes and the server drops the lock. The holder's run id
  rides in the session's ``application_name``, read back from ``pg_stat_activity``.
- SQLite: ``flock`` on a file beside the database (``<db>.sync-<kind>.lock``). The kernel
  drops the lock with the process; the holder's run id is written inside the file.
- In-memory SQLite: a lock in this process (nothing else can open that database).

The same facts answer "is the run behind this open sync-log row still alive?" (see
:func:`live_sync_runs`): a run is alive while it holds a sync lock, whatever any Dagster
instance believes about it. Locks are Linux/Unix (``fcntl``).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from .tables import SYNC_TYPES

LOCK_NAMESPACE = 0x48414952  # "HAIR": the first key of every advisory lock this project takes
APP_PREFIX = "haier-sync "
ACQUIRE_WAIT = 2.0  # seconds a sync waits for its lock before it is refused (rides out probes)
POLL = 0.05

_memory_locks: dict[str, threading.Lock] = {}
_memory_holders: dict[str, dict] = {}
_memory_guard = threading.Lock()


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


def _key(kind: str) -> int:
    if kind not in SYNC_TYPES:
        raise ValueError(f"sync kind must be one of {SYNC_TYPES}, not {kind!r}")
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF


def _holder_record(run_id: str | None) -> dict:
    return {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}


@contextmanager
def sync_lock(engine: Engine, kind: str, run_id: str | None, wait: float = ACQUIRE_WAIT) -> Iterator[None]:
    """Hold ``kind``'s lock for the block; :class:`SyncBusy` if it stays taken for ``wait`` seconds."""
    _key(kind)
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        locker = _pg_lock
    elif backend == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        locker = _file_lock
    else:
        locker = _memory_lock
    with locker(engine, kind, run_id, wait):
        yield


def live_sync_runs(engine: Engine, kinds: Iterable[str] = SYNC_TYPES) -> dict[str, Holder]:
    """``{kind: holder}`` for every sync kind whose lock is held right now."""
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        with engine.connect() as conn:
            return _pg_holders(conn, list(kinds))
    if backend == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return {kind: holder for kind in kinds if (holder := _file_holder(engine, kind)) is not None}
    with _memory_guard:
        held = {kind: _memory_holders.get(f"{engine.url}:{kind}") for kind in kinds}
    return {kind: Holder(**record) for kind, record in held.items() if record is not None}


# --- PostgreSQL ------------------------------------------------------------------------------------

@contextmanager
def _pg_lock(engine: Engine, kind: str, run_id: str | None, wait: float) -> Iterator[None]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + wait
        while not conn.execute(text("SELECT pg_try_advisory_lock(CAST(:ns AS integer), CAST(:key AS integer))"),
                               {"ns": LOCK_NAMESPACE, "key": _key(kind)}).scalar_one():
            if time.monotonic() >= deadline:
                raise SyncBusy(kind, _pg_holders(conn, [kind]).get(kind))
            time.sleep(POLL)
        conn.execute(text("SELECT set_config('application_name', :name, false)"),
                     {"name": (APP_PREFIX + (run_id or "-"))[:63]})
    except BaseException:
        conn.invalidate()
        conn.close()
        raise
    try:
        yield
    finally:
        try:
            conn.execute(text("SELECT pg_advisory_unlock(CAST(:ns AS integer), CAST(:key AS integer))"), {"ns": LOCK_NAMESPACE, "key": _key(kind)})
            conn.execute(text("RESET application_name"))
        except Exception:  # noqa: BLE001 - a broken connection: closing it below frees the lock anyway
            conn.invalidate()
        conn.close()


def _pg_holders(conn: Connection, kinds: list[str]) -> dict[str, Holder]:
    by_key = {_key(kind): kind for kind in kinds}
    rows = conn.execute(text(
        "SELECT l.objid::bigint AS key, a.application_name, a.pid, a.client_hostname, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :ns AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ), {"ns": LOCK_NAMESPACE}).all()
    found: dict[str, Holder] = {}
    for row in rows:
        kind = by_key.get(int(row.key))
        if kind is not None:
            name = row.application_name or ""
            run_id = name[len(APP_PREFIX):] if name.startswith(APP_PREFIX) else None
            found[kind] = Holder(run_id if run_id != "-" else None, row.pid, row.client_hostname or "database server",
                                 row.backend_start.isoformat(timespec="seconds") if row.backend_start else None)
    return found


# --- SQLite file ---------------------------------------------------------------------------------

def _lock_path(engine: Engine, kind: str) -> Path:
    database = Path(str(engine.url.database)).expanduser().resolve()
    return database.with_name(f"{database.name}.sync-{kind}.lock")


@contextmanager
def _file_lock(engine: Engine, kind: str, run_id: str | None, wait: float) -> Iterator[None]:
    path = _lock_path(engine, kind)
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
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _file_holder(engine: Engine, kind: str) -> Holder | None:
    try:
        fd = os.open(_lock_path(engine, kind), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # granted: nobody holds it exclusively
        except BlockingIOError:
            return _read_holder(fd) or Holder(None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_holder(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None


# --- in-memory SQLite (one process) ------------------------------------------------------------

@contextmanager
def _memory_lock(engine: Engine, kind: str, run_id: str | None, wait: float) -> Iterator[None]:
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
