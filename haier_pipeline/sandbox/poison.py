"""Bad answers on purpose, for chosen product codes: the bad-input tests' way to make the sandbox lie.

``SandboxOptions(poison=Poison(...))`` keeps every other answer honest and changes only:

- ``fields``: ``{endpoint: {product_code: {field: value}}}`` — fields overwritten in that product's
  record (``DROP`` removes the field, :class:`Raw` writes JSON text verbatim, e.g. ``Raw("1e999")``).
  ``endpoint`` is ``"products"`` (listing and by-code answers), ``"prices"`` or ``"stock"``.
- ``records``: ``{endpoint: {product_code: value}}`` — the whole record replaced by any JSON value
  (``DROP``: left out of the answer; a stock answer becomes ``null``).
- ``answers``: ``{(endpoint, product_code): Answer(...)}`` — the whole HTTP answer of every call that
  asks about that code (``"*"``: every call to the endpoint, e.g. the full listing) replaced
  verbatim: malformed JSON, an HTML page under 200, a ``success: false`` envelope.
- ``extra_listing``: records appended to the full listing (products Haier never had).
- ``redirects``: ``{image_path: location}`` — the image host answers 302 to ``location``.

In field values, extra records and redirect targets, ``@BASE@`` stands for the sandbox's own base
URL (unknown until it listens), so a poisoned image URL can point back at its image host.

In-process sandboxes only (``run_sandbox``): the command-line sandbox has no flag for it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from haier_pipeline.haier_api.jsonio import dumps

ANY_CODE = "*"
BASE = "@BASE@"
JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()  # as a field value: remove the field from the record


@dataclass(frozen=True)
class Raw:
    """JSON text written into the answer exactly as given (numbers the encoder cannot make, NUL escapes)."""

    json_text: str


@dataclass(frozen=True)
class Answer:
    """A whole HTTP answer, sent as is."""

    body: bytes
    status: int = 200
    content_type: str = JSON_TYPE


@dataclass(frozen=True)
class Poison:
    """Which answers lie, and how (see the module docstring)."""

    fields: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    answers: Mapping[tuple[str, str], Answer] = field(default_factory=dict)
    extra_listing: Sequence[Any] = ()
    redirects: Mapping[str, str] = field(default_factory=dict)

    def answer_for(self, endpoint: str, body: Mapping[str, Any]) -> Answer | None:
        """The replacement answer for a call, if any of the codes it asks about has one."""
        if not self.answers:
            return None
        codes = body.get("productCodes") if endpoint != "stock" else [body.get("productCode")]
        for code in [*(codes if isinstance(codes, list) else []), ANY_CODE]:
            found = self.answers.get((endpoint, code)) if isinstance(code, str) else None
            if found is not None:
                return found
        return None

    def listing(self, records: Sequence[Any], base_url: str = "") -> bytes:
        """The full listing with its poisoned records and the extra ones."""
        extra = _rebase(copy.deepcopy(list(self.extra_listing)), base_url)
        return self.encode([*self.patch("products", list(records), base_url=base_url), *extra])

    def redirect_for(self, path: str, base_url: str = "") -> str | None:
        target = self.redirects.get(path)
        return None if target is None else target.replace(BASE, base_url)

    def patch(self, endpoint: str, payload: Any, product_code: str | None = None, base_url: str = "") -> Any:
        """``payload`` (a record or a list of records) with this endpoint's poison applied."""
        if isinstance(payload, list):
            patched = (self._patch_one(endpoint, record, product_code, base_url) for record in payload)
            return [record for record in patched if record is not DROP]
        single = self._patch_one(endpoint, payload, product_code, base_url)
        return None if single is DROP else single

    def _patch_one(self, endpoint: str, record: Any, product_code: str | None, base_url: str) -> Any:
        code = product_code or (record.get("productCode") if isinstance(record, dict) else None)
        if not isinstance(code, str):
            return record
        replaced = self.records.get(endpoint, {})
        if code in replaced:
            return DROP if replaced[code] is DROP else _rebase(copy.deepcopy(replaced[code]), base_url)
        overrides = self.fields.get(endpoint, {}).get(code)
        if not overrides or not isinstance(record, dict):
            return record
        patched = dict(record)
        for name, value in overrides.items():
            if value is DROP:
                patched.pop(name, None)
            else:
                patched[name] = _rebase(copy.deepcopy(value), base_url)
        return patched

    def encode(self, payload: Any) -> bytes:
        """UTF-8 JSON of ``payload`` with every :class:`Raw` value spliced in verbatim."""
        raws: list[str] = []

        def swap(value: Any) -> Any:
            if isinstance(value, Raw):
                raws.append(value.json_text)
                return f"@@poison-raw-{len(raws) - 1}@@"
            if isinstance(value, dict):
                return {key: swap(item) for key, item in value.items()}
            if isinstance(value, list):
                return [swap(item) for item in value]
            return value

        text = dumps(swap(payload))
        for index, raw in enumerate(raws):
            text = text.replace(json.dumps(f"@@poison-raw-{index}@@"), raw, 1)
        return text.encode("utf-8")


def _rebase(value: Any, base_url: str) -> Any:
    if isinstance(value, str):
        return value.replace(BASE, base_url)
    if isinstance(value, list):
        return [_rebase(item, base_url) for item in value]
    if isinstance(value, dict):
        return {key: _rebase(item, base_url) for key, item in value.items()}
    return value
