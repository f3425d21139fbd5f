"""Logistics tracking end to end against the sandbox over HTTP.

An order code added to ``tracked_orders`` (through the CLI's ``main``) is picked up by the sensor,
becomes an ``order_codes`` partition, is polled and stored; the hourly schedule re-polls it while
the sandbox moves it along, and leaves it alone once it is signed for.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.catalog.orders import tracked_orders_by_code
from haier_pipeline.definitions import build_definitions
from haier_pipeline.defs.logistics.assets import order_partitions
from haier_pipeline.defs.logistics.automation import haier_logistics_poll, haier_tracked_orders_sensor
from haier_pipeline.resources import CatalogResource
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.sandbox.orders import STEPS, order_step
from haier_pipeline.settings import load_settings
from haier_pipeline.track_order import main as track_order
from support.catalog_readers import stored_logistics

CANDIDATES = [
    f"SO.2025{month:02d}{day:02d}.{number:06d}" for month in range(1, 13) for day in (3, 17) for number in (1, 2)
]


@pytest.fixture
def pipeline(catalog_url, tmp_path, monkeypatch):
    with run_sandbox(SandboxOptions(products=20)) as sandbox, dg.instance_for_test() as instance:
        env = {**sandbox.env(), "HAIER_CATALOG_DB_URL": catalog_url, "HAIER_MEDIA_ROOT": str(tmp_path / "media")}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield sandbox, build_definitions(load_settings()), instance, CatalogResource(db_url=catalog_url)
    release_database(catalog_url)


def tick_sensor(instance, catalog, cursor):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"catalog": catalog}) as context:
        return haier_tracked_orders_sensor(context)


def tick_schedule(instance, catalog) -> list:
    with dg.build_schedule_context(instance=instance, resources={"catalog": catalog},
                                   scheduled_execution_time=datetime.now(UTC)) as context:
        return list(haier_logistics_poll(context))


def run(defs, instance, request: dg.RunRequest) -> dg.RunResult:
    result = defs.resolve_job_def("haier_logistics_sync").execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags)
    assert result.success
    return result


def metadata(result: dg.RunResult) -> dict:
    [event] = result.get_asset_materialization_events()
    return {key: getattr(value, "value", value) for key, value in event.materialization.metadata.items()}


def stored(catalog, code):
    with catalog.begin() as conn:
        return stored_logistics(conn, code), tracked_orders_by_code(conn)[code]


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_a_tracked_order_is_picked_up_polled_until_delivered_then_left_alone(pipeline):
    sandbox, defs, instance, catalog = pipeline
    seed = sandbox.options.seed
    moving = next(code for code in CANDIDATES if order_step(seed, code, 0) == len(STEPS) - 3)  # two moves to go
    signed = next(code for code in CANDIDATES if sandbox.catalogue.order_delivered(code))
    assert track_order([moving]) == 0 and track_order([signed]) == 0

    found = tick_sensor(instance, catalog, None)
    [add] = found.dynamic_partitions_requests
    assert add.partitions_def_name == order_partitions.name and list(add.partition_keys) == [moving, signed]
    assert [request.partition_key for request in found.run_requests] == [moving, signed]
    instance.add_dynamic_partitions(add.partitions_def_name, list(add.partition_keys))  # what the daemon does
    for request in found.run_requests:
        run(defs, instance, request)
    assert isinstance(tick_sensor(instance, catalog, found.cursor), dg.SkipReason)  # nothing new since

    for code in (moving, signed):
        lists, order = stored(catalog, code)
        assert lists == {name: entries for name, entries in sandbox.catalogue.logistics_answer(code).items() if entries}
        assert order.last_polled_at is not None
    assert stored(catalog, moving)[1].delivered_at is None
    assert stored(catalog, signed)[1].delivered_at is not None
    with catalog.begin() as conn:
        logs = conn.execute(select(tables.haier_sync_log.c.sync_type, tables.haier_sync_log.c.status)).all()
    assert logs == [("order", "success")] * 2

    polls = 0
    while not sandbox.catalogue.order_delivered(moving):
        requests = tick_schedule(instance, catalog)
        assert [request.partition_key for request in requests] == [moving]  # the signed one is never polled
        result = run(defs, instance, requests[0])
        polls += 1
        lists, order = stored(catalog, moving)
        assert lists == {
            name: entries for name, entries in sandbox.catalogue.logistics_answer(moving).items() if entries
        }
        assert order.delivered_at is None
        new_entries = metadata(result)["entries_new"]
        assert new_entries == 0 if polls == 1 else new_entries > 0  # first re-poll: same generation as the sensor's
        sandbox.advance()
        assert polls <= len(STEPS)

    [request] = tick_schedule(instance, catalog)  # one last poll sees the signature
    result = run(defs, instance, request)
    lists, order = stored(catalog, moving)
    assert order.delivered_at is not None and metadata(result)["delivered_this_run"] == 1
    assert any(STEPS[-1] in str(entries) for entries in lists.values())
    [skipped] = tick_schedule(instance, catalog)  # delivered: left alone from now on
    assert isinstance(skipped, dg.SkipReason)
    assert polls >= 1
