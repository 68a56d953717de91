#!/usr/bin/env bash
# Serve the product locally: gunicorn on 127.0.0.1:$PORT plus a Celery worker with an
# embedded beat (and the Stripe double when no Stripe key is set). Ctrl-C or SIGTERM stops
# them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
PY=.venv/bin/python

# Billing: without STRIPE_SECRET_KEY the local Stripe double (localstripe + our extension,
# TEST MODE pages, no real card) stands in, so a newcomer can subscribe end to end.
DOUBLE=""
WORKER=""
WEB=""
stop() {
  trap - EXIT INT TERM
  kill $WEB $WORKER $DOUBLE 2>/dev/null || true
  wait $WEB $WORKER $DOUBLE 2>/dev/null || true
}
trap stop EXIT
trap 'stop; exit 0' INT TERM
if [ -z "${STRIPE_SECRET_KEY:-}" ]; then
  STRIPE_DOUBLE_PORT="${STRIPE_DOUBLE_PORT:-8420}"
  export STRIPE_API_BASE="${STRIPE_API_BASE:-http://127.0.0.1:${STRIPE_DOUBLE_PORT}}"
  export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_local_double_only}"
  export SITE_URL="${SITE_URL:-http://127.0.0.1:${PORT}}"
  $PY -m devtools.stripe_double --port "${STRIPE_DOUBLE_PORT}" &
  DOUBLE=$!
  $PY manage.py stripe_double_setup
fi

.venv/bin/celery -A config worker --beat --loglevel INFO --concurrency 2 \
  --schedule var/celerybeat-schedule &
WORKER=$!

sleep 3  # let the worker print its banner first
echo
echo "Masthead is running on http://127.0.0.1:${PORT}/  (Ctrl-C to stop)"
[ -f var/demo-accounts.txt ] && grep -A10 "Demo accounts" var/demo-accounts.txt
[ -z "${STRIPE_SECRET_KEY:-}" ] && echo "Billing: TEST MODE against the local Stripe double; pay with 4242 4242 4242 4242."
echo
.venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:${PORT}" \
  --workers "${WEB_CONCURRENCY:-3}" --no-control-socket --access-logfile - --timeout 60 &
WEB=$!
wait $WEB
