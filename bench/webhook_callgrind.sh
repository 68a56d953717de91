#!/usr/bin/env bash
# Instructions per request of each kind of bench/webhook_cost.py, by callgrind: repeatable
# on a shared machine where CPU time is not. One process runs N requests of each kind;
# it calls sched_yield() just before and just after each kind's requests, and callgrind
# dumps its counters at each call, so every other dump is one kind's requests alone.
# Instructions of this process only (user space: neither the kernel's socket work nor
# PostgreSQL's or Redis's).
#   (bench/run.sh's environment) bash bench/webhook_callgrind.sh [kinds...]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_CALLGRIND_REQUESTS:-200}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
KINDS=("$@")
[ ${#KINDS[@]} -gt 0 ] || KINDS=(healthz armed woken duplicate)
PYTHONHASHSEED=0 valgrind --tool=callgrind --dump-before=sched_yield \
  --callgrind-out-file="$OUT/cg" .venv/bin/python bench/webhook_cost.py run "${KINDS[@]}" "$N" \
  >/dev/null 2>"$OUT/log"
i=0
for kind in "${KINDS[@]}"; do
  part="$OUT/cg.$((2 * i + 2))"
  total=$(sed -n 's/^summary: //p; s/^totals: //p' "$part" | head -1)
  echo "$kind: $((total / N)) instructions per request"
  i=$((i + 1))
done
