"""Tests of the full sync against the stand-in LL2 and a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.jobs.sync import (
    ERROR_KEY,
    FINISHED_AT_KEY,
    OFFSET_KEY,
    REQUEST_TIMES_KEY,
    RETRY_NOT_BEFORE_KEY,
    create_scheduler,
    load_request_budget,
    run_full_sync,
)
from bot.ll2.client import LL2Client, RequestBudget
from bot.settings import Settings
from storage.database import ExpeditionStore
from tests.bot.jobs.conftest import RecordedSleep
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset, load_recorded_dataset
from tests.standins.ll2.server import Fault, StandInLL2

StartStandIn = Callable[..., Any]
MakeClient = Callable[..., LL2Client]


def _dataset_ids(dataset: LL2Dataset) -> list[int]:
    return sorted(expedition["id"] for expedition in dataset.expeditions)


def _page_offsets(standin: StandInLL2) -> list[int]:
    return [int(request.query["offset"]) for request in standin.requests
            if request.path.endswith("/expeditions/")]


async def test_full_sync_mirrors_every_expedition(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is True
    assert report.error is None
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)
    assert sorted(report.inserted) == _dataset_ids(dataset)
    assert report.updated == []
    assert report.pages == math.ceil(len(dataset.expeditions) / 100)
    assert report.requests == report.pages
    assert len(standin.requests) == report.requests


async def test_full_sync_mirrors_recorded_dataset(
    store: ExpeditionStore, shared_ll2_dir: Path, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    recorded = load_recorded_dataset(shared_ll2_dir)
    standin = await start_standin(recorded)

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is True
    assert report.skipped == 0
    assert sorted(store.expedition_ids()) == _dataset_ids(recorded)
    assert report.requests == math.ceil(len(recorded.expeditions) / 100)


async def test_mirrored_records_match_payloads(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)

    await run_full_sync(make_client(standin), store)

    for payload in dataset.expeditions[::17]:
        stored = store.get_expedition(payload["id"])
        assert stored is not None
        assert stored.name == payload["name"]
        assert stored.station.id == payload["spacestation"]["id"]
        assert stored.start == datetime.fromisoformat(payload["start"])
        assert sorted(member.astronaut.id for member in stored.crew) == sorted(
            seat["astronaut"]["id"] for seat in payload["crew"])


async def test_full_sync_records_finish_in_state(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    before = datetime.now(UTC).replace(microsecond=0)

    await run_full_sync(make_client(standin), store)

    finished_at = datetime.fromisoformat(store.get_state(FINISHED_AT_KEY) or "")
    assert finished_at.utcoffset() == timedelta(0)
    assert finished_at >= before
    assert store.get_state(OFFSET_KEY) is None
    assert store.get_state(ERROR_KEY) is None
    assert store.get_state(RETRY_NOT_BEFORE_KEY) is None


async def test_second_sync_reports_no_changes(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    client = make_client(standin)
    await run_full_sync(client, store)

    second = await run_full_sync(client, store)

    assert second.complete is True
    assert second.inserted == []
    assert second.updated == []
    assert second.unchanged == len(dataset.expeditions)


async def test_every_request_has_explicit_paging(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)

    await run_full_sync(make_client(standin), store)

    assert len(standin.requests) >= 2
    for request in standin.requests:
        assert request.query.get("ordering") == "id"
        assert request.query.get("limit") == "100"
        assert request.query.get("mode") == "detailed"
    assert _page_offsets(standin) == [0, 100]


async def test_key_sent_only_when_set(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    with_key = await start_standin(dataset)
    without_key = await start_standin(dataset)

    await run_full_sync(make_client(with_key, api_key="operator-key"), store)
    await run_full_sync(make_client(without_key), store)

    assert [request.headers.get("Authorization") for request in with_key.requests] == [
        "Token operator-key"] * len(with_key.requests)
    for request in without_key.requests:
        assert "Authorization" not in request.headers


async def test_throttle_midway_keeps_pages_and_resumes(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset, throttle_after=1, throttle_retry_after=1800)
    client = make_client(standin)
    started = datetime.now(UTC)

    stopped = await run_full_sync(client, store)

    assert stopped.complete is False
    assert stopped.error is not None
    assert "429" in stopped.error
    assert stopped.resume_offset == 100
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)[:100]
    assert store.get_state(OFFSET_KEY) == "100"
    assert store.get_state(ERROR_KEY) == stopped.error
    retry_at = datetime.fromisoformat(store.get_state(RETRY_NOT_BEFORE_KEY) or "")
    assert retry_at >= started + timedelta(seconds=1799)
    assert retry_at <= datetime.now(UTC) + timedelta(seconds=1800)

    standin.reset_throttle()
    later = retry_at + timedelta(seconds=1)
    resumed = await run_full_sync(client, store, clock=lambda: later)

    assert resumed.complete is True
    assert resumed.start_offset == 100
    assert resumed.requests == 1
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)
    assert _page_offsets(standin) == [0, 100, 100]
    assert store.get_state(OFFSET_KEY) is None
    assert store.get_state(ERROR_KEY) is None
    assert store.get_state(RETRY_NOT_BEFORE_KEY) is None


async def test_throttle_without_header_uses_body_wait(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset, throttle_after=0, throttle_retry_after=777,
                                  send_retry_after_header=False)
    started = datetime.now(UTC)

    stopped = await run_full_sync(make_client(standin), store)

    assert stopped.complete is False
    assert store.expedition_ids() == []
    retry_at = datetime.fromisoformat(store.get_state(RETRY_NOT_BEFORE_KEY) or "")
    assert retry_at >= started + timedelta(seconds=776)
    assert retry_at <= datetime.now(UTC) + timedelta(seconds=777)


async def test_sync_waits_until_retry_time(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    standin = await start_standin(dataset)
    retry_at = datetime.now(UTC) + timedelta(minutes=20)
    store.set_state(RETRY_NOT_BEFORE_KEY, retry_at.isoformat())
    caplog.set_level(logging.INFO, logger="bot.jobs.sync")

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is False
    assert report.requests == 0
    assert report.postponed_until is not None
    assert abs(report.postponed_until - retry_at) < timedelta(seconds=1)
    assert standin.requests == []
    assert any("skipped" in record.getMessage() for record in caplog.records)


async def test_sync_runs_once_retry_time_passed(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    store.set_state(RETRY_NOT_BEFORE_KEY, (datetime.now(UTC) - timedelta(seconds=5)).isoformat())

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is True
    assert store.get_state(RETRY_NOT_BEFORE_KEY) is None


async def test_server_errors_retried_during_sync(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient,
    recorded_sleep: RecordedSleep,
) -> None:
    standin = await start_standin(dataset)
    standin.inject_fault(Fault(kind="status", status=503, times=2))

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is True
    assert report.requests == report.pages + 2
    assert recorded_sleep.delays == [2.0, 4.0]
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)


@pytest.mark.parametrize("kind", ["truncated_json", "html_502"])
async def test_malformed_page_retried_during_sync(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient,
    kind: str,
) -> None:
    standin = await start_standin(dataset)
    standin.inject_fault(Fault(kind=kind, times=1))

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is True
    assert report.requests == report.pages + 1
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)


async def test_outage_stops_sync_then_next_run_completes(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    standin.inject_fault(Fault(kind="status", status=500, times=2))
    client = make_client(standin, max_attempts=2)

    failed = await run_full_sync(client, store)

    assert failed.complete is False
    assert failed.error is not None
    assert "500" in failed.error
    assert store.get_state(ERROR_KEY) == failed.error
    assert store.get_state(RETRY_NOT_BEFORE_KEY) is None
    assert store.expedition_ids() == []

    completed = await run_full_sync(client, store)

    assert completed.complete is True
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)


async def test_timeout_retried_during_sync(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    standin.inject_fault(Fault(kind="timeout", times=1))

    report = await run_full_sync(make_client(standin, timeout_seconds=0.5), store)

    assert report.complete is True
    assert report.requests == report.pages + 1
    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)


async def test_malformed_record_skipped_and_logged(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    standin = await start_standin(dataset)
    standin.inject_fault(Fault(kind="malformed_record", times=1))
    caplog.set_level(logging.WARNING, logger="bot.ll2.client")

    report = await run_full_sync(make_client(standin), store)

    assert report.complete is True
    assert report.skipped == 1
    assert len(report.skipped_ids) == 1
    skipped_id = report.skipped_ids[0]
    assert sorted(store.expedition_ids()) == [i for i in _dataset_ids(dataset) if i != skipped_id]
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"id={skipped_id}" in message for message in messages)


async def test_budget_exhausted_midway_resumes_later(
    store: ExpeditionStore, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    dataset = generate_dataset(250, seed=11)
    standin = await start_standin(dataset)
    budget = RequestBudget(1)

    stopped = await run_full_sync(make_client(standin, budget=budget), store)

    assert stopped.complete is False
    assert stopped.requests == 1
    assert len(standin.requests) == 1
    assert len(store.expedition_ids()) == 100
    assert store.get_state(OFFSET_KEY) == "100"
    retry_at = datetime.fromisoformat(store.get_state(RETRY_NOT_BEFORE_KEY) or "")
    assert retry_at > datetime.now(UTC) + timedelta(minutes=59)
    assert len(json.loads(store.get_state(REQUEST_TIMES_KEY) or "[]")) == 1


async def test_saved_request_times_count_after_restart(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    await run_full_sync(make_client(standin, budget=RequestBudget(8)), store)

    restored = load_request_budget(store, 8)

    assert restored.spent_last_hour() == len(standin.requests)


async def test_scheduler_runs_sync_at_start(
    store: ExpeditionStore, dataset: LL2Dataset, start_standin: StartStandIn, make_client: MakeClient
) -> None:
    standin = await start_standin(dataset)
    scheduler = create_scheduler(make_client(standin), store, Settings(_env_file=None))

    scheduler.start()
    try:
        async with asyncio.timeout(30):
            while store.get_state(FINISHED_AT_KEY) is None:
                await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)

    assert sorted(store.expedition_ids()) == _dataset_ids(dataset)


def test_default_interval_fits_default_budget(dataset: LL2Dataset) -> None:
    interval_minutes = Settings.model_fields["sync_interval_minutes"].default
    requests_per_hour = Settings.model_fields["ll2_requests_per_hour"].default
    requests_per_sync = math.ceil(len(dataset.expeditions) / 100)
    syncs_per_hour = math.ceil(60 / interval_minutes)

    assert requests_per_sync * syncs_per_hour <= requests_per_hour
