"""In-process cost of each target: its requests through Django's WSGI handler (the whole
middleware stack and view, on the bench's PostgreSQL and Redis), one at a time, timed by
this process's CPU clock. Run by bench/run.sh after the HTTP targets.

On a shared two-core machine req/s swings with whatever else runs; the app's own CPU per
request swings less, and the batches interleave the targets (every batch runs each target
in turn) so that a slow spell hits all of them alike; each target's median batch counts.
Usage: cost.py TARGETS_FILE OUT_JSON (TARGETS_FILE: lines of name|path|header).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BATCHES = 7
PER_BATCH = int(os.environ.get("BENCH_COST_REQUESTS", "100"))


def environ(path: str, header: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    if header:
        name, _, value = header.partition(": ")
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def main() -> None:
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None  # WSGI's write(); Django never calls it

    def get(path: str, header: str) -> None:
        env = environ(path, header)
        env["wsgi.input"] = io.BytesIO(b"")
        result = handler(env, start_response)
        b"".join(result)
        result.close()

    results: dict[str, dict[str, float]] = {}
    with open(sys.argv[1]) as targets:
        lines = [line.rstrip("\n").split("|", 2) for line in targets if line.strip()]
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in lines}
    wall: dict[str, list[float]] = {name: [] for name, _, _ in lines}
    for _name, path, header in lines:
        for _ in range(30):  # warm this process's caches for every target
            get(path, header)
    for _ in range(BATCHES):
        for name, path, header in lines:
            statuses.clear()
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(PER_BATCH):
                get(path, header)
            cpu[name].append(1000 * (time.process_time() - c0) / PER_BATCH)
            wall[name].append(1000 * (time.perf_counter() - w0) / PER_BATCH)
            assert all(s.startswith("200") for s in statuses), (name, set(statuses))
    for name, _, _ in lines:
        results[name] = {
            "cpu_ms": statistics.median(cpu[name]),
            "wall_ms": statistics.median(wall[name]),
        }
        print(f"  cost {name}: {results[name]['cpu_ms']:.3f} ms CPU", flush=True)
    with open(sys.argv[2], "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
