"""Text from Haier (names, codes, messages, URLs) made inert before it goes into markdown metadata.

The Dagster UI renders ``MetadataValue.md`` as markdown in engineers' browsers. A product name
holding ``![](https://tracker.example/p.gif)`` or ``<img src=…>`` would make every browser that
opens the asset load a remote image (telling its host who looked, and when), and a link could
lead anywhere. Every ASCII punctuation character is backslash-escaped — CommonMark then shows
it as written — and line breaks become spaces, so the text cannot open an image, a link, HTML,
an autolink, a heading or a new table cell.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def escape_markdown(value: object) -> str:
    """``value`` as text that renders literally in markdown (one line, no markup)."""
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(value)))
