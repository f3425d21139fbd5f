"""Bad answers: malformed JSON, HTML pages under HTTP 200, ``success: false`` envelopes, wrong payload types,
JSON nested past the stack, 10 MB bodies, answers that leave a product out.

For price batches and stock calls (module fixture, one sync): the calls that got such an answer
fail — every product they carried counted and named with the reason, after retries where a retry
can help and without where it cannot — and the rest of the catalogue is exact; a whole batch of 20
lost is over 5 % of these small catalogues' prices, so each run fails by its blocking checks. For the listing
(one sync per case, against a catalogue a clean sync filled first): the run fails, saying why,
and the catalogue is left exactly as it was — in particular nothing is marked delisted.
"""

from __future__ import annotations

import dataclasses
import json
import os
from decimal import Decimal

import pytest

from haier_pipeline.catalog.engine import release_database
from haier_pipeline.sandbox import Catalogue, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.poison import DROP, Answer, Poison
from support.bad_input import clean_codes, price_batches, sync
from support.catalog_db import catalog_url_for_tests
from support.catalog_state import canonical_dump

pytestmark = pytest.mark.slow  # three syncs whose failing calls each spend their four attempts (~40 s)

PRODUCTS, SEED = 120, 31
COUNTIES = os.environ["HAIER_COUNTY_CODES"].split(",")
HTML = "text/html;charset=UTF-8"
MAINTENANCE = Answer("<html><body><h1>系统维护中，请稍后访问</h1></body></html>".encode(), 200, HTML)
BUSY = Answer(json.dumps({"success": False, "code": "500", "message": "系统繁忙，请稍后再试", "data": None}).encode())
NOT_JSON = "HTTP 200 with a body that is not JSON"
RETRIED = "gave up after 4 attempt(s)"

PRICE_ANSWERS = {  # case -> (answer for the whole batch, reason named, retried?)
    "malformed JSON": (Answer(b'{"success":true,"data":[{"productCode":'), NOT_JSON, True),
    "HTML under 200": (MAINTENANCE, NOT_JSON, True),
    "success false": (BUSY, "gateway reported failure: code 500: 系统繁忙，请稍后再试", False),
    "nested past the stack": (Answer(b"[" * 100_000 + b"]" * 100_000), NOT_JSON, True),
    "a string, not records": (Answer(b'"ok"'), "unexpected payload: str, not a list or object", False),
}
STOCK_ANSWERS = {
    "HTML under 200": (MAINTENANCE, NOT_JSON, True),
    "bad gateway page": (Answer(b"<html><center>502 Bad Gateway</center></html>", 502, HTML), "HTTP 502", True),
    "404": (
        Answer(b'{"success":false,"code":"404","message":"no such product"}', 404),
        "HTTP 404: no such product",
        False,
    ),
    "10 MB body": (
        Answer(b'{"success":true,"code":"200","data":{"stock":"' + b"9" * (10 * 1024 * 1024) + b'"}}'),
        "stock is not a number",
        False,
    ),  # longer than any number the reader takes
}
LISTING_ANSWERS = {
    "HTML under 200": (MAINTENANCE, NOT_JSON),
    "success false": (BUSY, "gateway reported failure: code 500: 系统繁忙，请稍后再试"),
    "truncated JSON": (Answer(b'{"success":true,"code":"200","data":[{"productCode":"GA0'), NOT_JSON),
    "a number, not records": (Answer(b"42"), "unexpected payload: int, not a list or object"),
}


# The sync log names at most 50 failures a row, and a failed batch fails 20 products: two batch cases a sync.
PRICE_GROUPS = (
    ("malformed JSON", "HTML under 200"),
    ("success false", "nested past the stack"),
    ("a string, not records",),
)


@dataclasses.dataclass
class Answered:
    done: object
    batches: dict[str, list[str]]  # price case -> the codes of its batch
    stock: dict[str, str]  # stock case -> product code
    left_out: dict[str, str]


def plan(truth: Catalogue, group: int) -> Answered:
    """One price batch per price case of the group (the last batch stays clean); one product per stock case."""
    batches = price_batches(truth.listing_codes())
    assert len(batches) > max(len(cases) for cases in PRICE_GROUPS)
    spare = [code for code in clean_codes(truth) if code in batches[-1]]
    left_out = {"price left out": spare[len(STOCK_ANSWERS)], "stock left out": spare[len(STOCK_ANSWERS) + 1]}
    return Answered(None, dict(zip(PRICE_GROUPS[group], batches, strict=False)),
                    dict(zip(STOCK_ANSWERS, spare, strict=False)) if group == 0 else {}, left_out if group == 0 else {})


def poison_for(plan: Answered) -> Poison:
    answers = {("prices", batch[0]): PRICE_ANSWERS[case][0] for case, batch in plan.batches.items()}
    answers |= {("stock", code): STOCK_ANSWERS[case][0] for case, code in plan.stock.items()}
    records = {"prices": {plan.left_out["price left out"]: DROP}, "stock": {plan.left_out["stock left out"]: DROP}} \
        if plan.left_out else {}
    return Poison(answers=answers, records=records)


@pytest.fixture(scope="module")
def answered(tmp_path_factory, request) -> list[Answered]:
    """One sync per price group; the first also carries the stock cases and the left-out products."""
    syncs, urls = [], []
    for group in range(len(PRICE_GROUPS)):
        tmp = tmp_path_factory.mktemp(f"bad-answers-{group}")
        planned = plan(Catalogue(PRODUCTS, SEED), group)
        urls.append(catalog_url_for_tests(tmp, request))
        options = SandboxOptions(products=PRODUCTS, seed=SEED, rate_limit=None, poison=poison_for(planned))
        with run_sandbox(options) as sandbox:
            planned.done = sync(sandbox, urls[-1], tmp)
        syncs.append(planned)
    yield syncs
    for url in urls:
        release_database(url)


