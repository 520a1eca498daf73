"""The full sync: page through every LL2 expedition and mirror it into the store.

`create_scheduler` runs it with APScheduler at start-up and every `SYNC_INTERVAL_MINUTES`.

Each page is saved as soon as it arrives, and the offset of the next page is kept in sync
state. A sync stopped by a throttle, the request budget or an outage therefore resumes where
it stopped on the next run instead of starting over. Store calls run in a worker thread
(`asyncio.to_thread`) to keep the event loop free, which is why the store must be opened with
`check_same_thread=False`.

Sync state keys (all values are strings):
- `full_sync_offset`: offset to resume from; unset when no sync is half done.
- `last_sync_finished_at`: ISO 8601 UTC time of the last complete sync.
- `last_sync_error`: message of the error that stopped the last sync; unset after a complete one.
- `last_sync_skipped_ids`: JSON list of the ids of records that the last complete sync skipped
  as invalid, whose mirrored copies stay as they were. Unset when it skipped none.
- `retry_not_before`: ISO 8601 UTC time before which no sync may run (set by a throttle or an
  exhausted budget).
- `ll2_request_times`: JSON list of the send times (epoch seconds) spent in the last hour.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.ll2.client import (
    ExpeditionPage,
    LL2BudgetExhausted,
    LL2Client,
    LL2Error,
    LL2Throttled,
    RequestBudget,
)
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.jobs.announce import Announcer
    from storage.database import ExpeditionStore, SaveReport

log = logging.getLogger(__name__)

OFFSET_KEY = "full_sync_offset"
FINISHED_AT_KEY = "last_sync_finished_at"
ERROR_KEY = "last_sync_error"
SKIPPED_KEY = "last_sync_skipped_ids"
RETRY_NOT_BEFORE_KEY = "retry_not_before"
REQUEST_TIMES_KEY = "ll2_request_times"

SYNC_JOB_ID = "ll2-full-sync"
ANNOUNCE_JOB_ID = "announce"


@dataclass
class SyncReport:
    """Outcome of one run of the full sync.

    `requests` counts HTTP requests sent to LL2, retries included. `complete` is True when the
    last page was saved. Otherwise `resume_offset` is where the next run starts. `postponed_until`
    is set when the run did not start because of an earlier throttle. `inserted` and `updated`
    hold expedition ids.
    """

    start_offset: int = 0
    resume_offset: int | None = None
    requests: int = 0
    pages: int = 0
    inserted: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    skipped_ids: list[int] = field(default_factory=list)
    complete: bool = False
    error: str | None = None
    postponed_until: datetime | None = None


def load_request_budget(
    store: ExpeditionStore, requests_per_hour: int, *, clock: Callable[[], float] = time.time
) -> RequestBudget:
    """Create a request budget that counts the requests saved in sync state by earlier runs."""
    saved = store.get_state(REQUEST_TIMES_KEY)
    spent: list[float] = []
    if saved:
        try:
            spent = [float(moment) for moment in json.loads(saved)]
        except (ValueError, TypeError):
            log.warning("ignoring unreadable %s in sync state: %.80r", REQUEST_TIMES_KEY, saved)
    return RequestBudget(requests_per_hour, clock=clock, spent=spent)


def save_request_budget(store: ExpeditionStore, budget: RequestBudget) -> None:
    """Save the budget's send times in sync state, so that a restart keeps counting them."""
    store.set_state(REQUEST_TIMES_KEY, json.dumps(list(budget.spent_times())))


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def run_full_sync(
    client: LL2Client, store: ExpeditionStore, *, clock: Callable[[], datetime] = _utc_now
) -> SyncReport:
    """Mirror every LL2 expedition into `store`, resuming from a stopped sync's offset.

    LL2 errors end the run with `error` set in the report and in sync state, and are not
    raised. A store that cannot be written (locked by another writer, read-only, disk full)
    ends the run with `error` set in the report and logged with what to do. The pages saved
    before it stay saved. Other store errors are raised.
    """
    postponed_until = await asyncio.to_thread(_postponed_until, store, clock())
    if postponed_until is not None:
        log.info("full sync skipped until %s, after a throttle or an exhausted request budget",
                 postponed_until.isoformat())
        return SyncReport(postponed_until=postponed_until)

    offset = await asyncio.to_thread(_resume_offset, store)
    report = SyncReport(start_offset=offset, resume_offset=offset)
    requests_before = client.requests_sent
    log.info("full sync started at offset %d", offset)

    try:
        await _sync_pages(client, store, report)
    except (LL2Throttled, LL2BudgetExhausted) as error:
        retry_at = clock() + timedelta(seconds=error.retry_after)
        report.error = str(error)
        await asyncio.to_thread(_record_error, store, report.error, retry_at)
        log.warning("full sync stopped at offset %d and resumes there after %s: %s",
                    report.resume_offset, retry_at.isoformat(), error)
    except LL2Error as error:
        report.error = str(error)
        await asyncio.to_thread(_record_error, store, report.error, None)
        log.error("full sync stopped at offset %d and resumes there on the next run: %s",
                  report.resume_offset, error)
    except sqlite3.OperationalError as error:
        report.error = describe_store_error(store, error)
        log.error("full sync stopped at offset %d: %s", report.resume_offset, report.error)
    finally:
        report.requests = client.requests_sent - requests_before
        await asyncio.to_thread(_save_budget_if_possible, store, client.budget)

    if report.complete:
        await asyncio.to_thread(_record_finished, store, clock(), report.skipped_ids)
        log.info("full sync finished: %d requests, %d pages, %d inserted, %d updated, "
                 "%d unchanged, %d skipped", report.requests, report.pages, len(report.inserted),
                 len(report.updated), report.unchanged, report.skipped)
    return report


