"""Carry Haier's confirmations from the raw tables onto the catalogue: "last confirmed" beside "last changed".

The raw steps stamp ``confirmed_at`` on every answer Haier gave, changed or not (see ``raw_store``);
after a catalogue step has written the values, one joined ``UPDATE … FROM`` per step copies the stamp
onto ``products.last_sync_at`` (the price answer) and ``product_stock.confirmed_at`` (each product ×
county). Only rows whose stamp moved are written, and no row is read into Python, so an unchanged
re-sync costs one statement per table however large the catalogue is.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, or_, select, update

from .tables import haier_raw_prices, haier_raw_stock, product_stock, products


def confirm_prices(conn: Connection) -> int:
    """Set each Haier product's ``last_sync_at`` to its newest price answer's ``confirmed_at``; rows moved."""
    raw = haier_raw_prices
    # Joined (UPDATE … FROM), not correlated per row: PostgreSQL hashes the two sides once.
    stamps = (
        select(raw.c.product_code, func.max(raw.c.confirmed_at).label("stamp"))
        .group_by(raw.c.product_code)
        .subquery()
    )
    statement = (
        update(products)
        .where(products.c.product_code == stamps.c.product_code, products.c.source == "haier",
               stamps.c.stamp.is_not(None),
               or_(products.c.last_sync_at.is_(None), products.c.last_sync_at < stamps.c.stamp))
        .values(last_sync_at=stamps.c.stamp)
    )
    return conn.execute(statement).rowcount


def confirm_stock(conn: Connection, counties: Collection[str]) -> int:
    """Set ``product_stock.confirmed_at`` of ``counties`` from the raw stock answers' stamps; rows moved."""
    raw = haier_raw_stock
    statement = (
        update(product_stock)
        .where(raw.c.product_code == product_stock.c.product_code, raw.c.county_code == product_stock.c.county_code,
               product_stock.c.county_code.in_(list(counties)), raw.c.confirmed_at.is_not(None),
               or_(product_stock.c.confirmed_at.is_(None), product_stock.c.confirmed_at < raw.c.confirmed_at))
        .values(confirmed_at=raw.c.confirmed_at)
    )
    return conn.execute(statement).rowcount
