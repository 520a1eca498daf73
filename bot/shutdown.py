"""Stopping the scheduler on shutdown without cutting a sync or a delivery short.

APScheduler's AsyncIOScheduler cannot wait for running coroutine jobs: `shutdown()` cancels
them at once. So `RunningJobs` follows the scheduler's events to know which jobs are
running, and `stop_scheduler` pauses the scheduler, waits a bounded time for them, and only
then shuts it down. A job still running after the wait is cancelled. Nothing is lost,
because the sync saves its resume offset after every page and the outbox records each
delivery before sending, so the next start picks up where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

# Docker sends SIGKILL 10 seconds after SIGTERM by default; the whole shutdown must fit in that.
DEFAULT_JOB_WAIT_SECONDS = 7.0

# How long cancelled jobs get to unwind before the connections they use are closed.
CANCEL_GRACE_SECONDS = 2.0

POLL_SECONDS = 0.05


class RunningJobs:
    """The ids of the scheduler's jobs that are running now, followed through its events."""

    def __init__(self) -> None:
        self._running: Counter[str] = Counter()

    def attach(self, scheduler: BaseScheduler) -> None:
        """Start following `scheduler`; call it before `scheduler.start()`."""
        scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    @property
    def running(self) -> list[str]:
        """The ids of the running jobs, sorted."""
        return sorted(self._running.elements())

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no job runs or `timeout` seconds have passed; return whether none runs."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._running and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        return not self._running

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self._running[event.job_id] += 1
            return
        remaining = self._running.get(event.job_id, 0) - 1
        if remaining > 0:
            self._running[event.job_id] = remaining
        else:
            self._running.pop(event.job_id, None)


async def stop_scheduler(
    scheduler: BaseScheduler, jobs: RunningJobs, *, timeout: float = DEFAULT_JOB_WAIT_SECONDS
) -> bool:
    """Stop `scheduler`: no new runs, then up to `timeout` seconds for running jobs, then shut down.

    Returns True when every running job finished by itself, False when some were cancelled.
    """
    scheduler.pause()
    log.info("Scheduler paused: no new jobs start")

    running = jobs.running
    finished = True
    if running:
        log.info("Waiting up to %.0f s for running jobs to finish: %s", timeout, ", ".join(running))
        finished = await jobs.wait_idle(timeout)
        if finished:
            log.info("Running jobs finished")
        else:
            log.warning("Cancelling jobs still running after %.0f s; the next start resumes them: %s",
                        timeout, ", ".join(jobs.running))

    scheduler.shutdown(wait=False)
    if not finished:
        await jobs.wait_idle(CANCEL_GRACE_SECONDS)
    log.info("Scheduler stopped")
    return finished
