"""Persist Haier's raw payloads, writing a row only when a payload changed.

``haier_raw_products`` and ``haier_raw_stock`` keep the latest payload per key;
``haier_raw_prices`` is append-only history (a new row only when the answer differs from
the latest one for that product). Each chunk costs one SELECT of the current digests,
then at most one bulk INSERT and one bulk UPDATE. The readers live in ``raw_read`` and
are re-exported here.

Every answer is also a confirmation: an unchanged one costs one set-based
``UPDATE … SET confirmed_at = now WHERE id IN (…)`` per chunk (``confirm=False`` leaves that
out, the code path before confirmation was kept, for the benchmark). Only keys Haier answered
reach these functions, so a failed call is never confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from .bulk import CHUNK_SIZE, chunked, fetch_by_keys, insert_rows, last_by_key, update_rows
from .counts import WriteCounts
from .payloads import encode_with_digest
from .raw_read import iter_latest_raw_prices, iter_raw_products, iter_raw_stock, listed_product_codes
from .tables import haier_raw_prices, haier_raw_products, haier_raw_stock

__all__ = ["iter_latest_raw_prices", "iter_raw_products", "iter_raw_stock", "listed_product_codes", "mark_unlisted",
           "store_raw_prices", "store_raw_products", "store_raw_stock"]

_PRODUCT_UPDATE = ("payload", "payload_sha256", "is_sales", "listed", "changed_at", "run_id")
_STOCK_UPDATE = ("payload", "payload_sha256", "changed_at", "run_id", "confirmed_at")


def _confirm(conn: Connection, table, ids: list[int], now: datetime) -> None:
    """Stamp ``confirmed_at`` on rows whose stored answer Haier just gave again: one statement."""
    if ids:
        conn.execute(update(table).where(table.c.id.in_(ids)).values(confirmed_at=now))


def _is_sales(payload: Any) -> str | None:
    value = payload.get("isSales") if isinstance(payload, dict) else None
    return None if value is None else str(value).strip()[:8]


def store_raw_products(
    conn: Connection, payloads: Iterable[tuple[str, dict]], run_id: str | None, now: datetime
) -> WriteCounts:
    """Keep each product's latest listing payload; a stored product seen again is marked listed.

    ``changed_at`` moves when the payload or the listed flag changes; identical payloads write nothing.
    """
    counts = WriteCounts()
    for chunk in chunked(payloads):
        latest = last_by_key(chunk, lambda item: item[0])
        failed = sum(1 for code in latest if not code)
        latest = {code: item for code, item in latest.items() if code}
        current = fetch_by_keys(conn, haier_raw_products, "product_code", latest, ("payload_sha256", "listed"))
        inserts, updates, unchanged = [], [], 0
        for code, (_, payload) in latest.items():
            text, digest = encode_with_digest(payload)
            row = {"product_code": code, "payload": text, "payload_sha256": digest, "is_sales": _is_sales(payload),
                   "listed": True, "changed_at": now, "run_id": run_id}
            old = current.get(code)
            if old is None:
                inserts.append({**row, "first_seen_at": now})
            elif old.payload_sha256 != digest or not old.listed:
                updates.append(row)
            else:
                unchanged += 1
        insert_rows(conn, haier_raw_products, inserts, conflict=["product_code"], update_columns=_PRODUCT_UPDATE)
        update_rows(conn, haier_raw_products, "product_code", updates, _PRODUCT_UPDATE)
        counts += WriteCounts(len(inserts), len(updates), unchanged, failed)
    return counts


def mark_unlisted(conn: Connection, listed_codes: set[str], run_id: str | None, now: datetime) -> int:
    """Flag stored products missing from the latest full listing as ``listed=False``; returns how many.

    An empty ``listed_codes`` changes nothing: an empty listing is far likelier a failed fetch
    than Haier withdrawing the whole catalogue. Call it only after a complete (unfiltered) listing.
    """
    if not listed_codes:
        return 0
    gone = [
        code
        for code in conn.execute(select(haier_raw_products.c.product_code).where(haier_raw_products.c.listed.is_(True)))
        .scalars()
        if code not in listed_codes
    ]
    for chunk in chunked(gone, CHUNK_SIZE):
        rows = [{"product_code": code, "listed": False, "changed_at": now, "run_id": run_id} for code in chunk]
        update_rows(conn, haier_raw_products, "product_code", rows, ("listed", "changed_at", "run_id"))
    return len(gone)


def store_raw_prices(
    conn: Connection, payloads: Iterable[tuple[str, dict]], run_id: str | None, now: datetime, *,
    confirm: bool = True,
) -> WriteCounts:
    """Append a price payload when it differs from the latest stored one for that product.

    Counts: ``inserted`` = first answer for a product, ``updated`` = a changed answer appended
    to its history, ``unchanged`` = same as the latest (only its ``confirmed_at`` is stamped).
    """
    counts = WriteCounts()
    for chunk in chunked(payloads):
        latest = last_by_key(chunk, lambda item: item[0])
        failed = sum(1 for code in latest if not code)
        latest = {code: item for code, item in latest.items() if code}
        newest_ids = (
            select(func.max(haier_raw_prices.c.id))
            .where(haier_raw_prices.c.product_code.in_(list(latest)))
            .group_by(haier_raw_prices.c.product_code)
        )
        query = select(haier_raw_prices.c.product_code, haier_raw_prices.c.payload_sha256,
                       haier_raw_prices.c.id).where(haier_raw_prices.c.id.in_(newest_ids))
        current = {code: (sha, row_id) for code, sha, row_id in conn.execute(query)} if latest else {}
        rows, first, same = [], 0, []
        for code, (_, payload) in latest.items():
            text, digest = encode_with_digest(payload)
            if code in current and current[code][0] == digest:
                same.append(current[code][1])
                continue
            first += code not in current
            rows.append({"product_code": code, "payload": text, "payload_sha256": digest, "fetched_at": now,
                         "run_id": run_id, "confirmed_at": now})
        insert_rows(conn, haier_raw_prices, rows)
        if confirm:
            _confirm(conn, haier_raw_prices, same, now)
        unchanged = len(same)
        counts += WriteCounts(first, len(rows) - first, unchanged, failed)
    return counts


def store_raw_stock(
    conn: Connection, payloads: Iterable[tuple[str, str, dict]], run_id: str | None, now: datetime, *,
    confirm: bool = True,
) -> WriteCounts:
    """Keep the latest stock payload per (product, county); an identical payload only stamps ``confirmed_at``."""
    counts = WriteCounts()
    for chunk in chunked(payloads):
        latest = last_by_key(chunk, lambda item: (item[0], item[1]))
        failed = sum(1 for code, county in latest if not code or not county)
        latest = {key: item for key, item in latest.items() if key[0] and key[1]}
        # Filter on product codes only: the (product_code, county_code) unique index serves it, while a
        # county predicate can tempt PostgreSQL's planner onto the county index and a scan of every row.
        codes = list({code for code, _ in latest})
        current = (
            {
                (row.product_code, row.county_code): row
                for row in conn.execute(
                    select(
                        haier_raw_stock.c.id, haier_raw_stock.c.product_code, haier_raw_stock.c.county_code,
                        haier_raw_stock.c.payload_sha256,
                    ).where(haier_raw_stock.c.product_code.in_(codes))
                )
            }
            if latest
            else {}
        )
        inserts, updates, same = [], [], []
        for (code, county), (_, _, payload) in latest.items():
            text, digest = encode_with_digest(payload)
            old = current.get((code, county))
            row = {"payload": text, "payload_sha256": digest, "changed_at": now, "run_id": run_id,
                   "confirmed_at": now}
            if old is None:
                inserts.append({**row, "product_code": code, "county_code": county})
            elif old.payload_sha256 != digest:
                updates.append({**row, "id": old.id})
            else:
                same.append(old.id)
        insert_rows(conn, haier_raw_stock, inserts, conflict=["product_code", "county_code"],
                    update_columns=_STOCK_UPDATE)
        update_rows(conn, haier_raw_stock, "id", updates, _STOCK_UPDATE)
        if confirm:
            _confirm(conn, haier_raw_stock, same, now)
        unchanged = len(same)
        counts += WriteCounts(len(inserts), len(updates), unchanged, failed)
    return counts
