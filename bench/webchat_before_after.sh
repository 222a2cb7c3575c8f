#!/bin/sh
# Web chat under load, a git ref (the baseline, default: main~1) and this tree back to back:
# bench/webchat_load.py on PostgreSQL (a temporary database, dropped afterwards), then SQLite.
#   sh bench/webchat_before_after.sh [REF] [SECONDS]
# Needs the dev venv (.venv) and PostgreSQL at 127.0.0.1:5432 (user postgres). Results in
# ./var/webchat-ab-<db>-<which>.txt and on stdout.
set -eu
REF=${1:-main~1}
SECONDS_=${2:-30}
HERE=$(cd "$(dirname "$0")/.." && pwd)
BASE=$(mktemp -d)
trap 'rm -rf "$BASE"; psql -q -h 127.0.0.1 -U postgres -c "drop database if exists webchat_ab" >/dev/null 2>&1 || true' EXIT
git -C "$HERE" archive "$REF" | tar -x -C "$BASE"
mkdir -p "$HERE/var"
PG=postgresql+psycopg://postgres@127.0.0.1:5432/webchat_ab
run() {  # which dir database-args...
  which=$1; dir=$2; db=$3; shift 3
  (cd "$dir" && PYTHONPATH="$dir" "$HERE/.venv/bin/python" bench/webchat_load.py --sessions 500 \
      --every 2 --duration "$SECONDS_" "$@") > "$HERE/var/webchat-ab-$db-$which.txt" 2>&1
  echo "== $db $which"; tail -n 8 "$HERE/var/webchat-ab-$db-$which.txt"
}
for which in base tree; do
  dir=$BASE; [ "$which" = tree ] && dir=$HERE
  psql -q -h 127.0.0.1 -U postgres -c "drop database if exists webchat_ab" -c "create database webchat_ab"
  run "$which" "$dir" postgresql --database-url "$PG"
done
for which in base tree; do
  dir=$BASE; [ "$which" = tree ] && dir=$HERE
  run "$which" "$dir" sqlite
done
