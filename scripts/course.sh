#!/usr/bin/env bash
# One entry point for the two README commands.
#   bash scripts/course.sh lab    set up (first time) and open the course in JupyterLab
#   bash scripts/course.sh test   set up (first time) and run the whole test suite
#   bash scripts/course.sh render build HTML pages and reveal.js slides into build/
# The virtual environment lives in .venv (override with NTK_VENV=/path).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NTK_VENV:-.venv}"
PY="${PYTHON:-python3}"

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[ntk-teach] creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
  fi
  # quiet when everything is already installed; torch is bounded to a CPU wheel
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt
  "$VENV/bin/python" -c "import ntk_teach, torch; print(f'[ntk-teach] ntk_teach {ntk_teach.__version__}, torch {torch.__version__}')"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  lab)
    setup
    extra=()
    # JupyterLab refuses to run as root without this (containers, cloud shells)
    if [ "$(id -u)" = 0 ]; then extra+=(--allow-root); fi
    exec "$VENV/bin/jupyter" lab notebooks/00_start_here.ipynb "${extra[@]}" "$@"
    ;;
  test)
    setup
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  render)
    setup
    exec "$VENV/bin/python" -m ntk_teach.render "$@"
    ;;
  *)
    echo "usage: bash scripts/course.sh {lab|test|render} [extra args]" >&2
    exit 2
    ;;
esac
