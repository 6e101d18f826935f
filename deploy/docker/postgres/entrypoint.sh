#!/bin/sh
# Start PostgreSQL on 127.0.0.1:$POSTGRES_PORT; on first start make the cluster (password
# logins over TCP, from $POSTGRES_PASSWORD) and the database $POSTGRES_DB.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
BIN="/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -n 1)/bin"
SOCKETS=$(mktemp -d)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  "$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile"
  rm -f "$pwfile"
  "$BIN/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses='' -k $SOCKETS" start
  "$BIN/createdb" -h "$SOCKETS" -U postgres "$POSTGRES_DB"
  "$BIN/pg_ctl" -D "$PGDATA" -w -m fast stop
fi
exec "$BIN/postgres" -D "$PGDATA" -k "$SOCKETS" \
  -c listen_addresses="${POSTGRES_LISTEN:-127.0.0.1}" -p "$POSTGRES_PORT"
