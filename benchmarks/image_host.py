"""A static image host for the benchmarks: the sandbox's pictures rendered once to files, served by nginx.

In production the images come from Haier's CDN, on other machines: serving them costs this
machine nothing. The sandbox instead draws each picture with Pillow when it is asked, in the
same Python process that answers the gateway, so on a 2-core machine the benchmark's image host
would take a core from the pipeline it measures. Here every URL of the catalogue is rendered
once, before any timing, to the same bytes the sandbox would serve (``serve_image``; a 404 is a
missing file, the 12 MiB padding of an oversized PNG a hole in a sparse file), and Debian's
``nginx`` serves them on 127.0.0.1 with the ``Content-Type`` of the extension, as a CDN does.
The sandbox's listing points at it (``SandboxOptions.image_host``).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from haier_pipeline.sandbox.catalogue import Catalogue
from haier_pipeline.sandbox.images import image_kind, write_served_image

NGINX = Path("/usr/sbin/nginx")
CONFIG = """
user {user};
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    types {{ image/jpeg jpg jpeg; image/png png; image/webp webp; image/gif gif; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def available() -> bool:
    return NGINX.exists()


@dataclass(frozen=True)
class StaticImageHost:
    """The running host, and the SHA-256 of every good image it serves (by URL path): what must end up stored."""

    base_url: str
    good: dict[str, str]


def render_images(catalogue: Catalogue, root: Path) -> dict[str, str]:
    """Write what the sandbox serves for every image URL of ``catalogue`` under ``root`` (in as many processes as
    there are cores); returns the SHA-256 of each good image by URL path."""
    paths = catalogue.image_paths()
    good: dict[str, str] = {}
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for part in pool.map(_render, [(catalogue.seed, root, paths[i::64]) for i in range(64)]):
            good.update(part)
    return good


def _render(job: tuple[int, Path, list[str]]) -> dict[str, str]:
    seed, root, paths = job
    good: dict[str, str] = {}
    for path in paths:
        served = write_served_image(seed, path, root / path.lstrip("/"))
        if served.status == 200 and image_kind(seed, path) == "ok":
            good[path] = hashlib.sha256(served.body).hexdigest()
    return good


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def static_image_host(catalogue: Catalogue, workdir: Path) -> Iterator[StaticImageHost]:
    """Render ``catalogue``'s images into ``workdir`` and serve them with nginx."""
    root, prefix = workdir / "images-root", workdir / "nginx"
    for folder in (root, prefix / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    good = render_images(catalogue, root)
    print(f"image host: {len(good)} good images rendered in {time.perf_counter() - started:.1f} s, served by nginx")
    port = _free_port()
    (prefix / "nginx.conf").write_text(CONFIG.format(user=getpass.getuser(), prefix=prefix, port=port, root=root))
    process = subprocess.Popen([str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, process)
        yield StaticImageHost(f"http://127.0.0.1:{port}", good)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx exited: {process.stderr.read().decode(errors='replace') if process.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # nginx is another process: poll until it listens
    raise RuntimeError("nginx did not listen within 10 s")
