"""The catalog's sync and run locks: held by one process, waited for by name, freed by SIGKILL alone.

A child process (plain Python, no Dagster) takes a lock and waits; a second sync of that kind waits
for it (saying which run it waits for), is refused only past its bounded wait, and gets the lock the
moment the child is killed — no clean-up, no time-out. On SQLite and, with
``HAIER_TEST_DB=postgresql``, on PostgreSQL, where a lock session that drops is noticed too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import text

from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.locks import HEARTBEAT, LockLost, SyncBusy, run_lock, runs_alive, sync_lock
from haier_pipeline.catalog.sync_log import open_sync_log
from haier_pipeline.resources import CatalogResource
from haier_pipeline.runs.liveness import ABANDONED_REASON
from haier_pipeline.runs.tracking import close_abandoned_logs
from support.catalog_db import wants_postgres
from support.catalog_state import reading

# On PostgreSQL a missing run is looked for again CONFIRM_DEAD (5 s) later before it counts as dead. The gap only
# matters to a dropped session coming back (the last test, which keeps it); elsewhere a short second look will do.
SECOND_LOOK = 0.2

HOLDER = r"""
import sys
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.catalog.locks import run_lock, sync_lock
engine = prepare_database(sys.argv[1])
held = run_lock(engine, sys.argv[3])
with sync_lock(engine, sys.argv[2], sys.argv[3]):
    print("held", flush=True)
    sys.stdin.readline()
"""


@contextmanager
def holder(url: str, kind: str, run_id: str) -> Iterator[subprocess.Popen]:
    """A child process holding ``kind``'s sync lock and ``run_id``'s run lock until killed."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, url, kind, run_id], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        for stream in (child.stdin, child.stdout):
            stream.close()


def sigkill(child: subprocess.Popen) -> None:
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)


def test_a_second_sync_of_a_kind_waits_naming_the_holder_and_gets_the_lock_when_it_is_killed(catalog_url):
    engine = prepare_database(catalog_url)
    notices: list[tuple[str | None, float]] = []
    entered = threading.Event()

    def second() -> None:
        with sync_lock(engine, "stock", "run-waiting", wait=120,
                       on_wait=lambda who, waited: notices.append((who.run_id if who else None, waited))):
            entered.set()

    with holder(catalog_url, "stock", "run-holding-stock") as child:
        waiter = threading.Thread(target=second)
        waiter.start()
        deadline = time.monotonic() + 30
        while not notices and time.monotonic() < deadline:
            time.sleep(0.05)
        assert notices and notices[0][0] == "run-holding-stock"  # "waiting for run-holding-stock"
        assert not entered.wait(1.0)  # still waiting, not refused, not entered alongside
        sigkill(child)
        assert entered.wait(30)
        waiter.join(10)
    release_database(catalog_url)


def test_a_second_sync_of_a_kind_is_refused_by_name_past_its_wait_and_a_kill_frees_the_lock(catalog_url):
    engine = prepare_database(catalog_url)
    with holder(catalog_url, "prices", "run-holding-prices") as child:
        with pytest.raises(SyncBusy) as refused:
            with sync_lock(engine, "prices", "run-late", wait=0.3):
                pytest.fail("two price syncs held the lock at once")
        message = str(refused.value)
        assert "'prices' sync is already running" in message and "run-holding-prices" in message
        assert "waited 0 s" in message
        assert refused.value.holder is not None and refused.value.holder.pid
        with sync_lock(engine, "stock", "run-late", wait=0.3):  # other kinds are not blocked
            pass
        assert runs_alive(engine, ["run-holding-prices", "run-late"], confirm=SECOND_LOOK) == {"run-holding-prices"}
        sigkill(child)
        with sync_lock(engine, "prices", "run-late", wait=0):  # free at once: the kernel / server dropped it
            assert runs_alive(engine, ["run-holding-prices"], confirm=SECOND_LOOK) == set()
    release_database(catalog_url)


def test_one_process_holds_a_kind_once_even_from_two_threads(catalog_url):
    engine = prepare_database(catalog_url)
    entered, release, outcomes = threading.Event(), threading.Event(), []

    def first() -> None:
        with sync_lock(engine, "stock", "run-1"):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    try:
        with sync_lock(engine, "stock", "run-2", wait=0.2):
            outcomes.append("entered")
    except SyncBusy as busy:
        outcomes.append(str(busy))
    release.set()
    thread.join(10)
    assert len(outcomes) == 1 and "run-1" in outcomes[0]
    release_database(catalog_url)


