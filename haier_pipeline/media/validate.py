"""Decide with Pillow whether downloaded bytes are a real image worth keeping.

The URL's extension and the server's Content-Type are never trusted: only bytes that Pillow
opens as JPEG, PNG, WebP or GIF, that pass ``verify()`` and then fully ``load()`` (which
catches truncated files), and whose pixel count is under the ceiling are kept. The pixel
ceiling is checked from the header before any pixel is decoded, so a decompression bomb
costs a header read. Pillow's own bomb guard (process-wide ``Image.MAX_IMAGE_PIXELS``) is left
alone: its ``DecompressionBombError`` becomes a rejection too, and its warning (above Pillow's
limit, below twice it) is moot because the project's lower ceiling rejects those images anyway.
Warnings filters are not touched here: they are process-global and validation runs in threads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, UnidentifiedImageError

from .rejections import DECOMPRESSION_BOMB, NOT_AN_IMAGE, TRUNCATED, UNSUPPORTED_FORMAT, ImageRejected

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"),
           "GIF": ("gif", "image/gif")}
EXTENSIONS = frozenset(ext for ext, _ in FORMATS.values())


@dataclass(frozen=True)
class ImageFacts:
    """What a validated image is, as recorded in ``media_images``."""

    format: str
    extension: str
    content_type: str
    width: int
    height: int
    size: int
    sha256: str


def _open(data: bytes) -> Image.Image:
    # Only the four allowed decoders are tried, so no other Pillow plugin ever parses untrusted bytes.
    return Image.open(BytesIO(data), formats=list(FORMATS))


def validate_image(data: bytes, max_pixels: int) -> ImageFacts:
    """Facts about ``data`` when it is a complete JPEG/PNG/WebP/GIF within ``max_pixels``; else ``ImageRejected``."""
    if not data:
        raise ImageRejected(NOT_AN_IMAGE, "empty body")
    try:
        with _open(data) as image:
            width, height, kind = image.width, image.height, image.format
            _check_pixels(width, height, max_pixels)
            image.verify()
        with _open(data) as image:
            image.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(DECOMPRESSION_BOMB, f"Pillow refused it: {str(exc)[:120]}") from None
    except UnidentifiedImageError:
        raise _unidentified(data) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure on untrusted bytes is a rejection, not a crash
        raise ImageRejected(TRUNCATED, f"does not decode fully ({type(exc).__name__}: {str(exc)[:100]})") from None
    if kind not in FORMATS:
        raise ImageRejected(UNSUPPORTED_FORMAT, f"format {kind!r} is not JPEG, PNG, WebP or GIF")
    extension, content_type = FORMATS[kind]
    return ImageFacts(kind, extension, content_type, width, height, len(data), hashlib.sha256(data).hexdigest())


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageRejected(NOT_AN_IMAGE, f"empty canvas {width}x{height}")
    if width * height > max_pixels:
        raise ImageRejected(
            DECOMPRESSION_BOMB, f"{width}x{height} = {width * height} pixels, over the {max_pixels}-pixel ceiling"
        )


# Magic numbers of formats Pillow could read but this project refuses, named in the rejection.
OTHER_FORMATS = ((b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x00\x00\x01\x00", "ICO"),
                 (b"%PDF", "PDF"), (b"%!PS", "PostScript"), (b"\x00\x00\x00\x0cjP", "JPEG 2000"))


ALLOWED_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))


def _unidentified(data: bytes) -> ImageRejected:
    allowed = next((name for magic, name in ALLOWED_MAGIC if data.startswith(magic)), None)
    if allowed is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        allowed = "WEBP"
    if allowed is not None:
        return ImageRejected(TRUNCATED, f"starts as {allowed} but its header does not decode (truncated or corrupt)")
    for magic, name in OTHER_FORMATS:
        if data.startswith(magic):
            return ImageRejected(UNSUPPORTED_FORMAT, f"{name} is not JPEG, PNG, WebP or GIF")
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<svg")):
        return ImageRejected(NOT_AN_IMAGE, "markup (HTML/XML/SVG), not a raster image")
    return ImageRejected(NOT_AN_IMAGE, "not a recognisable JPEG, PNG, WebP or GIF")
