"""How fresh the catalogue's stock is now: pairs past the maximum age, the oldest value, never-asked pairs.

Read by the ``stock_within_max_age`` check and by ``sync_overview``; it never calls Haier. A pair counts
when its product is listed and procurable and its county configured. A pair never asked counts as past the
age bound once its product has been listed for longer than the bound (a new product has until then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from haier_pipeline.catalog.stock_refresh import read_refresh_state
from haier_pipeline.catalog.tables import haier_raw_products

SHOWN = 10


@dataclass(frozen=True)
class StockFreshness:
    """The figures of one look at the catalogue's stock ages."""

    pairs: int
    never_asked: int
    over_max_age: int
    oldest_pair: str  # "product@county", empty when no pair was ever asked
    oldest_age_hours: float
    examples: list[str]  # the first few pairs past the bound, oldest first


def stock_freshness(conn: Connection, counties: Sequence[str], now: datetime,
                    max_age_seconds: float) -> StockFreshness:
    table = haier_raw_products
    listed = pd.DataFrame(conn.execute(
        select(table.c.product_code, table.c.first_seen_at).where(table.c.listed.is_(True), table.c.is_sales == "1")
        .order_by(table.c.product_code)).all(), columns=["product_code", "first_seen_at"])
    state = read_refresh_state(conn, listed["product_code"].tolist(), counties)
    listed_at = dict(zip(listed["product_code"], listed["first_seen_at"], strict=True))
    first_seen = pd.to_datetime(state["product_code"].map(listed_at), utc=True)
    age = (now - state["asked_at"]).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    listed_for = (now - first_seen).dt.total_seconds().to_numpy(dtype=np.float64, na_value=0.0)
    never = np.isnan(age)
    over = np.where(never, listed_for > max_age_seconds, age > max_age_seconds)
    worst = np.where(never, listed_for, age)
    order = np.argsort(-worst[over], kind="stable")[:SHOWN]
    names = (state["product_code"] + "@" + state["county_code"]).to_numpy()
    examples = [f"{names[i]}: {'never asked' if never[i] else f'{age[i] / 3600:.1f} h old'}"
                for i in np.flatnonzero(over)[order]]
    asked = np.flatnonzero(~never)
    oldest = asked[np.argmax(age[asked])] if len(asked) else -1
    return StockFreshness(
        pairs=len(state), never_asked=int(never.sum()), over_max_age=int(over.sum()),
        oldest_pair=str(names[oldest]) if oldest >= 0 else "",
        oldest_age_hours=round(float(age[oldest]) / 3600, 3) if oldest >= 0 else 0.0, examples=examples,
    )
