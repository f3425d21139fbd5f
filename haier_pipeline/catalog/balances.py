"""``account_balances``: the payer account balances Haier reports, one row per sale group per observation.

Rows are only ever appended, so the table is the balances' history over time; the latest
observation is the rows sharing the newest ``observed_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, func, select

from haier_pipeline.haier_api.records import BalanceRecord

from .bulk import insert_rows
from .tables import account_balances
from .types import MONEY


@dataclass(frozen=True, slots=True)
class StoredBalance:
    """One stored balance line."""

    sale_group_code: str
    sale_group_name: str | None
    payer_account_code: str
    payer_account_name: str | None
    balance: Decimal
    observed_at: datetime
    run_id: str | None


def store_balances(conn: Connection, records: Sequence[BalanceRecord], run_id: str | None, now: datetime) -> int:
    """Append one row per record, all observed at ``now``; returns how many."""
    rows = [
        {"sale_group_code": r.sale_group_code, "sale_group_name": r.sale_group_name or None,
         "payer_account_code": r.payer_account_code, "payer_account_name": r.payer_account_name or None,
         "balance": MONEY.quantize(r.balance), "observed_at": now, "run_id": run_id}
        for r in records
    ]
    insert_rows(conn, account_balances, rows)
    return len(rows)


def _stored(conn: Connection, *where) -> list[StoredBalance]:
    b = account_balances.c
    rows = conn.execute(
        select(b.sale_group_code, b.sale_group_name, b.payer_account_code, b.payer_account_name, b.balance,
               b.observed_at, b.run_id).where(*where).order_by(b.observed_at, b.sale_group_code, b.payer_account_code)
    ).all()
    return [StoredBalance(*row) for row in rows]


def latest_balances(conn: Connection) -> list[StoredBalance]:
    """The balances of the newest observation (empty before the first)."""
    newest = select(func.max(account_balances.c.observed_at)).scalar_subquery()
    return _stored(conn, account_balances.c.observed_at == newest)




def below(balances: Sequence[StoredBalance], threshold: Decimal) -> list[StoredBalance]:
    """The balances strictly under ``threshold``, lowest first."""
    return sorted((b for b in balances if b.balance < threshold), key=lambda b: (b.balance, b.sale_group_code))
