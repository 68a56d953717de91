#!/usr/bin/env bash
# make bench: gunicorn as in production, load from wrk in a second process on loopback,
# every target for BENCH_SECONDS in BENCH_ROUNDS interleaved rounds; ratios within the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${BENCH_PORT:-8311}"
SECONDS_PER="${BENCH_SECONDS:-5}"
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
SLUG=$(field slug); PREMIUM=$(field premium_slug); FREE=$(field free_slug)
WALLED=$(field walled_cookie); REREADER=$(field rereader_cookie); SESSION=$(field session_cookie)
TOKEN=$(field token)

WORKER_CLASS="${BENCH_WORKER_CLASS:-sync}"  # as in production; gthread: BENCH_THREADS per worker
THREADS="${BENCH_THREADS:-1}"
.venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:${PORT}" --workers "$WORKERS" \
  --worker-class "$WORKER_CLASS" --threads "$THREADS" --no-control-socket --log-level warning --access-logfile /dev/null &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true; wait $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:${PORT}/healthz" >/dev/null && break; sleep 0.2; done

BASE="http://127.0.0.1:${PORT}"
ROUNDS="${BENCH_ROUNDS:-2}"
rm -f "$OUT"/*.txt "$OUT/cost.json"
# name|path|header (a cookie or an Authorization header; empty: an anonymous new reader)
TARGETS=(
  "healthz|/healthz|"
  "limit|/bench/page/$FREE/|"
  "web_free|/a/$FREE/|"
  "web_metered_new_reader|/a/$SLUG/|"
  "web_metered_rereader|/a/$SLUG/|Cookie: $REREADER"
  "web_walled|/a/$SLUG/|Cookie: $WALLED"
  "web_premium_anonymous|/a/$PREMIUM/|"
  "web_entitled|/a/$PREMIUM/|Cookie: $SESSION"
  "api_free|/api/v1/articles/$FREE/|"
  "api_metered_new_reader|/api/v1/articles/$SLUG/|"
  "api_metered_rereader|/api/v1/articles/$SLUG/|Cookie: $REREADER"
  "api_walled|/api/v1/articles/$SLUG/|Cookie: $WALLED"
  "api_premium_anonymous|/api/v1/articles/$PREMIUM/|"
  "api_entitled|/api/v1/articles/$PREMIUM/|Cookie: $SESSION"
  "api_subscriber_token|/api/v1/articles/$PREMIUM/|Authorization: Token $TOKEN"
)
worker_ticks() {  # CPU time (clock ticks) the gunicorn workers have used so far
  local total=0 pid
  for pid in $(pgrep -P "$GUNICORN"); do
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
run() {  # name, path, header, round
  local name=$1 path=$2 header=$3 round=$4
  local args=(-t 2 -c "$CONNECTIONS" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  curl -sf -o /dev/null ${header:+-H "$header"} "$BASE$path"
  # Warm every worker (caches, connections) before measuring.
  wrk "${args[@]}" -d 1s "$BASE$path" > /dev/null
  local before; before=$(worker_ticks)
  wrk "${args[@]}" -d "${SECONDS_PER}s" "$BASE$path" > "$OUT/$name.round$round.txt"
  # The workers' own CPU per request: what a target costs, less sensitive than req/s to
  # whatever else runs on the machine.
  echo "$(( $(worker_ticks) - before )) $(getconf CLK_TCK)" >> "$OUT/$name.round$round.txt"
}
# Rounds interleave the targets, so a burst of load from elsewhere on the machine hits
# every target alike; the report takes each target's best round.
webhooks() {  # round: signed deliveries, each a new event id (stored once, drain woken)
  $PY bench/webhook_events.py "$OUT/webhook_events.tsv" "$STRIPE_WEBHOOK_SECRET" 20000
  local before; before=$(worker_ticks)
  wrk -t 1 -c "$CONNECTIONS" -d "${SECONDS_PER}s" --latency -s bench/webhooks.lua \
    "$BASE" -- "$PWD/$OUT/webhook_events.tsv" 0 > "$OUT/webhook_intake.round$1.txt"
  echo "$(( $(worker_ticks) - before )) $(getconf CLK_TCK)" >> "$OUT/webhook_intake.round$1.txt"
  rm -f "$OUT/webhook_events.tsv"
}
for round in $(seq "$ROUNDS"); do
  for target in "${TARGETS[@]}"; do
    IFS='|' read -r name path header <<< "$target"
    run "$name" "$path" "$header" "$round"
  done
  webhooks "$round"
  echo "  round $round done"
done

# In-process cost per request (this process's CPU clock): steadier than req/s here.
printf '%s\n' "${TARGETS[@]}" > "$OUT/targets.txt"
$PY bench/cost.py "$OUT/targets.txt" "$OUT/cost.json"

$PY - <<'PYEOF'
import django, os
django.setup()
from config.celery_app import app
with app.connection_for_write() as conn:  # no worker runs in the bench: drop the tasks
    conn.default_channel.queue_purge("celery")
PYEOF

DB_KIND=sqlite; [ -n "${DATABASE_URL:-}" ] && DB_KIND=postgresql
CACHE_KIND=none; [ -n "${REDIS_URL:-}" ] && CACHE_KIND=yes
$PY bench/report.py "$OUT" "BENCH_SECONDS=$SECONDS_PER, BENCH_ROUNDS=$ROUNDS, $CONNECTIONS connections, gunicorn $WORKER_CLASS x$WORKERS (threads $THREADS), database $DB_KIND, redis $CACHE_KIND"

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
