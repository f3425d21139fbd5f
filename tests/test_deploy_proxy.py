"""The deployment's access control, for real: Debian's nginx from ``deploy/run-proxy.sh`` in front of
``dagster dev`` (operators: webserver + daemon) and ``dagster-webserver --read-only`` (viewers), both
bound to 127.0.0.1 and sharing one DAGSTER_HOME.

Anonymous requests get 401 on every path of both sides (GraphQL GET, POST and WebSocket upgrade,
static files); a viewer sees the asset graph and the runs in Chromium but ``launchRun`` is refused
and viewer logins do not open the operators' side; an operator launches a run that succeeds.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, require_tool, show_asset_graph
from support.dagster_dev import (
    LAUNCH_RUN,
    LOCATION_NAME,
    PROJECT_ROOT,
    RUN_STATUS,
    dagster_dev,
    free_port,
    read_only_webserver,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NGINX = Path("/usr/sbin/nginx")
HTPASSWD = "htpasswd"
RUN_PROXY = PROJECT_ROOT / "deploy" / "run-proxy.sh"
READY_TIMEOUT = 30.0
RUN_TIMEOUT = 240.0
PAGE_TIMEOUT_MS = 60_000
CHEAP_JOB = "media_cleanup_job"  # dry run by default: opens the catalogue, deletes nothing
ASSETS = ["haier_raw_products", "products", "product_images", "media_cleanup"]
RUNS_QUERY = "query { runsOrError { __typename ... on Runs { results { runId } } } }"
PROBE_PATHS = ["/", "/graphql", "/graphql/", "//graphql", "/GRAPHQL", "/%67raphql", "/./graphql", "/runs",
               "/asset-groups", "/assets/products", "/overview", "/server_info", "/dagit_info", "/favicon.ico",
               "/manifest.json", "/download/debug/x", "/logs/x/compute_logs/y", "/nonexistent"]


@dataclass(frozen=True)
class Login:
    user: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    @property
    def header(self) -> str:
        return "Basic " + b64encode(f"{self.user}:{self.password}".encode()).decode()


@dataclass
class Deployment:
    operator_url: str
    viewer_url: str
    operator: Login
    viewer: Login
    proxy_dir: Path


def htpasswd(path: Path, login: Login) -> None:
    subprocess.run([HTPASSWD, "-B", "-b", "-c", str(path), login.user, login.password],
                   check=True, capture_output=True)
    path.chmod(0o644)  # nginx's workers run as nobody


def wait_for_401(url: str, proxy: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proxy.poll() is not None:
            raise RuntimeError(f"nginx exited with {proxy.returncode}: {log.read_text(errors='replace')}")
        try:
            if requests.get(url, timeout=2).status_code == 401:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)  # nginx is another process: poll it
    raise RuntimeError(f"nginx did not answer on {url} within {READY_TIMEOUT:.0f} s")


@pytest.fixture(scope="module")
def proxy_dir() -> Iterator[Path]:
    # Not under pytest's 0700 tmp tree: nginx's workers (user nobody) must read the password files.
    path = Path(tempfile.mkdtemp(prefix="haier-proxy-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, proxy_dir) -> Iterator[Deployment]:
    require_tool(NGINX, "nginx-light")
    require_tool(HTPASSWD, "apache2-utils")
    require_chromium()
    operator = Login("operator", secrets.token_urlsafe(12))
    viewer = Login("viewer", secrets.token_urlsafe(12))
    htpasswd(proxy_dir / "operators.htpasswd", operator)
    htpasswd(proxy_dir / "viewers.htpasswd", viewer)
    data = tmp_path_factory.mktemp("data")
    env = {
        "HAIER_SANDBOX": "1",
        "HAIER_DATA_DIR": str(data),
        "HAIER_CATALOG_DB_URL": f"sqlite:///{data / 'catalog.sqlite'}",
        "HAIER_MEDIA_ROOT": str(data / "media"),
    }
    home = tmp_path_factory.mktemp("dagster_home")
    with dagster_dev(home, env) as full, read_only_webserver(home, env) as read_only:
        assert full.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
        operator_port, viewer_port = free_port(), free_port()
        log = proxy_dir / "run-proxy.log"
        proxy_env = {
            **os.environ,
            "PROXY_PREFIX": str(proxy_dir / "nginx"),
            "OPERATOR_HTPASSWD": str(proxy_dir / "operators.htpasswd"),
            "VIEWER_HTPASSWD": str(proxy_dir / "viewers.htpasswd"),
            "OPERATOR_LISTEN": f"127.0.0.1:{operator_port}",
            "VIEWER_LISTEN": f"127.0.0.1:{viewer_port}",
            "OPERATOR_UPSTREAM": full.url.removeprefix("http://"),
            "VIEWER_UPSTREAM": read_only.url.removeprefix("http://"),
        }
        with log.open("wb") as out:
            proxy = subprocess.Popen(["bash", str(RUN_PROXY)], env=proxy_env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deployment = Deployment(f"http://127.0.0.1:{operator_port}", f"http://127.0.0.1:{viewer_port}",
                                    operator, viewer, proxy_dir)
            wait_for_401(deployment.operator_url, proxy, log)
            wait_for_401(deployment.viewer_url, proxy, log)
            yield deployment
        finally:
            os.killpg(proxy.pid, signal.SIGTERM)
            proxy.wait(timeout=30)


def graphql(url: str, login: Login, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                             auth=login.auth, timeout=30)
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def launch(url: str, login: Login) -> dict[str, Any]:
    params = {"selector": {"repositoryLocationName": LOCATION_NAME, "repositoryName": "__repository__",
                           "jobName": CHEAP_JOB}, "runConfigData": {}}
    return graphql(url, login, LAUNCH_RUN, {"params": params})["launchRun"]


def run_ids(url: str, login: Login) -> set[str]:
    return {run["runId"] for run in graphql(url, login, RUNS_QUERY)["runsOrError"]["results"]}


def upgrade_status(url: str, path: str, authorization: str | None) -> int:
    """The status a WebSocket handshake for GraphQL subscriptions gets through the proxy."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {b64encode(secrets.token_bytes(16)).decode()}", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: graphql-ws"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def static_paths(url: str, login: Login) -> list[str]:
    """Static files the UI's page loads (scripts, styles, icons), read from the page as a logged-in user."""
    page = requests.get(url + "/", auth=login.auth, timeout=30)
    assert page.status_code == 200
    found = sorted(
        {path for path in re.findall(r'(?:src|href)="(/[^"]+)"', page.text) if "." in path.rsplit("/", 1)[-1]}
    )
    assert found, "the UI's page names no static files"
    return found


