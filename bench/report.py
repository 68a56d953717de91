"""Turns wrk outputs into bench/RESULTS.md: req/s, p50, p99 and the ratios of one run."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

LABELS = {
    "healthz": "/healthz (middleware, no I/O)",
    "limit": "the limit: the free page's bytes from memory, same middleware",
    "web_free": "web page, anonymous reader, free article",
    "web_metered_new_reader": "web page, metered, new reader (cookie issued, meter insert)",
    "web_metered_rereader": "web page, metered, anonymous re-reader",
    "web_walled": "web page, walled reader (meter exhausted)",
    "web_premium_anonymous": "web page, anonymous reader on a premium article (wall)",
    "web_entitled": "web page, entitled reader (trial, session)",
    "api_free": "API detail, anonymous reader, free article",
    "api_metered_new_reader": "API detail, metered, new reader",
    "api_metered_rereader": "API detail, metered, anonymous re-reader",
    "api_walled": "API detail, walled reader (meter exhausted)",
    "api_premium_anonymous": "API detail, anonymous reader on a premium article (wall)",
    "api_entitled": "API detail, entitled reader (trial, session)",
    "api_subscriber_token": "API detail, subscriber by API token",
    "webhook_intake": "Stripe webhook intake (verify, store once, wake the drain): accepted events",
}
GATED_GOAL = 0.9  # of the free page of the same channel
FREE_GOAL = 0.5  # of /healthz


def found(pattern: str, text: str, flags: int = 0) -> str:
    """The first group of `pattern` in wrk's output, which must have it."""
    match = re.search(pattern, text, flags)
    assert match is not None, f"{pattern!r} not in the output"
    return match.group(1)


