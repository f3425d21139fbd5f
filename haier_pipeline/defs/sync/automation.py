"""The sync jobs named by the design (full, prices, stock), products only (the original command without flags),
and their schedules, the original system's cron.

| original cron line                                   | schedule                            |
|------------------------------------------------------|-------------------------------------|
| ``0 2 * * *``  ``sync_haier_products --sync-prices --sync-stock`` | ``haier_full_sync_daily``  |
| ``0 * * * *``  ``sync_haier_products --sync-prices``  | ``haier_price_sync_hourly``         |
| ``*/30 * * * *`` ``sync_haier_products --sync-stock`` | ``haier_stock_sync_every_30_minutes`` |

The full sync runs its independent steps at the same time in threads of one process
(``haier_pipeline.runs.executor.threaded_executor``): images come from image hosts, not the gateway,
so they download while stock is fetched; gateway steps still run one at a time on the run's one
rate-limited client. The price and stock syncs are one chain of steps each and run in-process.
Each run carries its sync kind as a tag (the run
queue lets one run per kind at a time); scheduled runs also carry ``haier/trigger=schedule``. Stock
runs are unpartitioned: one run covers every configured county.

When syncs overlap (docs/operations.md): a full sync covers prices and stock, so a price or stock
tick is *skipped* — with the reason on the tick — when a full sync is queued or running, or when the
daily full sync fires at this very tick (02:00: all three schedules fire together, and the order the
daemon evaluates them in is not fixed). Syncs that overlap anyway (a manual run, a full sync started
after a price sync) wait for each other's catalogue locks instead of failing (``catalog/locks.py``).
The price and stock syncs refresh the listing first (one gateway call), as the original command did
on every run: a product Haier adds or withdraws is asked about (or no longer) within the hour.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import dagster as dg

from haier_pipeline.constants import SYNC_KIND_TAG, TIMEZONE, TRIGGER_TAG
from haier_pipeline.runs.executor import threaded_executor

# "history" holds product_price_history, extended from the raw prices by every full and price sync.
# "shop" publishes into a Django shop at the end of every sync (a no-op while HAIER_SHOP_DB_URL is unset).
FULL_SYNC_SELECTION = dg.AssetSelection.groups("haier_raw", "catalog", "media", "history", "shop")
# The price and stock syncs write the listed products (with their brands and categories) before their prices or
# stock, as the original command did on every run: on a fresh catalogue a stock sync would otherwise store stock of
# products the catalogue does not hold. Writes compare first, so an unchanged product costs a read, not a write.
PRODUCT_ROWS = ("haier_raw_products", "brands", "categories", "products", "shop_products")
PRICE_SYNC_SELECTION = (dg.AssetSelection.assets(*PRODUCT_ROWS, "haier_raw_prices")
                        | dg.AssetSelection.groups("history"))
# Stock fetches no prices: the price-coverage check is left to the syncs that fetch them (as products only).
PRICE_COVERAGE = dg.AssetSelection.checks(
    dg.AssetCheckKey(dg.AssetKey("products"), "supply_prices_cover_the_catalogue"))
STOCK_SYNC_SELECTION = dg.AssetSelection.assets(*PRODUCT_ROWS, "haier_raw_stock", "product_stock") - PRICE_COVERAGE
FULL_SYNC_AT = time(2, 0)
FULL_SYNC_SCHEDULE = "haier_full_sync_daily"
WAITING_OR_RUNNING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                      dg.DagsterRunStatus.STARTED]
# Products only fetches no prices (as the Django command without --sync-prices): the price-coverage check is left
# to the syncs that fetch them.
PRODUCTS_SYNC_SELECTION = dg.AssetSelection.assets(*PRODUCT_ROWS) - PRICE_COVERAGE


def _job(name: str, selection: dg.AssetSelection, kind: str, description: str,
         executor: dg.ExecutorDefinition = dg.in_process_executor) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(name, selection=selection, executor_def=executor,
                               tags={SYNC_KIND_TAG: kind}, description=description)


haier_full_sync = _job(
    "haier_full_sync", FULL_SYNC_SELECTION, "full",
    "Products, prices, stock, images and catalog tables: `sync_haier_products --sync-prices --sync-stock`.",
    threaded_executor,
)
haier_price_sync = _job(
    "haier_price_sync",
    PRICE_SYNC_SELECTION,
    "prices",
    "The listing and its products, then prices for every listed product (the original's hourly cron).",
)
haier_stock_sync = _job(
    "haier_stock_sync", STOCK_SYNC_SELECTION, "stock",
    "The listing and its products, then stock per county (the original's every-30-minutes cron).",
)

haier_products_sync = _job(
    "haier_products_sync",
    PRODUCTS_SYNC_SELECTION,
    "products",
    "Products only: the listing, brands, categories and products (`sync_haier_products` with no flags).",
)


def covering_full_sync(context: dg.ScheduleEvaluationContext) -> str | None:
    """Why this tick's price or stock sync would repeat a full sync's work, or ``None`` when it would not."""
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=haier_full_sync.name, statuses=WAITING_OR_RUNNING), limit=1)
    if runs:
        run = runs[0]
        return (f"full sync run {run.run_id} is {run.status.value.lower()}: it covers prices and stock, "
                "so this tick is skipped")
    tick = context.scheduled_execution_time
    if tick is not None and _full_sync_fires_at(tick) and _full_sync_schedule_running(context.instance):
        return (f"the daily full sync fires at this same tick ({FULL_SYNC_AT:%H:%M} {TIMEZONE}) and covers "
                "prices and stock, so this tick is skipped")
    return None


def _full_sync_fires_at(tick: datetime) -> bool:
    local = tick.astimezone(ZoneInfo(TIMEZONE))
    return (local.hour, local.minute) == (FULL_SYNC_AT.hour, FULL_SYNC_AT.minute)


def _full_sync_schedule_running(instance: dg.DagsterInstance) -> bool:
    """The full sync's schedule is on unless someone stopped it (it starts enabled; a stop is stored)."""
    return not any(state.name == FULL_SYNC_SCHEDULE and state.status.value == "STOPPED"
                   for state in instance.all_instigator_state())


