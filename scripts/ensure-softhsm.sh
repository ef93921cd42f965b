#!/usr/bin/env bash
# Makes the PKCS#11 tests runnable: Debian's SoftHSM2 (the token CA keys are tested on)
# and OpenSC's pkcs11-tool (to look at a token from outside). Idempotent: installs only
# what is missing, running `apt-get update` once before the first install.
# Prints the module path on success. Under CI (CI set) a missing SoftHSM is a failure;
# elsewhere the PKCS#11 tests skip with a notice when it cannot be installed.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "ensure-softhsm: need root to run: $*" >&2; return 1; fi
}
apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq >&2; apt_updated=1; fi
    # Only the module path goes to standard output.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# Where Debian (and other distributions) put the SoftHSM2 module.
find_module() {
    for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
             /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so \
             /usr/local/lib/softhsm/libsofthsm2.so; do
        if [ -e "$m" ]; then echo "$m"; return 0; fi
    done
    return 1
}

missing=()
find_module >/dev/null || missing+=(softhsm2)
command -v softhsm2-util >/dev/null || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null || missing+=(opensc)
if [ "${#missing[@]}" -gt 0 ]; then
    # shellcheck disable=SC2207
    pkgs=($(printf '%s\n' "${missing[@]}" | sort -u))
    echo "ensure-softhsm: installing ${pkgs[*]}" >&2
    if ! apt_install "${pkgs[@]}"; then
        if [ -n "${CI:-}" ]; then
            echo "ensure-softhsm: could not install ${pkgs[*]} (required under CI)" >&2
            exit 1
        fi
        echo "ensure-softhsm: could not install ${pkgs[*]}; PKCS#11 tests will be skipped" >&2
        exit 0
    fi
fi

if module=$(find_module); then
    echo "$module"
elif [ -n "${CI:-}" ]; then
    echo "ensure-softhsm: SoftHSM2's module libsofthsm2.so not found (required under CI)" >&2
    exit 1
else
    echo "ensure-softhsm: SoftHSM2's module not found; PKCS#11 tests will be skipped" >&2
fi
