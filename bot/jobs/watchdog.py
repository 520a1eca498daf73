"""The sync watchdog: notices when no full sync has finished for too long.

Throttles, outages and an exhausted request budget each stop a sync quietly and let the
next one resume, which is right for one failed run and wrong for a day of them. The
watchdog logs an error while the last complete sync is older than two sync intervals
plus a margin, and keeps the finding for `/expedition status`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from storage.database import ExpeditionStore

log = logging.getLogger(__name__)

FINISHED_AT_KEY = "last_sync_finished_at"
WATCHDOG_JOB_ID = "sync-watchdog"

# A sync may be late by this much beyond two intervals before the watchdog complains.
DEFAULT_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class OverdueSync:
    """The finding of a failed check.

    `last_sync_at` is None when no sync ever finished; `since` is then the watchdog's start.
    """

    last_sync_at: datetime | None
    since: datetime
    checked_at: datetime
    limit: timedelta

    @property
    def waited(self) -> timedelta:
        """How long the mirror has gone without a complete sync."""
        return self.checked_at - self.since


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SyncWatchdog:
    """Checks the time of the last complete sync against `2 * interval + margin`."""

    def __init__(
        self,
        store: ExpeditionStore,
        *,
        interval: timedelta,
        margin: timedelta = DEFAULT_MARGIN,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.limit = 2 * interval + margin
        self.clock = clock
        # A bot that has never synced is measured from its own start, not from the epoch.
        self.started_at = clock()
        self.overdue: OverdueSync | None = None

    def check(self) -> OverdueSync | None:
        """Compare the last sync with the limit, log an error when it is too old, and return the finding."""
        now = self.clock()
        last_sync_at = self._last_sync_at()
        reference = last_sync_at or self.started_at
        if now - reference <= self.limit:
            if self.overdue is not None:
                log.info("sync watchdog: the mirror is up to date again (last sync %s)", _describe(last_sync_at))
            self.overdue = None
            return None

        self.overdue = OverdueSync(last_sync_at=last_sync_at, since=reference, checked_at=now, limit=self.limit)
        log.error(
            "sync watchdog: no full sync has finished since %s, more than %s ago; "
            "see the last sync error in /expedition status or the log lines of bot.jobs.sync",
            _describe(last_sync_at) if last_sync_at else f"the bot started at {_describe(self.started_at)}",
            self.limit,
        )
        return self.overdue

    async def run(self) -> None:
        """Run one check as the scheduler job, on the event loop that owns the store's connection."""
        self.check()

    def _last_sync_at(self) -> datetime | None:
        saved = self.store.get_state(FINISHED_AT_KEY)
        if not saved:
            return None
        try:
            moment = datetime.fromisoformat(saved)
        except ValueError:
            log.warning("sync watchdog: ignoring unreadable %s in sync state: %.80r", FINISHED_AT_KEY, saved)
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_watchdog_job(scheduler: BaseScheduler, watchdog: SyncWatchdog, *, every: timedelta) -> None:
    """Run `watchdog.run` on `scheduler` every `every`, first after one period."""
    scheduler.add_job(
        watchdog.run,
        trigger=IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
        id=WATCHDOG_JOB_ID,
        name="sync watchdog",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        replace_existing=True,
    )
    log.info("scheduled %s every %s (limit %s)", WATCHDOG_JOB_ID, every, watchdog.limit)


def _describe(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else "never"
