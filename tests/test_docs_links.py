"""The README and the docs/ pages hold together: every relative link leads to a file (and, with a
#fragment, to a heading of that file), every docs/ page is linked from the README, and the README
stays short enough to read first (<= 200 lines)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 200

pytestmark = pytest.mark.catalog_independent  # reads files only: once, in the SQLite pass


def markdown_files(root: Path = ROOT) -> list[Path]:
    """README.md and every page under docs/."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _tokens(text: str):
    parser = MarkdownIt("commonmark").enable("table")
    for token in parser.parse(text):
        yield token
        yield from token.children or ()


def link_targets(text: str) -> list[str]:
    """The targets of the markdown links in the text (code spans and fenced code excluded)."""
    return [str(token.attrs["href"]) for token in _tokens(text) if token.type == "link_open"]


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of the text's headings: lower case, punctuation dropped, spaces to hyphens,
    a repeated heading numbered -1, -2, ..."""
    anchors: set[str] = set()
    tokens = list(_tokens(text))
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        slug = re.sub(r"[^\w\- ]", "", inline.content.strip().lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def broken_links(files: list[Path]) -> list[str]:
    """Each relative link of the files that leads nowhere, as 'file: target (why)'."""
    broken = []
    for source in files:
        for target in link_targets(source.read_text(encoding="utf-8")):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith("mailto:"):
                continue  # external: not this check's business
            path = source if not parts.path else (source.parent / unquote(parts.path)).resolve()
            where = source.name if source.parent.name != "docs" else f"docs/{source.name}"
            if not path.exists():
                broken.append(f"{where}: {target} (no such file)")
            elif parts.fragment and path.suffix == ".md":
                if unquote(parts.fragment) not in heading_anchors(path.read_text(encoding="utf-8")):
                    broken.append(f"{where}: {target} (no such heading)")
    return broken


def test_every_relative_link_resolves():
    assert broken_links(markdown_files()) == []


def test_readme_fits_on_a_few_screens():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail to docs/"


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / urlsplit(t).path).resolve() for t in link_targets(README.read_text(encoding="utf-8"))}
    unlinked = [p.name for p in markdown_files()[1:] if p.resolve() not in linked]
    assert unlinked == [], f"docs pages the README does not link (add them to its Topics list): {unlinked}"


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ("[gone](missing.md)", "no such file"),
        ("[gone](README.md#no-such-heading)", "no such heading"),
        ("see [docs](docs/missing-page.md#x) too", "no such file"),
    ],
)
def test_a_broken_link_is_found(tmp_path, page, why):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(f"# Title\n\n{page}\n\n`[in code](not-a-link.md)`\n")
    (tmp_path / "docs" / "fine.md").write_text("# Fine\n\n[back](../README.md#title)\n")
    found = broken_links(markdown_files(tmp_path))
    assert len(found) == 1 and why in found[0], found
