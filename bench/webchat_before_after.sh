#!/bin/sh
# Web chat reply push before/after (wc2): bench/webchat_load.py on main (an archive of it at
# /tmp/wc2-main, made with `git -C /work/main archive <commit> | tar -x -C /tmp/wc2-main`) and
# on this worktree, back to back, PostgreSQL (a temporary database, dropped) then SQLite.
set -eux
PG=postgresql+psycopg://postgres@127.0.0.1:5432/wc2_bench
for which in main wc2 ; do
  if [ $which = main ]; then dir=/tmp/wc2-main; else dir=/work/wt-wc2; fi
  psql -q -h 127.0.0.1 -U postgres -c "drop database if exists wc2_bench" -c "create database wc2_bench"
  (cd $dir && PYTHONPATH=$dir timeout 400 /work/wt-wc2/.venv/bin/python bench/webchat_load.py --sessions 500 --every 2 --duration 30 --database-url $PG > /tmp/wc2-ab-pg-$which.txt 2>&1)
done
psql -q -h 127.0.0.1 -U postgres -c "drop database if exists wc2_bench"
for which in main wc2 ; do
  if [ $which = main ]; then dir=/tmp/wc2-main; else dir=/work/wt-wc2; fi
  (cd $dir && PYTHONPATH=$dir timeout 400 /work/wt-wc2/.venv/bin/python bench/webchat_load.py --sessions 500 --every 2 --duration 30 > /tmp/wc2-ab-sqlite-$which.txt 2>&1)
done
