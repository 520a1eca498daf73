"""Smoke runs of every benchmark at tiny sizes, so the benchmarks keep working as the bot changes.

These check what each run reports (every channel got one message, a repeated save wrote
nothing, ...), never how long anything took: the timings depend on the machine.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import common, report
from benchmarks.dataset import build_dataset
from benchmarks.run_all import QUICK, main as run_all_main, run_benchmark

ASTRONAUTS_FILE = "astronauts_trimmed_2026-07-24.json"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the benchmark mirrors in this test's folder, not in the shared temp cache."""
    monkeypatch.setenv("EXPEDITION_BENCH_CACHE", str(tmp_path / "cache"))


def quick_arguments(name: str) -> list[str]:
    return next(item for item in QUICK if item[0] == name)


def test_percentile_uses_nearest_rank() -> None:
    samples = [float(value) for value in range(1, 101)]

    assert common.percentile(samples, 0.99) == 99.0
    assert common.percentile(samples, 0.5) == 50.0
    assert common.percentile([7.0], 0.99) == 7.0


def test_summary_is_in_milliseconds() -> None:
    summary = common.summarize([0.001, 0.002, 0.010])

    assert (summary.median_ms, summary.max_ms, summary.min_ms) == pytest.approx((2.0, 10.0, 1.0))


def test_dataset_deterministic_crews_up_to_13() -> None:
    first, second = build_dataset(400, seed=3), build_dataset(400, seed=3)

    sizes = Counter(len(expedition["crew"]) for expedition in first.expeditions)
    assert json.dumps(first.expeditions, sort_keys=True) == json.dumps(second.expeditions, sort_keys=True)
    assert min(sizes) == 1
    assert max(sizes) <= 13
    assert len(sizes) >= 8
    assert any(expedition["end"] is None for expedition in first.expeditions)
    flight_ids = [member["id"] for expedition in first.expeditions for member in expedition["crew"]]
    assert len(flight_ids) == len(set(flight_ids))


def test_dataset_takes_real_names_when_recorded(shared_ll2_dir: Path) -> None:
    recorded = json.loads((shared_ll2_dir / "recorded" / ASTRONAUTS_FILE).read_text(encoding="utf-8"))
    real_names = {person["name"] for person in recorded}

    dataset = build_dataset(200)

    names = {member["astronaut"]["name"] for expedition in dataset.expeditions for member in expedition["crew"]}
    assert len(names & real_names) >= len(names) // 2


def test_latency_answers_every_command() -> None:
    result = run_benchmark(quick_arguments("latency"))

    commands = result["commands"]
    assert {"baseline_noop", "search", "show", "autocomplete_show", "search_via_ll2"} <= set(commands)
    assert all(entry["requests_per_run"] > 0 for entry in commands.values())


def test_loop_lag_runs_a_complete_sync() -> None:
    result = run_benchmark(quick_arguments("loop_lag"))

    assert result["inserted"] == result["size"]
    assert result["pages"] == -(-result["size"] // 100)
    assert min(result["samples"]) > 0


def test_sync_repeated_save_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "results.json"

    assert run_all_main(["--quick", "--only", "sync", "--output", str(output)]) == 0

    result = json.loads(output.read_text())["results"]["sync"]
    assert result["inserted_first"] == result["size"]
    assert (result["total_changes_delta"], result["data_version_changed"]) == (0, False)
    assert result["updated_after_rename"] == result["renamed"] > 0
    assert result["hour"]["ongoing_change_noticed_next_sync"] is True
    assert result["hour"]["counted_requests_in_hour"] <= result["requests_per_hour"]["budget_per_hour"]


def test_report_marks_targets(tmp_path: Path) -> None:
    results = {"sync": {
        "size": 250, "first_save_seconds": {"median": 9.0, "min": 8.0, "max": 10.0},
        "no_change_diff_seconds": {"median": 1.0, "min": 1.0, "max": 1.0},
        "total_changes_delta": 3, "data_version_changed": True,
        "requests_per_hour": {"computed_requests_per_hour": 4, "budget_per_hour": 8},
        "hour": {"counted_requests_in_hour": 4, "ongoing_change_noticed_next_sync": True},
    }}

    lines = {line.split(" | ")[0].lstrip("| "): line for line in report.table(results).splitlines()}

    assert lines["first full save of 250 (insert all)"].endswith("**missed** |")
    assert lines["sync diff of 250, nothing changed"].endswith("| met |")
    assert lines["no-change sync writes nothing"].endswith("**missed** |")


def test_fanout_delivers_once_per_channel() -> None:
    arguments = quick_arguments("fanout")

    result = run_benchmark(arguments)

    channels = int(arguments[arguments.index("--channels") + 1])
    assert result["delivered_channels"] == channels
    assert (result["channels_with_duplicates"], result["channels_missing"]) == (0, 0)


def test_memory_reads_the_bot_process() -> None:
    result = run_benchmark(quick_arguments("memory"))

    assert result["errors_logged"] == 0
    assert result["rss_after_commands_mib"]["median"] > 0
    assert result["peak_rss_mib"]["median"] >= result["rss_after_start_mib"]["median"]
