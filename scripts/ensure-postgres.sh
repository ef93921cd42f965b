#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (trust auth for the local
# `postgres` user) and that the OpenSSL CLI is installed, so the whole test suite can run.
# Starts the local cluster if one exists; on a fresh Debian machine installs PostgreSQL.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "ensure-postgres: need root to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! command -v openssl >/dev/null; then
    echo "ensure-postgres: installing openssl" >&2
    apt_install openssl
fi
if ! openssl engine gost -t >/dev/null 2>&1; then
    echo "ensure-postgres: installing libengine-gost-openssl (GOST interop tests)" >&2
    apt_install libengine-gost-openssl
fi
if ! command -v faketime >/dev/null; then
    echo "ensure-postgres: installing faketime (signers with a set-back clock)" >&2
    apt_install faketime
fi

answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if command -v pg_isready >/dev/null && answers; then
    exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "ensure-postgres: installing postgresql" >&2
    apt_install postgresql
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
conf=/etc/postgresql/$version/main
# Tests connect as postgres@127.0.0.1 without a password.
if ! as_root grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$conf/pg_hba.conf"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"
fi
as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true

for _ in $(seq 1 60); do
    if answers; then
        echo "ensure-postgres: PostgreSQL $version answers on 127.0.0.1:5432" >&2
        exit 0
    fi
    sleep 1
done
echo "ensure-postgres: PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
