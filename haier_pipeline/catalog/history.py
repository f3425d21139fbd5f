"""``product_price_history``: every change of a product's price terms, derived from ``haier_raw_prices``.

Each row holds one product's supply price, invoice price, direct-discount rate, rebate type and
money and procurability for the time they were in force: ``valid_from`` is when the raw answer
carrying them was first fetched, ``valid_to`` when a different answer replaced them (NULL for the
current row, of which each product has exactly one), ``run_id`` the run that fetched it.

The history is extended, never rewritten: only raw answers newer than a product's open row are
read (one query per page of products), a change closes the open row and opens a new one (one bulk
UPDATE and one bulk INSERT per page), and an answer equal to the open row writes nothing — so
running it again over the same raw history writes no row. ``rebuild_price_history`` derives the
whole table again from the raw payloads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, text

from haier_pipeline.haier_api.jsonio import loads
from haier_pipeline.haier_api.parsing import MalformedRecord, parse_price
from haier_pipeline.haier_api.records import PriceRecord

from .bulk import CHUNK_SIZE, fetch_by_keys, insert_rows, update_rows
from .tables import haier_raw_prices, product_price_history, products
from .types import MONEY

TRACKED = ("supply_price", "invoice_price", "stock_rebate", "rebate_type", "rebate_money", "is_sales")
"""The columns whose change opens a new history row."""

HISTORY_LOCK_KEY = 7_245_102  # PostgreSQL advisory lock: one history writer at a time per database

raw, history = haier_raw_prices, product_price_history


@dataclass(frozen=True, slots=True)
class HistoryCounts:
    """What one extension of the history did."""

    opened: int = 0  # rows inserted (the first row of a product, or a change)
    closed: int = 0  # open rows given a valid_to
    products_changed: int = 0  # products with at least one new row
    answers_read: int = 0  # raw answers newer than their product's open row
    unparseable: int = 0  # raw answers the parser refused (skipped)

    @property
    def written(self) -> int:
        return self.opened + self.closed


def tracked_values(record: PriceRecord) -> tuple[Any, ...]:
    """A price answer's tracked terms, at the columns' scale, in :data:`TRACKED` order."""
    return (
        MONEY.quantize(record.supply_price), MONEY.quantize(record.invoice_price), MONEY.quantize(record.stock_rebate),
        record.rebate_type, MONEY.quantize(record.rebate_money), record.is_sales,
    )


def _open_join():
    return raw.outerjoin(history, and_(history.c.product_code == raw.c.product_code, history.c.valid_to.is_(None)))


def _newer_than_open_row():
    return or_(history.c.id.is_(None), raw.c.fetched_at > history.c.valid_from)


def _pending_codes(conn: Connection, page_size: int) -> Iterator[list[str]]:
    """Pages of product codes that have raw answers newer than their open history row."""
    after = ""
    while True:
        page = list(
            conn.execute(
                select(raw.c.product_code).select_from(_open_join())
                .where(_newer_than_open_row(), raw.c.product_code > after)
                .group_by(raw.c.product_code).order_by(raw.c.product_code).limit(page_size)
            ).scalars()
        )
        if page:
            yield page
        if len(page) < page_size:
            return
        after = page[-1]


def _lock(conn: Connection) -> None:
    """Serialise history writers. SQLite's ``BEGIN IMMEDIATE`` already holds the database's write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HISTORY_LOCK_KEY})


