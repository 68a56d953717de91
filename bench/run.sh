#!/usr/bin/env bash
# make bench: gunicorn as in production, load from wrk in a second process on loopback,
# every target for BENCH_SECONDS, ratios against the paywall-free ceiling of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${BENCH_PORT:-8311}"
SECONDS_PER="${BENCH_SECONDS:-8}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
WORKERS="${BENCH_WORKERS:-4}"
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

export DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=0 MASTHEAD_BENCH=1
export SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export ALLOWED_HOSTS=127.0.0.1
export STRIPE_WEBHOOK_SECRET="whsec_bench_0123456789"
export MASTHEAD_VAR_DIR="$PWD/var/bench"
mkdir -p "$MASTHEAD_VAR_DIR"
if [ -z "${DATABASE_URL:-}" ] && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS masthead_bench" postgres
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE masthead_bench" postgres
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/masthead_bench"
fi
if [ -z "${REDIS_URL:-}" ] && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  export REDIS_URL="redis://127.0.0.1:6379/12"
  redis-cli -n 12 flushdb >/dev/null
fi
echo "database: ${DATABASE_URL:-sqlite}  redis: ${REDIS_URL:-none}"

$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
$PY manage.py load_demo >/dev/null
READERS=$($PY bench/prepare.py)
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$READERS" "$1"; }
SLUG=$(field slug); PREMIUM=$(field premium_slug)
WALLED=$(field walled_cookie); SESSION=$(field session_cookie)

.venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:${PORT}" --workers "$WORKERS" \
  --no-control-socket --log-level warning --access-logfile /dev/null &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true; wait $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:${PORT}/healthz" >/dev/null && break; sleep 0.2; done

BASE="http://127.0.0.1:${PORT}"
run() {  # name, path, cookie
  local name=$1 path=$2 cookie=${3:-}
  local args=(-t 2 -c "$CONNECTIONS" -d "${SECONDS_PER}s" --latency)
  [ -n "$cookie" ] && args+=(-H "Cookie: $cookie")
  curl -sf -o /dev/null ${cookie:+-H "Cookie: $cookie"} "$BASE$path"
  # Warm every worker (caches, connections) before measuring, so the first target run
  # is not the one that pays for cold processes.
  wrk -t 2 -c "$CONNECTIONS" -d 2s ${cookie:+-H "Cookie: $cookie"} "$BASE$path" > /dev/null
  wrk "${args[@]}" "$BASE$path" > "$OUT/$name.txt"
  echo "  $name done"
}
run ceiling "/bench/bare/$SLUG/"
run healthz "/healthz"
run web_metered_new_reader "/a/$SLUG/"
run web_walled "/a/$SLUG/" "$WALLED"
run web_premium_anonymous "/a/$PREMIUM/"
run web_entitled "/a/$PREMIUM/" "$SESSION"
run api_metered_new_reader "/api/v1/articles/$SLUG/"
run api_walled "/api/v1/articles/$SLUG/" "$WALLED"
run api_entitled "/api/v1/articles/$PREMIUM/" "$SESSION"

# Webhook intake: signed deliveries, each a new event id (stored once, processing enqueued).
$PY bench/webhook_events.py "$OUT/webhook_events.tsv" "$STRIPE_WEBHOOK_SECRET" 60000
wrk -t 1 -c "$CONNECTIONS" -d "${SECONDS_PER}s" --latency -s bench/webhooks.lua \
  "$BASE" -- "$PWD/$OUT/webhook_events.tsv" 0 > "$OUT/webhook_intake.txt"
echo "  webhook_intake done"
rm -f "$OUT/webhook_events.tsv"
$PY - <<'PYEOF'
import django, os
django.setup()
from config.celery_app import app
with app.connection_for_write() as conn:  # no worker runs in the bench: drop the tasks
    conn.default_channel.queue_purge("celery")
PYEOF

DB_KIND=sqlite; [ -n "${DATABASE_URL:-}" ] && DB_KIND=postgresql
CACHE_KIND=none; [ -n "${REDIS_URL:-}" ] && CACHE_KIND=yes
$PY bench/report.py "$OUT" "BENCH_SECONDS=$SECONDS_PER, $CONNECTIONS connections, gunicorn sync x$WORKERS, database $DB_KIND, redis $CACHE_KIND"

if [ -n "${DATABASE_URL:-}" ] && [ "${BENCH_JOBS:-1}" = "1" ]; then
  echo "== jobs benchmark"
  $PY bench/jobs_bench.py | tee -a bench/RESULTS.md
fi

if [ -n "${DATABASE_URL:-}" ] && [ "${BENCH_SIMULATOR:-1}" = "1" ]; then
  echo "== rule simulator benchmark"
  $PY bench/simulator_bench.py | tee -a bench/RESULTS.md
fi

if [ -n "${DATABASE_URL:-}" ] && [ "${BENCH_OPS:-1}" = "1" ]; then
  echo "== ops dashboard benchmark"
  $PY bench/ops_dashboard.py | tee -a bench/RESULTS.md
fi
