#!/usr/bin/env bash
# Sourced by the other scripts and by people (`source scripts/bootstrap.sh`): make .venv with the project
# and its test tools installed, then put it on PATH and set DAGSTER_HOME. Re-installs only when
# pyproject.toml changed since the last install. The install runs in a subshell with `set -euo pipefail`,
# so the sourcing shell keeps its own options: a failing command later does not close a person's terminal.
HAIER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! (
  set -euo pipefail
  PYTHON="${PYTHON:-python3}"
  VENV="$HAIER_ROOT/.venv"
  STAMP="$VENV/.installed-$(sha256sum "$HAIER_ROOT/pyproject.toml" | cut -c1-16)"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ]; then
    echo "installing haier_pipeline and its dependencies into .venv (first run only)…" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -e "$HAIER_ROOT[test]" >&2
    rm -f "$VENV"/.installed-* && touch "$STAMP"
  fi
); then
  echo "bootstrap.sh: creating .venv in $HAIER_ROOT failed (see the lines above)" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="$HAIER_ROOT/.venv/bin:$PATH"
export VIRTUAL_ENV="$HAIER_ROOT/.venv"  # `dg` compares it with the project's .venv and warns when they differ
export DAGSTER_DISABLE_TELEMETRY=1
# `dagster job execute` and `dagster dev` (the README's commands) print on every call that `dg` supersedes them.
for HAIER_QUIET in 'ignore:Function `job_execute_command` is superseded' 'ignore:Function `dev_command` is superseded'; do
  case ",${PYTHONWARNINGS:-}," in
    *",$HAIER_QUIET,"*) ;;
    *) export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}$HAIER_QUIET" ;;
  esac
done
export DAGSTER_HOME="${DAGSTER_HOME:-$HAIER_ROOT/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp "$HAIER_ROOT/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
