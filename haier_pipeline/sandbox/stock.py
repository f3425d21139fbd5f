"""Available stock of one product in one county, as Haier's stock endpoint answers it.

Stock is a pure function of (seed, product, county, stock version): it differs between counties,
about one answer in six is ``"0"``, and it changes when a generation bumps the product's stock
version. Dates are counted from a fixed day so answers never depend on the wall clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..haier_api.records import StockRecord
from .hashing import Draws, Weighted

EPOCH = date(2025, 7, 1)
_HOURS = Weighted((("24", 50), ("48", 30), ("72", 15), ("96", 5)))
_CUT_TIMES = ("12:00:00", "14:00:00", "16:00:00", "17:30:00", "18:00:00")


def stock_payload(seed: int, code: str, county: str, version: int) -> dict[str, Any]:
    """One stock answer for a listed product (``stock`` is a string, as Haier sends it)."""
    draws = Draws(seed, "stock", code, county, version)
    stock = 0 if draws.chance(0.16) else 1 + draws.below(12) * draws.below(25) // 4 + draws.below(6)
    grade = "1" if draws.chance(0.3) else "0"
    hours = draws.weighted(_HOURS)
    transfer = "1" if grade == "1" and draws.chance(0.5) else "0"
    delivery = EPOCH + timedelta(days=version + int(hours) // 24 + int(transfer))
    return {
        "secCode": f"{'U' if grade == '1' else 'L'}{county[:4]}{draws.below(90) + 10}",
        "stock": str(stock),
        "warehouseGrade": grade,
        "timelinessData": {
            "cutTime": draws.pick(_CUT_TIMES),
            "achieveUserOrderCut": delivery.isoformat(),
            "hour": hours,
            "isTranfer": transfer,
        },
    }


def unknown_stock_payload() -> dict[str, Any]:
    """The answer for a code the gateway does not list: no stock, no warehouse."""
    return {"secCode": None, "stock": "0", "warehouseGrade": None, "timelinessData": None}


def stock_record(code: str, county: str, payload: dict[str, Any]) -> StockRecord:
    """The typed record a correct client parses out of ``payload``."""
    timeliness = payload.get("timelinessData") or {}
    return StockRecord(
        product_code=code,
        county_code=county,
        stock=int(payload["stock"]),
        warehouse_code=payload.get("secCode"),
        warehouse_grade=payload.get("warehouseGrade"),
        cut_time=timeliness.get("cutTime"),
        expected_delivery=timeliness.get("achieveUserOrderCut"),
        delivery_hours=timeliness.get("hour"),
        is_transfer=timeliness.get("isTranfer"),
    )
