#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the distributed-search test; prints its URL.
# Usage: eval "$(bash .ci/postgres.sh start)"; ... ; bash .ci/postgres.sh stop
set -euo pipefail
PGROOT=${KWSAUTO_PGROOT:-/tmp/kwsauto-ci-postgres}
PORT=${KWSAUTO_PGPORT:-55432}
case "${1:-start}" in
start)
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  fi
  BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  rm -rf "$PGROOT" && mkdir -p "$PGROOT" && chown postgres "$PGROOT"
  PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$PASSWORD" > "$PGROOT/pw" && chown postgres "$PGROOT/pw"
  su postgres -s /bin/sh -c "$BIN/initdb -D $PGROOT/data -U kwsauto -A scram-sha-256 --pwfile=$PGROOT/pw" >&2
  su postgres -s /bin/sh -c "$BIN/pg_ctl -D $PGROOT/data -o '-p $PORT -k $PGROOT -c listen_addresses=127.0.0.1' -l $PGROOT/log -w start" >&2
  PGPASSWORD=$PASSWORD psql -h 127.0.0.1 -p "$PORT" -U kwsauto -d postgres -qc "CREATE DATABASE kwsauto" >&2
  echo "export KWSAUTO_TEST_POSTGRES=postgresql://kwsauto:$PASSWORD@127.0.0.1:$PORT/kwsauto"
  ;;
stop)
  BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  su postgres -s /bin/sh -c "$BIN/pg_ctl -D $PGROOT/data -m fast stop" >&2 || true
  rm -rf "$PGROOT"
  ;;
esac
