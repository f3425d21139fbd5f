"""What the sandbox knows about one product that never changes: code, model, group, brand, images, terms.

A product is identified by its index in the catalogue's universe. Everything static about it is a
pure function of ``(seed, index)``; codes are an invertible scramble of the index, so a product code
read from a request leads straight back to its product without any lookup table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import product
from typing import Literal

from .hashing import Draws, Weighted

CENT = Decimal("0.01")
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPACE = 36**7  # the seven scrambled characters after a two-letter group prefix
_MULTIPLIER = 25_214_903_917  # coprime with 36, so the scramble is a bijection on _SPACE
_INVERSE = pow(_MULTIPLIER, -1, _SPACE)
_PAIRS = tuple("".join(chars) for chars in product(ALPHABET, repeat=2))
_TRIPLES = tuple("".join(chars) for chars in product(ALPHABET, repeat=3))

Status = Literal["ok", "not_procurable", "no_price"]
REBATE_TYPES = ("COM", "FHQ", "BF", "DTDBF")
NOT_PROCURABLE_REASONS = ("未对该客户开放", "商品已停产", "区域未开放销售", "送达方未授权该产品组")


@dataclass(frozen=True)
class Group:
    """A Haier product group: its Chinese name, code prefix, model pattern and supply-price range (yuan)."""

    name: str
    prefix: str
    models: tuple[str, ...]  # str.format patterns over {a} {b} {c}
    low: int
    high: int


GROUPS: Weighted[Group] = Weighted((
    (Group("电热水器", "GA", ("EC{a}01-{c}", "ES{a}H-{c}", "EC{a}02-{c}U1"), 899, 4999), 22),
    (Group("冰箱", "BC", ("BCD-{b}WD{c}", "BCD-{b}ST{c}", "BCD-{b}WGH{c}"), 1499, 15999), 24),
    (Group("洗衣机", "CE", ("EG{a}MATE{c}", "XQB{a}-{c}", "EG{a}HB{c}"), 999, 8999), 20),
    (Group("空调", "AA", ("KFR-{a}GW/{c}", "KFR-{a}LW/{c}", "KFR-{a}GW/B1K{c}"), 1999, 12999), 16),
    (Group("燃气热水器", "GE", ("JSQ{a}-13{c}", "JSQ{a}-16{c}", "JSLQ{a}-{c}"), 1599, 6999), 8),
    (Group("冷柜", "BD", ("BC/BD-{b}{c}", "BD-{b}W{c}", "SC-{b}{c}"), 899, 3999), 6),
    (Group("吸油烟机", "CB", ("CXW-{b}-{c}", "CXW-{b}-E9{c}"), 1299, 7999), 4),
))
BRANDS = Weighted((("海尔", 58), ("卡萨帝", 15), ("统帅", 12), ("Leader", 9), ("斐雪派克", 6)))
_SUFFIXES = ("HT3", "MC3", "JH5", "PV5", "TE7", "WD5", "DPG", "STPT", "B81U1", "BZ828", "S2", "GHDT", "U1", "X6")
_EXTENSIONS = Weighted((("jpg", 55), ("png", 20), ("webp", 10), ("jpeg", 10), ("gif", 5)))
_PAGES = Weighted(((0, 25), (1, 35), (2, 25), (3, 15)))
_DISCOUNTS = tuple(Decimal(rate) for rate in ("0", "0", "0", "0.01", "0.02", "0.03", "0.05"))
_REBATES = tuple(Decimal(money).quantize(CENT) for money in (10, 20, 30, 50, 100, 200))
_HIDDEN_RATES = tuple(Decimal(rate) for rate in ("0.02", "0.03", "0.04", "0.06"))
_ZERO = Decimal("0.00")
_HALF = Decimal("0.50")


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """The unchanging facts about one product (prices at generation 0; moves are applied by the catalogue)."""

    index: int
    code: str
    model: str
    group: str
    brand: str
    image_paths: tuple[str, ...]  # main image first, then 0-3 page images; relative to the image host
    status: Status
    no_sales_reason: str
    base_price: Decimal
    discount: Decimal | None  # the direct-discount rate; None when the product carries a rebate type
    rebate_type: str | None
    rebate_money: Decimal
    hidden_rate: Decimal  # for rebate-type products: what Haier applied to reach the invoice price it sends

    def discount_as(self, kind: str) -> Decimal | None:
        """The direct discount as a gateway of ``kind`` sends it: the rate, or a fixed amount in yuan."""
        if self.discount is None or kind == "rate":
            return self.discount
        return (self.base_price * self.discount).quantize(Decimal(1), ROUND_HALF_UP).quantize(CENT)

    def invoice_price(self, supply: Decimal, kind: str = "rate", rounding: str = ROUND_HALF_UP) -> Decimal:
        """``supplyPrice × (1 − rate) − rebateMoney`` (or ``supplyPrice − amount − rebateMoney``) to the cent;
        rebate-type products use Haier's own (hidden) rate."""
        if self.discount is not None and kind == "amount":
            amount = self.discount_as("amount")
            assert amount is not None
            return (supply - amount - self.rebate_money).quantize(CENT, rounding)
        rate = self.discount if self.discount is not None else self.hidden_rate
        return (supply * (1 - rate) - self.rebate_money).quantize(CENT, rounding)


