"""``haier-sync``: the original ``sync_haier_products`` flags, launching the matching Dagster job.

| flags | job (as the original's cron lines) |
|---|---|
| none | ``haier_products_sync`` — listing, brands, categories, products |
| ``--sync-prices`` | ``haier_price_sync`` |
| ``--sync-stock`` | ``haier_stock_sync`` |
| ``--sync-prices --sync-stock`` | ``haier_full_sync`` (images too) |

``--product-codes``, ``--category``, ``--brand`` and ``--county-code`` become the run's
``sync_scope`` config; they and the ``HAIER_*`` settings are checked before any run exists. By
default the job runs in this process (recorded in ``$DAGSTER_HOME``'s instance when set);
``--submit`` hands it to a running webserver over GraphQL and follows it. Either way the status,
what stopped a failed run, and the run's ``haier_sync_log`` rows are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.command import EXIT_OK, EXIT_RUN_FAILED, Parser, UsageError, run
from haier_pipeline.resources.sync_scope import ScopeError, SyncScope
from haier_pipeline.settings import Settings, load_settings
from haier_pipeline.sync_submit import CHECK_FAILED, FINISHED, TRIGGER_TAG, first_line, submit, submitted_failures

SCOPE_FLAGS = {"product_codes": "--product-codes", "category": "--category", "brand": "--brand",
               "county_codes": "--county-code"}
HELP = """Launch the Dagster job the original sync_haier_products flags amount to:

  (no flags)                      haier_products_sync  listing, brands, categories, products
  --sync-prices                   haier_price_sync     listing, products, prices
  --sync-stock                    haier_stock_sync     listing, products, stock
  --sync-prices --sync-stock      haier_full_sync      everything, images too

--product-codes, --category, --brand and --county-code scope the run (its sync_scope config).
Arguments and HAIER_* settings (.env included) are checked before any run is created."""


def job_for(sync_prices: bool, sync_stock: bool) -> str:
    """The job the original command's two switches amount to."""
    if sync_prices and sync_stock:
        return "haier_full_sync"
    if sync_prices:
        return "haier_price_sync"
    if sync_stock:
        return "haier_stock_sync"
    return "haier_products_sync"


def scope_config(args: argparse.Namespace) -> dict[str, Any]:
    """``sync_scope`` run config holding only the flags that were given."""
    config: dict[str, Any] = {}
    if args.product_codes:
        config["product_codes"] = list(args.product_codes)
    if args.category:
        config["category"] = args.category
    if args.brand:
        config["brand"] = args.brand
    if args.county_code:
        config["county_codes"] = list(args.county_code)
    return {"resources": {"sync_scope": {"config": config}}} if config else {}


def check_scope(run_config: dict[str, Any], settings: Settings) -> None:
    """Refuse a scope the run would refuse at start, naming the flag, before the run (and its stored config) exists."""
    config = run_config.get("resources", {}).get("sync_scope", {}).get("config", {})
    scope = SyncScope(**config, configured_counties=settings.county_codes, secrets=settings.secrets())
    try:
        scope.check()
    except ScopeError as error:
        raise UsageError(f"{SCOPE_FLAGS.get(error.field, error.field)}: {error.reason}") from None


def parser() -> argparse.ArgumentParser:
    cli = Parser(prog="haier-sync", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--product-codes", nargs="+", metavar="CODE", help="only these product codes (any number)")
    cli.add_argument("--category", help="put the synced products in this category")
    cli.add_argument("--brand", help="assign the synced products to this brand")
    cli.add_argument("--sync-prices", action="store_true", help="sync prices")
    cli.add_argument("--sync-stock", action="store_true", help="sync stock")
    cli.add_argument("--county-code", action="append", metavar="CODE",
                     help="district code for stock (repeatable; default HAIER_COUNTY_CODES)")
    cli.add_argument("--submit", action="store_true",
                     help="launch on a running Dagster webserver instead of in-process")
    cli.add_argument("--url", default="http://127.0.0.1:3000", help="the webserver for --submit")
    cli.add_argument("--location", default=None,
                     help="code location for --submit (default: the one on the webserver that holds the job)")
    cli.add_argument("--no-wait", action="store_true", help="with --submit: print the run id and return")
    cli.add_argument("--timeout", type=float, default=3600.0, help="with --submit: seconds to wait for the run")
    return cli


def step_failures(events: Sequence[Any]) -> list[str]:
    """What stopped an in-process run: its failed steps and failed blocking checks, one phrase each."""
    import dagster as dg

    reasons = []
    for event in events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name.startswith("DagsterExecutionStep"):
                error = error.cause  # Dagster's wrapper: the user code's own error is its cause
            if error.cls_name == CHECK_FAILED:
                continue  # the failed blocking check is named by its own evaluation below
            reasons.append(f"step {event.step_key}: {first_line(error.message)}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            if not check.passed and check.severity == dg.AssetCheckSeverity.ERROR:
                reasons.append(f"blocking check {check.asset_key.to_user_string()}:{check.check_name}: "
                               f"{first_line(check.description)}")
    return reasons


def run_in_process(job_name: str, run_config: dict[str, Any]) -> tuple[str, str, list[str]]:
    import dagster as dg

    from haier_pipeline.definitions import defs

    job = defs.resolve_job_def(job_name)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    with instance:
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False,
                                        tags={TRIGGER_TAG: "cli"})
    return result.run_id, "SUCCESS" if result.success else "FAILURE", step_failures(result.all_events)


def print_summary(catalog_db_url: str, run_id: str) -> None:
    log = tables.haier_sync_log
    with prepare_database(catalog_db_url).connect() as conn:
        rows = conn.execute(select(log).where(log.c.run_id == run_id).order_by(log.c.id)).mappings().all()
    for row in rows:
        duration = "—" if row["duration_seconds"] is None else f"{row['duration_seconds']:.1f} s"
        message = textwrap.shorten(row["message"] or "", width=100, placeholder=" …")
        print(f"  {row['sync_type']:<9}{row['status']:<11}total={row['total_count']} ok={row['success_count']} "
              f"failed={row['failed_count']} duration={duration}  {message}")


def sync(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    job_name = job_for(args.sync_prices, args.sync_stock)
    run_config = scope_config(args)
    settings = load_settings()
    check_scope(run_config, settings)
    if args.submit:
        run_id, status = submit(args.url, args.location, job_name, run_config, wait=not args.no_wait,
                                timeout=args.timeout)
        reasons = submitted_failures(args.url, run_id) if status in ("FAILURE", "CANCELED") else []
    else:
        prepare_database(settings.catalog_db_url)  # an unreachable catalogue is refused before the run
        run_id, status, reasons = run_in_process(job_name, run_config)
    print(f"{job_name} run {run_id}: {status}")
    for reason in reasons:
        print(f"  stopped by {reason}")
    if status in FINISHED:
        print_summary(settings.catalog_db_url, run_id)
    return EXIT_OK if status in ("SUCCESS", "QUEUED", "NOT_STARTED", "STARTING", "STARTED") else EXIT_RUN_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    return run("haier-sync", sync, argv)


if __name__ == "__main__":
    sys.exit(main())
