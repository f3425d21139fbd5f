"""Record each stock ask in ``stock_refresh_state`` and read the state back for the refresh planner.

:func:`record_asks` runs in the same transaction as the raw stock write, so a killed pass leaves exactly
the pairs it stored recorded as asked: the next run skips them for the rest of the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from .bulk import chunked, insert_rows, last_by_key, update_rows
from .payloads import encode_with_digest
from .tables import stock_refresh_state

_UPDATE = ("asked_at", "asks", "changes", "observed_seconds", "stock", "payload_sha256")


def _level(payload: Any) -> int | None:
    try:
        return int(str(payload.get("stock")).strip()) if isinstance(payload, dict) else None
    except ValueError:
        return None


def record_asks(conn: Connection, payloads: Iterable[tuple[str, str, dict]], now: datetime) -> None:
    """One more ask of each (product, county): a change when the answer's digest differs from the last."""
    for chunk in chunked(payloads):
        latest = last_by_key(chunk, lambda item: (item[0], item[1]))
        codes = list({code for code, _ in latest})
        table = stock_refresh_state
        current = {
            (row.product_code, row.county_code): row
            for row in conn.execute(
                select(table.c.id, table.c.product_code, table.c.county_code, table.c.asked_at, table.c.asks,
                       table.c.changes, table.c.observed_seconds, table.c.payload_sha256)
                .where(table.c.product_code.in_(codes)))
        } if codes else {}
        inserts, updates = [], []
        for key, (_, _, payload) in latest.items():
            digest = encode_with_digest(payload)[1]
            row = {"asked_at": now, "stock": _level(payload), "payload_sha256": digest}
            old = current.get(key)
            if old is None:
                inserts.append({**row, "product_code": key[0], "county_code": key[1], "asks": 0, "changes": 0,
                                "observed_seconds": 0.0})
            else:
                watched = max((now - old.asked_at).total_seconds(), 0.0)
                updates.append({**row, "id": old.id, "asks": old.asks + 1,
                                "observed_seconds": old.observed_seconds + watched,
                                "changes": old.changes + (old.payload_sha256 != digest)})
        insert_rows(conn, table, inserts, conflict=["product_code", "county_code"], update_columns=_UPDATE)
        update_rows(conn, table, "id", updates, _UPDATE)


def read_refresh_state(conn: Connection, codes: Sequence[str], counties: Sequence[str]) -> pd.DataFrame:
    """One row per pair of ``codes`` × ``counties`` (county-major, the order today's pass asks in), with its
    state (NaN/NaT where never asked)."""
    pairs = pd.DataFrame({
        "county_code": pd.Series(counties, dtype=object).repeat(len(codes)).to_numpy(),
        "product_code": pd.Series(list(codes) * len(counties), dtype=object),
    })
    table = stock_refresh_state
    query = select(table.c.product_code, table.c.county_code, table.c.asked_at, table.c.asks, table.c.changes,
                   table.c.observed_seconds, table.c.stock)
    state = pd.DataFrame(conn.execute(query).all(), columns=list(query.selected_columns.keys()))
    state[["product_code", "county_code"]] = state[["product_code", "county_code"]].astype(object)
    merged = pairs.merge(state, on=["product_code", "county_code"], how="left")
    merged["asked_at"] = pd.to_datetime(merged["asked_at"], utc=True)
    return merged


def oldest_stock_value(conn: Connection) -> tuple[str, str, datetime] | None:
    """The pair whose stored stock was asked longest ago (product, county, when), or None."""
    table = stock_refresh_state
    row = conn.execute(select(table.c.product_code, table.c.county_code, table.c.asked_at)
                       .order_by(table.c.asked_at).limit(1)).first()
    return None if row is None else (row.product_code, row.county_code, row.asked_at)