def extend_price_history(conn: Connection, *, page_size: int = CHUNK_SIZE) -> HistoryCounts:
    """Append the changes in ``haier_raw_prices`` since each product's open row; call inside a transaction."""
    _lock(conn)
    opened = closed = changed = read = bad = 0
    for codes in _pending_codes(conn, page_size):
        open_rows = fetch_by_keys(conn, history, "product_code", codes, ("id", *TRACKED), history.c.valid_to.is_(None))
        answers = conn.execute(
            select(raw.c.product_code, raw.c.payload, raw.c.fetched_at, raw.c.run_id).select_from(_open_join())
            .where(raw.c.product_code.in_(codes), _newer_than_open_row())
            .order_by(raw.c.product_code, raw.c.fetched_at, raw.c.id)
        ).all()
        closes: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        current = {code: tuple(row._mapping[name] for name in TRACKED) for code, row in open_rows.items()}
        pending: dict[str, dict[str, Any]] = {}  # the newest row inserted by this page, per product
        for index, answer in enumerate(answers):
            read += 1
            try:
                values = tracked_values(parse_price(loads(answer.payload), index))
            except MalformedRecord:
                bad += 1
                continue
            code = answer.product_code
            if current.get(code) == values:
                continue
            if code in pending:
                pending[code]["valid_to"] = answer.fetched_at
            elif code in open_rows:
                closes.append({"id": open_rows[code].id, "valid_to": answer.fetched_at})
            row = {"product_code": code, **dict(zip(TRACKED, values, strict=True)), "valid_from": answer.fetched_at,
                   "valid_to": None, "run_id": answer.run_id}
            inserts.append(row)
            pending[code], current[code] = row, values
        update_rows(conn, history, "id", closes, ("valid_to",))  # close first: one open row per product
        insert_rows(conn, history, inserts)
        opened, closed, changed = opened + len(inserts), closed + len(closes), changed + len(pending)
    return HistoryCounts(opened, closed, changed, read, bad)


def rebuild_price_history(conn: Connection, *, page_size: int = CHUNK_SIZE) -> HistoryCounts:
    """Delete the history and derive it again from every stored raw price answer."""
    _lock(conn)
    conn.execute(delete(history))
    return extend_price_history(conn, page_size=page_size)




def history_problems(conn: Connection, limit: int = 20) -> list[str]:
    """Broken invariants: products with more than one open row, rows that end before they start."""
    doubled = conn.execute(
        select(history.c.product_code, func.count()).where(history.c.valid_to.is_(None))
        .group_by(history.c.product_code).having(func.count() > 1).limit(limit)
    ).all()
    backwards = conn.execute(
        select(history.c.product_code, history.c.id).where(history.c.valid_to <= history.c.valid_from).limit(limit)
    ).all()
    return [f"{code}: {count} open rows" for code, count in doubled] + [
        f"{code}: row {row_id} ends before it starts" for code, row_id in backwards
    ]


@dataclass(frozen=True, slots=True)
class PriceMove:
    """A change of one product's price terms: the row it closed and the row it opened."""

    product_code: str
    name: str | None
    old_supply: Decimal | None
    new_supply: Decimal | None
    old_invoice: Decimal | None
    new_invoice: Decimal | None
    old_is_sales: str | None
    new_is_sales: str | None
    changed_at: datetime

    @property
    def basis(self) -> tuple[Decimal | None, Decimal | None]:
        """The prices compared: supply prices when both exist, else invoice prices."""
        if self.old_supply is not None and self.new_supply is not None:
            return self.old_supply, self.new_supply
        return self.old_invoice, self.new_invoice

    @property
    def change(self) -> Decimal | None:
        old, new = self.basis
        return None if old is None or new is None else new - old

    @property
    def change_pct(self) -> Decimal | None:
        old, change = self.basis[0], self.change
        if change is None or not old:
            return None
        return (change * 100 / old).quantize(Decimal("0.01"))


def price_moves_since(conn: Connection, since: datetime) -> list[PriceMove]:
    """Every change opened at or after ``since``, biggest relative price move first."""
    new, old = history.alias("new"), history.alias("old")
    rows = conn.execute(
        select(new.c.product_code, products.c.name, old.c.supply_price, new.c.supply_price, old.c.invoice_price,
               new.c.invoice_price, old.c.is_sales, new.c.is_sales, new.c.valid_from)
        .select_from(
            new.join(old, and_(old.c.product_code == new.c.product_code, old.c.valid_to == new.c.valid_from))
            .outerjoin(products, products.c.product_code == new.c.product_code)
        )
        .where(new.c.valid_from >= since)
    ).all()
    moves = [PriceMove(*row) for row in rows]
    moves.sort(key=lambda m: (m.change_pct is None, -abs(m.change_pct or Decimal(0)), -abs(m.change or Decimal(0)),
                              m.product_code))
    return moves
