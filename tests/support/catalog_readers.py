"""Readers of catalogue tables that only the tests need (the package keeps what the pipeline uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from haier_pipeline.catalog.balances import StoredBalance, _stored
from haier_pipeline.catalog.tables import account_balances, logistics_records
from haier_pipeline.catalog.tables import product_price_history as history
from haier_pipeline.haier_api.jsonio import loads


def history_rows(conn: Connection, product_codes: Sequence[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """History rows by product, oldest first (optionally only some products)."""
    query = select(history).order_by(history.c.product_code, history.c.valid_from, history.c.id)
    if product_codes is not None:
        query = query.where(history.c.product_code.in_(list(product_codes)))
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(query).mappings():
        rows.setdefault(row["product_code"], []).append(dict(row))
    return rows


def balances_of_run(conn: Connection, run_id: str) -> list[StoredBalance]:
    """The balances one run observed."""
    return _stored(conn, account_balances.c.run_id == run_id)


def stored_logistics(conn: Connection, order_code: str) -> dict[str, list[Any]]:
    """The stored entries of one order, by list, in the order they were first stored."""
    table = logistics_records
    lists: dict[str, list[Any]] = {}
    for source, payload in conn.execute(
        select(table.c.source_list, table.c.payload).where(table.c.order_code == order_code).order_by(table.c.id)
    ):
        lists.setdefault(source, []).append(loads(payload))
    return lists
