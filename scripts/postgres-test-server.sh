#!/usr/bin/env bash
# Start a private PostgreSQL server for the store tests, on 127.0.0.1 and a free port, in a
# temporary folder; print its SQLAlchemy URL.
#
#   scripts/postgres-test-server.sh            start; print the URL on stdout (last line)
#   scripts/postgres-test-server.sh --env      start; print `export KNEEBACK_TEST_POSTGRES_URL=...`
#                                              and `export KNEEBACK_TEST_POSTGRES_DIR=...` for eval
#   scripts/postgres-test-server.sh stop DIR   stop the server started in DIR and delete DIR
#
# PostgreSQL is installed from the Debian packages when missing (apt-get, needs root). The server
# runs as the `postgres` user when started by root (initdb refuses root), otherwise as the caller.
# It trusts local connections only, has fsync off (test data are throw-away) and one superuser,
# `kneeback`. Messages go to stderr; only the URL (or the export lines) goes to stdout.
set -euo pipefail

log() { echo "postgres-test-server: $*" >&2; }

find_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"; return 0
    fi
    return 1
}

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

if [[ "${1:-}" == "stop" ]]; then
    dir=${2:?usage: $0 stop DIR}
    bin=$(find_bin) || { log "PostgreSQL is not installed"; exit 1; }
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
    fi
    rm -rf "$dir"
    exit 0
fi

mode=url
[[ "${1:-}" == "--env" ]] && mode=env

if ! bin=$(find_bin); then
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
        exit 1
    fi
    log "installing PostgreSQL from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    bin=$(find_bin) || { log "PostgreSQL did not install"; exit 1; }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/kneeback-pg.XXXXXX")
chmod 755 "$dir"
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /bin/false postgres
    chown postgres "$dir"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

as_owner "$bin/initdb" -D "$dir/data" -U kneeback --auth=trust -E UTF8 --no-locale >/dev/null 2>&1 \
    || { log "initdb failed in $dir"; exit 1; }
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
    >/dev/null 2>&1 || { log "the server did not start; see $dir/server.log"; cat "$dir/server.log" >&2 || true; exit 1; }

url="postgresql+psycopg://kneeback@127.0.0.1:$port/postgres"
echo "$url" > "$dir/url"
log "running in $dir on port $port; stop with: $0 stop $dir"
if [[ $mode == env ]]; then
    echo "export KNEEBACK_TEST_POSTGRES_URL=$url"
    echo "export KNEEBACK_TEST_POSTGRES_DIR=$dir"
else
    echo "$url"
fi