async def _sync_pages(client: LL2Client, store: ExpeditionStore, report: SyncReport) -> None:
    while report.resume_offset is not None:
        page = await client.fetch_expedition_page(offset=report.resume_offset)
        saved = await asyncio.to_thread(_save_page, store, page)

        report.pages += 1
        report.inserted.extend(saved.inserted)
        report.updated.extend(saved.updated)
        report.unchanged += saved.unchanged
        report.skipped += page.skipped
        report.skipped_ids.extend(page.skipped_ids)
        report.resume_offset = page.next_offset
        log.debug("saved expedition page at offset %d of %d: %d records, %d skipped",
                  page.offset, page.count, len(page.expeditions), page.skipped)

    report.complete = True


def _save_page(store: ExpeditionStore, page: ExpeditionPage) -> SaveReport:
    saved = store.save_expeditions(page.expeditions)
    if page.next_offset is not None:
        store.set_state(OFFSET_KEY, str(page.next_offset))
    return saved


def _postponed_until(store: ExpeditionStore, now: datetime) -> datetime | None:
    saved = store.get_state(RETRY_NOT_BEFORE_KEY)
    if not saved:
        return None
    try:
        retry_at = datetime.fromisoformat(saved)
    except ValueError:
        log.warning("ignoring unreadable %s in sync state: %.80r", RETRY_NOT_BEFORE_KEY, saved)
        return None
    if retry_at.tzinfo is None:
        retry_at = retry_at.replace(tzinfo=UTC)
    return retry_at if retry_at > now else None


def _resume_offset(store: ExpeditionStore) -> int:
    saved = store.get_state(OFFSET_KEY)
    if not saved:
        return 0
    if not saved.isdigit():
        log.warning("ignoring unreadable %s in sync state: %.80r; starting at offset 0",
                    OFFSET_KEY, saved)
        return 0
    return int(saved)


def _record_error(store: ExpeditionStore, message: str, retry_at: datetime | None) -> None:
    store.set_state(ERROR_KEY, message)
    store.set_state(RETRY_NOT_BEFORE_KEY, _iso(retry_at) if retry_at is not None else None)


def _record_finished(store: ExpeditionStore, finished_at: datetime, skipped_ids: list[int]) -> None:
    store.set_state(FINISHED_AT_KEY, _iso(finished_at))
    store.set_state(SKIPPED_KEY, json.dumps(sorted(skipped_ids)) if skipped_ids else None)
    # The first complete sync is the baseline: from then on, changes become change events.
    if not store.has_baseline():
        store.mark_baseline(finished_at)
    store.set_state(OFFSET_KEY, None)
    store.set_state(ERROR_KEY, None)
    store.set_state(RETRY_NOT_BEFORE_KEY, None)


