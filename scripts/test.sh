#!/usr/bin/env bash
# Install what the tests need (Python packages, Debian's chromium and a CJK font) and run the
# whole suite. Usage: bash scripts/test.sh [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q -r requirements-test.txt || { echo "pip install failed"; exit 1; }

if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null \
    || { echo "apt-get install chromium fonts-noto-cjk failed"; exit 1; }
fi

python3 -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating this as a failure"
  exit 1
fi
exit "$rc"
