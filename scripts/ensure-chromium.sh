#!/usr/bin/env bash
# The browser tests drive Debian's chromium (never a browser download). Install it when missing
# and we may (root, apt-get present); otherwise the browser tests say why they skip.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null \
    && echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "note: /usr/bin/chromium is missing and cannot be installed here (not root);" \
       "browser tests will be skipped" >&2
fi
exit 0
