"""Stream stored raw payloads back, page by page, decoded with exact decimals.

Pages are fetched with keyset pagination (``WHERE key > last ORDER BY key LIMIT n``), so no
cursor stays open between pages: the caller may write on the same connection while it
iterates, and memory stays flat for any catalogue size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, func, select

from haier_pipeline.haier_api.jsonio import loads

from .bulk import CHUNK_SIZE, chunked
from .tables import haier_raw_prices, haier_raw_products, haier_raw_stock


def iter_raw_products(conn: Connection, listed_only: bool = True, *,
                      page_size: int = CHUNK_SIZE, after: str = "") -> Iterator[tuple[str, Any]]:
    """``(product_code, payload)`` in product-code order, from the first code past ``after``; by default only
    products in the latest listing."""
    table = haier_raw_products
    while True:
        # ``listed`` is filtered here, not in SQL: with it in the WHERE clause SQLite walked the
        # (listed, is_sales) index and sorted every listed row for each page, O(n^2) (11 s per pass
        # at 100 000 products); on the product_code key alone each page is one index range scan.
        query = select(table.c.product_code, table.c.payload, table.c.listed).where(table.c.product_code > after)
        page = conn.execute(query.order_by(table.c.product_code).limit(page_size)).all()
        for code, text, listed in page:
            if listed or not listed_only:
                yield code, loads(text)
        if len(page) < page_size:
            return
        after = page[-1][0]


def listed_product_codes(conn: Connection, procurable_only: bool = False) -> list[str]:
    """Codes in the latest listing, sorted; ``procurable_only`` keeps those whose payload says ``isSales`` "1"."""
    table = haier_raw_products
    query = select(table.c.product_code).where(table.c.listed.is_(True))
    if procurable_only:
        query = query.where(table.c.is_sales == "1")
    return list(conn.execute(query.order_by(table.c.product_code)).scalars())


def iter_latest_raw_prices(
    conn: Connection, product_codes: Iterable[str] | None = None, *, page_size: int = CHUNK_SIZE
) -> Iterator[tuple[str, Any]]:
    """``(product_code, payload)`` of each product's newest price answer, in product-code order."""
    table = haier_raw_prices
    if product_codes is not None:
        for chunk in chunked(sorted(set(product_codes)), page_size):
            newest = select(func.max(table.c.id)).where(table.c.product_code.in_(chunk)).group_by(table.c.product_code)
            yield from _decoded(conn, newest)
        return
    after = ""
    while True:
        page = conn.execute(
            select(table.c.product_code, func.max(table.c.id))
            .where(table.c.product_code > after)
            .group_by(table.c.product_code)
            .order_by(table.c.product_code)
            .limit(page_size)
        ).all()
        if page:
            yield from _decoded(conn, [row[1] for row in page])
        if len(page) < page_size:
            return
        after = page[-1][0]


def _decoded(conn: Connection, ids: Any) -> Iterator[tuple[str, Any]]:
    table = haier_raw_prices
    rows = conn.execute(
        select(table.c.product_code, table.c.payload).where(table.c.id.in_(ids)).order_by(table.c.product_code)
    ).all()
    for code, text in rows:
        yield code, loads(text)


def iter_raw_stock(
    conn: Connection, county_codes: Iterable[str] | None = None, *, page_size: int = CHUNK_SIZE
) -> Iterator[tuple[str, str, Any]]:
    """``(product_code, county_code, payload)`` of the latest stock answers, optionally for some counties."""
    table = haier_raw_stock
    counties = None if county_codes is None else sorted(set(county_codes))
    after = 0
    while True:
        query = select(table.c.id, table.c.product_code, table.c.county_code, table.c.payload).where(table.c.id > after)
        if counties is not None:
            query = query.where(table.c.county_code.in_(counties))
        page = conn.execute(query.order_by(table.c.id).limit(page_size)).all()
        for _, code, county, text in page:
            yield code, county, loads(text)
        if len(page) < page_size:
            return
        after = page[-1][0]
