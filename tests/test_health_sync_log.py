"""The sync log's health columns: ``pending`` rows for queued runs, ``duration_seconds``, the
``images``/``order`` types, migration 0003 rewriting old rows, and ``sync_overview`` reading it all."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import (
    MIGRATIONS,
    alembic_config,
    create_catalog_engine,
    downgrade_database,
    upgrade_database,
)
from haier_pipeline.catalog.sync_log import close_sync_log, open_sync_log
from haier_pipeline.definitions import build_definitions
from haier_pipeline.defs.health.api_health import haier_sync_queue_sensor
from haier_pipeline.defs.health.overview import sync_overview
from haier_pipeline.resources import SyncScope
from haier_pipeline.runs.liveness import sweep_dead_runs

L = tables.haier_sync_log
HEALTH_REVISION = "0003_sync_log_health"
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def rows_of(catalog, run_id: str) -> dict[str, dict]:
    with catalog.begin() as conn:
        return {r["sync_type"]: dict(r) for r in conn.execute(select(L).where(L.c.run_id == run_id)).mappings()}


def queued(instance, job_name: str) -> dg.DagsterRun:
    """A run created but not started, as a launch leaves it before the queue or the launcher takes it
    (``QUEUED`` needs a code location's origin; the sensor treats both statuses alike)."""
    return instance.create_run_for_job(build_definitions().resolve_job_def(job_name),
                                       status=dg.DagsterRunStatus.NOT_STARTED)


def queue_tick(instance, catalog) -> str:
    with dg.build_sensor_context(instance=instance, resources={"catalog": catalog}) as context:
        return haier_sync_queue_sensor(context).skip_message


def test_queued_runs_get_pending_rows_that_start_or_close_with_the_run(catalog, instance):
    prices, full = queued(instance, "haier_price_sync"), queued(instance, "haier_full_sync")

    assert queue_tick(instance, catalog).startswith("5 pending row(s) written")
    assert {k: r["status"] for k, r in rows_of(catalog, prices.run_id).items()} == {"prices": "pending"}
    assert {k: r["status"] for k, r in rows_of(catalog, full.run_id).items()} == dict.fromkeys(
        ("products", "prices", "stock", "images"), "pending")
    assert queue_tick(instance, catalog).startswith("0 pending row(s) written")  # once per run and type
    assert sweep_dead_runs(catalog, instance).rows_closed == 0  # queued runs hold no run lock, and need none

    started = T0 + timedelta(minutes=7)
    with catalog.begin() as conn:  # the price run starts its sync: the pending row becomes its row
        log_id = open_sync_log(conn, "prices", prices.run_id, started)
        close_sync_log(conn, log_id, total=40, success=40, failed=0, failures=[], error=None,
                       now=started + timedelta(seconds=12.5))
    row = rows_of(catalog, prices.run_id)["prices"]
    assert (row["status"], row["started_at"], row["duration_seconds"]) == ("success", started, 12.5)

    instance.report_run_canceled(instance.get_run_by_id(full.run_id))
    assert queue_tick(instance, catalog).endswith("4 closed (runs ended before starting)")
    closed = rows_of(catalog, full.run_id)
    assert {r["status"] for r in closed.values()} == {"failed"}
    assert all(r["message"] == "run canceled before this sync started" and r["duration_seconds"] is not None
               for r in closed.values())


def test_images_and_order_are_sync_types_and_unknown_ones_are_refused(catalog):
    with catalog.begin() as conn:
        open_sync_log(conn, "images", "run-1", T0)
        open_sync_log(conn, "order", "run-1", T0)
        with pytest.raises(ValueError, match="sync_type"):
            open_sync_log(conn, "thumbnails", "run-1", T0)


def health_down_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(MIGRATIONS)).get_revision(HEALTH_REVISION)
    return str(script.down_revision)


OLD_ROWS = [  # (sync_type, run_id, message, started, completed) as 0001/0002 stored them
    ("manual", "run-a", "12 of 12 succeeded", "2026-11-01 02:00:00", "2026-11-01 02:01:30"),
    ("manual", "run-b", "1 of 3 failed: images: https://img/x.jpg: not_an_image", "2026-11-02 02:00:00",
     "2026-11-02 02:00:10"),
    ("manual", None, "hand-entered correction", "2026-11-03 09:00:00", None),
    ("logistics", "run-c", "1 of 1 succeeded", "2026-11-04 03:20:00", "2026-11-04 03:20:02.5"),
    ("products", "run-a", "500 of 500 succeeded", "2026-11-01 02:00:00", "2026-11-01 02:00:45"),
]


