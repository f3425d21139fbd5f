"""The sandbox's wire profiles: answer times per endpoint, a separate image host's answer time and faults, the CLI."""

from __future__ import annotations

import time

import pytest
import requests

from haier_pipeline.sandbox import FaultProfile, SandboxOptions, run_sandbox
from haier_pipeline.sandbox.cli import build_parser, options_from_args
from haier_pipeline.sandbox.running import cli_arguments
from haier_pipeline.sandbox.wire import AnswerTime, WireProfile


def test_cli_builds_the_wire_profile_and_reproduces_it() -> None:
    args = ["--port", "0", "--answer-time", "stock=0.15:4", "--answer-time", "*=0.02", "--answer-time",
            "images=0.03:2", "--knee", "12", "--faults-on-images", "--error-rate", "0.05"]
    options = options_from_args(build_parser().parse_args(args), {})
    assert options.wire == WireProfile({"stock": AnswerTime(0.15, 4.0), "*": AnswerTime(0.02),
                                        "images": AnswerTime(0.03, 2.0)}, knee=12)
    assert options.faults.include_images and options.faults.error_rate == 0.05
    again = options_from_args(build_parser().parse_args(cli_arguments(options)), {})
    assert again.wire == options.wire and again.faults == options.faults


@pytest.mark.parametrize("bad", ["stock", "stock=fast", "stock=0.1:0.5", "=0.1", "stock=-1"])
def test_a_bad_answer_time_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="answer time|ENDPOINT"):
        options_from_args(build_parser().parse_args(["--answer-time", bad]), {})


def test_an_image_host_answers_at_its_own_pace_and_fails_when_told() -> None:
    wire = WireProfile({"images": AnswerTime(0.08)})
    with run_sandbox(SandboxOptions(products=20, wire=wire)) as host:
        url = next(iter(host.catalogue.expected_images()))
        started = time.monotonic()
        answer = requests.get(url, timeout=5)
        assert time.monotonic() - started >= 0.08 and answer.status_code in (200, 404)
        host.set_faults(FaultProfile(error_rate=1.0, include_images=True))
        assert requests.get(url, timeout=5).status_code >= 500
        host.set_faults(FaultProfile(error_rate=1.0))  # without include_images, images stay clean
        assert requests.get(url, timeout=5).status_code == answer.status_code
