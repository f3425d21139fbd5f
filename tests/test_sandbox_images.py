"""The sandbox's image host: real pictures that match the ground truth, and each kind of broken file."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from haier_pipeline.sandbox import ImageTruth, RunningSandbox, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.images import BOMB_SIDE, FORMAT_OF_EXTENSION, OVERSIZED_PADDING


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SandboxOptions(products=300, seed=4, rate_limit=1)) as running:
        yield running


@pytest.fixture(scope="module")
def truth(sandbox: RunningSandbox) -> dict[str, ImageTruth]:
    return sandbox.catalogue.expected_images()


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_every_kind_is_present(truth: dict[str, ImageTruth]) -> None:
    kinds = Counter(t.kind for t in truth.values())
    assert set(kinds) == {"ok", "not_image", "missing", "bomb", "truncated", "oversized"}
    assert 0.005 < (len(truth) - kinds["ok"]) / len(truth) < 0.04


def test_ok_images_decode_and_match_the_truth(truth: dict[str, ImageTruth]) -> None:
    ok = [(url, t) for url, t in truth.items() if t.kind == "ok"]
    formats, lying = Counter(), 0
    with requests.Session() as session:
        for url, expected in ok[:300]:  # no token, and far beyond the 1 call/s business rate limit
            response = session.get(url, timeout=10)
            assert response.status_code == 200
            assert hashlib.sha256(response.content).hexdigest() == expected.sha256
            image = _open(response.content)
            assert (image.format, image.width, image.height) == (expected.format, expected.width, expected.height)
            assert 64 <= image.width <= 320 and 64 <= image.height <= 320
            formats[image.format] += 1
            lying += FORMAT_OF_EXTENSION[url.rsplit(".", 1)[1]] != image.format
    assert set(formats) == {"JPEG", "PNG", "WEBP", "GIF"}
    assert lying > 0  # some URLs say .jpg and serve a PNG (or another format)


def test_broken_images_break_as_declared(sandbox: RunningSandbox, truth: dict[str, ImageTruth]) -> None:
    broken = {url: t for url, t in truth.items() if t.kind != "ok"}
    for url, expected in broken.items():
        response = requests.get(url, timeout=30)
        if expected.kind == "missing":
            assert response.status_code == 404
            continue
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("image/")
        if expected.kind == "not_image":
            assert b"<html" in response.content
            with pytest.raises(Image.UnidentifiedImageError):
                _open(response.content)
        elif expected.kind == "bomb":
            assert len(response.content) < 200_000
            with warnings.catch_warnings(), pytest.raises(Image.DecompressionBombError):
                warnings.simplefilter("ignore")
                Image.open(io.BytesIO(response.content))
            assert (expected.width, expected.height) == (BOMB_SIDE, BOMB_SIDE)
        elif expected.kind == "truncated":
            with pytest.raises(OSError):
                _open(response.content)
        elif expected.kind == "oversized":
            assert len(response.content) > OVERSIZED_PADDING
            assert _open(response.content).size == (expected.width, expected.height)
    assert sandbox.stats().total_calls == 0  # images are not gateway calls


def test_unknown_image_paths_are_404(sandbox: RunningSandbox) -> None:
    code = sandbox.catalogue.listing_codes()[0]
    for path in (f"/images/{code}/page9.jpg", "/images/ZZ0000000/main.jpg", "/images/../etc/passwd"):
        assert requests.get(sandbox.base_url + path, timeout=10).status_code == 404
