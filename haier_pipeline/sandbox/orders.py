"""Logistics of retail orders and the payer's account balances, as the last two endpoints answer them.

An order code such as ``SO.20190106.000003`` gets one or two deliveries (``.F1``, ``.F2``) that move
one step along 订单已审核 → 已出库 → 运输中 → 到达服务网点 → 派送中 → 已签收 per catalogue
generation, from a starting step fixed by the code; the final record of a delivered order has status
``已签收``. Cloud-warehouse orders fill ``getAllLogisticsInfoByOrderCode``; 智汇宝 orders fill the other
two lists. Codes that do not look like order codes, or name no real date, have no logistics.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..haier_api.records import BalanceRecord
from .hashing import Draws

CENT = Decimal("0.01")

ORDER_CODE = re.compile(r"^SO\.(\d{8})\.\d{6}$")
STEPS = ("订单已审核", "已出库", "运输中", "到达服务网点", "派送中", "已签收")
DELIVERED = STEPS[-1]
LISTS = ("getAllLogisticsInfoByOrderCode", "getStockDeliveryLogisticsRecord",
         "getStockDeliveryLogisticsRecordThirdparty")
_COURIERS = (("顺丰速运", "SF"), ("京东物流", "JDL"), ("中通快递", "ZTO"), ("日日顺物流", "RRS"))
_SALE_GROUPS = (("S001", "冰箱产品组"), ("S002", "洗衣机产品组"), ("S003", "空调产品组"), ("S004", "热水器产品组"),
                ("S005", "厨电产品组"), ("S006", "冷柜产品组"))


def _placed(code: str) -> datetime | None:
    match = ORDER_CODE.match(code)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").replace(hour=9)
    except ValueError:
        return None


def order_step(seed: int, code: str, generation: int) -> int | None:
    """How far the order has got (an index into :data:`STEPS`), or None for an unknown order."""
    if _placed(code) is None:
        return None
    return min(len(STEPS) - 1, Draws(seed, "order", code).below(len(STEPS)) + generation)


def logistics_payload(seed: int, code: str, generation: int, delivery_record: str | None = None) -> dict[str, list]:
    """The three logistics lists for ``code`` (only ``delivery_record``'s entries when one is named)."""
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
    placed, step = _placed(code), order_step(seed, code, generation)
    if placed is None or step is None:
        return lists
    draws = Draws(seed, "order-shape", code)
    cloud = draws.chance(0.6)
    courier, prefix = draws.pick(_COURIERS)
    for number in range(1, 2 + draws.below(2)):
        record_code = f"{code}.F{number}"
        if delivery_record is not None and delivery_record != record_code:
            continue
        express_no = f"{prefix}{Draws(seed, 'express', record_code).below(10**12):012d}"
        for index, status in enumerate(STEPS[: step + 1]):
            at = (placed + timedelta(hours=7 * index + number)).strftime("%Y-%m-%d %H:%M:%S")
            if cloud:
                lists[LISTS[0]].append({"orderCode": code, "deliveryRecordCode": record_code,
                                        "nodeCode": f"N{index:02d}",
                                        "status": status, "operateTime": at, "operateDesc": f"{status}（云仓）"})
            else:
                lists[LISTS[1]].append({"orderCode": code, "deliveryRecordCode": record_code,
                                        "logisticsStatus": status, "statusTime": at, "remark": status})
                if index >= 1:
                    lists[LISTS[2]].append({"deliveryRecordCode": record_code, "expressCompany": courier,
                                            "expressNo": express_no, "traceTime": at, "traceDesc": status,
                                            "status": status})
    return lists


def balance_payload(seed: int, customer_code: str, generation: int) -> list[dict[str, Any]]:
    """The payer accounts of ``customer_code``: three to six sale groups, each with a decimal balance."""
    draws = Draws(seed, "balance", customer_code)
    count = 3 + draws.below(4)
    records = []
    for number, (group_code, group_name) in enumerate(_SALE_GROUPS[:count], start=1):
        account = Draws(seed, "balance", customer_code, group_code, generation)
        cents = 0 if account.chance(0.1) else account.below(50_000_000) - (2_000_00 if account.chance(0.1) else 0)
        records.append({
            "saleGroupCode": group_code,
            "saleGroupName": group_name,
            "payerAccountCode": f"{customer_code}{number:02d}",
            "payerAccountName": f"{customer_code}付款账户{number}",
            "payerAccountBalance": (Decimal(cents) / 100).quantize(CENT),
        })
    return records


def balance_records(seed: int, customer_code: str, generation: int) -> list[BalanceRecord]:
    """The typed balances a correct client reads from :func:`balance_payload`."""
    return [
        BalanceRecord(r["saleGroupCode"], r["saleGroupName"], r["payerAccountCode"], r["payerAccountName"],
                      r["payerAccountBalance"])
        for r in balance_payload(seed, customer_code, generation)
    ]
