#!/usr/bin/env bash
# Load under fire (CI runs it after `make test`): gunicorn (sync x4) serves the demo
# catalogue while wrk sends the reader mix plus sign-ins (bench/load.lua) and, at the same
# time, signed Stripe webhooks. Twice: on PostgreSQL and Redis, then on the SQLite
# default. Fails on any 5xx, a connection dropped or refused, or any "database is locked"
# (a request slower than wrk's 10 s timeout is reported, not failed: CI shares 2 cores);
# writes the throughput and p99 of each run into bench/RESULTS.md (the "Load" section).
#   LOAD_SECONDS (default 15) per run; LOAD_CONNECTIONS (8); LOAD_PG_URL / LOAD_REDIS_URL
#   to use an existing database and Redis db (default: a fresh masthead_load_<pid>
#   database, Redis db 14, both emptied).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$PWD/.venv/bin/python
SECONDS_PER="${LOAD_SECONDS:-15}"
CONNECTIONS="${LOAD_CONNECTIONS:-8}"
WORK=$(mktemp -d)
GUNICORN_PID=""
CREATED_DB=""

cleanup() {
  if [ -n "$GUNICORN_PID" ]; then kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true; fi
  if [ -n "$CREATED_DB" ]; then psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $CREATED_DB" postgres || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

export DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=0
export SECRET_KEY="load-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export ALLOWED_HOSTS=127.0.0.1
export STRIPE_WEBHOOK_SECRET="whsec_load_0123456789"
unset STRIPE_SECRET_KEY STRIPE_API_BASE
READER_EMAIL=reader@masthead.local READER_PASSWORD=masthead-reader  # load_demo's reader
RESULTS=()

free_port() { $PY -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

run_against() {  # label
  local label=$1 port base readers log
  export MASTHEAD_VAR_DIR="$WORK/var-$label"
  mkdir -p "$MASTHEAD_VAR_DIR"
  log="$WORK/gunicorn-$label.log"
  $PY manage.py migrate --noinput -v 0
  $PY manage.py collectstatic --noinput -v 0
  $PY manage.py load_demo --publishers 10 --publications 20 --articles 600 >/dev/null
  readers=$($PY bench/prepare.py)
  field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$readers" "$1"; }
  $PY bench/webhook_events.py "$WORK/events.tsv" "$STRIPE_WEBHOOK_SECRET" 8000

  port=$(free_port)
  base="http://127.0.0.1:$port"
  .venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:$port" --workers 4 \
    --no-control-socket --log-level warning --access-logfile /dev/null >"$log" 2>&1 &
  GUNICORN_PID=$!
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

  wrk -t 2 -c "$CONNECTIONS" -d "${SECONDS_PER}s" --timeout 10s --latency -s bench/load.lua "$base" -- \
    mix "$(field slug)" "$(field premium_slug)" "$(field walled_cookie)" \
    "$(field session_cookie)" "$READER_EMAIL" "$READER_PASSWORD" >"$WORK/mix-$label.txt" &
  local mix=$!
  wrk -t 1 -c 2 -d "${SECONDS_PER}s" --timeout 10s --latency -s bench/load.lua "$base" -- \
    webhooks "$WORK/events.tsv" >"$WORK/webhooks-$label.txt"
  wait "$mix"

  kill "$GUNICORN_PID"; wait "$GUNICORN_PID" 2>/dev/null || true; GUNICORN_PID=""
  local locked errors
  locked=$(grep -c "database is locked" "$log" || true)
  errors=$(grep -c "Internal Server Error" "$log" || true)
  for part in mix webhooks; do
    local line
    line=$(grep '^LOAD ' "$WORK/$part-$label.txt" || echo "LOAD missing")
    echo "$label $part: ${line#LOAD }"
    RESULTS+=("$label|$part|${line#LOAD }|$locked")
  done
  echo "$label: \"database is locked\" x$locked, logged server errors x$errors"
  if [ "$locked" != 0 ] || [ "$errors" != 0 ]; then tail -n 40 "$log"; fi
}

# --- PostgreSQL and Redis --------------------------------------------------------------
if [ -n "${LOAD_PG_URL:-}" ]; then
  export DATABASE_URL=$LOAD_PG_URL
else
  CREATED_DB="masthead_load_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $CREATED_DB" postgres
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$CREATED_DB"
fi
export REDIS_URL="${LOAD_REDIS_URL:-redis://127.0.0.1:6379/14}"
redis-cli -u "$REDIS_URL" flushdb >/dev/null
echo "== load: PostgreSQL + Redis, gunicorn sync x4, ${SECONDS_PER}s, $CONNECTIONS + 2 connections"
run_against postgresql
redis-cli -u "$REDIS_URL" flushdb >/dev/null  # no worker ran: drop the enqueued tasks

# --- the SQLite default ------------------------------------------------------------------
unset DATABASE_URL REDIS_URL
echo "== load: SQLite (the default), gunicorn sync x4, ${SECONDS_PER}s"
run_against sqlite

# --- results -------------------------------------------------------------------------------
$PY - "$SECONDS_PER" "$CONNECTIONS" "${RESULTS[@]}" <<'PYEOF'
import os
import platform
import re
import sys
import time
from pathlib import Path

seconds, connections, *rows = sys.argv[1:]
lines = [
    "## Load (bench/load.sh, run by CI)",
    "",
    f"gunicorn sync x4; for {seconds} s at once: wrk with {connections} connections sending the"
    " reader mix (article pages and API for new, walled and trial readers, the premium"
    " wall, a list page, the home page) plus API sign-ins, and wrk with 2 connections"
    " posting signed Stripe webhooks, each a new event. CI fails on any 5xx, a connection"
    ' dropped or refused, or "database is locked"; timeouts (over 10 s) are only counted.',
    "",
    f"This run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores,"
    f" Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} when it"
    " ended (other work on the machine shows in the absolute numbers; the gate is zero"
    " errors).",
    "",
    "| database | traffic | requests | req/s | p50 ms | p99 ms | 2xx/3xx | 4xx | 5xx | dropped | timeouts | \"database is locked\" |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
failed = False
for row in rows:
    label, part, stats, locked = row.split("|")
    values = dict(re.findall(r"(\w+)=([\d.]+)", stats))
    if not values or values["5xx"] != "0" or values["dropped"] != "0" or locked != "0":
        failed = True
    database = {"postgresql": "PostgreSQL + Redis", "sqlite": "SQLite (default)"}[label]
    lines.append(
        f"| {database} | {part} | {values.get('requests', '?')} | {values.get('rps', '?')} |"
        f" {values.get('p50_ms', '?')} | {values.get('p99_ms', '?')} | {values.get('ok', '?')} |"
        f" {values.get('4xx', '?')} | {values.get('5xx', '?')} | {values.get('dropped', '?')} |"
        f" {values.get('timeouts', '?')} | {locked} |"
    )
section = "\n".join(lines) + "\n"
path = Path("bench/RESULTS.md")
text = path.read_text() if path.exists() else ""
start, end = "<!-- load -->\n", "<!-- /load -->\n"
if start in text and end in text:
    text = text[: text.index(start)] + start + section + text[text.index(end) :]
else:
    text = text.rstrip("\n") + "\n\n" + start + section + end
path.write_text(text)
print(section)
if failed:
    print("LOAD FAILED: a 5xx, a dropped connection or a locked database (see above)")
    sys.exit(1)
PYEOF
