#!/usr/bin/env bash
# Install what the tests need and run the suite.
#
#   bash scripts/test.sh            the whole suite (unit, AppTest, real-browser, PostgreSQL store)
#   bash scripts/test.sh --quick    day-to-day: unit tests only (no pages, processes, browser,
#                                   PostgreSQL or slow tests; about 45 s on 2 cores)
#   bash scripts/test.sh -- ARGS    extra pytest arguments (e.g. -- -k drills)
#
# Python packages go into ./.venv (created here) unless a virtual environment is already active.
# The whole suite also needs three Debian packages, installed with apt-get when missing:
#   chromium         the real-browser tests (Playwright drives /usr/bin/chromium; no browser download)
#   fonts-noto-cjk   Chinese glyphs in screenshots
#   postgresql       the PostgreSQL progress-store tests start a throwaway server of their own
# and axe-core (npm, into tests/axe/node_modules) for the accessibility test when npm is there.
# On a 2-core machine the whole suite takes about 12 minutes after a first install of about 2 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

QUICK=0
ARGS=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --) shift; ARGS+=("$@"); break ;;
    *) ARGS+=("$1") ;;
  esac
  shift
done

if [ -z "${VIRTUAL_ENV:-}" ]; then
  if [ ! -x .venv/bin/python ]; then
    echo "Creating a virtual environment in .venv (Python >= 3.11 needed: $(python3 --version 2>&1))"
    python3 -m venv .venv || { echo "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  fi
  PY=.venv/bin/python
else
  PY=python
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }

echo "Installing Python packages (requirements-test.txt; torch==2.13.0, CPU build)..."
"$PY" -m pip install -q --disable-pip-version-check -r requirements-test.txt || { echo "pip install failed"; exit 1; }

if [ "$QUICK" -eq 0 ]; then
  APT=()
  if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    APT+=(chromium fonts-noto-cjk)
  fi
  if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    APT+=(postgresql)  # tests/pgserver.py runs its initdb and pg_ctl on a throwaway cluster
  fi
  if [ "${#APT[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${APT[*]} (apt-get; sudo when not root)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT[@]}" >/dev/null \
      || { echo "apt-get install ${APT[*]} failed"; exit 1; }
  fi
  if [ ! -d tests/axe/node_modules/axe-core ]; then
    if command -v npm >/dev/null; then
      echo "Installing axe-core for the accessibility test (npm install --prefix tests/axe)..."
      npm install --prefix tests/axe --no-audit --no-fund --silent || echo "npm install failed: the accessibility test will be skipped"
    else
      echo "npm is missing: the accessibility test (tests/test_browser_a11y.py) will be skipped"
    fi
  fi
  # two workers, each taking whole files (module fixtures, servers and sandboxes stay per file)
  "$PY" -m pytest -n 2 --dist loadfile "${ARGS[@]}"
else
  # unit tests only: no page runs (app), no processes (CLIs, servers, sandbox), no slow tests
  "$PY" -m pytest -m "not browser and not slow and not postgres and not app and not process" -n 2 --dist loadfile -q "${ARGS[@]}"
fi
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating this as a failure"
  exit 1
fi
exit "$rc"
