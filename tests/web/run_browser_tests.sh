#!/bin/sh
# Runs the dashboard's browser tests. Needs SEGUE_HQ_BINARY, SEGUE_HQ_SEED and
# SEGUE_SCREENSHOT_DIR (ctest sets them). Exits 77 (ctest: skipped) only where node or
# Debian's Chromium is missing; missing npm packages are a setup error, not a skip.
set -u
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "run_browser_tests.sh: node not installed; skipped" >&2; exit 77; }
[ -x /usr/bin/chromium ] || { echo "run_browser_tests.sh: /usr/bin/chromium not installed; skipped" >&2; exit 77; }
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
  echo "run_browser_tests.sh: playwright-core is missing in tests/web: run scripts/setup (npm ci in tests/web)" >&2
  exit 1
fi
cd "$here" && exec node --test --test-reporter=spec dashboard.test.mjs
