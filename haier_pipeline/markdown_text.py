"""Text from Haier (names, codes, messages, URLs) made inert before it goes into markdown metadata.

The Dagster UI renders ``MetadataValue.md`` as markdown in engineers' browsers. A product name
holding ``![](https://tracker.example/p.gif)`` or ``<img src=…>`` would make every browser that
opens the asset load a remote image (telling its host who looked, and when), and a link could
lead anywhere. So such text goes in as a code span: markdown shows a code span's content as
written — no image, link, autolink, HTML or emphasis — and a fence longer than any run of
backticks inside keeps the value from closing it. Line breaks become spaces, and in a table
cell ``|`` is escaped (GFM drops the backslash there), so the value stays on its line and in its cell.
"""

from __future__ import annotations

import re

_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")


def escape_markdown(value: object, *, table_cell: bool = False) -> str:
    """``value`` as a one-line markdown code span that renders literally (empty text stays empty)."""
    text = _BREAKS.sub(" ", str(value))
    if table_cell:
        text = text.replace("|", "\\|")
    if not text.strip():
        return text.strip()
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"
