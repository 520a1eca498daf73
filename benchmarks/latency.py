"""Benchmark 1: response latency through the stand-in Discord, from INTERACTION_CREATE sent to callback received.

The bot runs in this process (one event loop with the stand-in Discord, as in the end-to-end
tests but without a child process), over a copy of a cached mirror. Each command gets
`--requests` timed requests after a warm-up, one at a time; the baseline is `/bench noop`.
At real size the same searches are also answered by `/bench ll2search`, which asks a
stand-in LL2 with `--ll2-latency` seconds of latency instead of the mirror.

    python -m benchmarks.latency --size 170 --runs 3
    python -m benchmarks.latency --size 100000 --runs 3
"""

from __future__ import annotations

import asyncio
import logging
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.dataset import REAL_SIZE, build_dataset, mirror_path, working_copy
from benchmarks.harness import running_bot
from storage.database import ExpeditionStore
from tests.standins.discord import StandInDiscord
from tests.standins.ll2.server import StandInLL2

log = logging.getLogger(__name__)

WARM_UP = 20

# The LL2 comparison keeps the whole data set in the stand-in's memory, so it runs at real size only.
MAX_LL2_COMPARISON_SIZE = 5_000

Request = Callable[[int], Awaitable[Any]]


def pick_inputs(database_path: Path, seed: int = 1) -> dict[str, list[Any]]:
    """Choose what users would type, from the mirror itself: search words, names, ids, prefixes."""
    rng = random.Random(seed)
    store = ExpeditionStore.open(database_path)
    try:
        connection = store.db.conn
        expeditions = connection.execute("SELECT id, name FROM expeditions ORDER BY id").fetchall()
        astronauts = connection.execute("SELECT id, name, agency_abbrev FROM astronauts ORDER BY id").fetchall()
        stations = connection.execute("SELECT id, name FROM stations ORDER BY id").fetchall()
    finally:
        store.close()

    sample_expeditions = rng.sample(expeditions, min(60, len(expeditions)))
    sample_astronauts = rng.sample(astronauts, min(60, len(astronauts)))
    surnames = [name.split()[-1] for _, name, _ in sample_astronauts]
    searches = (
        surnames[:30]
        + [name for _, name in stations]
        + [abbrev for _, _, abbrev in sample_astronauts[:10] if abbrev]
        + ["American", "Chinese", "Russian", "ISS"]
        + [" ".join(name.split()[:2]) for _, name in sample_expeditions[:10]]
        + [surname[:2] for surname in surnames[:5]]
    )
    rng.shuffle(searches)

    show_values = [str(expedition_id) for expedition_id, _ in sample_expeditions[:48]]
    show_values += [name for _, name in sample_expeditions[48:60]]
    prefixes = []
    for _, name in sample_expeditions:
        cut = rng.randint(1, max(1, len(name)))
        prefixes.append(name[:cut])
    prefixes += ["", "exp", "Expediton 7", "Kely"]
    return {
        "search": searches,
        "show": show_values,
        "autocomplete": prefixes,
        "station": [str(station_id) for station_id, _ in stations],
        "crew": [str(astronaut_id) for astronaut_id, _, _ in sample_astronauts],
    }


def synced_subcommands(standin: StandInDiscord, group: str = "expedition") -> set[str]:
    """Return the subcommands of `group` in the bot's last command sync to the stand-in Discord."""
    names: set[str] = set()
    for sync in standin.command_syncs:
        for command in sync["commands"]:
            if command.get("name") == group:
                names = {option["name"] for option in command.get("options", []) if option.get("type") == 1}
    return names


def build_requests(
    standin: StandInDiscord, inputs: dict[str, list[Any]], *, include_noop: bool = True, include_ll2: bool = False
) -> dict[str, Request]:
    """Return one request function per measured command, each taking the call number."""
    available = synced_subcommands(standin)
    requests: dict[str, Request] = {}
    if include_noop:
        requests["baseline_noop"] = lambda number: standin.slash_command("bench", "noop", {})

    def cycle(name: str) -> Callable[[int], Any]:
        values = inputs[name]
        return lambda number: values[number % len(values)]

    search_value, show_value = cycle("search"), cycle("show")
    prefix_value, station_value, crew_value = cycle("autocomplete"), cycle("station"), cycle("crew")
    if "search" in available:
        requests["search"] = lambda number: standin.slash_command(
            "expedition", "search", {"query": search_value(number)})
    if "show" in available:
        requests["show"] = lambda number: standin.slash_command(
            "expedition", "show", {"expedition": show_value(number)})
        requests["autocomplete_show"] = lambda number: standin.autocomplete(
            "expedition", "show", {"expedition": prefix_value(number)}, "expedition")
    if "station" in available:
        requests["station"] = lambda number: standin.slash_command(
            "expedition", "station", {"station": station_value(number)})
    if "crew" in available:
        requests["crew"] = lambda number: standin.slash_command(
            "expedition", "crew", {"astronaut": crew_value(number)})
        requests["autocomplete_crew"] = lambda number: standin.autocomplete(
            "expedition", "crew", {"astronaut": prefix_value(number).split(" ")[0]}, "astronaut")
    if include_ll2:
        requests["search_via_ll2"] = lambda number: standin.slash_command(
            "bench", "ll2search", {"query": search_value(number)})
    return requests


