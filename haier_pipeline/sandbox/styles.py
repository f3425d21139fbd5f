"""How the sandbox writes its numbers: every encoding Haier's gateways are seen to use.

Haier types money and the direct discount as Java BigDecimal; gateways write them as JSON numbers,
as JSON strings, or a mix; the discount is sent as a rate or as an amount; flags come as ``"1"``
or ``1``; invoice prices are rounded half-up or half-even (Java's ``RoundingMode.HALF_EVEN``). An
:class:`AnswerStyle` picks one of each. The ground truth (``Catalogue.expected_*``) follows the
semantic choices (discount kind, rounding); the encodings must not change what a client reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, Literal

Numbers = Literal["number", "string", "mixed"]
DiscountKind = Literal["rate", "amount"]
Flags = Literal["string", "number"]
Rounding = Literal["half_up", "half_even"]

NUMBERS: tuple[Numbers, ...] = ("number", "string", "mixed")
DISCOUNTS: tuple[DiscountKind, ...] = ("rate", "amount")
FLAGS: tuple[Flags, ...] = ("string", "number")
ROUNDINGS: tuple[Rounding, ...] = ("half_up", "half_even")
_ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
_MONEY_FIELDS = ("supplyPrice", "invoicePrice", "stockRebatePolicy", "rebateMoney", "payerAccountBalance")
_BLANKS = ("", " ", "", "\t")


@dataclass(frozen=True)
class AnswerStyle:
    """One gateway's way of writing numbers (the default is the contract's own examples)."""

    numbers: Numbers = "number"  # BigDecimal fields (and, when "mixed", stock and hours) as numbers or strings
    discount: DiscountKind = "rate"  # stockRebatePolicy as a rate, or as an amount in yuan
    flags: Flags = "string"  # isSales, warehouseGrade, isTranfer as "1"/"0" or 1/0
    rounding: Rounding = "half_up"  # how Haier rounds the invoice price to the cent

    def __post_init__(self) -> None:
        for name, allowed in (("numbers", NUMBERS), ("discount", DISCOUNTS), ("flags", FLAGS),
                              ("rounding", ROUNDINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"AnswerStyle.{name} must be one of {', '.join(allowed)}")

    @property
    def rounding_mode(self) -> str:
        return _ROUNDING_MODES[self.rounding]

    def describe(self) -> str:
        return f"numbers {self.numbers}, discount {self.discount}, flags {self.flags}, rounding {self.rounding}"

    # --- encodings -------------------------------------------------------------------------------
    def _as_string(self, key: str, field: str) -> tuple[bool, str]:
        """(write as a string?, blanks around it) for one field of one record, deterministically."""
        if self.numbers == "number":
            return False, ""
        digest = hashlib.blake2b(f"{key}/{field}".encode(), digest_size=2).digest()
        if self.numbers == "string":
            return True, ""
        return bool(digest[0] & 1), _BLANKS[digest[1] % len(_BLANKS)]

    def money(self, value: Any, key: str, field: str) -> Any:
        """A BigDecimal value as this gateway writes it."""
        if not isinstance(value, Decimal):
            return value
        as_string, blank = self._as_string(key, field)
        return f"{blank}{value:f}{blank}" if as_string else value

    def flag(self, value: Any) -> Any:
        return int(value) if self.flags == "number" and value in ("0", "1") else value

    def count(self, value: Any, key: str, field: str) -> Any:
        """A whole number Haier documents as a string (``stock``, ``hour``): mixed gateways send integers too."""
        if self.numbers != "mixed" or not isinstance(value, str) or not value.isdigit():
            return value
        as_string, blank = self._as_string(key, field)
        return f"{blank}{value}{blank}" if as_string else int(value)

    # --- whole records -------------------------------------------------------------------------
    def product(self, record: Any) -> Any:
        if not isinstance(record, dict) or "isSales" not in record:
            return record
        return {**record, "isSales": self.flag(record["isSales"])}

    def _money_fields(self, record: dict[str, Any], key: str) -> dict[str, Any]:
        return {name: self.money(value, key, name) if name in _MONEY_FIELDS else value
                for name, value in record.items()}

    def price(self, record: dict[str, Any]) -> dict[str, Any]:
        styled = self._money_fields(record, str(record.get("productCode")))
        if "isSales" in styled:
            styled["isSales"] = self.flag(styled["isSales"])
        return styled

    def stock(self, record: dict[str, Any], key: str) -> dict[str, Any]:
        styled = dict(record)
        styled["stock"] = self.count(record.get("stock"), key, "stock")
        styled["warehouseGrade"] = self.flag(record.get("warehouseGrade"))
        timeliness = record.get("timelinessData")
        if isinstance(timeliness, dict):
            styled["timelinessData"] = {**timeliness, "hour": self.count(timeliness.get("hour"), key, "hour"),
                                        "isTranfer": self.flag(timeliness.get("isTranfer"))}
        return styled

    def balance(self, record: dict[str, Any]) -> dict[str, Any]:
        return self._money_fields(record, str(record.get("payerAccountCode")))