def test_migration_rewrites_old_rows_and_fills_durations(catalog_url):
    engine = create_catalog_engine(catalog_url)
    try:
        upgrade_database(engine, health_down_revision())
        with engine.begin() as conn:
            for sync_type, run_id, message, started, completed in OLD_ROWS:
                conn.execute(text("INSERT INTO haier_sync_log (sync_type, status, message, started_at, completed_at,"
                                  " run_id) VALUES (:t, 'success', :m, :s, :c, :r)"),
                             {"t": sync_type, "m": message, "s": started, "c": completed, "r": run_id})
        upgrade_database(engine)
        with engine.connect() as conn:
            got = [(r.sync_type, r.run_id, r.duration_seconds) for r in conn.execute(select(L).order_by(L.c.id))]
        assert got == [("images", "run-a", 90.0), ("images", "run-b", 10.0), ("manual", None, None),
                       ("order", "run-c", 2.5), ("products", "run-a", 45.0)]

        downgrade_database(engine, health_down_revision())
        assert "duration_seconds" not in {c["name"] for c in inspect(engine).get_columns("haier_sync_log")}
        with engine.connect() as conn:
            types = [row[0] for row in conn.execute(text("SELECT sync_type FROM haier_sync_log ORDER BY id"))]
        assert types == ["manual", "manual", "manual", "order", "products"]
    finally:
        engine.dispose()


def test_sync_overview_shows_the_last_sync_of_each_kind_and_the_figures(catalog, instance):
    now = datetime.now(UTC)
    with catalog.begin() as conn:
        for run, minutes_ago in (("old-run", 90), ("new-run", 30)):
            start = now - timedelta(minutes=minutes_ago)
            for kind, failed in (("products", 0), ("prices", 3)):
                log_id = open_sync_log(conn, kind, run, start)
                close_sync_log(conn, log_id, total=100, success=100 - failed, failed=failed,
                               failures=[f"P{n}: bad price" for n in range(failed)], error=None,
                               now=start + timedelta(seconds=20 if run == "new-run" else 5))
    instance.report_runless_asset_event(dg.AssetMaterialization("haier_raw_prices", metadata={
        "records_received": 100, "api_calls": 5, "products_per_minute": 80.0, "success_rate": 0.97,
        "api_p95_latency_ms": 120.0, "error_rate": 0.03}))
    instance.report_runless_asset_event(dg.AssetObservation("haier_api_health", metadata={
        "ok": True, "uptime_30d": dg.MetadataValue.float(0.9995), "latency_ms": dg.MetadataValue.float(85.0)}))

    instance.report_runless_asset_event(dg.AssetMaterialization("haier_raw_stock", metadata={
        "stock_pairs_due": 5, "stock_pairs_asked": 40, "stock_expected_staleness": 0.125}))

    scope = SyncScope(configured_counties=("110101",))
    result = dg.materialize([sync_overview], resources={"catalog": catalog, "sync_scope": scope}, instance=instance)
    [event] = result.get_asset_materialization_events()
    meta = {key: getattr(value, "value", value) for key, value in event.materialization.metadata.items()}
    table = meta["last_syncs"]
    assert "products" in table and "prices" in table and "new-run" in table and "old-run" not in table
    assert "3 of 100 failed" in table and re.search(r"\|\s+`?20(\.0)?`?\s+\|", table)
    assert meta["prices_duration_seconds"] == 20.0 and meta["prices_failed"] == 3
    assert meta["failure_rate_24h"] == round(6 / 400, 6) and meta["syncs_24h"] == 4
    assert meta["haier_raw_prices.products_per_minute"] == 80.0 and meta["api_uptime_30d"] == 0.9995
    assert meta["last_stock_run.stock_pairs_due"] == 5 and meta["last_stock_run.stock_expected_staleness"] == 0.125
    assert meta["stock_pairs_over_max_age"] == 0 and meta["stock_oldest_pair"] == ""  # no stock asked yet
    figures = meta["health_figures"]
    assert figures.count("**MISSED**") == 1  # only the prices' speed (80 < 100, over 100 records); the rest hold
    assert figures.count("n/a") == 8  # products and stock have no figures in this instance
