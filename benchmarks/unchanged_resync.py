"""What keeping "last confirmed" costs an unchanged re-sync: statements and wall time, before vs after.

```bash
.venv/bin/python -m benchmarks.unchanged_resync                       # 2,000 products, SQLite, 3 repeats
.venv/bin/python -m benchmarks.unchanged_resync --products 100000 --counties 1
.venv/bin/python -m benchmarks.unchanged_resync --db-url postgresql+psycopg://…/bench   # an empty database
```

A catalogue of ``--products`` sandbox products (one price answer each, stock in ``--counties``
counties) is synced once, then re-synced unchanged ``--repeats`` times per variant, alternating:

- ``before`` — today's code path without confirmation (``confirm=False``, no ``catalog.confirm`` step):
  an unchanged answer writes nothing.
- ``after`` — the raw steps stamp ``confirmed_at`` on unchanged answers (one UPDATE per chunk) and
  the catalogue steps copy it onto ``products.last_sync_at`` / ``product_stock.confirmed_at`` (one
  UPDATE per step).

Both variants run the same calls the assets make (raw store of prices and stock, then the listing,
price and stock writers), in-process, without Dagster or HTTP. Printed per variant: the median wall
time of the raw steps and of the catalogue steps, the statements executed (reads and writes), and the
ratio after/before.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from haier_pipeline.catalog.confirm import confirm_prices, confirm_stock
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.raw_store import store_raw_prices, store_raw_stock
from haier_pipeline.catalog.writes import (
    apply_prices,
    ensure_brands,
    ensure_categories,
    upsert_product_stock,
    upsert_products,
)
from haier_pipeline.constants import CHUNK_SIZE
from haier_pipeline.haier_api import MalformedRecord
from haier_pipeline.haier_api.parsing import parse_price, parse_product, parse_stock
from haier_pipeline.sandbox.catalogue import Catalogue

COUNTIES = ("110101", "310101", "440106", "330106")


def parsed(items: list[Any], parse: Callable[..., Any]) -> list[Any]:
    out = []
    for index, item in enumerate(items):
        try:
            out.append(parse(*item, index) if isinstance(item, tuple) else parse(item, index))
        except MalformedRecord:
            continue
    return out


class Answers:
    """Haier's answers for one catalogue, fetched once: every run is given the same (unchanged) ones."""

    def __init__(self, products: int, counties: int) -> None:
        catalogue = Catalogue(products, seed=1)
        codes = catalogue.listing_codes()
        self.products = parsed(catalogue.product_answers(codes), parse_product)
        listed = [record.product_code for record in self.products]
        self.price_rows = []
        for payload in catalogue.price_answers(listed):
            for record in parsed([payload], parse_price):
                self.price_rows.append((record.product_code, payload))
        self.prices = parsed([payload for _, payload in self.price_rows], parse_price)
        self.counties = list(COUNTIES[:counties])
        self.stock_rows = [(code, county, catalogue.stock_answer(code, county))
                           for county in self.counties for code in listed]
        self.stock = parsed([(payload, code, county) for code, county, payload in self.stock_rows], parse_stock)


def raw_steps(engine: Engine, answers: Answers, now: datetime, confirm: bool) -> None:
    with engine.begin() as conn:
        store_raw_prices(conn, answers.price_rows, "bench", now, confirm=confirm)
    with engine.begin() as conn:
        store_raw_stock(conn, answers.stock_rows, "bench", now, confirm=confirm)


def catalogue_steps(engine: Engine, answers: Answers, now: datetime, confirm: bool) -> None:
    with engine.begin() as conn:
        for start in range(0, len(answers.products), CHUNK_SIZE):
            chunk = answers.products[start:start + CHUNK_SIZE]
            brands = ensure_brands(conn, sorted({r.brand_name for r in chunk if r.brand_name}))
            categories = ensure_categories(conn, sorted({r.product_group for r in chunk if r.product_group}))
            upsert_products(conn, chunk, brands, categories, now)
        for start in range(0, len(answers.prices), CHUNK_SIZE):
            apply_prices(conn, answers.prices[start:start + CHUNK_SIZE], now)
        if confirm:
            confirm_prices(conn)
    with engine.begin() as conn:
        for start in range(0, len(answers.stock), CHUNK_SIZE):
            upsert_product_stock(conn, answers.stock[start:start + CHUNK_SIZE], answers.counties[0], now)
        if confirm:
            confirm_stock(conn, answers.counties)


def measured(engine: Engine, step: Callable[..., None], answers: Answers, now: datetime,
             confirm: bool) -> tuple[float, int, int]:
    with count_statements(engine) as counted:
        started = time.perf_counter()
        step(engine, answers, now, confirm)
        seconds = time.perf_counter() - started
    return seconds, counted.reads, counted.writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--counties", type=int, default=1, choices=range(1, len(COUNTIES) + 1))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--db-url", help="an empty catalogue database (default: a new SQLite file)")
    args = parser.parse_args()
    if args.products < 1 or args.repeats < 1:
        parser.error("--products and --repeats must be at least 1")
    with tempfile.TemporaryDirectory() as folder:
        url = args.db_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = prepare_database(url)
        answers = Answers(args.products, args.counties)
        clock = datetime(2026, 1, 1, tzinfo=UTC)
        raw_steps(engine, answers, clock, True)
        catalogue_steps(engine, answers, clock, True)
        print(f"{len(answers.products)} products, {len(answers.stock)} product × county stock rows, "
              f"{engine.dialect.name}, {args.repeats} repeats (medians)")
        results: dict[str, list[tuple[float, int, int, float, int, int]]] = {"before": [], "after": []}
        for _ in range(args.repeats):
            for name in ("before", "after"):
                clock += timedelta(hours=1)
                confirm = name == "after"
                raw = measured(engine, raw_steps, answers, clock, confirm)
                cat = measured(engine, catalogue_steps, answers, clock, confirm)
                results[name].append((*raw, *cat))
        engine.dispose()
    medians = {name: [statistics.median(column) for column in zip(*rows, strict=True)]
               for name, rows in results.items()}
    print(f"{'variant':8} {'raw s':>8} {'raw rd':>7} {'raw wr':>7} {'cat s':>8} {'cat rd':>7} {'cat wr':>7} "
          f"{'total s':>8}")
    for name, (rs, rr, rw, cs, cr, cw) in medians.items():
        print(f"{name:8} {rs:8.3f} {rr:7.0f} {rw:7.0f} {cs:8.3f} {cr:7.0f} {cw:7.0f} {rs + cs:8.3f}")
    before, after = medians["before"], medians["after"]
    print(f"after/before wall time: raw {after[0] / before[0]:.2f}×, catalogue {after[3] / before[3]:.2f}×, "
          f"total {(after[0] + after[3]) / (before[0] + before[3]):.2f}×; extra writes "
          f"{after[2] - before[2]:.0f} raw + {after[5] - before[5]:.0f} catalogue statements")


if __name__ == "__main__":
    main()
