"""The price-history writer on stored raw price answers: rows opened and closed, idempotent, set-based."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.history import (
    extend_price_history,
    history_problems,
    price_moves_since,
    rebuild_price_history,
)
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.raw_store import store_raw_prices
from support.catalog_readers import history_rows
from support.catalog_records import T0, codes, later


@pytest.fixture
def engine(catalog_url):
    yield prepare_database(catalog_url)
    release_database(catalog_url)


def answer(code: str, **changes: Any) -> dict[str, Any]:
    """A price answer as Haier sends it (decimals exact)."""
    payload: dict[str, Any] = {
        "productCode": code, "supplyPrice": Decimal("2999.00"), "invoicePrice": Decimal("2849.05"),
        "stockRebatePolicy": Decimal("0.05"), "rebateMoney": Decimal("0"), "reason": "", "isSales": "1",
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


def store(engine, answers: list[dict[str, Any]], when, run_id: str) -> None:
    with engine.begin() as conn:
        store_raw_prices(conn, [(a["productCode"], a) for a in answers], run_id, when)


def extend(engine):
    with engine.begin() as conn:
        return extend_price_history(conn)


def rows(engine, code: str | None = None) -> dict[str, list[dict[str, Any]]]:
    with engine.begin() as conn:
        return history_rows(conn, None if code is None else [code])


def test_first_answers_open_one_row_each_with_the_answers_terms(engine):
    store(
        engine,
        [answer("GA1"), answer("GA2", stockRebatePolicy="COM", supplyPrice=None, reason="价格未生效")],
        T0,
        "run-1",
    )
    counts = extend(engine)
    assert (counts.opened, counts.closed, counts.products_changed) == (2, 0, 2)
    history = rows(engine)
    [first] = history["GA1"]
    assert first["valid_from"] == T0 and first["valid_to"] is None and first["run_id"] == "run-1"
    assert (first["supply_price"], first["invoice_price"], first["stock_rebate"], first["rebate_type"]) == (
        Decimal("2999.00"), Decimal("2849.05"), Decimal("0.05"), None)
    [second] = history["GA2"]
    assert second["supply_price"] is None and second["rebate_type"] == "COM" and second["stock_rebate"] is None


@pytest.mark.parametrize("change", [
    {"supplyPrice": Decimal("3099.00")}, {"invoicePrice": Decimal("2800.00")}, {"stockRebatePolicy": Decimal("0.08")},
    {"stockRebatePolicy": "FHQ"}, {"rebateMoney": Decimal("50.00")}, {"isSales": "0", "reason": "商品暂不可采"},
])
def test_a_change_of_any_tracked_term_closes_the_open_row_and_opens_one(engine, change):
    store(engine, [answer("GA1"), answer("GA2")], T0, "run-1")
    extend(engine)
    store(engine, [answer("GA1", **change), answer("GA2")], later(60), "run-2")
    counts = extend(engine)
    assert (counts.opened, counts.closed, counts.products_changed) == (1, 1, 1)
    old, new = rows(engine)["GA1"]
    assert old["valid_to"] == new["valid_from"] == later(60) and new["valid_to"] is None
    assert new["run_id"] == "run-2" and old["run_id"] == "run-1"
    assert len(rows(engine)["GA2"]) == 1


def test_an_answer_differing_only_in_untracked_text_writes_nothing(engine):
    store(engine, [answer("GA1")], T0, "run-1")
    extend(engine)
    store(engine, [answer("GA1", reason="备注变更")], later(60), "run-2")  # a new raw row, same terms
    with count_statements(engine) as counted:
        counts = extend(engine)
    assert counts.written == 0 and counted.writes == 0
    assert counts.answers_read == 1
    assert [row["valid_to"] for row in rows(engine)["GA1"]] == [None]


def test_several_changes_between_builds_become_a_chain_and_a_rebuild_gives_the_same_rows(engine):
    prices = ["2999.00", "3099.00", "3099.00", "2899.00"]
    for step, supply in enumerate(prices):
        store(engine, [answer("GA1", supplyPrice=Decimal(supply), reason=f"r{step}")], later(step * 60), f"run-{step}")
    counts = extend(engine)
    history = rows(engine)["GA1"]
    assert [row["supply_price"] for row in history] == [Decimal("2999.00"), Decimal("3099.00"), Decimal("2899.00")]
    assert [(row["valid_from"], row["valid_to"]) for row in history] == [
        (later(0), later(60)), (later(60), later(180)), (later(180), None)]
    assert (counts.opened, counts.closed) == (3, 0)  # no row existed before: the chain is inserted closed

    with engine.begin() as conn:
        rebuilt = rebuild_price_history(conn)
    assert rebuilt.opened == 3
    strip = lambda rs: [{k: v for k, v in r.items() if k != "id"} for r in rs]  # noqa: E731
    assert strip(rows(engine)["GA1"]) == strip(history)


def test_rerunning_over_the_same_raw_history_writes_nothing_and_costs_one_read(engine):
    store(engine, [answer(code) for code in codes(2500)], T0, "run-1")
    with count_statements(engine) as first:
        counts = extend(engine)
    assert counts.opened == 2500
    assert first.writes == 3  # one bulk INSERT per page of 1,000 products
    with count_statements(engine) as again:
        assert extend(engine).written == 0
    queries = [sql for sql in again.read_sql if "pg_advisory_xact_lock" not in sql]  # PostgreSQL's writer lock
    assert again.writes == 0 and len(queries) == 1


def test_a_few_changes_in_a_big_catalogue_cost_one_update_and_one_insert(engine):
    all_codes = codes(2500)
    store(engine, [answer(code) for code in all_codes], T0, "run-1")
    extend(engine)
    moved = set(all_codes[::100])
    store(engine, [answer(code, supplyPrice=Decimal("3199.00") if code in moved else Decimal("2999.00"))
                   for code in all_codes], later(60), "run-2")
    with count_statements(engine) as counted:
        counts = extend(engine)
    assert (counts.opened, counts.closed, counts.products_changed) == (len(moved), len(moved), len(moved))
    assert counted.writes == 2
    with engine.begin() as conn:
        open_rows = conn.execute(select(func.count()).select_from(tables.product_price_history)
                                 .where(tables.product_price_history.c.valid_to.is_(None))).scalar_one()
        assert open_rows == 2500 and history_problems(conn) == []


def test_price_moves_are_ranked_by_relative_change(engine):
    store(engine, [answer("GA1"), answer("GA2"), answer("GA3")], T0, "run-1")
    extend(engine)
    store(engine, [answer("GA1", supplyPrice=Decimal("3298.90")), answer("GA2", supplyPrice=Decimal("2699.10")),
                   answer("GA3", isSales="0")], later(60), "run-2")
    extend(engine)
    with engine.begin() as conn:
        moves = price_moves_since(conn, T0)
        assert price_moves_since(conn, later(61)) == []
    assert [move.product_code for move in moves] == ["GA1", "GA2", "GA3"]  # +10 %, -10 % (smaller), no price move
    assert moves[0].change == Decimal("299.90") and moves[0].change_pct == Decimal("10.00")
    assert moves[1].change_pct == Decimal("-10.00")
    assert (moves[2].change, moves[2].old_is_sales, moves[2].new_is_sales) == (Decimal("0"), "1", "0")


def test_history_problems_name_a_product_with_two_open_rows(engine):
    store(engine, [answer("GA1")], T0, "run-1")
    extend(engine)
    with engine.begin() as conn:
        conn.execute(tables.product_price_history.insert().values(product_code="GA1", valid_from=T0 + timedelta(1)))
        assert history_problems(conn) == ["GA1: 2 open rows"]
