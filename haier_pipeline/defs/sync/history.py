"""The price-history asset: ``product_price_history`` built from the stored raw price answers.

It never calls Haier, so it can be rebuilt at any time (run config ``rebuild: true``). Its
metadata reports what changed this run and, as a markdown table, the week's biggest price moves.
"""


import time
from datetime import timedelta
from decimal import Decimal

import dagster as dg
from pydantic import Field
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.history import (
    PriceMove,
    extend_price_history,
    history_problems,
    price_moves_since,
    rebuild_price_history,
)
from haier_pipeline.defs.metadata import columns_metadata, markdown_list, markdown_preview, table_schema
from haier_pipeline.resources import CatalogResource
from haier_pipeline.runs.liveness import utc_now

from .raw import haier_raw_prices

HISTORY_GROUP = "history"
REPORT_DAYS = 7
MOVES_SHOWN = 10


class PriceHistoryConfig(dg.Config):
    """Run config of ``product_price_history``."""

    rebuild: bool = Field(default=False,
                          description="Delete the history and derive it again from every raw price answer.")


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def moves_markdown(moves: list[PriceMove], limit: int = MOVES_SHOWN) -> dg.MetadataValue:
    """The biggest moves as a markdown table."""
    return markdown_preview(
        [
            {
                "product": move.product_code,
                "name": move.name or "",
                "supply price": f"{_money(move.old_supply)} → {_money(move.new_supply)}",
                "invoice price": f"{_money(move.old_invoice)} → {_money(move.new_invoice)}",
                "change": "—" if move.change is None else f"{move.change:+.2f}",
                "change %": "—" if move.change_pct is None else f"{move.change_pct:+.2f}%",
                "procurable": f"{move.old_is_sales} → {move.new_is_sales}",
                "changed at (UTC)": move.changed_at.strftime("%Y-%m-%d %H:%M"),
            }
            for move in moves[:limit]
        ],
        limit,
        empty=f"_no price changes in the last {REPORT_DAYS} days_",
    )


@dg.asset(
    metadata=columns_metadata(tables.product_price_history),
    group_name=HISTORY_GROUP,
    kinds={"sql"},
    deps=[haier_raw_prices],
    description="Every change of supply price, invoice price, rate, rebate or procurability per product "
                "(valid_from / valid_to; the current row is open-ended), derived from haier_raw_prices.",
)
def product_price_history(
    context: dg.AssetExecutionContext, config: PriceHistoryConfig, catalog: CatalogResource
) -> dg.MaterializeResult:
    started, now = time.monotonic(), utc_now()
    h = tables.product_price_history.c
    with catalog.begin() as conn:
        counts = rebuild_price_history(conn) if config.rebuild else extend_price_history(conn)
        moves = price_moves_since(conn, now - timedelta(days=REPORT_DAYS))
        total = conn.execute(select(func.count()).select_from(tables.product_price_history)).scalar_one()
        products = conn.execute(select(func.count()).select_from(tables.product_price_history)
                                .where(h.valid_to.is_(None))).scalar_one()
    if counts.unparseable:
        context.log.warning(f"{counts.unparseable} stored raw price answer(s) could not be parsed and were skipped")
    return dg.MaterializeResult(
        metadata={
            "rows_opened": counts.opened,
            "rows_closed": counts.closed,
            "products_changed": counts.products_changed,
            "raw_answers_read": counts.answers_read,
            "unparseable_raw_answers": counts.unparseable,
            "nothing_changed": counts.written == 0,
            "rebuilt": config.rebuild,
            "products_tracked": products,
            f"changes_last_{REPORT_DAYS}_days": len(moves),
            "biggest_moves_this_week": moves_markdown(moves),
            "dagster/row_count": total,
            "dagster/column_schema": table_schema(tables.product_price_history),
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
        }
    )


@dg.asset_check(asset=product_price_history, name="one_open_row_per_product",
                description="Each product has exactly one open-ended row, and no row ends before it starts.")
def one_open_row_per_product(catalog: CatalogResource) -> dg.AssetCheckResult:
    with catalog.begin() as conn:
        problems = history_problems(conn)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": markdown_list(problems)},
    )
