#!/usr/bin/env bash
# The browser tests drive Debian's chromium (Playwright's own browser download does not work offline).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
echo "installing Debian's chromium for the browser tests"
"$(dirname "$0")/apt-install.sh" chromium || {
  echo "chromium could not be installed: the browser tests will fail in CI and skip locally" >&2
  [ "${CI:-}" = "true" ] && exit 1 || exit 0
}
