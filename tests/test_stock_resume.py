"""A stock run SIGKILLed mid-pass and started again asks no pair its killed run stored (counted at the sandbox).

The call budget (``HAIER_STOCK_CALLS_PER_WINDOW``) is below the catalogue's pairs, so runs follow the refresh
plan; the kill lands after the first chunk of answers was stored. The second run, in the same window, must
ask exactly the pairs the first did not store, and leave every pair asked once.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.catalog.raw_read import listed_product_codes
from haier_pipeline.defs.sync.raw import STOCK_CHUNK
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from support.pipeline import pipeline_env
from support.sync_process import prepare_home, spawn_sync

PRODUCTS = 120
BUDGET = 170
S = tables.stock_refresh_state


def test_a_killed_stock_pass_resumes_without_asking_a_stored_pair_again(tmp_path: Path, catalog_url: str) -> None:
    counties = os.environ["HAIER_COUNTY_CODES"].split(",")
    with run_sandbox(SandboxOptions(products=PRODUCTS)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT="60",
                           HAIER_STOCK_CALLS_PER_WINDOW=str(BUDGET), HAIER_DEAD_RUN_CONFIRM_SECONDS="0.3")
        home = prepare_home(tmp_path / "dagster_home")
        engine = create_engine(catalog_url)

        def stock_calls() -> int:
            return sandbox.stats().calls.get("stock", 0)

        def recorded() -> int:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(S)).scalar_one() if _has_state(conn) else 0

        first = spawn_sync(env, home, tmp_path / "first.log", job="haier_stock_sync")
        first.go()
        assert first.wait_until(lambda: recorded() >= STOCK_CHUNK, timeout=180)
        first.kill()
        calls_before, stored_before = stock_calls(), recorded()
        with engine.connect() as conn:  # the killed run's listing: the procurable products stock is asked for
            pairs = len(listed_product_codes(conn, procurable_only=True)) * len(counties)
        assert STOCK_CHUNK <= stored_before < pairs <= stored_before + BUDGET, (stored_before, pairs)

        second = spawn_sync(env, home, tmp_path / "second.log", job="haier_stock_sync")
        second.go()
        assert second.finish() == 0, second.output()[-3000:]
        with engine.connect() as conn:
            rows = conn.execute(select(S.c.asks)).scalars().all()
        engine.dispose()
    assert stock_calls() - calls_before == pairs - stored_before  # the rest, and nothing the killed run stored
    assert len(rows) == pairs and set(rows) == {0}  # every pair asked, none asked twice
    release_database(catalog_url)


def _has_state(conn) -> bool:
    return conn.dialect.has_table(conn, S.name)
