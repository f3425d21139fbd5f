"""Run the project's jobs against a sandbox in tests, and compare the catalogue with its ground truth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.definitions import build_definitions
from haier_pipeline.resources import CatalogResource
from haier_pipeline.sandbox import Catalogue
from haier_pipeline.settings import load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def pipeline_env(sandbox, catalog_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Every HAIER_* setting pointing the project at ``sandbox`` with a private catalogue and media folder."""
    return {
        **sandbox.env(),
        "HAIER_CATALOG_DB_URL": catalog_url,
        "HAIER_MEDIA_ROOT": str(tmp / "media"),
        "HAIER_DATA_DIR": str(tmp),
        "HAIER_COUNTY_CODES": os.environ["HAIER_COUNTY_CODES"],
        # Tests are not bound by Haier's politeness limits; the speed benchmark keeps them.
        "HAIER_RATE_LIMIT": "2000",
        "HAIER_IMAGE_RATE_LIMIT": "2000",
        **extra,
    }


@contextmanager
def project_env(env: Mapping[str, str]) -> Iterator[None]:
    """Replace every HAIER_* variable by ``env`` for the duration (``load_settings()`` reads them)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("HAIER_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        yield


def run_job(env: Mapping[str, str], job: str = "haier_full_sync", instance: dg.DagsterInstance | None = None,
            run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    """Execute one of the project's jobs in-process with ``env`` as its settings."""
    with project_env(env):
        defs = build_definitions(load_settings())
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance or dg.DagsterInstance.ephemeral(), run_config=run_config, raise_on_error=False
        )
    assert result.success, [event.message for event in result.all_events if event.is_failure]
    return result


def dagster_cli(args: list[str], env: Mapping[str, str], home: Path, timeout: float = 600,
                instance_yaml: str | None = "dagster.yaml") -> subprocess.CompletedProcess:
    """Run the ``dagster`` CLI of this venv at the project root with only ``env`` as HAIER_* settings.

    ``instance_yaml`` (a file at the project root) becomes ``$DAGSTER_HOME/dagster.yaml``; None keeps what is there.
    """
    home.mkdir(parents=True, exist_ok=True)
    if instance_yaml:
        (home / "dagster.yaml").write_text((PROJECT_ROOT / instance_yaml).read_text())
    base = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    full_env = {**base, **env, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}
    command = [str(Path(sys.executable).with_name("dagster")), *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def catalogue_rows(catalog_url: str, table: str) -> list[dict]:
    catalog = CatalogResource(db_url=catalog_url)
    with catalog.begin() as conn:
        return [dict(row) for row in conn.execute(select(tables.metadata.tables[table])).mappings()]


def assert_catalogue_matches(catalog_url: str, truth: Catalogue, counties: list[str], first_sync: bool = True) -> None:
    """Every listed product, price (exact decimals), discount kind and stock figure equals the sandbox's own data.

    ``first_sync``: the sale price must be the supply price (no market price, no shop edit yet); later
    syncs only require that a product with a supply price has a sale price (the first one is kept).
    """
    products = {row["product_code"]: row for row in catalogue_rows(catalog_url, "products") if row["source"] == "haier"}
    expected = truth.expected_products()
    listed = {code for code, row in products.items() if row["is_sales"] == "1"}
    assert listed == {code for code, record in expected.items() if record.is_sales == "1"}
    for code, record in expected.items():
        row = products[code]
        assert (row["product_model"], row["product_group"], row["is_sales"], row["product_image_url"]) == (
            record.product_model, record.product_group, record.is_sales, record.image_url), code
    kinds = truth.expected_rebate_kinds()
    for code, price in truth.expected_prices().items():
        row = products[code]
        for column in ("supply_price", "invoice_price", "stock_rebate", "rebate_money"):
            want, got = getattr(price, column), row[column]
            assert (want is None and got is None) or Decimal(got) == want, (code, column, got, want)
            assert got is None or isinstance(got, Decimal), (code, column, type(got))
        assert row["rebate_type"] == price.rebate_type, code
        assert row["stock_rebate_kind"] == kinds[code], (code, row["stock_rebate_kind"], kinds[code])
        assert (row["price_reason"] or "") == price.reason, code
        # The sale-price rule: a product without a sale price of its own takes the supply price (no market price).
        if first_sync:
            assert row["price"] == (price.supply_price if row["market_price"] is None else row["market_price"]), code
        elif price.supply_price is not None:
            assert row["price"] is not None, code
    stock = {(row["product_code"], row["county_code"]): row for row in catalogue_rows(catalog_url, "product_stock")}
    for county in counties:
        for code, record in truth.expected_stock(county).items():
            if expected.get(code) is None or expected[code].is_sales != "1":
                continue
            row = stock[(code, county)]
            assert (row["stock"], row["warehouse_code"], row["warehouse_grade"]) == (
                record.stock, record.warehouse_code, record.warehouse_grade), (code, county)
            if county == counties[0]:
                assert products[code]["stock"] == record.stock, code
