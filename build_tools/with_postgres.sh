#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster on a free loopback port, then removes it.
#   build_tools/with_postgres.sh CMD [ARGS...]
# The command sees AZAION_TEST_DATABASE_URL. When that variable is already set, the command runs
# against it and nothing is started. Installs Debian's postgresql package if initdb is missing.
set -euo pipefail

if [ -n "${AZAION_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

if ! PGBIN=$(find_bin); then
  echo "with_postgres: initdb not found, installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(find_bin)
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d /tmp/azaion-pg.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root (../shared/NOTES.md): the cluster belongs to the postgres user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DATA"
  RUN_AS=(runuser -u postgres --)
fi

cleanup() {
  "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$DATA/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

"${RUN_AS[@]}" "$PGBIN/initdb" -D "$DATA/db" -U postgres --auth=trust -E UTF8 >/dev/null
"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
"${RUN_AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres azaion_test

export AZAION_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/azaion_test"
echo "with_postgres: cluster on 127.0.0.1:$PORT" >&2
"$@"
