#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the test suite and print its URL.
#
#   export VRU_TEST_POSTGRES_URL="$(.ci/postgres.sh)"   # start; prints only the URL
#   .ci/postgres.sh stop                                # stop it and delete its data
#
# Installs Debian's `postgresql` package if no server binaries are found. The server runs
# as the `postgres` user (never as root), listens on loopback only, keeps its data in a new
# temporary directory, uses a random password (scram-sha-256) and is tuned for speed, not
# durability (fsync off): it is for tests only. Progress goes to stderr.
set -euo pipefail

# One state file per checkout, so two checkouts on one machine do not stop each other's server.
STATE="${TMPDIR:-/tmp}/vru-ci-postgres-$(pwd -P | cksum | cut -d" " -f1).state"
log() { echo "postgres.sh: $*" >&2; }
find_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_server_user() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$1"
  else
    sh -c "$1"
  fi
}

if [ "${1:-start}" = "stop" ]; then
  if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    as_server_user "'$PG_BINDIR/pg_ctl' -D '$PG_DIR/data' -m fast -w stop" >&2 || true
    rm -rf "$PG_DIR" "$STATE"
    log "stopped and removed $PG_DIR"
  else
    log "no server started by this script is running"
  fi
  exit 0
fi

BINDIR="${PG_BINDIR:-$(find_bindir)}"
if [ -z "$BINDIR" ] || [ ! -x "$BINDIR/initdb" ]; then
  log "no PostgreSQL server binaries found; installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BINDIR="$(find_bindir)"
fi
[ -x "$BINDIR/initdb" ] || { log "initdb not found after installing"; exit 1; }

if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
fi

DIR="$(mktemp -d "${TMPDIR:-/tmp}/vru-pg.XXXXXX")"
PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PASSWORD" > "$DIR/pwfile"
PORT="${VRU_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
if [ "$(id -u)" = 0 ]; then
  chown -R postgres: "$DIR"
fi
chmod 700 "$DIR"

log "initialising a cluster in $DIR with $BINDIR"
as_server_user "'$BINDIR/initdb' -D '$DIR/data' -U postgres --pwfile='$DIR/pwfile' \
  -A scram-sha-256 -E UTF8 --locale=C --no-sync" >/dev/null
rm -f "$DIR/pwfile"
as_server_user "'$BINDIR/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w -t 60 \
  -o \"-c listen_addresses=127.0.0.1 -p $PORT -k '$DIR' -c fsync=off \
       -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start" >&2
printf 'PG_BINDIR=%q\nPG_DIR=%q\n' "$BINDIR" "$DIR" > "$STATE"

PGPASSWORD="$PASSWORD" "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres vru_test
log "server on 127.0.0.1:$PORT (data in $DIR); stop it with: .ci/postgres.sh stop"
echo "postgresql+psycopg://postgres:$PASSWORD@127.0.0.1:$PORT/vru_test"