def code_for(seed: int, index: int, prefix: str) -> str:
    high, low = divmod((index * _MULTIPLIER + _offset(seed)) % _SPACE, 36**4)
    middle, last = divmod(low, 36**2)
    return prefix + _TRIPLES[high] + _PAIRS[middle] + _PAIRS[last]


def index_for(seed: int, code: str) -> int | None:
    """The product index a code was made from, or None when it cannot be one of this seed's codes."""
    if len(code) != 9 or any(ch not in ALPHABET for ch in code):
        return None
    index = ((int(code[2:], 36) - _offset(seed)) * _INVERSE) % _SPACE
    return index if make_product(seed, index).code == code else None


@lru_cache(maxsize=64)
def _offset(seed: int) -> int:
    return Draws(seed, "code-offset").below(_SPACE)


@lru_cache(maxsize=1 << 17)
def make_product(seed: int, index: int) -> ProductSpec:
    """The product at ``index`` in the universe of catalogue ``seed`` (cached: batch calls ask for the same ones)."""
    draws = Draws(seed, "product", index)
    group = draws.weighted(GROUPS)
    brand = draws.weighted(BRANDS)
    code = code_for(seed, index, group.prefix)
    model = draws.pick(group.models).format(
        a=draws.pick((26, 35, 50, 60, 72, 80, 90, 100, 120)), b=draws.pick((178, 216, 251, 310, 470, 510, 556, 617)),
        c=draws.pick(_SUFFIXES),
    )
    roll = draws.below(100)
    status: Status = "not_procurable" if roll < 5 else "no_price" if roll < 8 else "ok"
    reason = draws.pick(NOT_PROCURABLE_REASONS) if status == "not_procurable" else ""
    yuan = group.low + draws.below(group.high - group.low)
    if brand == "卡萨帝":
        yuan = yuan * 2
    base_price = Decimal(yuan // 10 * 10 + 9) + (_HALF if draws.chance(0.2) else _ZERO)
    rebate_type = draws.pick(REBATE_TYPES) if draws.chance(0.10) else None
    discount = None if rebate_type else draws.pick(_DISCOUNTS)
    rebate_money = _ZERO if draws.chance(0.65) else draws.pick(_REBATES)
    hidden_rate = draws.pick(_HIDDEN_RATES)
    pages = draws.weighted(_PAGES)
    slots = ["main", *(f"page{n}" for n in range(1, pages + 1))]
    paths = tuple(f"/images/{code}/{slot}.{draws.weighted(_EXTENSIONS)}" for slot in slots)
    return ProductSpec(index, code, model, group.name, brand, paths, status, reason, base_price, discount,
                       rebate_type, rebate_money, hidden_rate)


def moved_price(seed: int, index: int, price: Decimal, generation: int) -> Decimal:
    """The supply price after a move at ``generation``: 1-10 % up or down, always a different whole price."""
    draws = Draws(seed, "price-move", index, generation)
    percent = 1 + draws.below(10)
    factor = 1 + Decimal(percent if draws.chance(0.5) else -percent) / 100
    return (price * factor).quantize(Decimal(1), ROUND_HALF_UP).quantize(CENT)
