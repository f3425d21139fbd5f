"""The ``haier-sandbox`` console script and the subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from haier_pipeline.sandbox import FaultProfile, SandboxOptions, start_sandbox_process
from haier_pipeline.sandbox.cli import build_parser, options_from_args
from haier_pipeline.sandbox.options import CREDENTIAL_ENV
from haier_pipeline.sandbox.running import cli_arguments
from haier_pipeline.sandbox.styles import AnswerStyle
from support.sandbox import fetch_token, valid_body

SCRIPT = Path(sys.executable).with_name("haier-sandbox")


def test_console_script_starts_and_answers() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HAIER_")}
    env.update({"HAIER_CLIENT_SECRET": "from-the-shell", "HAIER_PASSWORD": "shell-password"})
    process = subprocess.Popen([str(SCRIPT), "--port", "0", "--products", "50"], env=env, stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        lines: list[str] = []
        while sum("HAIER_" in line for line in lines) < 10:  # one line per setting, export or comment
            lines.append(process.stdout.readline().strip())
        exports = dict(
            line.removeprefix("export ").split("  #")[0].split("=", 1) for line in lines if line.startswith("export ")
        )
        assert exports["HAIER_BASE_URL"] == base_url and exports["HAIER_TOKEN_URL"] == f"{base_url}/oauth2/auth"
        assert "HAIER_CLIENT_SECRET" not in exports and "HAIER_PASSWORD" not in exports  # came from the shell
        assert not any("from-the-shell" in line or "shell-password" in line for line in lines)
        assert "HAIER_SELLER_PASSWORD" in exports  # generated, so printed once for the user
        token = requests.post(f"{base_url}/oauth2/auth", json={"client_id": exports["HAIER_CLIENT_ID"],
                              "client_secret": "from-the-shell", "grant_type": "client_credentials"}, timeout=10)
        assert token.status_code == 200
        body = {"customerCode": exports["HAIER_CUSTOMER_CODE"], "customerPassword": "shell-password"}
        balance = requests.post(f"{base_url}/yilihuo/jsh-service-finance-mall/api/page/account/account-balance-manager/"
                                "get-payer-account-balance-by-customer-code", json=body,
                                headers={"Authorization": token.json()["access_token"]}, timeout=10)
        assert balance.status_code == 200 and balance.json()
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_subprocess_sandbox_matches_its_local_catalogue() -> None:
    options = SandboxOptions(products=80, seed=9, latency=0.01, faults=FaultProfile(error_rate=0.0))
    with start_sandbox_process(options) as sandbox, requests.Session() as session:
        session.headers["Authorization"] = fetch_token(sandbox, session)
        codes = sandbox.catalogue.listing_codes()[:20]
        response = session.post(
            sandbox.url("products"), json=valid_body(sandbox, "products", productCodes=codes), timeout=10
        )
        assert [r["productCode"] for r in response.json()["data"]] == codes
        catalogue = sandbox.advance()
        assert catalogue.generation == 1 and sandbox.stats().calls == {"products": 1}
        sandbox.set_faults(FaultProfile(error_rate=1.0))
        failing = session.post(sandbox.url("balances"), json=valid_body(sandbox, "balances"), timeout=10)
        assert failing.status_code in (500, 502, 503, 504) and sandbox.stats().injected_5xx == 1
        assert sandbox.expire_tokens() == 1


def test_cli_arguments_reproduce_every_option() -> None:
    """What ``start_sandbox_process`` passes to the child is what the parent was given: fault endpoints included."""
    faults = FaultProfile(
        error_rate=0.1,
        drop_rate=0.05,
        html_error_rate=0.02,
        app_error_rate=0.03,
        burst_429_rate=0.04,
        slow_rate=0.2,
        slow_seconds=0.5,
        include_token=True,
        endpoints=("prices", "stock"),
        seed=7,
    )
    options = SandboxOptions(
        products=80,
        seed=9,
        generation=2,
        changes="prices",
        latency=0.01,
        rate_limit=50.0,
        token_lifetime=30.0,
        token_path="token",
        token_shape="data",
        envelope="always",
        style=AnswerStyle(numbers="string", discount="amount", flags="number", rounding="half_even"),
        faults=faults,
        image_host="http://127.0.0.1:1",
        port=0,
    )
    credentials = {var: getattr(options, name) for name, var in CREDENTIAL_ENV.items()}
    args = build_parser().parse_args(cli_arguments(options))
    assert options_from_args(args, credentials) == options
    assert options_from_args(build_parser().parse_args([]), credentials).faults.endpoints == ()  # default: all
