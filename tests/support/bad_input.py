"""Shared plumbing of the bad-input tests: a poisoned sandbox's sync, and what it logged about each case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.definitions import build_definitions
from haier_pipeline.sandbox import Catalogue
from haier_pipeline.settings import load_settings

from .catalog_state import reading
from .pipeline import pipeline_env, project_env

FAST = {"HAIER_RATE_LIMIT": "500", "HAIER_IMAGE_RATE_LIMIT": "500"}


@dataclass
class PoisonedSync:
    """One sync against a poisoned sandbox, and where its results are."""

    result: dg.ExecuteInProcessResult
    url: str
    media_root: Path
    truth: Catalogue
    base_url: str

    def log(self, sync_type: str) -> dict:
        """This run's sync-log row of ``sync_type``."""
        log = tables.haier_sync_log
        with reading(self.url) as conn:
            return dict(conn.execute(select(log).where(log.c.run_id == self.result.run_id,
                                                       log.c.sync_type == sync_type)).mappings().one())

    def rows(self, table: str, key: str = "product_code") -> dict:
        with reading(self.url) as conn:
            return {row[key]: dict(row) for row in conn.execute(select(tables.metadata.tables[table])).mappings()}

    def stock_rows(self) -> dict[tuple[str, str], dict]:
        with reading(self.url) as conn:
            return {(row["product_code"], row["county_code"]): dict(row)
                    for row in conn.execute(select(tables.product_stock)).mappings()}


def sync(sandbox, url: str, tmp: Path, **env: str) -> PoisonedSync:
    """Run ``haier_full_sync`` in-process against ``sandbox`` (success not required)."""
    with project_env(pipeline_env(sandbox, url, tmp, **{**FAST, **env})):
        job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
        result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return PoisonedSync(result, url, tmp / "media", sandbox.catalogue, sandbox.base_url)


def clean_codes(truth: Catalogue, procurable: bool = True) -> list[str]:
    """Sorted listing codes that appear once in the listing (a poisoned duplicate would be counted twice)."""
    records = truth.listing().records
    repeated = {records[index]["productCode"] for index in truth.duplicate_listing_indexes()}
    products = truth.expected_products()
    return sorted(code for code in truth.listing_codes()
                  if code not in repeated and (not procurable or products[code].is_sales == "1"))


def price_batches(codes: list[str]) -> list[list[str]]:
    """The batches the price sync sends: the listed codes in order, 20 a call."""
    ordered = sorted(codes)
    return [ordered[start:start + 20] for start in range(0, len(ordered), 20)]


def failure_lines(message: str | None) -> str:
    return message or ""


def listing_record(code: str, **changes: object) -> Mapping[str, object]:
    """A well-formed listing record for a product Haier never had."""
    record: dict[str, object] = {"productCode": code, "productModel": "EC6001-HT3", "productGroupNamd": "电热水器",
                                 "productBrandName": "海尔", "productImageUrl": "", "productLageUrls": [],
                                 "isSales": "1", "noSalesReason": ""}
    record.update(changes)
    return record
