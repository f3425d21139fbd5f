"""The sandbox's image host: real pictures made with Pillow, and the broken files a real CDN serves too.

Every image is a pure function of ``(seed, path)``. Most are small JPEG/PNG/WebP/GIF pictures (64-320
px); about 8 % sit behind an extension that lies about their format, and the ``Content-Type`` always
follows the extension, as a CDN's does. About 2 % are broken: an HTML page served as ``image/jpeg``
(``not_image``), a 404 (``missing``), a tiny PNG declaring 20000×20000 pixels (``bomb``), a file cut
short (``truncated``) or a valid PNG padded to 12 MiB (``oversized``). :func:`image_truth` tells
tests what each URL is.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw

from .hashing import Draws

ImageKind = Literal["ok", "not_image", "missing", "bomb", "truncated", "oversized"]
IMAGE_PATH = re.compile(r"^/images/([0-9A-Z]{9})/(main|page[1-3])\.(jpg|jpeg|png|webp|gif)$")
FORMAT_OF_EXTENSION = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
CONTENT_TYPE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
BOMB_SIDE = 20_000
OVERSIZED_PADDING = 12 * 1024 * 1024
LYING_SHARE = 0.08
# per-mille upper bounds of each broken kind; everything above is "ok"
_BROKEN: tuple[tuple[ImageKind, int], ...] = (
    ("not_image", 5), ("missing", 10), ("bomb", 13), ("truncated", 17), ("oversized", 20))


@dataclass(frozen=True)
class ImageTruth:
    """What a URL really serves. ``sha256`` is of the served bytes and only set for ``ok`` images."""

    kind: ImageKind
    sha256: str | None
    width: int | None
    height: int | None
    format: str | None  # Pillow's name for the bytes' real format (JPEG, PNG, WEBP, GIF)


@dataclass(frozen=True)
class ServedImage:
    """One HTTP answer of the image host."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class _Spec:
    kind: ImageKind
    format: str
    width: int
    height: int
    content_type: str


def _spec(seed: int, path: str) -> _Spec | None:
    match = IMAGE_PATH.match(path)
    if match is None:
        return None
    declared = FORMAT_OF_EXTENSION[match.group(3)]
    draws = Draws(seed, "image", path)
    roll = draws.below(1000)
    kind: ImageKind = next((name for name, bound in _BROKEN if roll < bound), "ok")
    real = declared
    if draws.chance(LYING_SHARE):
        real = draws.pick([name for name in CONTENT_TYPE if name != declared])
    if kind == "bomb":
        real = "PNG"
    return _Spec(kind, real, 64 + draws.below(257), 64 + draws.below(257), CONTENT_TYPE[declared])


@lru_cache(maxsize=2048)
def _picture(seed: int, path: str, fmt: str, width: int, height: int) -> bytes:
    draws = Draws(seed, "picture", path)
    colour = lambda: (draws.below(256), draws.below(256), draws.below(256))  # noqa: E731
    image = Image.new("RGB", (width, height), colour())
    pen = ImageDraw.Draw(image)
    for _ in range(3 + draws.below(4)):
        x0, y0 = draws.below(width), draws.below(height)
        box = (x0, y0, x0 + 8 + draws.below(width), y0 + 8 + draws.below(height))
        (pen.ellipse if draws.chance(0.5) else pen.rectangle)(box, fill=colour())
    pen.text((4, 4), path.split("/")[2], fill=(255, 255, 255))
    out = io.BytesIO()
    if fmt == "GIF":
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(out, "GIF")
    elif fmt == "JPEG":
        image.save(out, "JPEG", quality=82)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=80, method=4)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=1)
def bomb_png() -> bytes:
    """A valid 1-bit PNG of 20000×20000 pixels, about 50 KB on the wire (400 megapixels once decoded)."""
    squeezer = zlib.compressobj(9)
    rows = (b"\x00" + bytes(BOMB_SIDE // 8)) * 500  # filter byte + one row of black, 500 rows at a time
    data = b"".join(squeezer.compress(rows) for _ in range(BOMB_SIDE // 500)) + squeezer.flush()
    header = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


@lru_cache(maxsize=1)
def _padding_chunk() -> bytes:
    return _chunk(b"paDd", bytes(OVERSIZED_PADDING))  # ancillary, private, safe-to-copy: decoders skip it


def serve_image(seed: int, path: str) -> ServedImage:
    """The image host's answer for ``path``."""
    spec = _spec(seed, path)
    if spec is None or spec.kind == "missing":
        return ServedImage(404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>")
    if spec.kind == "not_image":
        page = "<html><head><title>图片维护中</title></head><body><p>该图片暂时无法访问</p></body></html>"
        return ServedImage(200, spec.content_type, page.encode("utf-8"))
    if spec.kind == "bomb":
        return ServedImage(200, spec.content_type, bomb_png())
    if spec.kind == "oversized":
        png = _picture(seed, path, "PNG", spec.width, spec.height)
        return ServedImage(200, spec.content_type, png[:-12] + _padding_chunk() + png[-12:])
    picture = _picture(seed, path, spec.format, spec.width, spec.height)
    if spec.kind == "truncated":
        picture = picture[: len(picture) * 11 // 20]
    return ServedImage(200, spec.content_type, picture)


def image_kind(seed: int, path: str) -> ImageKind:
    """``ok``, or how the image behind ``path`` is broken (``missing`` for a path the host does not know)."""
    spec = _spec(seed, path)
    return spec.kind if spec is not None else "missing"


def write_served_image(seed: int, path: str, target: Path) -> ServedImage:
    """Write to ``target`` the body served for ``path`` (no file for a 404), for a static host serving the same bytes.

    The 12 MiB padding of an oversized PNG is left as a hole in a sparse file: the bytes read back are the
    same, the disk holds only the picture.
    """
    served = serve_image(seed, path)
    if served.status != 200:
        return served
    body, padding = served.body, _padding_chunk()
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        if len(body) > len(padding) and body[-12 - len(padding):-12] == padding:
            handle.write(body[:-12 - len(padding)] + padding[:8])  # the picture, the chunk's length and type
            handle.seek(len(padding) - 12, os.SEEK_CUR)  # its zero bytes: a hole
            handle.write(padding[-4:] + body[-12:])  # its CRC, the picture's IEND
        else:
            handle.write(body)
    return served


def image_truth(seed: int, path: str) -> ImageTruth:
    """The ground truth for ``path``; renders the picture (cached) when it is an ``ok`` one."""
    spec = _spec(seed, path)
    if spec is None or spec.kind in ("missing", "not_image"):
        return ImageTruth(spec.kind if spec else "missing", None, None, None, None)
    if spec.kind == "bomb":
        return ImageTruth("bomb", None, BOMB_SIDE, BOMB_SIDE, "PNG")
    fmt = "PNG" if spec.kind == "oversized" else spec.format
    digest = hashlib.sha256(serve_image(seed, path).body).hexdigest() if spec.kind == "ok" else None
    return ImageTruth(spec.kind, digest, spec.width, spec.height, fmt)
