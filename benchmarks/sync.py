"""Benchmark 3: sync and diff cost, writes of a no-change sync, LL2 requests per hour, change latency.

1. Save and diff: `ExpeditionStore.save_expeditions` over every page of 100 already-converted
   records into an empty mirror (the first full sync), then again with nothing changed (the
   diff of every later sync), then with 1% of the records renamed. Each figure is measured
   `--runs` times, every run on a fresh mirror.
2. The no-change save must write nothing: `total_changes` of the store's connection and
   `PRAGMA data_version` seen from a second connection are compared before and after.
3. LL2 requests per hour under the default settings at real size, computed from the
   settings and then counted on a stand-in LL2 over one simulated hour of scheduled syncs.
4. Whether a change to an on-going expedition is in the mirror after the next scheduled sync.

    python -m benchmarks.sync --size 100000 --runs 3
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import common
from benchmarks.dataset import LARGE_SIZE, REAL_SIZE, batches, build_dataset, cached_records
from bot.jobs.sync import run_full_sync
from bot.ll2.client import MAX_PAGE_SIZE, LL2Client, RequestBudget
from bot.settings import Settings
from storage.database import ExpeditionStore
from storage.records import Expedition
from tests.standins.ll2.server import StandInLL2

log = logging.getLogger(__name__)

CHANGED_SHARE = 0.01
TARGET_REQUESTS_PER_HOUR = 10


def default_settings() -> Settings:
    """Return the settings with every default, whatever the environment or a .env file holds."""
    values = {name: field.default for name, field in Settings.model_fields.items()}
    return Settings.model_construct(**values)


def save_pages(store: ExpeditionStore, records: list[Expedition]) -> tuple[float, int, int]:
    """Save `records` page by page as the sync does; return seconds, inserted and updated counts."""
    inserted = updated = 0
    started = time.perf_counter()
    for page in batches(records, MAX_PAGE_SIZE):
        report = store.save_expeditions(page)
        inserted += len(report.inserted)
        updated += len(report.updated)
    return time.perf_counter() - started, inserted, updated


def renamed(records: list[Expedition], share: float) -> tuple[list[Expedition], int]:
    """Return the records with every 1/share-th one renamed, and how many were changed."""
    step = max(1, round(1 / share))
    changed = [dataclasses.replace(record, name=record.name + " (renamed)") if index % step == 0 else record
               for index, record in enumerate(records)]
    return changed, len(range(0, len(records), step))


def measure_saves(records: list[Expedition], runs: int) -> dict[str, Any]:
    """Time the first save, the no-change diff and a 1% change, on a fresh mirror per run."""
    first, diff, partial = [], [], []
    writes: dict[str, Any] = {}
    changed_records, changed_count = renamed(records, CHANGED_SHARE)
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
            path = Path(folder) / "mirror.sqlite3"
            store = ExpeditionStore.open(path)
            watcher = sqlite3.connect(path)
            try:
                seconds, inserted, _ = save_pages(store, records)
                first.append(seconds)

                version_before = watcher.execute("PRAGMA data_version").fetchone()[0]
                changes_before = store.db.conn.total_changes
                seconds, inserted_again, updated_again = save_pages(store, records)
                diff.append(seconds)
                writes = {
                    "inserted_first": inserted,
                    "total_changes_delta": store.db.conn.total_changes - changes_before,
                    "data_version_changed": watcher.execute("PRAGMA data_version").fetchone()[0] != version_before,
                    "inserted_again": inserted_again,
                    "updated_again": updated_again,
                }

                seconds, _, updated = save_pages(store, changed_records)
                partial.append(seconds)
                writes["updated_after_rename"] = updated
                writes["renamed"] = changed_count
            finally:
                watcher.close()
                store.close()

    return {
        "first_save_seconds": common.spread(first),
        "no_change_diff_seconds": common.spread(diff),
        "one_percent_changed_seconds": common.spread(partial),
        **writes,
    }


def requests_per_hour(settings: Settings, size: int) -> dict[str, Any]:
    """Compute the LL2 requests per hour that the default schedule spends on `size` expeditions."""
    pages = max(1, math.ceil(size / MAX_PAGE_SIZE))
    syncs_per_hour = 60 / settings.sync_interval_minutes
    wanted = pages * syncs_per_hour
    return {
        "sync_interval_minutes": settings.sync_interval_minutes,
        "budget_per_hour": settings.ll2_requests_per_hour,
        "pages_per_full_sync": pages,
        "syncs_per_hour": syncs_per_hour,
        "computed_requests_per_hour": min(wanted, settings.ll2_requests_per_hour),
        "full_syncs_fit_budget": wanted <= settings.ll2_requests_per_hour,
    }


async def simulate_hour(settings: Settings, size: int) -> dict[str, Any]:
    """Run one hour of scheduled syncs on a simulated clock against a stand-in LL2; count requests.

    Between the first and second sync an on-going expedition gains a crew member, and the
    check is whether the second sync (one interval later) brings the change into the mirror.
    """
    dataset = build_dataset(size)
    now = [datetime(2026, 7, 1, 12, tzinfo=UTC)]
    interval = timedelta(minutes=settings.sync_interval_minutes)
    syncs = int(timedelta(hours=1) / interval)

    async with StandInLL2(dataset) as ll2, aiohttp.ClientSession() as session:
        budget = RequestBudget(settings.ll2_requests_per_hour, clock=lambda: now[0].timestamp())
        client = LL2Client(session, ll2.base_url, api_key=None, budget=budget)
        with tempfile.TemporaryDirectory(prefix="bench-sync-hour-") as folder:
            store = ExpeditionStore.open(Path(folder) / "mirror.sqlite3", check_same_thread=False)
            try:
                reports = []
                changed_id = None
                for number in range(syncs):
                    if number == 1:
                        changed_id = _add_crew_member(ll2, dataset)
                    reports.append(await run_full_sync(client, store, clock=lambda: now[0]))
                    now[0] += interval
                noticed = changed_id is not None and len(reports) > 1 and changed_id in reports[1].updated
            finally:
                await asyncio.to_thread(store.close)
        counted = len([request for request in ll2.requests if request.path.rstrip("/").endswith("expeditions")])

    return {
        "simulated_syncs": syncs,
        "counted_requests_in_hour": counted,
        "complete_syncs": sum(report.complete for report in reports),
        "ongoing_change_noticed_next_sync": noticed,
        "changed_expedition_id": changed_id,
    }


def _add_crew_member(ll2: StandInLL2, dataset: Any) -> int:
    """Give the newest on-going expedition one more crew member; return its id."""
    ongoing = [expedition for expedition in dataset.expeditions if expedition["end"] is None and expedition["crew"]]
    target = max(ongoing, key=lambda expedition: expedition["start"])
    donor = next(expedition for expedition in dataset.expeditions
                 if expedition["crew"] and expedition["id"] != target["id"])
    seat = dict(donor["crew"][-1], id=999_999_001)
    updated = dict(target, crew=[*target["crew"], seat])
    dataset.expeditions = [updated if expedition["id"] == target["id"] else expedition
                           for expedition in dataset.expeditions]
    ll2.set_dataset(dataset)
    return target["id"]


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(__doc__.splitlines()[0], size=LARGE_SIZE, runs=3)
    arguments = parser.parse_args(argv)
    common.configure_logging(arguments.verbose)

    load_before = common.load_average()
    records = cached_records(arguments.size)
    saves = measure_saves(records, arguments.runs)
    settings = default_settings()
    budget = requests_per_hour(settings, REAL_SIZE)
    hour = asyncio.run(simulate_hour(settings, REAL_SIZE))

    lines = [
        f"{arguments.size} expeditions in pages of {MAX_PAGE_SIZE}, {arguments.runs} runs (median [min-max] s):",
        _seconds_line("first save (insert all)", saves["first_save_seconds"]),
        _seconds_line("no-change diff", saves["no_change_diff_seconds"]),
        _seconds_line(f"{CHANGED_SHARE:.0%} renamed ({saves['renamed']} records)", saves["one_percent_changed_seconds"]),
        f"no-change diff: total_changes +{saves['total_changes_delta']}, data_version changed: "
        f"{saves['data_version_changed']}, inserted {saves['inserted_again']}, updated {saves['updated_again']}",
        f"default settings at {REAL_SIZE} expeditions: every {budget['sync_interval_minutes']} min, "
        f"{budget['pages_per_full_sync']} pages -> {budget['computed_requests_per_hour']:.0f} requests/hour "
        f"(budget {budget['budget_per_hour']}, target <= {TARGET_REQUESTS_PER_HOUR})",
        f"simulated hour: {hour['simulated_syncs']} syncs, {hour['counted_requests_in_hour']} requests counted, "
        f"on-going change noticed by the next sync: {hour['ongoing_change_noticed_next_sync']}",
    ]
    result = {"size": arguments.size, "runs": arguments.runs, **saves, "requests_per_hour": budget, "hour": hour,
              "load_average_before": load_before, "load_average_after": common.load_average()}
    common.emit("sync", lines, result)
    return 0


def _seconds_line(label: str, figure: dict[str, float]) -> str:
    return f"  {label:<32} {figure['median']:7.2f} [{figure['min']:.2f}-{figure['max']:.2f}]"


if __name__ == "__main__":
    raise SystemExit(main())
