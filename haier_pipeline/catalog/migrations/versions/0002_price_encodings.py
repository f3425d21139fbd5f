"""Price encodings: money keeps the 6 decimal places the parser accepts; a discount's kind and the price reason.

- Every money column (and ``stock_rebate``, which may be an amount) becomes ``NUMERIC(18, 6)``: the field
  reader accepts 12 digits before the point and 6 after, and the columns kept only 4, rounding silently.
- ``products.stock_rebate_kind`` (``rate``/``amount``/``unknown``, by which invoice formula reproduces
  ``invoice_price``) is filled for the rows already there; ``products.price_reason`` keeps the price
  answer's ``reason`` (filled by the next price sync).

Batch mode, so SQLite (which cannot ALTER a column type) copies each table; PostgreSQL alters in place.

Revision ID: 0002_price_encodings
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0002_price_encodings"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS = {
    "products": ("supply_price", "invoice_price", "market_price", "rebate_money", "price"),
    "product_price_history": ("supply_price", "invoice_price", "rebate_money"),
    "account_balances": ("balance",),
}
DISCOUNT_TABLES = ("products", "product_price_history")  # stock_rebate: NUMERIC(12, 6) -> NUMERIC(18, 6)
CENT = Decimal("0.01")


def _retype(old_money: sa.Numeric, old_rate: sa.Numeric, money: sa.Numeric, rate: sa.Numeric) -> None:
    for table, columns in MONEY_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=old_money, type_=money, existing_nullable=table != "account_balances")
            if table in DISCOUNT_TABLES:
                batch.alter_column("stock_rebate", existing_type=old_rate, type_=rate, existing_nullable=True)


def _matches(invoice: Decimal, exact: Decimal) -> bool:
    return invoice == exact or any(invoice == exact.quantize(CENT, rounding) for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def _kind(supply: Decimal | None, invoice: Decimal | None, discount: Decimal | None, rebate: Decimal | None) -> str:
    """The rule of ``haier_api.pricing.rebate_kind`` as it stood when this revision was written."""
    if supply is None or invoice is None or discount is None:
        return "unknown"
    rebate = rebate or Decimal(0)
    if 0 <= discount <= 1 and _matches(invoice, supply * (1 - discount) - rebate):
        return "rate"
    return "amount" if _matches(invoice, supply - discount - rebate) else "unknown"


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(repr(value) if isinstance(value, float) else str(value))


def upgrade() -> None:
    _retype(sa.Numeric(18, 4), sa.Numeric(12, 6), sa.Numeric(18, 6), sa.Numeric(18, 6))
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("stock_rebate_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("price_reason", sa.Text(), nullable=True))
    products = sa.table(
        "products", sa.column("id", sa.Integer()), sa.column("supply_price"), sa.column("invoice_price"),
        sa.column("stock_rebate"), sa.column("rebate_money"), sa.column("stock_rebate_kind", sa.String(16)),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(products.c.id, products.c.supply_price, products.c.invoice_price, products.c.stock_rebate,
                  products.c.rebate_money).where(products.c.stock_rebate.is_not(None))
    ).all()
    kinds: dict[str, list[int]] = {}
    for row in rows:
        kind = _kind(_decimal(row.supply_price), _decimal(row.invoice_price), _decimal(row.stock_rebate),
                     _decimal(row.rebate_money))
        kinds.setdefault(kind, []).append(row.id)
    for kind, ids in kinds.items():
        for start in range(0, len(ids), 500):
            conn.execute(products.update().where(products.c.id.in_(ids[start:start + 500])).values(stock_rebate_kind=kind))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("price_reason")
        batch.drop_column("stock_rebate_kind")
    _retype(sa.Numeric(18, 6), sa.Numeric(18, 6), sa.Numeric(18, 4), sa.Numeric(12, 6))
