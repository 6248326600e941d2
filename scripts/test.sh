#!/usr/bin/env bash
# Install what the tests need (Python packages; Debian's chromium, a CJK font and the PostgreSQL
# server the progress-store tests start) and run the whole suite. Usage: bash scripts/test.sh [extra pytest args]
set -uo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q -r requirements-test.txt || { echo "pip install failed"; exit 1; }

APT=()
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  APT+=(chromium fonts-noto-cjk)
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  APT+=(postgresql)  # tests/pgserver.py runs its initdb and pg_ctl on a throwaway cluster
fi
if [ "${#APT[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT[@]}" >/dev/null \
    || { echo "apt-get install ${APT[*]} failed"; exit 1; }
fi

python3 -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating this as a failure"
  exit 1
fi
exit "$rc"
