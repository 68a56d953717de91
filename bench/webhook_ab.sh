#!/usr/bin/env bash
# Webhook intake against /healthz, this checkout and a baseline in one run: both served by
# gunicorn (sync x BENCH_WORKERS) on the same PostgreSQL database and Redis, wrk with
# BENCH_CONNECTIONS connections, BENCH_ROUNDS interleaved rounds of BENCH_SECONDS per
# target. The baseline is a git ref of this repository (default: main), served from an
# archive copy with this checkout's virtualenv; its schema must be a subset of this one's.
#   DATABASE_URL=postgres://.../masthead_x REDIS_URL=redis://.../n bash bench/webhook_ab.sh [ref]
# No worker runs (as in make bench): whatever intake publishes is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database of your own}"
: "${REDIS_URL:?set REDIS_URL}"
REF="${1:-main}"
ROOT="$PWD"
PY="$ROOT/.venv/bin/python"
SECONDS_PER="${BENCH_SECONDS:-5}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
WORKERS="${BENCH_WORKERS:-4}"
ROUNDS="${BENCH_ROUNDS:-3}"
OUT="$PWD/bench/out/webhook_ab"
BASELINE="$(mktemp -d)"
mkdir -p "$OUT"
rm -f "$OUT"/*

export DJANGO_SETTINGS_MODULE=config.settings.local DJANGO_DEBUG=0 MASTHEAD_BENCH=1
export SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
export ALLOWED_HOSTS=127.0.0.1
export STRIPE_WEBHOOK_SECRET="whsec_bench_0123456789"
export MASTHEAD_VAR_DIR="$PWD/var/bench"
mkdir -p "$MASTHEAD_VAR_DIR"
git archive "$REF" | tar -x -C "$BASELINE"
$PY manage.py migrate --noinput -v 0

PIDS=()
serve() {  # directory, port
  (cd "$1" && $PY manage.py collectstatic --noinput -v 0)
  (cd "$1" && exec "$ROOT/.venv/bin/gunicorn" config.wsgi:application --bind "127.0.0.1:$2" \
    --workers "$WORKERS" --no-control-socket --log-level warning --access-logfile /dev/null) &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.2; done
  echo "server in $1 did not start" >&2
  exit 1
}
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$BASELINE"
}
trap cleanup EXIT
serve "$PWD" 8321
serve "$BASELINE" 8322

ticks() {  # CPU clock ticks the server's workers have used so far
  local total=0 pid
  for pid in $(pgrep -P "$1"); do
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
measure() {  # label, server pid, port, path ("" for the intake), round
  local label=$1 pid=$2 port=$3 path=$4 round=$5 before file="$OUT/$1.round$5.txt"
  if [ -z "$path" ]; then
    $PY bench/webhook_events.py "$OUT/events.tsv" "$STRIPE_WEBHOOK_SECRET" 20000
    before=$(ticks "$pid")
    wrk -t 1 -c "$CONNECTIONS" -d "${SECONDS_PER}s" --latency -s bench/webhooks.lua \
      "http://127.0.0.1:$port" -- "$OUT/events.tsv" 0 > "$file"
  else
    wrk -t 2 -c "$CONNECTIONS" -d 1s "http://127.0.0.1:$port$path" > /dev/null
    before=$(ticks "$pid")
    wrk -t 2 -c "$CONNECTIONS" -d "${SECONDS_PER}s" --latency "http://127.0.0.1:$port$path" > "$file"
  fi
  echo "$(( $(ticks "$pid") - before )) $(getconf CLK_TCK)" >> "$file"
}
echo "start $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  measure healthz_this "${PIDS[0]}" 8321 /healthz "$round"
  measure intake_this "${PIDS[0]}" 8321 "" "$round"
  measure healthz_base "${PIDS[1]}" 8322 /healthz "$round"
  measure intake_base "${PIDS[1]}" 8322 "" "$round"
done
echo "end $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$OUT/events.tsv"
$PY - "$OUT" "$ROUNDS" "$REF" <<'PYEOF'
import re, sys
from pathlib import Path
out, rounds, ref = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def read(name, r):
    text = (out / f"{name}.round{r}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    ticks, hz = map(int, text.strip().splitlines()[-1].split())
    return rps, ticks / hz * 1e3 / max(total, 1), int(bad.group(1)) if bad else 0
print(f"| round | /healthz req/s | intake req/s | ratio | CPU ms/req /healthz, intake | "
      f"/healthz ({ref}) | intake ({ref}) | ratio ({ref}) | CPU ms/req ({ref}) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in range(1, rounds + 1):
    h, i, hb, ib = (read(n, r) for n in ("healthz_this", "intake_this", "healthz_base", "intake_base"))
    assert i[2] == ib[2] == 0, "non-2xx answers"
    print(f"| {r} | {h[0]:.0f} | {i[0]:.0f} | {i[0] / h[0]:.2f} | {h[1]:.2f}, {i[1]:.2f} | "
          f"{hb[0]:.0f} | {ib[0]:.0f} | {ib[0] / hb[0]:.2f} | {hb[1]:.2f}, {ib[1]:.2f} |")
PYEOF
$PY - <<'PYEOF'
import django
django.setup()
from config.celery_app import app
with app.connection_for_write() as conn:  # no worker runs here: drop what intake published
    conn.default_channel.queue_purge("celery")
PYEOF
