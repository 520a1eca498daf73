"""Run every benchmark, each in its own process, and write their figures to benchmarks/results.json.

    python -m benchmarks.run_all            # the figures docs/benchmarks.md reports
    python -m benchmarks.run_all --quick    # tiny sizes, to check that everything still runs

Each benchmark prints a JSON line (see `common.JSON_MARKER`); the results file contains
those lines keyed by benchmark, with the machine facts and the exact commands.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.dataset import LARGE_SIZE, REAL_SIZE, REPOSITORY_ROOT

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = REPOSITORY_ROOT / "benchmarks" / "results.json"

# Each benchmark process stops by itself well before this; it guards against a hang.
BENCHMARK_TIMEOUT_SECONDS = 3600

FULL: list[list[str]] = [
    ["latency", "--size", str(REAL_SIZE), "--runs", "3"],
    ["latency", "--size", str(LARGE_SIZE), "--runs", "3", "--ll2-requests", "0"],
    ["loop_lag", "--size", str(LARGE_SIZE), "--runs", "1"],
    ["sync", "--size", str(LARGE_SIZE), "--runs", "3"],
    ["fanout", "--channels", "1000", "--runs", "3"],
    ["memory", "--size", str(LARGE_SIZE), "--runs", "1"],
]

QUICK: list[list[str]] = [
    ["latency", "--size", "40", "--runs", "1", "--requests", "5", "--ll2-requests", "2", "--ll2-latency", "0.01"],
    ["loop_lag", "--size", "250", "--runs", "1"],
    ["sync", "--size", "250", "--runs", "1"],
    ["fanout", "--channels", "12", "--runs", "1"],
    ["memory", "--size", "60", "--runs", "1", "--commands", "10"],
]


def run_benchmark(arguments: list[str]) -> dict[str, Any]:
    """Run `python -m benchmarks.<name> ...`, echo its output and return its JSON result."""
    command = [sys.executable, "-m", f"benchmarks.{arguments[0]}", *arguments[1:]]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPOSITORY_ROOT, capture_output=True, text=True,
                               timeout=BENCHMARK_TIMEOUT_SECONDS, check=False)
    sys.stdout.write(completed.stdout)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise RuntimeError(f"{' '.join(command[2:])} exited with {completed.returncode}")

    for line in completed.stdout.splitlines():
        if line.startswith(common.JSON_MARKER):
            result = json.loads(line[len(common.JSON_MARKER):])
            result["command"] = "python -m " + " ".join(command[2:])
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            return result
    raise RuntimeError(f"{' '.join(command[2:])} printed no result line")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark and write benchmarks/results.json.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the benchmarks run")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"results file (default {DEFAULT_OUTPUT})")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names to run, e.g. latency sync")
    parser.add_argument("--update", action="store_true",
                        help="keep the other results already in the output file, replacing only those run now")
    arguments = parser.parse_args(argv)
    common.configure_logging(False)

    plan = QUICK if arguments.quick else FULL
    if arguments.only:
        plan = [item for item in plan if item[0] in arguments.only]

    machine = common.machine_facts()
    results: dict[str, Any] = {}
    if arguments.update and arguments.output.is_file():
        results = json.loads(arguments.output.read_text())["results"]
    for item in plan:
        result = run_benchmark(item)
        results[result["benchmark"]] = result

    machine["load_average_after"] = [round(value, 2) for value in common.load_average()]
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps({"machine": machine, "quick": arguments.quick, "results": results},
                                           indent=2, sort_keys=True) + "\n")
    print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
