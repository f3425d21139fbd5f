"""``haier-sync --submit``: a run launched on a running Dagster webserver over GraphQL, and followed.

The code location is found by asking the webserver (``workspaceOrError``) which location holds the
job: its name depends on how the server was started (``dagster dev`` with ``workspace.yaml``,
``dagster dev -m haier_pipeline.definitions``, ``dg dev``), so none is assumed.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from haier_pipeline.command import Unreachable, UsageError

TRIGGER_TAG = "haier/trigger"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
POLL_SECONDS = 1.0
CHECK_FAILED = "DagsterAssetCheckFailedError"  # a step stopped by a blocking check: the check itself is named

WORKSPACE = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace { locationEntries { name locationOrLoadError { __typename
        ... on RepositoryLocation { repositories { name jobs { name } } }
        ... on PythonError { message } } } }
    ... on PythonError { message }
  }
}
"""
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on Error { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN_STATUS = """
query Run($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } ... on Error { message } } }
"""
RUN_FAILURES = """
query Failures($runId: ID!) {
  logsForRun(runId: $runId, limit: 5000) {
    ... on EventConnection { events { __typename
      ... on ExecutionStepFailureEvent { stepKey error { message cause { message } } }
      ... on AssetCheckEvaluationEvent { evaluation { checkName success severity description assetKey { path } } }
      ... on RunFailureEvent { message } } }
  }
}
"""


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """POST one GraphQL query; a server that does not answer is :class:`Unreachable`, named by its URL."""
    try:
        response = requests.post(f"{url.rstrip('/')}/graphql", json={"query": query, "variables": variables},
                                 timeout=60)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise Unreachable(f"no Dagster webserver answers at {url} ({type(error).__name__}); start one with "
                          "`dagster dev`, pass --url, or run without --submit") from error
    if body.get("errors"):
        raise Unreachable(f"the webserver at {url} answered with errors: {body['errors'][0].get('message')}")
    return body["data"]


def locations_with(url: str, job_name: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(location, repository) pairs holding ``job_name``, and a line per location found (for the refusal)."""
    workspace = graphql(url, WORKSPACE, {})["workspaceOrError"]
    if workspace["__typename"] != "Workspace":
        raise Unreachable(f"the webserver at {url} could not list its code locations: {workspace.get('message')}")
    matches, seen = [], []
    for entry in workspace["locationEntries"]:
        location = entry.get("locationOrLoadError") or {}
        if location.get("__typename") != "RepositoryLocation":
            message = (location.get("message") or "not loaded").strip().splitlines()
            seen.append(f"{entry['name']} (failed to load: {message[-1] if message else '?'})")
            continue
        jobs = {job["name"] for repo in location["repositories"] for job in repo["jobs"]}
        seen.append(f"{entry['name']} ({len(jobs)} jobs)")
        matches += [(entry["name"], repo["name"]) for repo in location["repositories"]
                    if job_name in {job["name"] for job in repo["jobs"]}]
    return matches, seen


def find_location(url: str, job_name: str, wanted: str | None) -> tuple[str, str]:
    """The (location, repository) to launch ``job_name`` in: ``wanted`` if given, else the only one holding it."""
    matches, seen = locations_with(url, job_name)
    if wanted:
        matches = [match for match in matches if match[0] == wanted]
    if len(matches) == 1:
        return matches[0]
    found = "; ".join(seen) or "none"
    if not matches:
        named = f"--location {wanted}" if wanted else "no code location"
        raise UsageError(f"{named} on {url} holds {job_name}; code locations found: {found}")
    raise UsageError(f"several code locations on {url} hold {job_name} ({', '.join(m[0] for m in matches)}); "
                     "pick one with --location")


def submit(url: str, location: str | None, job_name: str, run_config: dict[str, Any], *, wait: bool,
           timeout: float) -> tuple[str, str]:
    """Launch ``job_name`` on the webserver at ``url`` and follow it (unless not ``wait``): (run id, status)."""
    location_name, repository = find_location(url, job_name, location)
    params = {
        "selector": {"repositoryLocationName": location_name, "repositoryName": repository, "jobName": job_name},
        "runConfigData": run_config,
        "executionMetadata": {"tags": [{"key": TRIGGER_TAG, "value": "cli"}]},
    }
    launched = graphql(url, LAUNCH_RUN, {"params": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        detail = launched.get("message") or "; ".join(e["message"] for e in launched.get("errors", []))
        raise UsageError(f"the webserver refused the run ({launched['__typename']}): {detail}")
    run_id, status = launched["run"]["runId"], launched["run"]["status"]
    print(f"submitted {job_name} as run {run_id} to {url} (code location {location_name})")
    deadline = time.monotonic() + timeout
    while wait and status not in FINISHED:
        if time.monotonic() > deadline:
            raise Unreachable(f"run {run_id} still {status} after {timeout:g} s (--timeout)")
        time.sleep(POLL_SECONDS)  # following a run on another server: there is nothing to wait on but its status
        status = graphql(url, RUN_STATUS, {"runId": run_id})["runOrError"].get("status", status)
    return run_id, status


def submitted_failures(url: str, run_id: str) -> list[str]:
    """What stopped a submitted run: its failed steps and failed blocking checks, one phrase each."""
    events = graphql(url, RUN_FAILURES, {"runId": run_id})["logsForRun"].get("events", [])
    reasons = []
    for event in events:
        kind = event["__typename"]
        if kind == "ExecutionStepFailureEvent":
            error = event["error"].get("cause") or event["error"]
            if CHECK_FAILED in error["message"].split(":")[0]:
                continue
            reasons.append(f"step {event['stepKey']}: {first_line(error['message'])}")
        elif kind == "AssetCheckEvaluationEvent":
            check = event["evaluation"]
            if not check["success"] and check["severity"] == "ERROR":
                asset = "/".join(check["assetKey"]["path"])
                reasons.append(f"blocking check {asset}:{check['checkName']}: {first_line(check['description'])}")
        elif kind == "RunFailureEvent" and not reasons:
            reasons.append(first_line(event["message"]))
    return reasons


def first_line(text: str | None) -> str:
    """The first non-empty line of ``text`` (errors carry their cause on the following lines)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "no reason given"
