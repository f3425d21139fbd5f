"""Image URLs that must never be fetched: other schemes, cloud metadata, private networks, redirects there, credentials.

Haier's listing is where image URLs come from, so the sandbox lies in it (and its image host
answers chosen paths with redirects). The gateway runs on 127.0.0.1, so loopback images are
allowed — private and link-local addresses are not. One full sync (module fixture): every bad URL
is refused before a connection is made (``blocked_url``, resolved addresses checked), or by the
image host's own answer, counted and named in the images log row, with no file and no row; the
product simply has no image, and the run succeeds.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.media.store import RELATIVE_PATH
from haier_pipeline.sandbox import Catalogue, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.poison import Poison
from support.bad_input import clean_codes, sync
from support.catalog_db import catalog_url_for_tests

pytestmark = pytest.mark.slow  # quick loop: every test reads one poisoned full sync (docs/testing.md)

PRODUCTS, SEED = 60, 41
BLOCKED = "blocked_url"

URLS = {  # case -> (productImageUrl, what the refusal says)
    "file scheme": ("file:///etc/passwd", "scheme 'file' is not http or https"),
    "cloud metadata": (
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "resolves to a non-public address (169.254.169.254)",
    ),
    "Alibaba metadata": (
        "http://100.100.100.200/latest/meta-data/",
        "resolves to a non-public address (100.100.100.200)",
    ),
    "private network": ("http://10.0.0.7/images/a.jpg", "resolves to a non-public address (10.0.0.7)"),
    "unspecified address": ("http://0.0.0.0/a.jpg", "resolves to a non-public address (0.0.0.0)"),
    "IPv4-mapped metadata": ("http://[::ffff:169.254.169.254]/", "resolves to a non-public address"),
    "credentials in the URL": ("http://admin:hunter2@localhost/a.jpg", "URLs with user credentials are not fetched"),
    "javascript": ("javascript:alert(document.cookie)", "scheme 'javascript' is not http or https"),
    "data URL": ("data:image/png;base64,iVBORw0KGgo=", "scheme 'data' is not http or https"),
    "gopher to redis": ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme 'gopher' is not http or https"),
    "path traversal": ("@BASE@/images/../../../../etc/passwd", "http_error (HTTP 404)"),
    "encoded traversal": ("@BASE@/images/..%2f..%2f..%2fetc%2fpasswd.jpg", "http_error (HTTP 404)"),
}
REDIRECTS = {  # case -> (where the product's own image path redirects, what the refusal says)
    "redirect to metadata": (
        "http://169.254.169.254/latest/meta-data/",
        "resolves to a non-public address (169.254.169.254)",
    ),
    "redirect to a private host": ("http://192.168.1.1/router.jpg", "resolves to a non-public address (192.168.1.1)"),
    "redirect to a file": ("file:///etc/shadow", "scheme 'file' is not http or https"),
    "redirect loop": ("SELF", "more than 3 redirects"),
}


@pytest.fixture(scope="module")
def images(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("bad-images")
    truth = Catalogue(PRODUCTS, SEED)
    codes = clean_codes(truth, procurable=False)
    code_of = dict(zip([*URLS, *REDIRECTS], codes, strict=False))
    fields = {code_of[case]: {"productImageUrl": url, "productLageUrls": []} for case, (url, _) in URLS.items()}
    redirects = {}
    for case, (target, _) in REDIRECTS.items():
        path = urlsplit(truth.expected_products()[code_of[case]].image_url).path
        fields[code_of[case]] = {"productLageUrls": []}
        redirects[path] = path if target == "SELF" else target
    url = catalog_url_for_tests(tmp, request)
    options = SandboxOptions(products=PRODUCTS, seed=SEED, rate_limit=None,
                             poison=Poison(fields={"products": fields}, redirects=redirects))
    with run_sandbox(options) as sandbox:
        done = sync(sandbox, url, tmp)
        served = sandbox.stats()
    yield done, code_of, served
    release_database(url)


def refusal(done, url: str) -> str:
    """The images log row's line about ``url`` (as shown: credentials and query hidden)."""
    from haier_pipeline.media.rejections import display_url

    message = done.log("images")["message"]
    prefix = f"images: {display_url(url)}: "
    return message.split(prefix, 1)[1].split("; images: ")[0] if prefix in message else ""


def test_the_run_succeeds_and_no_bad_url_leaves_a_trace(images):
    done, code_of, _ = images
    assert done.result.success, [e.message for e in done.result.all_events if e.is_failure]
    rows = done.rows("products")
    for code in code_of.values():
        assert rows[code]["main_images"] == [] and rows[code]["detail_images"] == []
    media = done.rows("media_images", key="file")
    sources = {row["original_url"] for row in media.values()}
    assert not {url for url, _ in URLS.values()} & sources
    assert all(RELATIVE_PATH.match(name) for name in media)
    log = done.log("images")
    assert log["status"] == "partial" and log["failed_count"] >= len(URLS) + len(REDIRECTS)


@pytest.mark.parametrize("case", list(URLS))
def test_a_bad_image_url_is_refused_and_named(images, case):
    done, _, _ = images
    url, reason = URLS[case]
    line = refusal(done, url.replace("@BASE@", done.base_url))
    assert reason in line, line or done.log("images")["message"][:2000]
    assert "hunter2" not in done.log("images")["message"]  # a URL's password is never shown


@pytest.mark.parametrize("case", list(REDIRECTS))
def test_a_redirect_somewhere_bad_is_refused_at_that_hop(images, case):
    done, code_of, served = images
    image_url = done.truth.expected_products()[code_of[case]].image_url
    line = refusal(done, image_url)
    reason = REDIRECTS[case][1]
    assert reason in line and (BLOCKED in line), line or done.log("images")["message"][:2000]
    assert served.image_requests > 0
