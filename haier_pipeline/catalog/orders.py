"""Orders whose logistics are followed (``tracked_orders``) and what Haier said about them (``logistics_records``).

An order is tracked from the moment a code is added (CLI or SQL) until its logistics show it
delivered: then ``delivered_at`` is set and the schedule stops polling it. Every entry of the
three logistics lists is stored once per order (keyed by its payload's SHA-256), so re-polling an
order whose logistics did not move writes nothing, and the table reads as the order's history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from .bulk import insert_rows
from .counts import WriteCounts
from .payloads import encode_with_digest
from .tables import logistics_records, tracked_orders

ORDER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Haier's order codes look like ``SO.20190106.000003``; delivery records add ``.F1``."""

DELIVERED_STATUSES = frozenset({"已签收"})
"""The final status of a delivery (signed for), as the logistics lists report it."""
STATUS_FIELDS = ("status", "logisticsStatus")


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """One row of ``tracked_orders``."""

    id: int
    order_code: str
    delivery_record_code: str | None
    member_id: int | None
    added_at: datetime
    delivered_at: datetime | None
    last_polled_at: datetime | None


def check_order_code(code: str, what: str = "order code") -> str:
    """``code`` stripped, or a ``ValueError`` naming what is wrong with it."""
    cleaned = code.strip() if isinstance(code, str) else code
    if not isinstance(cleaned, str) or not ORDER_CODE.match(cleaned) or "..." in cleaned:  # Dagster refuses "..." keys
        raise ValueError(f"{what} {code!r}: expected letters, digits, '.', '_' or '-' (at most 64), "
                         "e.g. SO.20190106.000003")
    return cleaned


def track_orders(
    conn: Connection, order_codes: Iterable[str], now: datetime,
    delivery_record_code: str | None = None, member_id: int | None = None,
) -> list[str]:
    """Start tracking ``order_codes``; returns the codes that were new (already tracked ones are left as they are)."""
    codes = list(dict.fromkeys(check_order_code(code) for code in order_codes))
    if delivery_record_code is not None:
        delivery_record_code = check_order_code(delivery_record_code, "delivery record code")
    column = tracked_orders.c.order_code
    existing = set(conn.execute(select(column).where(column.in_(codes))).scalars())
    rows = [{"order_code": code, "delivery_record_code": delivery_record_code, "member_id": member_id, "added_at": now}
            for code in codes if code not in existing]
    insert_rows(conn, tracked_orders, rows, conflict=["order_code"])
    return [code for code in codes if code not in existing]


def _order(row: Any) -> TrackedOrder:
    return TrackedOrder(**{name: row._mapping[name] for name in TrackedOrder.__slots__})


def orders_since(conn: Connection, last_id: int) -> list[TrackedOrder]:
    """Orders added after ``last_id`` (the tracked-orders sensor's cursor), oldest first."""
    query = select(tracked_orders).where(tracked_orders.c.id > last_id).order_by(tracked_orders.c.id)
    return [_order(row) for row in conn.execute(query)]


def tracked_orders_by_code(conn: Connection, order_codes: Sequence[str] | None = None) -> dict[str, TrackedOrder]:
    """Tracked orders by code (all, or only ``order_codes``)."""
    query = select(tracked_orders).order_by(tracked_orders.c.id)
    if order_codes is not None:
        query = query.where(tracked_orders.c.order_code.in_(list(order_codes)))
    return {row.order_code: _order(row) for row in conn.execute(query)}


def undelivered_order_codes(conn: Connection) -> list[str]:
    """Codes still to poll: tracked and not yet delivered, oldest first."""
    t = tracked_orders.c
    return list(conn.execute(select(t.order_code).where(t.delivered_at.is_(None)).order_by(t.id)).scalars())


def is_delivered(lists: Mapping[str, Sequence[Any]]) -> bool:
    """True when every delivery named in the logistics lists has a 已签收 (signed-for) record.

    Entries are grouped by ``deliveryRecordCode`` (an order may ship in several deliveries);
    an answer with no entries at all is not delivered.
    """
    signed: dict[str, bool] = {}
    for entries in lists.values():
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            delivery = str(entry.get("deliveryRecordCode") or "")
            done = any(str(entry.get(name) or "").strip() in DELIVERED_STATUSES for name in STATUS_FIELDS)
            signed[delivery] = signed.get(delivery, False) or done
    return bool(signed) and all(signed.values())


def latest_status(lists: Mapping[str, Sequence[Any]]) -> str | None:
    """The status of the last entry that has one (what the order page would show)."""
    found = None
    for entries in lists.values():
        for entry in entries:
            if isinstance(entry, Mapping):
                found = next((str(entry[name]) for name in STATUS_FIELDS if entry.get(name)), found)
    return found


def store_logistics(
    conn: Connection, order_code: str, lists: Mapping[str, Sequence[Any]], run_id: str | None, now: datetime
) -> WriteCounts:
    """Store each list entry not stored before for this order; ``inserted`` new, ``unchanged`` already known."""
    table = logistics_records
    known = {
        (source, digest)
        for source, digest in conn.execute(
            select(table.c.source_list, table.c.payload_sha256).where(table.c.order_code == order_code)
        )
    }
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    seen = 0
    for source, entries in lists.items():
        for entry in entries:
            seen += 1
            text, digest = encode_with_digest(entry)
            if (source, digest) not in known:
                rows[(source, digest)] = {"order_code": order_code, "source_list": source, "payload": text,
                                          "payload_sha256": digest, "fetched_at": now, "run_id": run_id}
    insert_rows(conn, table, list(rows.values()), conflict=["order_code", "source_list", "payload_sha256"])
    return WriteCounts(inserted=len(rows), unchanged=seen - len(rows))


def mark_polled(conn: Connection, order_code: str, now: datetime, delivered: bool) -> None:
    """Record a poll; the first poll that sees the order delivered sets ``delivered_at``."""
    t = tracked_orders.c
    conn.execute(update(tracked_orders).where(t.order_code == order_code).values(last_polled_at=now))
    if delivered:
        conn.execute(
            update(tracked_orders).where(t.order_code == order_code, t.delivered_at.is_(None)).values(delivered_at=now)
        )
