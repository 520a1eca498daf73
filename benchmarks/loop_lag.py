"""Benchmark 2: event-loop lag while a full sync of the whole data set runs.

The sync is the bot's own `run_full_sync` with its `LL2Client`, into an empty mirror, against
a stand-in LL2 in a child process (so serving pages does not count). A probe task sleeps
10 ms in a loop and records how much later than asked it wakes up. The request budget is
raised for the run, because the default budget would stop the sync after a few pages.

    python -m benchmarks.loop_lag --size 100000 --runs 1
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import common
from benchmarks.dataset import LARGE_SIZE
from benchmarks.ll2_server import LL2ServerProcess
from bot.jobs.sync import SyncReport, run_full_sync
from bot.ll2.client import LL2Client, RequestBudget
from storage.database import ExpeditionStore

log = logging.getLogger(__name__)

PROBE_INTERVAL = 0.010
UNLIMITED_BUDGET = 1_000_000
SYNC_TIMEOUT_SECONDS = 1200.0


async def probe(overshoots: list[float], stop: asyncio.Event) -> None:
    """Sleep PROBE_INTERVAL repeatedly and record each wake-up's delay beyond it, in seconds."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        asked = loop.time()
        await asyncio.sleep(PROBE_INTERVAL)
        overshoots.append(max(0.0, loop.time() - asked - PROBE_INTERVAL))


async def sync_with_probe(base_url: str, database_path: Path) -> tuple[SyncReport, list[float], float]:
    """Run one full sync into `database_path` while probing; return the report, overshoots and seconds."""
    store = ExpeditionStore.open(database_path, check_same_thread=False)
    overshoots: list[float] = []
    stop = asyncio.Event()
    try:
        async with aiohttp.ClientSession() as session:
            client = LL2Client(session, base_url, api_key=None, budget=RequestBudget(UNLIMITED_BUDGET))
            probe_task = asyncio.create_task(probe(overshoots, stop))
            started = time.perf_counter()
            report = await asyncio.wait_for(run_full_sync(client, store), SYNC_TIMEOUT_SECONDS)
            elapsed = time.perf_counter() - started
            stop.set()
            await probe_task
    finally:
        await asyncio.to_thread(store.close)
    return report, overshoots, elapsed


async def measure(size: int, runs: int) -> dict[str, Any]:
    """Run `runs` full syncs of `size` expeditions, each into a fresh mirror."""
    results: list[dict[str, Any]] = []
    async with LL2ServerProcess(size) as server:
        for run in range(runs):
            with tempfile.TemporaryDirectory(prefix="bench-lag-") as folder:
                report, overshoots, elapsed = await sync_with_probe(server.base_url, Path(folder) / "mirror.sqlite3")
            if not report.complete:
                raise RuntimeError(f"the sync did not complete: {report.error}")
            summary = common.summarize(overshoots)
            results.append({"max_ms": summary.max_ms, "p99_ms": summary.p99_ms, "median_ms": summary.median_ms,
                            "samples": summary.count, "sync_seconds": elapsed, "pages": report.pages,
                            "inserted": len(report.inserted)})
            log.info("run %d: %s", run + 1, results[-1])

    return {
        "max_ms": common.spread([item["max_ms"] for item in results]),
        "p99_ms": common.spread([item["p99_ms"] for item in results]),
        "median_ms": common.spread([item["median_ms"] for item in results]),
        "sync_seconds": common.spread([item["sync_seconds"] for item in results]),
        "pages": results[0]["pages"],
        "inserted": results[0]["inserted"],
        "samples": [item["samples"] for item in results],
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(__doc__.splitlines()[0], size=LARGE_SIZE, runs=1)
    arguments = parser.parse_args(argv)
    common.configure_logging(arguments.verbose)

    load_before = common.load_average()
    figures = asyncio.run(measure(arguments.size, arguments.runs))
    lines = [
        f"full sync of {arguments.size} expeditions ({figures['pages']} pages) took "
        f"{figures['sync_seconds']['median']:.1f} s (median of {arguments.runs})",
        f"loop overshoot of a 10 ms sleep: max {figures['max_ms']['median']:.1f} ms "
        f"[{figures['max_ms']['min']:.1f}-{figures['max_ms']['max']:.1f}], "
        f"p99 {figures['p99_ms']['median']:.1f} ms, median {figures['median_ms']['median']:.2f} ms",
    ]
    common.emit("loop-lag", lines, {"size": arguments.size, "runs": arguments.runs, **figures,
                                    "load_average_before": load_before, "load_average_after": common.load_average()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