def test_run_locks_are_shared_by_the_processes_of_one_run_and_gone_with_them(catalog_url):
    engine = prepare_database(catalog_url)
    mine = run_lock(engine, "run-here")
    again = run_lock(engine, "run-here")  # a second process (step) of the same run
    # present: no second look needed, and a loaded server may show the session late
    assert runs_alive(engine, ["run-here", "run-never"]) == {"run-here"}
    mine.release()
    assert runs_alive(engine, ["run-here"]) == {"run-here"}
    again.release()
    # PostgreSQL lists a closed session until its backend has exited: a loaded server takes a moment.
    deadline = time.monotonic() + 10
    while runs_alive(engine, ["run-here"], confirm=SECOND_LOOK) and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval, bounded by the deadline
    assert runs_alive(engine, ["run-here"], confirm=SECOND_LOOK) == set()
    release_database(catalog_url)


def test_the_next_run_closes_only_the_rows_of_dead_runs(catalog_url):
    engine = prepare_database(catalog_url)
    catalog = CatalogResource(db_url=catalog_url)
    now = datetime.now(UTC)
    with holder(catalog_url, "stock", "run-alive") as alive, holder(catalog_url, "prices", "run-killed") as doomed:
        with engine.begin() as conn:
            open_sync_log(conn, "stock", "run-alive", now)
            open_sync_log(conn, "prices", "run-killed", now)
        sigkill(doomed)
        context = dg.build_asset_context()
        assert close_abandoned_logs(context, catalog) == 1
        with reading(catalog_url) as conn:
            rows = dict(conn.exec_driver_sql(
                "SELECT run_id, status || ':' || coalesce(message, '') FROM haier_sync_log").all())
        assert rows == {"run-alive": "processing:", "run-killed": f"failed:{ABANDONED_REASON}"}
        sigkill(alive)
        assert close_abandoned_logs(context, catalog) == 1
    release_database(catalog_url)


def test_the_configured_second_look_is_the_one_a_run_takes(catalog_url, monkeypatch):
    """HAIER_DEAD_RUN_CONFIRM_SECONDS reaches the liveness check through the catalog resource (not the 5 s default)."""
    import haier_pipeline.runs.liveness as liveness
    from haier_pipeline.definitions import build_resources
    from haier_pipeline.settings import load_settings

    settings = load_settings({"HAIER_CATALOG_DB_URL": catalog_url, "HAIER_SANDBOX": "1",
                              "HAIER_DEAD_RUN_CONFIRM_SECONDS": "0.7", "HAIER_DATA_DIR": os.environ["HAIER_DATA_DIR"]})
    catalog = build_resources(settings)["catalog"]
    looks: list[float] = []

    def recording(engine, run_ids, confirm=-1.0):
        looks.append(confirm)
        return set()

    monkeypatch.setattr(liveness, "runs_alive", recording)
    with prepare_database(catalog_url).begin() as conn:
        open_sync_log(conn, "stock", "run-gone", datetime.now(UTC))
    assert close_abandoned_logs(dg.build_asset_context(), catalog) == 1
    assert looks == [0.7]
    release_database(catalog_url)


@pytest.mark.skipif(not wants_postgres(), reason="sessions that can drop exist on PostgreSQL only")
def test_a_dropped_lock_session_is_noticed_and_a_dropped_run_session_comes_back(catalog_url):
    engine = prepare_database(catalog_url)
    with sync_lock(engine, "prices", "run-dropped", wait=0) as held:
        run = run_lock(engine, "run-dropped")
        held.check()  # fine while the session lives
        with engine.connect() as conn:  # an operator, a failover or a firewall ends both sessions
            ended = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE application_name LIKE '%run-dropped'")).scalars().all()
        assert len(ended) == 2 and all(ended)
        deadline = time.monotonic() + 5 * HEARTBEAT + 5
        while not held.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LockLost, match="stopping rather than syncing unlocked"):
            held.check()
        # The run itself is alive: its heartbeat reopened its session before the second look.
        assert runs_alive(engine, ["run-dropped"]) == {"run-dropped"}
        run.release()
        # The server drops a closed session's row once its backend process has exited, a moment after the close:
        # look until then (it never goes if release() left the session open).
        deadline = time.monotonic() + 10
        while runs_alive(engine, ["run-dropped"], confirm=0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runs_alive(engine, ["run-dropped"], confirm=0) == set()
    release_database(catalog_url)