def describe_store_error(store: ExpeditionStore, error: sqlite3.OperationalError) -> str:
    """Return what went wrong with the database file and what the operator can do about it."""
    name = getattr(error, "sqlite_errorname", "")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (f"the database {store.path} is locked by another writer ({error}): stop the other "
                f"program holding a write transaction on it (a second bot, a `python -m bot sync` or a "
                f"database tool), then the next sync resumes where this one stopped")
    if name.startswith("SQLITE_READONLY"):
        return (f"the database {store.path} cannot be written ({error}): make the file, its folder and "
                f"the file system writable for the user running the bot, then the next sync resumes "
                f"where this one stopped")
    return (f"the database {store.path} failed ({error}): check free disk space and the file's "
            f"permissions, then the next sync resumes where this one stopped")


def _save_budget_if_possible(store: ExpeditionStore, budget: RequestBudget) -> None:
    # Losing the send times only risks spending more of the next hour's budget; the sync's
    # own error (if any) is the one to report.
    try:
        save_request_budget(store, budget)
    except sqlite3.OperationalError as error:
        log.warning("could not save the LL2 request times in %s: %s", store.path, error)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


SyncFunction = Callable[[LL2Client, "ExpeditionStore"], Awaitable[object]]


def create_scheduler(
    client: LL2Client,
    store: ExpeditionStore,
    settings: Settings,
    *,
    sync: SyncFunction = run_full_sync,
    announcer: Announcer | None = None,
) -> AsyncIOScheduler:
    """Create a scheduler that runs `sync(client, store)` now and every `sync_interval_minutes`.

    With an `announcer`, the sync job runs an announce pass right after each sync, and a second
    job runs a pass every `announce_interval_seconds` for retries and started/ended events. The
    announcer's own lock keeps the two passes from overlapping.

    The scheduler is returned unstarted. Call `start()` from inside the running event loop.
    `sync` must be a coroutine function, because APScheduler runs anything else in a thread.
    """
    interval_minutes = settings.sync_interval_minutes
    scheduler = AsyncIOScheduler(timezone=UTC)
    job_function: Callable[..., Awaitable[object]] = sync
    job_args: tuple[object, ...] = (client, store)
    if announcer is not None:
        job_function, job_args = sync_then_announce, (sync, client, store, announcer)
    scheduler.add_job(
        job_function,
        trigger=IntervalTrigger(minutes=interval_minutes, timezone=UTC),
        args=job_args,
        id=SYNC_JOB_ID,
        name="LL2 full sync",
        next_run_time=datetime.now(UTC),
        # One sync at a time. Runs missed while the loop was busy collapse into one, which
        # runs however late it is, because a late sync is still worth running.
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )
    scheduler.add_listener(
        _log_job_problem, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )

    log.info("scheduled %s at start-up and every %d minutes", SYNC_JOB_ID, interval_minutes)
    if announcer is not None:
        _add_announce_job(scheduler, announcer, settings.announce_interval_seconds)
    return scheduler


async def sync_then_announce(
    sync: SyncFunction, client: LL2Client, store: ExpeditionStore, announcer: Announcer
) -> None:
    """Run one sync, then one announce pass, in the same job so that they never overlap."""
    log.info("job %s started", SYNC_JOB_ID)
    try:
        await sync(client, store)
    finally:
        # Pages saved before a failure may hold change events; announce them all the same.
        await announcer.run_pass(trigger="after sync")
    log.info("job %s finished", SYNC_JOB_ID)


def _add_announce_job(scheduler: AsyncIOScheduler, announcer: Announcer, interval_seconds: int) -> None:
    scheduler.add_job(
        announcer.run_pass,
        trigger=IntervalTrigger(seconds=interval_seconds, timezone=UTC),
        id=ANNOUNCE_JOB_ID,
        name="announce pass",
        # The first pass follows the sync at start-up; this job only retries and catches clock events.
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )
    log.info("scheduled %s every %d seconds", ANNOUNCE_JOB_ID, interval_seconds)


def _log_job_problem(event: JobEvent) -> None:
    if event.code == EVENT_JOB_ERROR:
        exception = getattr(event, "exception", None)
        log.error("scheduled job %s failed; it runs again at its next interval: %r",
                  event.job_id, exception, exc_info=exception)
    elif event.code == EVENT_JOB_MAX_INSTANCES:
        log.warning("scheduled job %s skipped a run because the previous one is still running",
                    event.job_id)
    else:
        log.warning("scheduled job %s missed its run time", event.job_id)
