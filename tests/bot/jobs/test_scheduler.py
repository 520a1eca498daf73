"""Tests of the APScheduler wiring of the sync job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.jobs.sync import SYNC_JOB_ID, create_scheduler, run_full_sync
from bot.settings import Settings


def _settings(interval_minutes: int) -> Settings:
    return Settings(_env_file=None, sync_interval_minutes=interval_minutes)


async def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_sync_runs_at_start_with_client_and_store() -> None:
    client, store = object(), object()
    calls: list[tuple[object, object]] = []

    async def sync(given_client: object, given_store: object) -> None:
        calls.append((given_client, given_store))

    scheduler = create_scheduler(client, store, _settings(30), sync=sync)  # type: ignore[arg-type]
    scheduler.start()
    try:
        await _wait_until(lambda: len(calls) == 1)
    finally:
        scheduler.shutdown(wait=False)

    assert calls[0][0] is client
    assert calls[0][1] is store


async def test_sync_job_scheduled_every_interval() -> None:
    scheduler = create_scheduler(object(), object(), _settings(45))  # type: ignore[arg-type]

    job = scheduler.get_job(SYNC_JOB_ID)

    assert job is not None
    assert job.func is run_full_sync
    assert job.trigger.interval == timedelta(minutes=45)
    assert job.max_instances == 1
    assert job.coalesce is True
    assert job.next_run_time <= datetime.now(UTC)


async def test_failing_job_logged_scheduler_continues(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="bot.jobs.sync")
    runs: list[int] = []

    async def failing_sync(client: object, store: object) -> None:
        runs.append(1)
        raise RuntimeError("store is read-only")

    scheduler = create_scheduler(
        object(), object(), _settings(30), sync=failing_sync)  # type: ignore[arg-type]
    scheduler.start()
    try:
        await _wait_until(lambda: any(r.name == "bot.jobs.sync" for r in caplog.records))
        job = scheduler.get_job(SYNC_JOB_ID)

        assert scheduler.running
        assert job is not None
        assert job.next_run_time > datetime.now(UTC) + timedelta(minutes=29)
    finally:
        scheduler.shutdown(wait=False)

    errors = [r for r in caplog.records if r.name == "bot.jobs.sync"]
    assert len(errors) == 1
    assert SYNC_JOB_ID in errors[0].getMessage()
    assert "store is read-only" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert runs == [1]


async def test_overlapping_run_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.jobs.sync")
    release = asyncio.Event()
    runs: list[int] = []

    async def slow_sync(client: object, store: object) -> None:
        runs.append(1)
        await release.wait()

    scheduler = create_scheduler(
        object(), object(), _settings(30), sync=slow_sync)  # type: ignore[arg-type]
    scheduler.start()
    try:
        await _wait_until(lambda: len(runs) == 1)
        scheduler.get_job(SYNC_JOB_ID).modify(next_run_time=datetime.now(UTC))
        scheduler.wakeup()
        await _wait_until(lambda: any("still running" in r.getMessage() for r in caplog.records))
    finally:
        release.set()
        scheduler.shutdown(wait=False)

    assert runs == [1]
