"""Turns wrk outputs into bench/RESULTS.md: req/s, p50, p99 and the ratio to the ceiling."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

LABELS = {
    "ceiling": "bare article template, no paywall (the ceiling)",
    "healthz": "/healthz",
    "web_metered_new_reader": "web page, anonymous metered reader (new reader: insert)",
    "web_walled": "web page, walled reader (meter exhausted)",
    "web_premium_anonymous": "web page, anonymous reader on a premium article (wall)",
    "web_entitled": "web page, entitled reader (trial, session)",
    "api_metered_new_reader": "API detail, anonymous metered reader (new reader)",
    "api_walled": "API detail, walled reader (meter exhausted)",
    "api_entitled": "API detail, entitled reader (trial, session)",
    "webhook_intake": "Stripe webhook intake (verify, store once, enqueue): accepted events",
}


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(path: Path) -> dict[str, float]:
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    # Only the "Latency Distribution" lines start with the percentile.
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = int(non2xx.group(1)) if non2xx else 0
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": errors}


def main() -> None:
    out, command = Path(sys.argv[1]), sys.argv[2]
    results = {p.stem: parse(p) for p in sorted(out.glob("*.txt"))}
    ceiling = results["ceiling"]["rps"]
    healthz = results.get("healthz", {}).get("rps")
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"Command: `make bench` ({command}).",
        f"Machine: {platform.machine()}, {cpu} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load: wrk from a second process on loopback.",
        "",
        "Ratios compare each target with the ceiling (the same article template and query "
        "without the paywall) measured in the same run, since absolute numbers on this "
        "machine are noisy.",
        "",
        "| target | req/s | p50 ms | p99 ms | ratio to ceiling | ratio to /healthz | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    order = [k for k in LABELS if k in results] + [k for k in results if k not in LABELS]
    for key in order:
        r = results[key]
        to_health = f"{r['rps'] / healthz:.2f}" if healthz else "-"
        lines.append(
            f"| {LABELS.get(key, key)} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
            f"{r['rps'] / ceiling:.2f} | {to_health} | {int(r['non2xx'])} |"
        )
    text = "\n".join(lines) + "\n"
    path = Path("bench/RESULTS.md")
    old = path.read_text() if path.exists() else ""
    start, end = "<!-- load -->", "<!-- /load -->\n"
    if start in old and end in old:  # bench/load.sh's section stays
        text += "\n" + old[old.index(start) : old.index(end) + len(end)]
    path.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
