"""Print the results file as the Markdown table of docs/benchmarks.md: each target, the figure, met or missed.

    python -m benchmarks.report [benchmarks/results.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.run_all import DEFAULT_OUTPUT

AUTOCOMPLETES = ("autocomplete_show", "autocomplete_crew")
COMMANDS = ("search", "show", "station", "crew")

Row = tuple[str, str, str, bool | None]


def latency_rows(result: dict[str, Any] | None, *, large: bool) -> list[Row]:
    """Return a row per command: median and p99 (median over runs) against the size's target."""
    if result is None:
        return []
    rows: list[Row] = []
    size = result["size"]
    for name, entry in result["commands"].items():
        if name in ("baseline_noop", "search_via_ll2"):
            continue
        median, p99 = entry["median_ms"]["median"], entry["p99_ms"]["median"]
        figure = f"median {median:.1f} ms, p99 {p99:.1f} ms (p99 runs {entry['p99_ms']['min']:.1f}-{entry['p99_ms']['max']:.1f})"
        if large:
            limit = 30.0 if name in AUTOCOMPLETES else 100.0
            rows.append((f"`{name}` at {size:,}", f"p99 ≤ {limit:g} ms", figure, p99 <= limit))
        else:
            rows.append((f"`{name}` at {size}", "median ≤ 5 ms, p99 ≤ 25 ms", figure, median <= 5 and p99 <= 25))
    baseline = result["commands"].get("baseline_noop")
    if baseline:
        rows.append((f"baseline (`/bench noop`) at {size:,}", "-", f"median {baseline['median_ms']['median']:.2f} ms, "
                     f"p99 {baseline['p99_ms']['median']:.1f} ms", None))
    if "ll2_over_mirror_ratio" in result:
        via = result["commands"]["search_via_ll2"]["median_ms"]["median"]
        rows.append(("search via LL2 at 300 ms latency", "-", f"median {via:.0f} ms, "
                     f"{result['ll2_over_mirror_ratio']:.0f}x the mirror's median", None))
    return rows


def other_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    lag = results.get("loop-lag")
    if lag:
        rows.append((f"event-loop pause during a full sync of {lag['size']:,}", "≤ 50 ms",
                     f"max {lag['max_ms']['median']:.0f} ms, p99 {lag['p99_ms']['median']:.0f} ms, "
                     f"median {lag['median_ms']['median']:.1f} ms (sync took {lag['sync_seconds']['median']:.0f} s)",
                     lag["max_ms"]["median"] <= 50))
    sync = results.get("sync")
    if sync:
        first, diff = sync["first_save_seconds"], sync["no_change_diff_seconds"]
        rows.append((f"first full save of {sync['size']:,} (insert all)", "≤ 5 s",
                     f"{first['median']:.1f} s [{first['min']:.1f}-{first['max']:.1f}]", first["median"] <= 5))
        rows.append((f"sync diff of {sync['size']:,}, nothing changed", "≤ 5 s",
                     f"{diff['median']:.1f} s [{diff['min']:.1f}-{diff['max']:.1f}]", diff["median"] <= 5))
        writes_nothing = sync["total_changes_delta"] == 0 and not sync["data_version_changed"]
        rows.append(("no-change sync writes nothing", "0 changes", f"total_changes +{sync['total_changes_delta']}, "
                     f"data_version changed: {sync['data_version_changed']}", writes_nothing))
        budget, hour = sync["requests_per_hour"], sync["hour"]
        rows.append(("LL2 requests per hour, default settings, real size", "≤ 10",
                     f"{budget['computed_requests_per_hour']:.0f} computed, {hour['counted_requests_in_hour']} counted "
                     f"(budget {budget['budget_per_hour']})", hour["counted_requests_in_hour"] <= 10))
        rows.append(("change to an on-going expedition seen by the next sync", "yes",
                     str(hour["ongoing_change_noticed_next_sync"]).lower(), hour["ongoing_change_noticed_next_sync"]))
    fanout = results.get("fanout")
    if fanout:
        share = fanout["share_of_allowed"]["median"]
        rows.append((f"fan-out to {fanout['channels']:,} channels", "≥ 80% of 50/s, each once",
                     f"{fanout['messages_per_second']['median']:.1f}/s = {share:.0%}; {fanout['delivered_channels']} once, "
                     f"{fanout['channels_with_duplicates']} twice, {fanout['channels_missing']} missing",
                     share >= 0.8 and fanout["channels_with_duplicates"] == 0 and fanout["channels_missing"] == 0))
    memory = results.get("memory")
    if memory:
        peak = memory["peak_rss_mib"]["median"]
        rows.append((f"bot RSS, {memory['size']:,} mirrored, after sync and {memory['commands']} commands", "≤ 150 MB",
                     f"{memory['rss_after_commands_mib']['median']:.0f} MiB now, {peak:.0f} MiB peak", peak <= 150))
    return rows


def table(results: dict[str, Any]) -> str:
    """Return the Markdown table of every target in `results`."""
    rows: list[Row] = []
    by_size = sorted((result for name, result in results.items() if name.startswith("latency-")),
                     key=lambda result: result["size"])
    for result in by_size:
        rows.extend(latency_rows(result, large=result["size"] >= 10_000))
    rows.extend(other_rows(results))

    lines = ["| What | Target | Measured | |", "|---|---|---|---|"]
    lines.extend(f"| {what} | {target} | {figure} | {verdict(met)} |" for what, target, figure, met in rows)
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    """Return the last column of a row: empty for a figure without a target."""
    if met is None:
        return ""
    return "met" if met else "**missed**"


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    path = Path(arguments[0]) if arguments else DEFAULT_OUTPUT
    document = json.loads(path.read_text())
    machine = document["machine"]
    print(f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['ram_gib']} GiB RAM, "
          f"Python {machine['python']}, SQLite {machine['sqlite']}; load average {machine['load_average']} "
          f"before and {machine.get('load_average_after')} after; taken {machine['taken_at']}.\n")
    print(table(document["results"]))
    print()
    print(load_line(document["results"]))
    return 0


def load_line(results: dict[str, Any]) -> str:
    """Return the 1-minute load average before and after each benchmark, to judge the noise."""
    parts = []
    for name, result in sorted(results.items()):
        before, after = result.get("load_average_before"), result.get("load_average_after")
        if before and after:
            parts.append(f"{name} {before[0]:.1f} → {after[0]:.1f}")
    return "Load average (1 minute) before → after each benchmark: " + ", ".join(parts) + "."


if __name__ == "__main__":
    raise SystemExit(main())
