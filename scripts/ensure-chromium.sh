#!/usr/bin/env bash
# The browser tests drive Debian's chromium (Playwright's own browser download does not work offline);
# fonts-noto-cjk makes the Chinese in the screenshots readable.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "noto.*cjk" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} for the browser tests"
"$(dirname "$0")/apt-install.sh" "${missing[@]}" || {
  echo "could not install ${missing[*]}: the browser tests fail in CI and skip locally without chromium" >&2
  if [ "${CI:-}" = "true" ] && [ ! -x /usr/bin/chromium ]; then exit 1; fi
  exit 0
}