def group_of(answered: list[Answered], case: str) -> Answered:
    return next(planned for planned in answered if case in planned.batches)


def failure_line(message: str, prefix: str) -> str:
    """The one failure in a sync-log message that starts with ``prefix`` ("" if it is not named)."""
    if prefix not in message:
        return ""
    return message.split(prefix, 1)[1].split("; prices: ")[0].split("; stock: ")[0]


def test_the_runs_fail_loudly_and_the_untouched_batches_are_exact(answered):
    """Each sync loses whole batches of 20 (over 5 % of its price records): the run fails, saying so by check,
    while everything that did arrive has landed exactly."""
    for planned in answered:
        done = planned.done
        assert not done.result.success
        failed_checks = {event.event_specific_data.check_name for event in done.result.all_events
                         if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed}
        assert {"sync_rejections_within_limit", "supply_prices_cover_the_catalogue"} <= failed_checks
        rows, prices = done.rows("products"), done.truth.expected_prices()
        failed = {code for batch in planned.batches.values() for code in batch} | set(planned.left_out.values())
        for code, price in prices.items():
            want = None if code in failed and code != planned.left_out.get("stock left out") else price.supply_price
            got = rows[code]["supply_price"]
            assert (got is None and want is None) or Decimal(got) == want, code


@pytest.mark.parametrize("case", list(PRICE_ANSWERS))
def test_a_bad_price_answer_fails_its_batch_by_name(answered, case):
    planned = group_of(answered, case)
    _, reason, retried = PRICE_ANSWERS[case]
    message = planned.done.log("prices")["message"]
    rows = planned.done.rows("products")
    for code in planned.batches[case]:  # all 20 products of the call, each named with the reason
        line = failure_line(message, f"prices: {code}: ")
        assert reason in line and (RETRIED in line) == retried, (code, line)
        assert rows[code]["supply_price"] is None


def test_the_price_log_counts_every_product_of_every_failed_batch(answered):
    for planned in answered:
        log = planned.done.log("prices")
        failed = sum(len(batch) for batch in planned.batches.values()) + ("price left out" in planned.left_out)
        assert log["failed_count"] == failed
        if planned.done.result.success:
            assert log["status"] == "partial"
        else:  # so many rejected that a blocking check on products stopped the run: the prices sync did not succeed
            assert log["status"] == "failed" and "blocking check" in log["message"], log["message"]
        assert log["total_count"] == len(planned.done.truth.listing_codes())


@pytest.mark.parametrize("case", list(STOCK_ANSWERS))
def test_a_bad_stock_answer_fails_that_product_in_each_county_by_name(answered, case):
    planned = answered[0]
    code, (_, reason, retried) = planned.stock[case], STOCK_ANSWERS[case]
    message = planned.done.log("stock")["message"]
    for county in COUNTIES:
        line = failure_line(message, f"stock: {code}@{county}: ")
        assert reason in line and (RETRIED in line) == retried, (county, line)
    assert not [key for key in planned.done.stock_rows() if key[0] == code]


def test_an_answer_that_leaves_a_product_out_is_counted_and_named(answered):
    planned = answered[0]
    done, price_code, stock_code = planned.done, planned.left_out["price left out"], planned.left_out["stock left out"]
    assert failure_line(done.log("prices")["message"], f"prices: {price_code}: ")
    assert done.rows("products")[price_code]["supply_price"] is None
    stock = done.log("stock")
    for county in COUNTIES:
        assert failure_line(stock["message"], f"stock: {stock_code}@{county}: ")
    assert stock["failed_count"] == (len(planned.stock) + 1) * len(COUNTIES)


@pytest.fixture(scope="module")
def synced_once(tmp_path_factory, request):
    """A catalogue a clean sync filled, and the options of the sandbox it came from."""
    tmp = tmp_path_factory.mktemp("clean-listing")
    options = SandboxOptions(products=60, seed=SEED, rate_limit=None)
    url = catalog_url_for_tests(tmp, request)
    with run_sandbox(options) as sandbox:
        assert sync(sandbox, url, tmp).result.success
    yield options, url, canonical_dump(url), tmp
    release_database(url)


@pytest.mark.parametrize("case", list(LISTING_ANSWERS))
def test_a_bad_listing_fails_the_run_by_name_and_changes_nothing(synced_once, case):
    options, url, before, tmp = synced_once
    answer, reason = LISTING_ANSWERS[case]
    poisoned = dataclasses.replace(options, poison=Poison(answers={("products", "*"): answer}))
    with run_sandbox(poisoned) as sandbox:
        done = sync(sandbox, url, tmp)
    assert not done.result.success
    log = done.log("products")
    assert log["status"] == "failed" and "the product listing could not be fetched" in log["message"]
    assert reason in log["message"]
    failures = [e.message for e in done.result.all_events if e.is_step_failure]
    assert len(failures) == 1 and "haier_raw_products" in failures[0]
    assert canonical_dump(url) == before  # nothing delisted, nothing half-written


def test_an_empty_listing_delists_nothing(synced_once):
    options, url, before, tmp = synced_once
    with run_sandbox(
        dataclasses.replace(options, poison=Poison(answers={("products", "*"): Answer(b"[]")}))
    ) as sandbox:
        done = sync(sandbox, url, tmp)
    after = canonical_dump(url)
    assert after["products"] == before["products"] and after["haier_raw_products"] == before["haier_raw_products"]
    log = done.log("products")
    assert log["status"] != "success" or log["total_count"] == 0
