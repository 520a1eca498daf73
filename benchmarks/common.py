"""Shared helpers for the benchmarks: statistics, output, command line and machine facts."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Each benchmark prints one line that starts with this marker and contains its results as JSON.
JSON_MARKER = "BENCHMARK-JSON "


@dataclass(frozen=True, slots=True)
class Summary:
    """Median, 99th percentile, maximum and spread of a list of samples, in milliseconds."""

    count: int
    median_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float

    def as_dict(self) -> dict[str, float]:
        return {"count": self.count, "median_ms": round(self.median_ms, 3), "p99_ms": round(self.p99_ms, 3),
                "max_ms": round(self.max_ms, 3), "min_ms": round(self.min_ms, 3)}


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Return the `fraction` percentile of `samples` by the nearest-rank method."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def summarize(seconds: Sequence[float]) -> Summary:
    """Summarize durations given in seconds."""
    milliseconds = [value * 1000.0 for value in seconds]
    return Summary(
        count=len(milliseconds),
        median_ms=statistics.median(milliseconds),
        p99_ms=percentile(milliseconds, 0.99),
        max_ms=max(milliseconds),
        min_ms=min(milliseconds),
    )


def spread(values: Sequence[float]) -> dict[str, float]:
    """Return the median, minimum and maximum of one figure taken over several runs."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": len(values)}


def build_parser(description: str, *, size: int, runs: int) -> argparse.ArgumentParser:
    """Return the command line every benchmark accepts: --size, --runs and --quiet."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", type=int, default=size, help=f"expeditions in the data set (default {size})")
    parser.add_argument("--runs", type=int, default=runs, help=f"repetitions of the measurement (default {runs})")
    parser.add_argument("--verbose", action="store_true", help="log at INFO instead of WARNING")
    return parser


def configure_logging(verbose: bool) -> None:
    """Log to standard error; the bot's own INFO lines would drown the figures otherwise."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def emit(name: str, lines: Sequence[str], result: dict[str, Any]) -> None:
    """Print the human-readable figures, then the JSON line that run_all collects."""
    print(f"== {name}")
    for line in lines:
        print(f"   {line}")
    print(JSON_MARKER + json.dumps({"benchmark": name, **result}, sort_keys=True))
    sys.stdout.flush()


def load_average() -> tuple[float, float, float]:
    """Return the 1, 5 and 15 minute load averages, to judge how busy the machine was."""
    return os.getloadavg()


def machine_facts() -> dict[str, Any]:
    """Return the facts docs/benchmarks.md lists about the machine that took the figures."""
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "ram_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": [round(value, 2) for value in load_average()],
        "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def rss_mib(pid: int | str = "self") -> dict[str, float]:
    """Return VmRSS (now) and VmHWM (peak) of a process, in MiB, from /proc/<pid>/status."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = round(int(value.split()[0]) / 1024, 1)
    return figures


def max_rss_mib() -> float:
    """Return this process's peak resident memory in MiB (getrusage ru_maxrss, KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
