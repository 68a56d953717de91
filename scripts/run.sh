#!/usr/bin/env bash
# Serve the product locally: gunicorn on 127.0.0.1:$PORT plus a Celery worker with an
# embedded beat. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
PY=.venv/bin/python

.venv/bin/celery -A config worker --beat --loglevel INFO --concurrency 2 \
  --schedule var/celerybeat-schedule &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true; wait $WORKER 2>/dev/null || true' EXIT INT TERM

echo
echo "Masthead is running on http://127.0.0.1:${PORT}/  (Ctrl-C to stop)"
echo
exec_gunicorn() {
  .venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:${PORT}" \
    --workers "${WEB_CONCURRENCY:-3}" --no-control-socket --access-logfile - --timeout 60
}
exec_gunicorn
