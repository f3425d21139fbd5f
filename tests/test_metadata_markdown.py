"""Haier's strings in markdown metadata render as text: no remote image loads, no link, no HTML, no extra cell.

Each helper that puts Haier data into ``MetadataValue.md`` is fed hostile values and its markdown
is rendered with a CommonMark renderer (raw HTML on, tables on, like the UI's): the output must
hold no ``<img>``, ``<a>``, raw HTML or heading, and must show the value as written.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from markdown_it import MarkdownIt

from haier_pipeline.catalog.balances import StoredBalance
from haier_pipeline.catalog.history import PriceMove
from haier_pipeline.defs.finance.assets import balances_markdown
from haier_pipeline.defs.metadata import failures_markdown, markdown_preview
from haier_pipeline.defs.sync.checks import problems_markdown
from haier_pipeline.defs.sync.history import moves_markdown
from haier_pipeline.markdown_text import escape_markdown

PIXEL = "http://127.0.0.1:9/pixel.gif"
HOSTILE = [
    f"![海尔]({PIXEL})",
    f'<img src="{PIXEL}" onerror="alert(1)">',
    "[点这里](javascript:alert(1))",
    f"<{PIXEL}>",
    f"[a]: {PIXEL}\n\n![a]",
    "EC6002 | 999 | fake cell",
    "ok\n# heading\n---",
    "www.example.com and https://example.com/x",
    "`code` *em* _em_ \\ back",
]
NOW = datetime(2025, 7, 1, tzinfo=UTC)
RENDER = MarkdownIt("commonmark", {"html": True}).enable("table")


def rendered(value) -> str:
    return RENDER.render(value.value if hasattr(value, "value") else value)


def assert_inert(output: str, hostile: str) -> None:
    for tag in ("<img", "<a ", "<h1", "<h2", "<hr", "<script", "<em", "<strong", "<br"):
        assert tag not in output, (tag, output)
    shown = html.unescape(output)
    assert " ".join(hostile.split()) in " ".join(shown.split()), output  # the value, as written (one line)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_markdown_helper_shows_haier_strings_as_text(hostile: str) -> None:
    one_line = " ".join(hostile.split())
    outputs = {
        "preview": rendered(markdown_preview([{"product_code": "GA0SZC00U", "name": hostile}])),
        "failures": rendered(failures_markdown([hostile])),
        "problems": rendered(problems_markdown([hostile], 1)),
        "moves": rendered(moves_markdown([PriceMove(hostile, hostile, Decimal("1"), Decimal("2"), None, None,
                                                    "1", "1", NOW)])),
        "balances": rendered(balances_markdown([StoredBalance("G1", hostile, hostile, None, Decimal("5"), NOW, None)])),
    }
    for name, output in outputs.items():
        assert_inert(output, one_line), name
    for name in ("preview", "moves", "balances"):  # a '|' in a value opens no extra cell
        header_cells = len(re.findall(r"<th[ >]", outputs[name]))
        rows = outputs[name].split("<tbody>")[1].split("</tr>")[:-1]
        assert rows and all(len(re.findall(r"<td[ >]", row)) == header_cells for row in rows), (name, outputs[name])


def test_escaped_text_renders_as_written_whatever_backticks_it_holds() -> None:
    for value in ("海尔 电热水器 EC6002", "a ` b", "``x``", "`", "![x](y) \\ <b> *i*", "ends with `"):
        output = RENDER.renderInline(escape_markdown(value))
        assert output.startswith("<code>") and output.endswith("</code>") and output.count("<code>") == 1, output
        assert html.unescape(output[6:-7]).strip() == value
    assert escape_markdown("a\r\nb\tc") == "`a b c`"
    assert escape_markdown("") == "" and escape_markdown(" \n") == ""
