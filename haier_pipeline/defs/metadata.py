"""Materialization metadata that makes the Dagster UI useful: counts, previews, schemas, health figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Table

from haier_pipeline.catalog.tables import LINEAGE
from haier_pipeline.markdown_text import escape_markdown
from haier_pipeline.resources import HaierApiResource

FAILURES_SHOWN = 20


def table_schema(table: Table) -> dg.TableSchema:
    """The table's columns with their descriptions: the ``doc=`` texts on the SQLAlchemy columns, the one source."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name=column.name, type=str(column.type), description=column.doc or "")
                 for column in table.columns]
    )


def columns_metadata(table: Table, *others: Table) -> dict[str, Any]:
    """Definition metadata for an asset writing ``table`` (its Columns tab) and ``others`` (a schema entry each).

    Given at definition time, the UI shows every column's meaning before any run. Columns whose ``info`` names
    the (table, column) pairs they come from (``tables.LINEAGE``) get ``dagster/column_lineage`` to those columns
    of the assets named like the tables.
    """
    metadata: dict[str, Any] = {
        "dagster/column_schema": table_schema(table),
        **{f"columns of {other.name}": dg.MetadataValue.table_schema(table_schema(other)) for other in others}}
    sources = {column.name: column.info[LINEAGE] for column in table.columns if LINEAGE in column.info}
    if sources:
        metadata["dagster/column_lineage"] = dg.TableColumnLineage(deps_by_column={
            name: [dg.TableColumnDep(asset_key=dg.AssetKey(source), column_name=column) for source, column in pairs]
            for name, pairs in sources.items()})
    return metadata


def markdown_preview(rows: Sequence[Mapping[Any, Any]], limit: int = 5, empty: str = "_no rows_") -> dg.MetadataValue:
    """The first ``limit`` rows as a markdown table (``empty`` when there are none): the project's one table helper.

    Every value is escaped: rows carry Haier's strings, which must not render as images or links.
    """
    if not rows:
        return dg.MetadataValue.md(empty)
    import pandas as pd  # imported when a table is drawn: pandas costs ~1 s of every process start

    frame = pd.DataFrame(
        [{key: escape_markdown(value, table_cell=True) for key, value in dict(row).items()} for row in rows[:limit]]
    )
    return dg.MetadataValue.md(frame.to_markdown(index=False))


def markdown_list(lines: Sequence[str], shown: int = FAILURES_SHOWN, total: int | None = None,
                  note: str = "") -> dg.MetadataValue:
    """The first ``shown`` lines as a markdown list, then how many more (of ``total``) there are.

    Each line is escaped: lines name Haier's codes, messages and URLs, which must not render as markup.
    """
    if not lines:
        return dg.MetadataValue.md("_none_")
    total = len(lines) if total is None else total
    out = [f"- {escape_markdown(line)}" for line in lines[:shown]]
    if total > shown:
        out.append(f"- … and {total - shown} more{note}")
    return dg.MetadataValue.md("\n".join(out))


def failures_markdown(failures: Sequence[str]) -> dg.MetadataValue:
    """A sync's failures, the rest left to ``haier_sync_log``."""
    return markdown_list(failures, note=" (see haier_sync_log)")


def write_metadata(counts: Any) -> dict[str, Any]:
    return {
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "rows_written": counts.inserted + counts.updated,
        "nothing_changed": counts.inserted + counts.updated == 0,
    }


def api_stats(haier_api: HaierApiResource) -> dict[str, Any]:
    """The client's counters now; take one at an asset's start and pass it to :func:`run_metadata`."""
    client = haier_api.get_client()
    return {**client.stats.snapshot(), "slots_missed": client.slots_missed}


