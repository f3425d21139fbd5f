"""Validation decodes with Pillow: real JPEG/PNG/WebP/GIF only, whatever the URL or Content-Type claims."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from test_media_support import make_image

from haier_pipeline.media.rejections import (
    DECOMPRESSION_BOMB,
    NOT_AN_IMAGE,
    TRUNCATED,
    UNSUPPORTED_FORMAT,
    ImageRejected,
)
from haier_pipeline.media.validate import validate_image
from haier_pipeline.sandbox.images import bomb_png

LIMIT = 40_000_000


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [
        ("JPEG", "jpg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
        ("GIF", "gif", "image/gif"),
    ],
)
def test_each_allowed_format_is_kept_with_facts_from_the_decoded_bytes(
    fmt: str, extension: str, content_type: str
) -> None:
    data = make_image(fmt, (123, 45))
    facts = validate_image(data, LIMIT)
    assert (facts.format, facts.extension, facts.content_type) == (fmt, extension, content_type)
    assert (facts.width, facts.height, facts.size) == (123, 45, len(data))
    assert facts.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_files_are_rejected(fmt: str) -> None:
    image = Image.effect_noise((300, 200), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    data = out.getvalue()
    for cut in (len(data) // 2, len(data) * 9 // 10, 40):
        with pytest.raises(ImageRejected) as caught:
            validate_image(data[:cut], LIMIT)
        assert caught.value.reason == TRUNCATED, (fmt, cut, caught.value)


def test_a_decompression_bomb_is_rejected_from_its_header() -> None:
    with pytest.raises(ImageRejected) as caught:
        validate_image(bomb_png(), LIMIT)
    assert caught.value.reason == DECOMPRESSION_BOMB


def test_the_pixel_ceiling_is_the_configured_one() -> None:
    data = make_image("PNG", (100, 100))
    assert validate_image(data, 10_000).width == 100
    with pytest.raises(ImageRejected) as caught:
        validate_image(data, 9_999)
    assert caught.value.reason == DECOMPRESSION_BOMB and "10000 pixels" in caught.value.detail


@pytest.mark.parametrize(("body", "reason"), [
    (b"", NOT_AN_IMAGE),
    (b"<html><body>404</body></html>", NOT_AN_IMAGE),
    (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", NOT_AN_IMAGE),
    (b"%PDF-1.7\n", UNSUPPORTED_FORMAT),
    (b"just some text that is not an image at all", NOT_AN_IMAGE),
])
def test_non_images_are_rejected(body: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        validate_image(body, LIMIT)
    assert caught.value.reason == reason


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_image_formats_are_refused_by_name(fmt: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        validate_image(make_image(fmt, (32, 32)), LIMIT)
    assert caught.value.reason == UNSUPPORTED_FORMAT and fmt in caught.value.detail


def test_the_extension_follows_the_bytes_not_the_name_or_header() -> None:
    png_named_jpg = make_image("PNG")
    assert validate_image(png_named_jpg, LIMIT).extension == "png"