@pytest.fixture(scope="module")
def operator_run(deployment: Deployment) -> str:
    result = launch(deployment.operator_url, deployment.operator)
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]
    deadline = time.monotonic() + RUN_TIMEOUT
    status = ""
    while time.monotonic() < deadline:
        status = graphql(deployment.operator_url, deployment.operator, RUN_STATUS, {"runId": run_id})["runOrError"][
            "status"
        ]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(0.5)  # the daemon runs it in another process: poll
    assert status == "SUCCESS", status
    return run_id


def test_anonymous_gets_401_on_every_path_of_both_sides(deployment: Deployment):
    assets = static_paths(deployment.operator_url, deployment.operator)
    for path in assets[:5]:  # they exist: with a login they are served...
        assert (
            requests.get(deployment.operator_url + path, auth=deployment.operator.auth, timeout=30).status_code == 200
        )
    stranger = Login("operator", "not-the-password")
    for url in (deployment.operator_url, deployment.viewer_url):
        for path in [*PROBE_PATHS, *assets]:  # ...and without one, nothing is
            for method in ("GET", "HEAD", "OPTIONS"):
                answer = requests.request(method, url + path, timeout=30, allow_redirects=False)
                assert answer.status_code == 401, (method, url, path, answer.status_code)
            assert requests.get(url + path, auth=stranger.auth, timeout=30).status_code == 401, (url, path)
        answer = requests.post(url + "/graphql", json={"query": RUNS_QUERY}, timeout=30)
        assert answer.status_code == 401 and "runsOrError" not in answer.text
        assert requests.get(url + "/graphql", params={"query": RUNS_QUERY}, timeout=30).status_code == 401
        assert upgrade_status(url, "/graphql", None) == 401
        assert 'Basic realm="haier_pipeline' in requests.get(url, timeout=30).headers["WWW-Authenticate"]


def test_graphql_subscriptions_upgrade_through_the_proxy_with_a_login(deployment: Deployment):
    assert upgrade_status(deployment.operator_url, "/graphql", deployment.operator.header) == 101
    assert upgrade_status(deployment.viewer_url, "/graphql", deployment.viewer.header) == 101


def test_viewer_logins_do_not_open_the_operators_side(deployment: Deployment):
    for path in ("/", "/graphql", "/runs"):
        assert requests.get(deployment.operator_url + path, auth=deployment.viewer.auth, timeout=30).status_code == 401
    answer = requests.post(deployment.operator_url + "/graphql", auth=deployment.viewer.auth, timeout=30,
                           json={"query": LAUNCH_RUN, "variables": {}})
    assert answer.status_code == 401
    assert upgrade_status(deployment.operator_url, "/graphql", deployment.viewer.header) == 401


def test_an_operator_launches_a_run_through_the_proxy(deployment: Deployment, operator_run: str):
    assert operator_run in run_ids(deployment.operator_url, deployment.operator)


def test_a_viewer_cannot_launch_a_run(deployment: Deployment, operator_run: str):
    before = run_ids(deployment.viewer_url, deployment.viewer)
    assert operator_run in before  # the viewer's webserver reads the same instance
    result = launch(deployment.viewer_url, deployment.viewer)
    assert result["__typename"] == "UnauthorizedError", result
    assert run_ids(deployment.operator_url, deployment.operator) == before


@pytest.fixture
def viewer_page(deployment: Deployment):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                          http_credentials={"username": deployment.viewer.user,
                                                            "password": deployment.viewer.password})
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def test_a_viewer_sees_the_asset_graph_and_the_runs_in_chromium(deployment: Deployment, operator_run: str, viewer_page):
    page = viewer_page
    statuses: list[int] = []
    page.on("response", lambda response: statuses.append(response.status))
    show_asset_graph(page, deployment.viewer_url, ASSETS)

    page.goto(f"{deployment.viewer_url}/runs")
    link = page.locator(f"a[href*='/runs/{operator_run}']").first
    link.wait_for(state="visible")
    assert link.inner_text().strip() == operator_run[:8]
    page.goto(f"{deployment.viewer_url}/runs/{operator_run}")
    page.get_by_text(CHEAP_JOB).first.wait_for(state="visible")
    assert statuses and 401 not in statuses  # every request of the page went through with the viewer's login
