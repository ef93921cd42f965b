#!/usr/bin/env bash
# Makes the headless-browser test runnable: Debian's Chromium, NSS tools (certutil, for
# `imzo agent trust`), Node.js, and playwright-core (driving Debian's Chromium; it never
# downloads a browser of its own) in crates/imzo/tests/browser.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "ensure-browser: need root to run: $*" >&2; return 1; fi
}
apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

command -v chromium >/dev/null || { echo "ensure-browser: installing chromium" >&2; apt_install chromium; }
command -v certutil >/dev/null || { echo "ensure-browser: installing libnss3-tools" >&2; apt_install libnss3-tools; }
command -v npm >/dev/null || { echo "ensure-browser: installing nodejs and npm" >&2; apt_install nodejs npm; }

dir=crates/imzo/tests/browser
if [ ! -d "$dir/node_modules/playwright-core" ]; then
    echo "ensure-browser: installing playwright-core into $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
