"""haier_sync_log: processing -> success / partial / failed, re-opening, and closing rows of dead runs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.sync_log import (
    close_stale_sync_logs,
    close_sync_log,
    fail_sync_logs_for_run,
    open_sync_log,
)
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, later

L = tables.haier_sync_log


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    yield prepare_database(url)
    release_database(url)


def log_row(conn, log_id):
    return conn.execute(select(L).where(L.c.id == log_id)).mappings().one()


def test_open_then_success(engine):
    with engine.begin() as conn:
        log_id = open_sync_log(conn, "products", "run-1", T0)
        assert (log_row(conn, log_id)["status"], log_row(conn, log_id)["started_at"]) == ("processing", T0)
        status = close_sync_log(conn, log_id, total=120, success=120, failed=0, failures=[], error=None, now=later(2))
        got = log_row(conn, log_id)
    assert status == got["status"] == "success"
    assert (got["total_count"], got["success_count"], got["failed_count"]) == (120, 120, 0)
    assert got["completed_at"] == later(2) and got["message"] == "120 of 120 succeeded"


def test_partial_names_the_failures_and_truncates_long_lists(engine):
    failures = [f"prices: GA{index:04d}: 价格未生效" for index in range(57)]
    with engine.begin() as conn:
        log_id = open_sync_log(conn, "prices", "run-1", T0)
        close_sync_log(conn, log_id, total=1000, success=943, failed=57, failures=failures, error=None, now=later(1))
        got = log_row(conn, log_id)
    assert got["status"] == "partial" and got["failed_count"] == 57
    assert got["message"].startswith("57 of 1000 failed: prices: GA0000: 价格未生效; ")
    assert "GA0049" in got["message"] and "GA0050" not in got["message"]
    assert got["message"].endswith("… and 7 more")


def test_an_error_fails_the_log(engine):
    with engine.begin() as conn:
        log_id = open_sync_log(conn, "stock", "run-1", T0)
        close_sync_log(conn, log_id, total=3, success=2, failed=1, failures=["stock: GA1@110101: HTTP 500"],
                       error="HaierServerError: gateway down", now=later(1))
        got = log_row(conn, log_id)
    assert got["status"] == "failed"
    assert got["message"] == "failed: HaierServerError: gateway down; 1 of 3 failed: stock: GA1@110101: HTTP 500"


def test_one_row_per_run_and_type_reopened_on_retry(engine):
    with engine.begin() as conn:
        first = open_sync_log(conn, "products", "run-1", T0)
        close_sync_log(conn, first, total=1, success=0, failed=0, failures=[], error="boom", now=later(1))
        again = open_sync_log(conn, "products", "run-1", later(2))
        other = open_sync_log(conn, "prices", "run-1", later(2))
        outside = [open_sync_log(conn, "manual", None, T0), open_sync_log(conn, "manual", None, T0)]
        got = log_row(conn, again)
    assert again == first and other != first and outside[0] != outside[1]
    assert (got["status"], got["completed_at"], got["message"], got["started_at"]) == ("processing", None, None, T0)
    with engine.begin() as conn, pytest.raises(ValueError, match="sync_type"):
        open_sync_log(conn, "thumbnails", "run-1", T0)


def test_stale_rows_of_dead_runs_are_closed(engine):
    with engine.begin() as conn:
        dead = open_sync_log(conn, "products", "run-dead", T0)
        alive = open_sync_log(conn, "products", "run-alive", T0)
        done = open_sync_log(conn, "prices", "run-dead", T0)
        close_sync_log(conn, done, total=1, success=1, failed=0, failures=[], error=None, now=later(1))
        manual = open_sync_log(conn, "manual", None, T0)
        assert close_stale_sync_logs(conn, {"run-alive"}, "process killed", later(5)) == 1
        assert (log_row(conn, dead)["status"], log_row(conn, dead)["message"]) == ("failed", "process killed")
        assert log_row(conn, dead)["completed_at"] == later(5)
        assert log_row(conn, alive)["status"] == "processing"
        assert log_row(conn, done)["status"] == "success"
        assert log_row(conn, manual)["status"] == "processing", "rows without a run id are not judged by run liveness"
        assert close_stale_sync_logs(conn, {"run-alive"}, "again", later(6)) == 0
        assert close_stale_sync_logs(conn, None, "shutdown", later(7)) == 2


def test_fail_logs_for_one_run(engine):
    with engine.begin() as conn:
        a = open_sync_log(conn, "products", "run-1", T0)
        b = open_sync_log(conn, "stock", "run-1", T0)
        c = open_sync_log(conn, "stock", "run-2", T0)
        assert fail_sync_logs_for_run(conn, "run-1", "run failed: step crashed", later(1)) == 2
        assert [log_row(conn, i)["status"] for i in (a, b, c)] == ["failed", "failed", "processing"]
        assert fail_sync_logs_for_run(conn, "run-1", "again", later(2)) == 0