def to_ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", value)
    assert match is not None, value
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(path: Path) -> dict[str, float]:
    text = path.read_text()
    rps = float(found(r"Requests/sec:\s+([\d.]+)", text))
    # Only the "Latency Distribution" lines start with the percentile.
    p50 = to_ms(found(r"^\s+50%\s+(\S+)", text, re.M))
    p99 = to_ms(found(r"^\s+99%\s+(\S+)", text, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = int(non2xx.group(1)) if non2xx else 0
    requests = int(found(r"(\d+) requests in", text))
    ticks = re.search(r"^(\d+) (\d+)$", text, re.M)  # run.sh: worker CPU ticks, ticks/s
    cpu_ms = 1000 * int(ticks.group(1)) / int(ticks.group(2)) / requests if ticks else 0.0
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": errors, "cpu_ms": cpu_ms}


def best_rounds(out: Path) -> tuple[dict[str, dict[str, float]], int]:
    """Each target's best round (highest req/s) and how many rounds there were."""
    best: dict[str, dict[str, float]] = {}
    rounds = 0
    for path in sorted(out.glob("*.round*.txt")):
        name, _, round_no = path.stem.partition(".round")
        rounds = max(rounds, int(round_no))
        result = parse(path)
        if name not in best or result["rps"] > best[name]["rps"]:
            best[name] = result
    return best, rounds


def cost_table(cost: dict[str, dict[str, float]]) -> list[str]:
    """bench/cost.py: CPU per request in one process, requests one at a time."""
    free = {"web": cost["web_free"]["cpu_ms"], "api": cost["api_free"]["cpu_ms"]}
    lines = [
        "",
        "In-process cost (bench/cost.py: each target's requests through Django's WSGI "
        "handler one at a time, by this process's CPU clock, the median of 7 batches that "
        "interleave the targets; "
        "PostgreSQL's and Redis's own CPU not included). The free page's cost over the "
        "target's is the throughput ratio the target would have if CPU were all it used.",
        "",
        "| target | CPU ms/req | wall ms/req | free page's CPU / this CPU |",
        "|---|---:|---:|---:|",
    ]
    for key in [k for k in LABELS if k in cost]:
        c = cost[key]
        channel = key.split("_", 1)[0]
        ratio = f"{free[channel] / c['cpu_ms']:.2f}" if channel in free else "-"
        lines.append(f"| {LABELS[key]} | {c['cpu_ms']:.3f} | {c['wall_ms']:.3f} | {ratio} |")
    return lines


def main() -> None:
    out, command = Path(sys.argv[1]), sys.argv[2]
    results, rounds = best_rounds(out)
    healthz = results["healthz"]["rps"]
    limit = results["limit"]["rps"]
    free = {"web": results["web_free"]["rps"], "api": results["api_free"]["rps"]}
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"Command: `make bench` ({command}).",
        f"Machine: {platform.machine()}, {cpu} cores shared with other work, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Load: wrk from "
        "a second process on loopback.",
        "",
        "Absolute numbers on this machine are noisy (wrk, the four workers, PostgreSQL, Redis "
        "and other people's jobs share two cores): read the ratios, all from this one run. "
        f"Targets run in {rounds} interleaved rounds; each row is the target's best round.",
        "",
        "| target | req/s | p50 ms | p99 ms | to /healthz | to the free page | to the limit "
        "| worker CPU ms/req | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = [k for k in LABELS if k in results] + [k for k in results if k not in LABELS]
    for key in order:
        r = results[key]
        channel = key.split("_", 1)[0]
        to_free = f"{r['rps'] / free[channel]:.2f}" if channel in free else "-"
        lines.append(
            f"| {LABELS.get(key, key)} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | "
            f"{r['rps'] / healthz:.2f} | {to_free} | {r['rps'] / limit:.2f} | "
            f"{r['cpu_ms']:.2f} | {int(r['non2xx'])} |"
        )
    cost_file = out / "cost.json"
    if cost_file.exists():
        lines += cost_table(json.loads(cost_file.read_text()))
    gated = [k for k in order if k.split("_", 1)[0] in free and not k.endswith("_free")]
    worst = min(gated, key=lambda k: results[k]["rps"] / free[k.split("_", 1)[0]])
    worst_ratio = results[worst]["rps"] / free[worst.split("_", 1)[0]]
    web_free = free["web"] / healthz
    lines += [
        "",
        f"Goals: the anonymous free page at least {FREE_GOAL} of /healthz: **{web_free:.2f}** "
        f"({'met' if web_free >= FREE_GOAL else 'not met'}); every gated kind at least "
        f"{GATED_GOAL} of the free page of its channel: the lowest is "
        f"{LABELS.get(worst, worst)} at **{worst_ratio:.2f}** "
        f"({'met' if worst_ratio >= GATED_GOAL else 'not met'}).",
    ]
    text = "\n".join(lines) + "\n"
    notes = Path("bench/notes.md")  # the analysis, kept across runs
    if notes.exists():
        text += "\n" + notes.read_text()
    path = Path("bench/RESULTS.md")
    old = path.read_text() if path.exists() else ""
    for section in kept_sections(old, regenerated=regenerated_headings(text)):
        text += "\n" + section
    path.write_text(text)
    print(text)


# The sections bench/run.sh appends after this report when their part runs (BENCH_JOBS,
# BENCH_SIMULATOR, BENCH_OPS; each needs PostgreSQL): heading prefix -> switch.
APPENDED_BY_RUN = {
    "## Jobs:": "BENCH_JOBS",
    "## Rule simulator:": "BENCH_SIMULATOR",
    "## Operations dashboard with": "BENCH_OPS",
}


def regenerated_headings(text: str) -> set[str]:
    """The headings this run writes: the report's own (notes.md's included) and the
    sections run.sh is about to append."""
    heads = {line for line in text.splitlines() if line.startswith("## ")}
    if os.environ.get("DATABASE_URL"):
        heads |= {h for h, switch in APPENDED_BY_RUN.items() if os.environ.get(switch, "1") == "1"}
    return heads


def kept_sections(old: str, *, regenerated: set[str]) -> list[str]:
    """The old file's sections (from a `## ` heading, or a `<!-- load -->` block, to the
    next) that this run does not write again: a partial run loses none of the others."""
    sections: list[list[str]] = []
    in_block = False
    for line in old.splitlines(keepends=True):
        starts = line.startswith("<!-- load -->") or (line.startswith("## ") and not in_block)
        if starts:
            sections.append([])
            in_block = line.startswith("<!-- load -->")
        if sections:
            sections[-1].append(line)
        if line.startswith("<!-- /load -->"):
            in_block = False
    kept = []
    for lines in sections:
        head = next((x.rstrip("\n") for x in lines if x.startswith("## ")), "")
        if any(head.startswith(prefix) for prefix in regenerated):
            continue
        kept.append("".join(lines).rstrip("\n") + "\n")
    return kept


if __name__ == "__main__":
    main()
