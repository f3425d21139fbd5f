"""``deploy/run-proxy.sh`` renders a config nginx accepts, and refuses set-ups that would leak or bypass logins.

Fast: ``--render`` only (nginx checks the config with ``-t``; nothing listens). The full proxy,
with both webservers and a browser, is ``test_deploy_proxy.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.browser import require_tool
from support.dagster_dev import PROJECT_ROOT

RUN_PROXY = PROJECT_ROOT / "deploy" / "run-proxy.sh"


@pytest.fixture
def files(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_tool("/usr/sbin/nginx", "nginx-light")
    require_tool("htpasswd", "apache2-utils")
    # pytest's own tmp folders are private to root; nginx's workers (nobody) must be able to read the password files
    with tempfile.TemporaryDirectory(prefix="proxy-logins-") as logins:
        os.chmod(logins, 0o755)
        for name, user in (("operators", "op"), ("viewers", "viewer")):
            subprocess.run(["htpasswd", "-B", "-b", "-c", f"{logins}/{name}.htpasswd", user, f"{user}-pw"],
                           check=True, capture_output=True)
            os.chmod(f"{logins}/{name}.htpasswd", 0o644)
        yield {
            "PROXY_PREFIX": str(tmp_path / "nginx"),
            "OPERATOR_HTPASSWD": f"{logins}/operators.htpasswd",
            "VIEWER_HTPASSWD": f"{logins}/viewers.htpasswd",
            "OPERATOR_LISTEN": "127.0.0.1:18443",
            "VIEWER_LISTEN": "127.0.0.1:18444",
        }


def render(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(RUN_PROXY), "--render"], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_rendered_config_passes_nginx_and_guards_every_location(files: dict[str, str]) -> None:
    done = render(files)
    assert done.returncode == 0, done.stderr
    conf = Path(done.stdout.strip()).read_text()
    servers = conf.split("    server {")[1:]
    assert len(servers) == 2
    for server, realm, file in zip(servers, ("operators", "viewers"), ("OPERATOR", "VIEWER"), strict=True):
        assert f'auth_basic "haier_pipeline {realm}";' in server
        assert f"auth_basic_user_file {files[file + '_HTPASSWD']};" in server
    assert "auth_basic off" not in conf and "satisfy any" not in conf and "allow " not in conf
    assert re.findall(r"proxy_pass http://(\w+);", conf) == ["dagster_operator", "dagster_viewer"]
    assert "server 127.0.0.1:3000;" in conf and "server 127.0.0.1:3001;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and 'proxy_set_header Authorization "";' in conf


def test_tls_is_rendered_for_a_network_address(files: dict[str, str], tmp_path: Path) -> None:
    cert, key = tmp_path / "proxy.crt", tmp_path / "proxy.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=shop",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    done = render({**files, "OPERATOR_LISTEN": "443", "VIEWER_LISTEN": "8443", "TLS_CERT": str(cert),
                   "TLS_KEY": str(key)})
    assert done.returncode == 0, done.stderr
    conf = Path(done.stdout.strip()).read_text()
    assert "listen 443 ssl;" in conf and "listen 8443 ssl;" in conf
    assert conf.count(f"ssl_certificate {cert};") == 2 and "TLSv1.2 TLSv1.3" in conf


@pytest.mark.parametrize(("change", "complaint"), [
    ({"OPERATOR_LISTEN": "0.0.0.0:8080"}, "OPERATOR_LISTEN: 0.0.0.0:8080 is reachable from the network: set TLS_CERT"),
    ({"VIEWER_LISTEN": "8444"}, "VIEWER_LISTEN: 8444 is reachable from the network"),
    ({"OPERATOR_UPSTREAM": "10.0.0.5:3000"}, "OPERATOR_UPSTREAM: 10.0.0.5:3000 is not a loopback address"),
    ({"VIEWER_UPSTREAM": "127.0.0.1:3000"}, "VIEWER_UPSTREAM: must be the --read-only webserver"),
    ({"VIEWER_HTPASSWD": "@OPERATOR_HTPASSWD"}, "VIEWER_HTPASSWD: must not be the operators' file"),
    ({"OPERATOR_LISTEN": "127.0.0.1:18443; include /etc/passwd"}, "OPERATOR_LISTEN: "),
    ({"PROXY_PREFIX": ""}, "run-proxy: PROXY_PREFIX: required"),
])
def test_unsafe_setups_are_refused_by_name(files: dict[str, str], change: dict[str, str], complaint: str) -> None:
    env = {**files, **{k: files[v[1:]] if v.startswith("@") else v for k, v in change.items()}}
    done = render(env)
    assert done.returncode != 0 and complaint in done.stderr, done.stderr
    assert not (Path(files["PROXY_PREFIX"]) / "nginx.conf").exists()


@pytest.mark.parametrize("weak", ["-m", "-s", "-p"])  # apr1/MD5, SHA-1, plain text
def test_password_files_without_strong_hashes_are_refused(files: dict[str, str], weak: str) -> None:
    subprocess.run(["htpasswd", weak, "-b", files["VIEWER_HTPASSWD"], "legacy", "legacy-pw"], check=True,
                   capture_output=True)
    done = render(files)
    assert done.returncode != 0 and "VIEWER_HTPASSWD: user legacy has no bcrypt/SHA-512 hash" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="nginx's workers change user only when it starts as root")
def test_a_password_file_the_workers_cannot_read_is_refused(files: dict[str, str]) -> None:
    os.chmod(files["VIEWER_HTPASSWD"], 0o600)  # issue 25: nginx started, and every viewer login answered 500
    done = render(files)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"run-proxy: VIEWER_HTPASSWD: {files['VIEWER_HTPASSWD']} is not readable by nginx's workers (nobody): "
        "every login would answer 500 (chmod 644 it, or chgrp nogroup and chmod 640, and let them into its folder)"]
