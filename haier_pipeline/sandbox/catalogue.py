"""The sandbox's deterministic catalogue: what Haier would answer, and the ground truth tests compare with.

``Catalogue(size, seed, generation)`` is a pure function of its arguments (``image_base`` only
prefixes image URLs). Nothing is computed up front: a batch question about 20 codes touches only
those products, and the full listing is built on first use and kept. The ``expected_*`` methods
return the typed records (``haier_pipeline.haier_api.records``) a correct client must produce.

Answers for codes the catalogue does not list right now: a product that was listed and has been
delisted is answered with ``isSales "0"`` (products: reason 商品已下架; prices: 商品暂不可采) and
stock ``"0"`` without a warehouse; a code that never existed is left out of product and price answers
and gets the same empty stock answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, TypeVar

from haier_pipeline.haier_api.jsonio import dump_bytes

from ..haier_api.records import BalanceRecord, PriceRecord, ProductRecord, StockRecord
from .generations import GenerationState, generation_state
from .images import IMAGE_PATH, ImageTruth, ServedImage, image_truth, serve_image
from .listing import Listing, build_listing
from .orders import (
    STEPS,
    balance_payload,
    balance_records,
    logistics_payload,
    order_step,
)
from .payloads import (
    DEFAULT_STYLE,
    price_payload,
    price_record,
    product_payload,
    product_record,
    rebate_kind,
    supply_price,
)
from .products import ProductSpec, index_for, make_product
from .stock import stock_payload, stock_record, unknown_stock_payload
from .styles import AnswerStyle

T = TypeVar("T")
_MISSING_IMAGE = ServedImage(404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>")


class Catalogue:
    """Products, prices, stock, images, logistics and balances of one sandbox generation."""

    def __init__(self, size: int, seed: int = 0, generation: int = 0, image_base: str = "", changes: str = "all",
                 style: AnswerStyle = DEFAULT_STYLE) -> None:
        if size < 0 or generation < 0:
            raise ValueError("Catalogue: size and generation must be >= 0")
        self.size, self.seed, self.generation = size, seed, generation
        self.changes = changes  # what each generation changes: "all", or "prices" only
        self.style = style  # how numbers, discounts and flags are written
        self.image_base = image_base.rstrip("/")
        self._lock = threading.RLock()  # the listing is built from the specs, each memoised
        self._memo: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Catalogue(size={self.size}, seed={self.seed}, generation={self.generation})"

    def next_generation(self) -> Catalogue:
        """The same catalogue one generation later (this one is unchanged)."""
        return Catalogue(self.size, self.seed, self.generation + 1, self.image_base, self.changes, self.style)

    # --- lazily built, shared state ---------------------------------------------------------------
    def _once(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    @property
    def state(self) -> GenerationState:
        return generation_state(self.size, self.seed, self.generation, self.changes)

    def _specs(self) -> list[ProductSpec]:
        return self._once("specs", lambda: [make_product(self.seed, index) for index in self.state.listed()])

    def listing(self) -> Listing:
        """The full listing as served: valid records with duplicates and malformed ones mixed in."""
        return self._once("listing", self._styled_listing)

    def _styled_listing(self) -> Listing:
        listing = build_listing(self.seed, self.generation, self._specs(), self.image_base)
        return replace(listing, records=[self.style.product(record) for record in listing.records])

    def listing_json(self) -> bytes:
        """The full listing serialised once (about 300 bytes a record)."""
        return self._once("listing_json", lambda: dump_bytes(self.listing().records))

    def warm(self) -> None:
        """Build and serialise the full listing now (servers call this in the background at start)."""
        self.listing_json()

    # --- lookups --------------------------------------------------------------------------------
    def spec(self, code: object) -> ProductSpec | None:
        """The product behind ``code`` if it exists at this generation, listed or delisted."""
        if not isinstance(code, str):
            return None
        index = index_for(self.seed, code)
        return make_product(self.seed, index) if index is not None and index < self.state.universe else None

    def is_listed(self, spec: ProductSpec) -> bool:
        return self.state.is_listed(spec.index)

    def supply_price(self, spec: ProductSpec) -> Any:
        return supply_price(self.seed, spec, self.state.price_moves.get(spec.index, ()))

    def _stock_version(self, spec: ProductSpec) -> int:
        return self.state.stock_versions.get(spec.index, 0)

    # --- answers (the server's payloads) ----------------------------------------------------------
    def product_answers(self, codes: Iterable[str]) -> list[dict[str, Any]]:
        specs = [spec for spec in map(self.spec, dict.fromkeys(codes)) if spec is not None]
        return [self.style.product(product_payload(spec, self.image_base, self.is_listed(spec))) for spec in specs]

    def price_answers(self, codes: Iterable[str]) -> list[dict[str, Any]]:
        specs = [spec for spec in map(self.spec, dict.fromkeys(codes)) if spec is not None]
        return [self.style.price(price_payload(spec, self.supply_price(spec), self.is_listed(spec), self.style))
                for spec in specs]

    def stock_answer(self, code: str, county: str) -> dict[str, Any]:
        return self.style.stock(self._stock_truth(code, county), f"{code}@{county}")

    def _stock_truth(self, code: str, county: str) -> dict[str, Any]:
        spec = self.spec(code)
        if spec is None or not self.is_listed(spec):
            return unknown_stock_payload()
        return stock_payload(self.seed, spec.code, county, self._stock_version(spec))

    def logistics_answer(self, order_code: str, delivery_record: str | None = None) -> dict[str, list]:
        return logistics_payload(self.seed, order_code, self.generation, delivery_record)

    def balance_answer(self, customer_code: str) -> list[dict[str, Any]]:
        return [self.style.balance(line) for line in balance_payload(self.seed, customer_code, self.generation)]

    def image_answer(self, path: str) -> ServedImage:
        """The image host's answer; only paths of products that exist are served."""
        match = IMAGE_PATH.match(path)
        spec = self.spec(match.group(1)) if match else None
        if spec is None or path not in spec.image_paths:
            return _MISSING_IMAGE
        return serve_image(self.seed, path)

    # --- ground truth -----------------------------------------------------------------------------
    def listing_codes(self) -> list[str]:
        """Valid product codes of the listing, de-duplicated, in listing order."""
        return list(self.listing().codes)

    def malformed_listing_indexes(self) -> list[int]:
        """Positions of malformed entries in the listing payload."""
        return sorted(self.listing().malformed)

    def duplicate_listing_indexes(self) -> list[int]:
        """Positions of entries that repeat a product listed earlier."""
        return list(self.listing().duplicates)

    @property
    def malformed_count(self) -> int:
        return len(self.listing().malformed)

    @property
    def duplicate_count(self) -> int:
        return len(self.listing().duplicates)

    def expected_products(self) -> dict[str, ProductRecord]:
        """Every valid listing record, de-duplicated, procurable or not."""
        return {spec.code: product_record(spec, self.image_base) for spec in self._specs()}

    def expected_prices(self) -> dict[str, PriceRecord]:
        """The price answer of every valid listed code."""
        return {spec.code: price_record(spec, self.supply_price(spec), style=self.style) for spec in self._specs()}

    def expected_rebate_kinds(self) -> dict[str, str | None]:
        """The ``stock_rebate_kind`` of every valid listed code (None: it carries a rebate type, no discount)."""
        return {spec.code: rebate_kind(spec, style=self.style) for spec in self._specs()}

    def expected_stock(self, county_code: str) -> dict[str, StockRecord]:
        """The stock answer of every valid listed code in ``county_code``."""
        return {spec.code: stock_record(spec.code, county_code, self._stock_truth(spec.code, county_code))
                for spec in self._specs()}

    def image_paths(self, codes: Iterable[str] | None = None) -> list[str]:
        """The image URL paths of the listed products (or of ``codes``), main image first for each."""
        specs = self._specs() if codes is None else [s for s in map(self.spec, codes) if s is not None]
        return [path for spec in specs for path in spec.image_paths]

    def expected_images(self, codes: Iterable[str] | None = None) -> dict[str, ImageTruth]:
        """Truth for every image URL of the listed products (or of ``codes``). Renders each ok image once:
        about 1.5 ms per URL, so ask for ``codes`` on big catalogues."""
        return {self.image_base + path: image_truth(self.seed, path) for path in self.image_paths(codes)}

    def expected_balances(self, customer_code: str) -> list[BalanceRecord]:
        return balance_records(self.seed, customer_code, self.generation)

    def order_delivered(self, order_code: str) -> bool:
        """True once the order's logistics end with a 已签收 record."""
        return order_step(self.seed, order_code, self.generation) == len(STEPS) - 1
