"""The whole procurable-products listing as one call returns it: valid records plus Haier's noise.

About 1 % of entries repeat a product already listed (an exact copy) and about 0.5 % are malformed:
no ``productCode``, a code that is not a string, ``productLageUrls`` that is not a list, ``isSales``
as a word (``"是"``: no flag in any encoding), or ``null`` instead of an object. Malformed entries
are extra records made from products outside the catalogue's universe, so they never shadow a valid
product.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .hashing import Draws
from .payloads import product_payload
from .products import ProductSpec, make_product

DUPLICATE_SHARE = 0.01
MALFORMED_SHARE = 0.005
JUNK_INDEX_BASE = 10**9  # junk products live far beyond any universe a catalogue reaches
MALFORMED_KINDS = ("missing_code", "code_not_string", "page_urls_not_list", "is_sales_word", "not_an_object")


@dataclass(frozen=True)
class Listing:
    """The listing payload and where its noise sits."""

    records: list[Any]
    codes: list[str]  # valid, de-duplicated codes in listing order
    malformed: dict[int, str]  # position -> malformed kind
    duplicates: tuple[int, ...]  # positions of the repeated copies


def _malformed(seed: int, generation: int, number: int, kind: str, image_base: str) -> Any:
    spec = make_product(seed, JUNK_INDEX_BASE + generation * 1_000_000 + number)
    record = product_payload(spec, image_base)
    if kind == "missing_code":
        del record["productCode"]
    elif kind == "code_not_string":
        record["productCode"] = int(spec.code, 36) % 10**9
    elif kind == "page_urls_not_list":
        record["productLageUrls"] = ",".join(record["productLageUrls"]) or record["productImageUrl"]
    elif kind == "is_sales_word":
        record["isSales"] = "是"
    else:
        return None
    return record


def build_listing(seed: int, generation: int, specs: Sequence[ProductSpec], image_base: str) -> Listing:
    """Valid records for ``specs`` in order, with duplicates and malformed entries mixed in deterministically."""
    valid = [product_payload(spec, image_base) for spec in specs]
    count = len(valid)
    rng = random.Random(Draws(seed, "listing", generation).below(1 << 64))
    extras: list[tuple[int, str, Any]] = []  # (insert before this valid position, kind, record)
    if count:
        for _ in range(math.ceil(count * DUPLICATE_SHARE)):
            source = rng.randrange(count)
            extras.append((rng.randrange(source + 1, count + 1), "duplicate", valid[source]))
        for number in range(math.ceil(count * MALFORMED_SHARE)):
            kind = MALFORMED_KINDS[number % len(MALFORMED_KINDS)]
            extras.append((rng.randrange(count + 1), kind, _malformed(seed, generation, number, kind, image_base)))
    extras.sort(key=lambda extra: extra[0])
    records: list[Any] = []
    malformed: dict[int, str] = {}
    duplicates: list[int] = []
    cursor = 0
    for position, kind, record in extras:
        records.extend(valid[cursor:position])
        cursor = max(cursor, position)
        if kind == "duplicate":
            duplicates.append(len(records))
        else:
            malformed[len(records)] = kind
        records.append(record)
    records.extend(valid[cursor:])
    return Listing(records, [spec.code for spec in specs], malformed, tuple(duplicates))
