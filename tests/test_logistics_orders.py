"""Tracked orders and logistics records in the catalog: the delivered rule, deduplication, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.orders import (
    is_delivered,
    mark_polled,
    store_logistics,
    track_orders,
    tracked_orders_by_code,
    undelivered_order_codes,
)
from haier_pipeline.defs.logistics.automation import haier_tracked_orders_sensor
from haier_pipeline.resources import CatalogResource
from haier_pipeline.sandbox.catalogue import Catalogue
from haier_pipeline.sandbox.orders import STEPS
from haier_pipeline.track_order import main as track_order_main
from support.catalog_readers import stored_logistics
from support.catalog_records import T0, later

CODES = [f"SO.2025{month:02d}{day:02d}.{number:06d}" for month, day, number in
         ((1, 6, 3), (2, 11, 17), (3, 20, 5), (4, 2, 42), (6, 30, 7), (9, 9, 999), (12, 31, 1), (7, 4, 250))]


@pytest.fixture
def engine(catalog_url):
    yield prepare_database(catalog_url)
    release_database(catalog_url)


def test_delivered_means_every_delivery_signed_for_as_the_sandbox_says():
    verdicts = set()
    for generation in range(len(STEPS)):
        catalogue = Catalogue(10, seed=3, generation=generation)
        for code in CODES:
            answer = catalogue.logistics_answer(code)
            assert is_delivered(answer) == catalogue.order_delivered(code), (code, generation)
            verdicts.add(catalogue.order_delivered(code))
    assert verdicts == {True, False}  # both outcomes were exercised


def test_one_unsigned_delivery_keeps_the_order_open():
    signed = {"deliveryRecordCode": "SO.1.F1", "status": "已签收"}
    moving = {"deliveryRecordCode": "SO.1.F2", "logisticsStatus": "运输中"}
    assert not is_delivered({"a": [signed], "b": [moving]})
    assert is_delivered({"a": [signed], "b": [{**moving, "logisticsStatus": "已签收"}]})
    assert not is_delivered({"a": [], "b": [], "c": []})


def test_storing_the_same_logistics_again_writes_nothing_and_new_entries_are_appended(engine):
    catalogue = Catalogue(10, seed=3, generation=0)
    code = next(c for c in CODES if not catalogue.order_delivered(c))
    first = catalogue.logistics_answer(code)
    with engine.begin() as conn:
        counts = store_logistics(conn, code, first, "run-1", T0)
        assert counts.inserted == sum(map(len, first.values())) > 0
        assert store_logistics(conn, code, first, "run-2", later(60)).inserted == 0
        moved = catalogue.next_generation().logistics_answer(code)
        grown = sum(map(len, moved.values())) - sum(map(len, first.values()))
        assert grown > 0 and store_logistics(conn, code, moved, "run-3", later(120)).inserted == grown
        assert stored_logistics(conn, code) == {name: entries for name, entries in moved.items() if entries}


def test_tracking_is_idempotent_and_bad_codes_are_refused_by_name(engine):
    with engine.begin() as conn:
        assert track_orders(conn, [CODES[0], CODES[1], CODES[0]], T0) == [CODES[0], CODES[1]]
        assert track_orders(conn, [CODES[1], CODES[2]], later(5), delivery_record_code=None, member_id=7) == [CODES[2]]
        mark_polled(conn, CODES[1], later(10), delivered=True)
        mark_polled(conn, CODES[1], later(20), delivered=True)  # delivered_at keeps the first sighting
        orders = tracked_orders_by_code(conn)
        assert orders[CODES[1]].delivered_at == later(10) and orders[CODES[1]].last_polled_at == later(20)
        assert orders[CODES[2]].member_id == 7
        assert undelivered_order_codes(conn) == [CODES[0], CODES[2]]
        with pytest.raises(ValueError, match="order code 'SO 1'"):
            track_orders(conn, ["SO 1"], T0)
        with pytest.raises(ValueError, match="delivery record code"):
            track_orders(conn, [CODES[3]], T0, delivery_record_code="F1,F2")
        assert conn.execute(select(func.count()).select_from(tables.tracked_orders)).scalar_one() == 3


def run_cli(args: list[str], url: str, module: bool = True) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    env.update({"HAIER_CATALOG_DB_URL": url, "HAIER_DATA_DIR": os.environ["HAIER_DATA_DIR"], "HAIER_SANDBOX": "1"})
    command = [sys.executable, "-m", "haier_pipeline.track_order"] if module else \
        [str(Path(sys.executable).with_name("haier-track-order"))]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_the_cli_adds_codes_once_and_lists_them(catalog_url, monkeypatch, capsys):
    done = run_cli([CODES[0], "--delivery-record", f"{CODES[0]}.F1", "--member-id", "42"], catalog_url)
    assert done.returncode == 0, done.stderr
    assert f"{CODES[0]}: now tracked" in done.stdout
    again = run_cli([CODES[0], CODES[1]], catalog_url, module=False)  # the console script from pyproject
    assert again.returncode == 0, again.stderr
    assert f"{CODES[0]}: already tracked" in again.stdout and f"{CODES[1]}: now tracked" in again.stdout

    monkeypatch.setenv("HAIER_CATALOG_DB_URL", catalog_url)  # the same entry point, in-process
    monkeypatch.setenv("HAIER_SANDBOX", "1")
    assert track_order_main(["--list"]) == 0
    assert "2 tracked order(s)" in capsys.readouterr().out
    assert track_order_main(["not a code"]) == 2
    assert "order code 'not a code'" in capsys.readouterr().err
    monkeypatch.setenv("HAIER_BALANCE_ALERT_THRESHOLD", "lots")
    assert track_order_main([CODES[2]]) == 2  # settings are validated, by name
    assert "HAIER_BALANCE_ALERT_THRESHOLD" in capsys.readouterr().err
    engine = prepare_database(catalog_url)
    try:
        with engine.begin() as conn:
            orders = tracked_orders_by_code(conn)
        assert list(orders) == [CODES[0], CODES[1]]
        assert (orders[CODES[0]].delivery_record_code, orders[CODES[0]].member_id) == (f"{CODES[0]}.F1", 42)
    finally:
        release_database(catalog_url)


def test_the_sensor_skips_a_hand_written_code_no_partition_can_carry(catalog_url):
    engine = prepare_database(catalog_url)
    try:
        with engine.begin() as conn:
            conn.execute(tables.tracked_orders.insert().values(order_code="SO...1", added_at=T0))  # bypasses the CLI
            track_orders(conn, [CODES[0]], T0)
            with pytest.raises(ValueError, match="'SO...1'"):
                track_orders(conn, ["SO...1"], T0)
        with dg.DagsterInstance.ephemeral() as instance, dg.build_sensor_context(
                instance=instance, resources={"catalog": CatalogResource(db_url=catalog_url)}) as context:
            result = haier_tracked_orders_sensor(context)
        assert [request.partition_key for request in result.run_requests] == [CODES[0]]
        assert list(result.dynamic_partitions_requests[0].partition_keys) == [CODES[0]]
        assert result.cursor == "2"  # the bad row is passed over, not retried forever
    finally:
        release_database(catalog_url)
