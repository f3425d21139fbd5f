"""One API health check (定期检查API连接状态): a token request and a one-product listing call, timed.

The probe's client tries each call once with a short time-out, so a hanging gateway makes the
check fail within seconds instead of holding the sensor past its 60 s limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from haier_pipeline.catalog.tables import haier_raw_products
from haier_pipeline.haier_api import HaierApiError
from haier_pipeline.resources import CatalogResource, HaierApiResource

PROBE_TIMEOUT_SECONDS = 15.0
FALLBACK_CODE = "HEALTHCHECK"  # asked for when the catalogue has no product yet: an empty answer is a good one


@dataclass(frozen=True)
class ProbeResult:
    """How the two calls went: ``ok`` only if both answered; ``error`` names the failing step."""

    ok: bool
    token_ms: float
    listing_ms: float
    product_code: str
    error: str | None = None

    @property
    def latency_ms(self) -> float:
        return self.token_ms + self.listing_ms


def probe_code(catalog: CatalogResource) -> str:
    with catalog.begin() as conn:
        raw = haier_raw_products.c
        code = conn.execute(select(raw.product_code).order_by(raw.id).limit(1)).scalar()
    return code or FALLBACK_CODE


def probe_api(haier_api: HaierApiResource, product_code: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> ProbeResult:
    """Fetch a fresh token, then list one product; never raises for the gateway's faults."""
    client = haier_api.get_probe_client(timeout)
    started = time.perf_counter()
    token_ms = listing_ms = 0.0
    try:
        client.tokens.current()
        token_ms = (time.perf_counter() - started) * 1000
        listed = time.perf_counter()
        results = list(client.fetch_products([product_code]))
        listing_ms = (time.perf_counter() - listed) * 1000
    except HaierApiError as error:
        step = "listing" if token_ms else "token"
        elapsed = (time.perf_counter() - started) * 1000 - token_ms
        return ProbeResult(False, token_ms or elapsed, elapsed if token_ms else 0.0, product_code,
                           f"{step}: {error.message}")
    failed = next((result.error for result in results if result.error is not None), None)
    if failed is not None:
        return ProbeResult(False, token_ms, listing_ms, product_code, f"listing: {failed.message}")
    return ProbeResult(True, token_ms, listing_ms, product_code)
