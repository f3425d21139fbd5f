#!/usr/bin/env bash
# Lint (ruff) and type-check (mypy) first, then the whole test suite twice: on SQLite and on a real
# PostgreSQL server the tests start themselves from the machine's PostgreSQL 15 binaries.
# The two passes run at the same time, one pytest process each (a core each on a 2-core machine: most of
# a pass is waiting on servers, sandboxes and subprocesses), each with its own DAGSTER_HOME; each pass's
# lines are prefixed with its database, and the script fails if either pass fails.
# `bash scripts/test.sh -n 2 --dist loadfile` runs each pass on two xdist workers (docs/testing.md).
#   bash scripts/test.sh --quick   the quick loop (docs/testing.md): SQLite only, tests not marked slow,
#                                  on two pytest-xdist workers (a module's tests stay on one worker)
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
quick=false
if [[ "${1:-}" == "--quick" ]]; then
  quick=true
  shift
fi
echo "=== lint and types: ruff check, mypy ==="
ruff check haier_pipeline tests benchmarks
mypy haier_pipeline
if $quick; then
  echo "=== quick loop: SQLite, not slow ==="
  exec env HAIER_TEST_DB=sqlite python -m pytest -m "not slow" -n 2 --dist loadfile "$@"
fi

homes="$(mktemp -d "${TMPDIR:-/tmp}/haier-test-homes-XXXXXX")"
trap 'rm -rf "$homes"' EXIT

# One pass: HAIER_TEST_DB=$1, its output prefixed with "[$1] ", its exit status kept in $homes/$1.status.
run_pass() {
  local db="$1"
  shift
  mkdir -p "$homes/$db"
  cp dagster.yaml "$homes/$db/dagster.yaml"
  local status=0
  HAIER_TEST_DB="$db" DAGSTER_HOME="$homes/$db" python -m pytest "$@" 2>&1 | tee "$homes/$db.log" | sed -u "s/^/[$db] /" \
    || status=$?
  echo "$status" > "$homes/$db.status"
}

echo "=== test passes 1+2 of 2, side by side: catalog on SQLite, catalog on PostgreSQL ==="
started=$SECONDS
run_pass sqlite "$@" &
sqlite_pid=$!
run_pass postgresql "$@" &
postgresql_pid=$!
# A failure in one pass does not stop the other: CI reports both verdicts.
wait "$sqlite_pid" "$postgresql_pid"
failed=0
for db in sqlite postgresql; do
  status="$(cat "$homes/$db.status" 2>/dev/null || echo 1)"
  echo "=== pass $db: exit status $status ==="
  [[ "$status" == 0 ]] || failed=1
done
echo "=== both passes took $((SECONDS - started)) s ==="
# One plain closing line for both passes together (each pass's own pytest line carries its prefix).
summary() { for db in sqlite postgresql; do tail -n 1 "$homes/$db.log" 2>/dev/null || true; done; }
passed=$(summary | { grep -oE "[0-9]+ passed" || true; } | awk '{n += $1} END {print n + 0}')
failures=$(summary | { grep -oE "[0-9]+ (failed|error|errors)" || true; } | awk '{n += $1} END {print n + 0}')
skipped=$(summary | { grep -oE "[0-9]+ skipped" || true; } | awk '{n += $1} END {print n + 0}')
echo "tests: $passed passed, $failures failed, $skipped skipped"
exit "$failed"
