"""The sync-log sensors: a failed run's open rows closed as failed with an alert; the 5 % failure-rate alarm;
rows left open by dead runs swept even when no new run starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import select, update

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.locks import run_lock
from haier_pipeline.catalog.sync_log import close_sync_log, open_sync_log
from haier_pipeline.constants import CATALOG_TAG, SYNC_KIND_TAG
from haier_pipeline.defs.health.sync_health import (
    haier_sync_failure_rate_sensor,
    haier_sync_failure_sensor,
)
from haier_pipeline.resources import AlertResource, CatalogResource
from haier_pipeline.runs.liveness import catalog_id
from support.webhook_receiver import webhook_receiver

LOG = tables.haier_sync_log


@pytest.fixture
def hook():
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def alerts(hook) -> AlertResource:
    return AlertResource(webhook_url=hook.url)


def now() -> datetime:
    return datetime.now(UTC)


def add_log(catalog, sync_type, run_id, total, failed, started=None, error=None) -> int:
    with catalog.begin() as conn:
        log_id = open_sync_log(conn, sync_type, run_id, started or now())
        close_sync_log(conn, log_id, total=total, success=total - failed, failed=failed,
                       failures=[f"code{i}: bad" for i in range(failed)], error=error, now=now())
    return log_id


def statuses(catalog) -> dict[str, tuple[str, str | None]]:
    with catalog.begin() as conn:
        return {
            row.run_id: (row.status, row.message)
            for row in conn.execute(select(LOG.c.run_id, LOG.c.status, LOG.c.message))
        }


def tick_rate(instance, catalog, cursor=None, alerts=None):
    alerts = alerts or AlertResource()
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"catalog": catalog, "alerts": alerts}
    ) as context:
        return haier_sync_failure_rate_sensor(context)


def test_failure_rate_alerts_once_when_it_crosses_five_percent_and_once_when_it_recovers(
    instance, catalog, hook, alerts
):
    add_log(catalog, "products", "run-a", total=1000, failed=10)
    add_log(catalog, "prices", "run-a", total=1000, failed=40)
    # outside the window
    add_log(catalog, "stock", "run-old", total=100, failed=100, started=now() - timedelta(hours=25))
    ok = tick_rate(instance, catalog, alerts=alerts)
    assert ok.skip_reason.skip_message.startswith("ok: 50 of 2000 records failed (2.50%) over 2 sync(s)")
    assert hook.bodies == []

    add_log(catalog, "stock", "run-b", total=1000, failed=200)
    above = tick_rate(instance, catalog, ok.cursor, alerts)
    assert above.skip_reason.skip_message.startswith("ABOVE THRESHOLD: 250 of 3000 records failed (8.33%)")
    [alert] = hook.of_kind("failure_rate")
    assert alert["details"] == {"failure_rate": 0.0833, "failed": 250, "total": 3000, "syncs": 3, "threshold": 0.05}

    still_above = tick_rate(instance, catalog, above.cursor, alerts)
    assert "ABOVE THRESHOLD" in still_above.skip_reason.skip_message
    assert len(hook.bodies) == 1  # once per crossing, not once per tick

    add_log(catalog, "stock", "run-c", total=3000, failed=0)
    recovered = tick_rate(instance, catalog, still_above.cursor, alerts)
    assert recovered.skip_reason.skip_message.startswith("ok: 250 of 6000 records failed (4.17%)")
    assert [body["kind"] for body in hook.bodies] == ["failure_rate", "failure_rate_recovered"]


def test_rows_of_runs_without_their_run_lock_are_swept_and_live_ones_kept(instance, catalog):
    finished = create_run_for_test(instance, job_name="haier_full_sync", status=dg.DagsterRunStatus.FAILURE)
    live = create_run_for_test(instance, job_name="haier_stock_sync", status=dg.DagsterRunStatus.STARTED)
    with catalog.begin() as conn:
        for run_id in (finished.run_id, live.run_id, "run-of-another-instance-killed"):
            open_sync_log(conn, "products", run_id, now())
    lock = run_lock(catalog.engine(), live.run_id)  # what a live run's process holds from start to end
    try:
        result = tick_rate(instance, catalog)
    finally:
        lock.release()
    assert "closed 2 abandoned log row(s)" in result.skip_reason.skip_message
    found = statuses(catalog)
    assert found[finished.run_id] == ("failed", "run ended without closing its log (process killed)")
    assert found["run-of-another-instance-killed"][0] == "failed"
    assert found[live.run_id] == ("processing", None)


def test_a_killed_sync_run_is_marked_failed_even_when_no_new_run_starts(instance, catalog):
    """kill -9 leaves the run STARTED and its row open; the next tick (not the next run) clears both."""
    killed = create_run_for_test(instance, job_name="haier_stock_sync", status=dg.DagsterRunStatus.STARTED,
                                 tags={SYNC_KIND_TAG: "stock", CATALOG_TAG: catalog_id(catalog.db_url)})
    with catalog.begin() as conn:
        open_sync_log(conn, "stock", killed.run_id, now())
    result = tick_rate(instance, catalog)
    assert "marked 1 killed run(s) failed" in result.skip_reason.skip_message
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE  # the failure sensor's cue
    assert statuses(catalog)[killed.run_id][0] == "failed"


@dg.asset
def crashing_sync(context, catalog: CatalogResource) -> None:  # context unannotated: see freshness.py
    """Opens its log row and dies before closing it, as a killed process leaves it."""
    with catalog.begin() as conn:
        open_sync_log(conn, "prices", context.run_id, datetime.now(UTC))
    raise RuntimeError("gateway answered 503 three times")


def test_a_failed_run_has_its_open_rows_closed_as_failed_and_an_alert_sent(instance, catalog, hook, alerts):
    other = add_log(catalog, "products", "someone-else", total=5, failed=0)
    result = dg.materialize([crashing_sync], instance=instance, resources={"catalog": catalog}, raise_on_error=False)
    assert not result.success
    # The run's own end closes the row, naming the step (runs/closing.py) ...
    assert statuses(catalog)[result.run_id] == (
        "failed", "failed: step crashing_sync failed: RuntimeError: gateway answered 503 three times")
    # ... and for a run whose process died before its end, the sensor does.
    with catalog.begin() as conn:
        conn.execute(update(LOG).where(LOG.c.run_id == result.run_id).values(status="processing", completed_at=None))

    with dg.build_run_status_sensor_context(
        sensor_name="haier_sync_failure_sensor", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(), resources={"catalog": catalog, "alerts": alerts},
    ) as context:
        haier_sync_failure_sensor(context)

    status, message = statuses(catalog)[result.run_id]
    assert status == "failed"
    assert message == "run failed: step crashing_sync failed: RuntimeError: gateway answered 503 three times"
    with catalog.begin() as conn:
        assert conn.execute(select(LOG.c.status).where(LOG.c.id == other)).scalar_one() == "success"
    [alert] = hook.of_kind("run_failure")
    assert alert["run_id"] == result.run_id
    # An ad-hoc materialization, not one of the sync jobs: the sensor watches every job of the location.
    assert alert["details"] == {"job": result.dagster_run.job_name, "sync_log_rows_closed": 1}
    assert "gateway answered 503" in alert["message"]


def test_rows_closed_by_a_crash_still_count_in_the_failure_rate(instance, catalog):
    crashed = create_run_for_test(instance, job_name="haier_stock_sync", status=dg.DagsterRunStatus.FAILURE)
    with catalog.begin() as conn:
        open_sync_log(conn, "stock", crashed.run_id, now())
        conn.execute(update(LOG).where(LOG.c.run_id == crashed.run_id).values(total_count=10, failed_count=10))
    result = tick_rate(instance, catalog)
    assert result.skip_reason.skip_message.startswith("ABOVE THRESHOLD: 10 of 10 records failed (100.00%)")