def _schedule(name: str, job: dg.UnresolvedAssetJobDefinition, cron: str, kind: str, what: str,
              skip_when_covered: bool) -> dg.ScheduleDefinition:
    tags = {SYNC_KIND_TAG: kind, TRIGGER_TAG: "schedule"}

    def evaluate(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        reason = covering_full_sync(context) if skip_when_covered else None
        return dg.SkipReason(reason) if reason else dg.RunRequest(tags=tags)

    return dg.ScheduleDefinition(
        name=name, job=job, cron_schedule=cron, execution_timezone=TIMEZONE, execution_fn=evaluate,
        default_status=dg.DefaultScheduleStatus.RUNNING, tags=tags,
        description=f"{what} (cron `{cron}`, {TIMEZONE})." + (
            " Skipped while a full sync is queued or running, and at the full sync's own tick." if skip_when_covered
            else ""),
    )


full_sync_daily = _schedule(FULL_SYNC_SCHEDULE, haier_full_sync, f"{FULL_SYNC_AT.minute} {FULL_SYNC_AT.hour} * * *",
                            "full", "Daily 02:00 full sync", skip_when_covered=False)
price_sync_hourly = _schedule("haier_price_sync_hourly", haier_price_sync, "0 * * * *", "prices",
                              "Hourly price sync (listing first)", skip_when_covered=True)
stock_sync_half_hourly = _schedule("haier_stock_sync_every_30_minutes", haier_stock_sync, "*/30 * * * *", "stock",
                                   "Stock sync every 30 minutes (listing first)", skip_when_covered=True)

SYNC_JOBS = [haier_full_sync, haier_price_sync, haier_stock_sync, haier_products_sync]
SCHEDULES = [full_sync_daily, price_sync_hourly, stock_sync_half_hourly]
