"""The benchmark's baseline really is the original loop: one product at a time, one code per price call,
one call in flight, every save its own transaction — so "original ÷ ours" compares like with like."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.original_loop import OriginalCredentials, run_original  # noqa: E402
from haier_pipeline.sandbox import SandboxOptions, run_sandbox  # noqa: E402


def test_the_original_loop_makes_one_price_and_one_stock_call_per_product(tmp_path: Path) -> None:
    with run_sandbox(SandboxOptions(products=30, latency=0.001)) as sandbox:
        listing = sandbox.catalogue.listing()
        result = run_original(OriginalCredentials.from_env(sandbox.env()), tmp_path / "original.sqlite", "110101")
        served = sandbox.stats()
    entries = result.products  # every listing entry with a code, duplicates included, as the original did
    assert result.failed == 0 and entries >= len(listing.codes)
    assert served.calls == {"products": 1, "prices": entries, "stock": entries}
    assert result.calls == served.total_calls
    assert served.max_product_codes == 1 and served.max_in_flight == 1  # no batching, no concurrency
    with sqlite3.connect(tmp_path / "original.sqlite") as db:
        saved = {code for (code,) in db.execute("SELECT product_code FROM product")}
        priced = db.execute("SELECT count(*) FROM product WHERE supply_price IS NOT NULL").fetchone()[0]
    assert set(listing.codes) <= saved
    assert priced > 0


def test_a_capped_run_stops_after_that_many_products(tmp_path: Path) -> None:
    with run_sandbox(SandboxOptions(products=40)) as sandbox:
        result = run_original(OriginalCredentials.from_env(sandbox.env()), tmp_path / "o.sqlite", "110101", limit=7)
        served = sandbox.stats()
    assert result.products == 7
    assert served.calls == {"products": 1, "prices": 7, "stock": 7}