async def time_requests(request: Request, count: int) -> list[float]:
    """Send `count` requests one after another after a warm-up; return each duration in seconds."""
    for number in range(WARM_UP):
        await request(number)

    durations = []
    for number in range(count):
        started = time.perf_counter()
        await request(number)
        durations.append(time.perf_counter() - started)
    return durations


async def measure(size: int, runs: int, requests: int, ll2_requests: int, ll2_latency: float) -> dict[str, Any]:
    """Run every command `runs` times over a mirror of `size` expeditions; return the figures."""
    source = mirror_path(size)
    include_ll2 = ll2_requests > 0 and size <= MAX_LL2_COMPARISON_SIZE
    per_run: dict[str, list[common.Summary]] = {}

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        database_path = working_copy(source, Path(folder))
        inputs = pick_inputs(database_path)
        ll2 = StandInLL2(build_dataset(size), latency=ll2_latency) if include_ll2 else None
        if ll2 is not None:
            await ll2.start()
        try:
            async with running_bot(database_path, ll2_base_url=ll2.base_url if ll2 else None) as running:
                calls = build_requests(running.discord, inputs, include_ll2=include_ll2)
                for _ in range(runs):
                    for name, request in calls.items():
                        count = ll2_requests if name == "search_via_ll2" else requests
                        per_run.setdefault(name, []).append(common.summarize(await time_requests(request, count)))
        finally:
            if ll2 is not None:
                await ll2.stop()

    return {name: _combine(summaries) for name, summaries in per_run.items()}


def _combine(summaries: list[common.Summary]) -> dict[str, Any]:
    return {
        "median_ms": common.spread([summary.median_ms for summary in summaries]),
        "p99_ms": common.spread([summary.p99_ms for summary in summaries]),
        "max_ms": round(max(summary.max_ms for summary in summaries), 3),
        "requests_per_run": summaries[0].count,
    }


def report_lines(size: int, figures: dict[str, Any]) -> list[str]:
    """Format the figures, one command per line, with the LL2 ratio when measured."""
    lines = [f"{size} expeditions; median and p99 in ms (median over runs, [min-max])"]
    for name, entry in figures.items():
        median, p99 = entry["median_ms"], entry["p99_ms"]
        lines.append(f"{name:<18} median {median['median']:8.2f} [{median['min']:.2f}-{median['max']:.2f}]"
                     f"  p99 {p99['median']:8.2f} [{p99['min']:.2f}-{p99['max']:.2f}]"
                     f"  n={entry['requests_per_run']}x{median['runs']}")
    if "search_via_ll2" in figures and "search" in figures:
        ratio = figures["search_via_ll2"]["median_ms"]["median"] / figures["search"]["median_ms"]["median"]
        lines.append(f"search via LL2 / search via mirror (medians): {ratio:.0f}x")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(__doc__.splitlines()[0], size=REAL_SIZE, runs=3)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per command and run")
    parser.add_argument("--ll2-requests", type=int, default=30,
                        help="timed searches through the slow stand-in LL2 per run (0 skips them)")
    parser.add_argument("--ll2-latency", type=float, default=0.3, help="stand-in LL2 latency in seconds")
    arguments = parser.parse_args(argv)
    common.configure_logging(arguments.verbose)

    load_before = common.load_average()
    figures = asyncio.run(measure(arguments.size, arguments.runs, arguments.requests,
                                  arguments.ll2_requests, arguments.ll2_latency))
    result: dict[str, Any] = {"size": arguments.size, "runs": arguments.runs, "commands": figures,
                              "load_average_before": load_before, "load_average_after": common.load_average()}
    if "search_via_ll2" in figures and "search" in figures:
        result["ll2_over_mirror_ratio"] = round(
            figures["search_via_ll2"]["median_ms"]["median"] / figures["search"]["median_ms"]["median"], 1)
    common.emit(f"latency-{arguments.size}", report_lines(arguments.size, figures), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
