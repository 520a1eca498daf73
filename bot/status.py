"""The snapshot of the bot's health that `/expedition status` shows, and its embed.

`gather_status` reads the store, the scheduler, the request budget and the watchdog into a
`BotStatus`; `build_status_embed` turns one into an embed and touches nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import discord

from bot.embeds import (
    EMBED_COLOUR,
    FIELD_VALUE_LIMIT,
    enforce_limits,
    escape_and_truncate,
    join_blocks,
)
from bot.jobs.sync import ERROR_KEY, FINISHED_AT_KEY, SYNC_JOB_ID
from bot.jobs.watchdog import OverdueSync

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from storage.database import ExpeditionStore, StoreCounts

log = logging.getLogger(__name__)

WARNING_COLOUR = discord.Colour(0xC05621)
ERROR_LIMIT = 300
REASON_LIMIT = 200
STATION_NAME_LIMIT = 80
ALL_STATIONS_LABEL = "all stations"


class SpentCounter(Protocol):
    """The part of the LL2 request budget that the status reads."""

    requests_per_hour: int

    def spent_last_hour(self) -> int: ...


class SubscriptionLike(Protocol):
    """The fields of a stored subscription that the status reads."""

    channel_id: int
    station_name: str | None
    failure_count: int
    last_error: str | None
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionTrouble:
    """A subscription of this server that failed to deliver, or was switched off because of it."""

    channel_id: int
    station_name: str | None
    failure_count: int
    reason: str
    disabled: bool


@dataclass(frozen=True, slots=True)
class BotStatus:
    """Everything `/expedition status` reports, read at one moment."""

    version: str
    checked_at: datetime
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    sync_interval_minutes: int
    counts: StoreCounts
    requests_last_hour: int
    requests_per_hour: int
    last_sync_error: str | None
    overdue: OverdueSync | None
    # None outside a server (a direct message), where there are no subscriptions to list.
    subscription_troubles: tuple[SubscriptionTrouble, ...] | None


def gather_status(
    store: ExpeditionStore,
    *,
    guild_id: int | None,
    scheduler: BaseScheduler | None,
    budget: SpentCounter,
    sync_interval_minutes: int,
    overdue: OverdueSync | None,
    version: str,
    now: datetime | None = None,
) -> BotStatus:
    """Read the bot's state into a BotStatus."""
    return BotStatus(
        version=version,
        checked_at=now or datetime.now(UTC),
        last_sync_at=_read_time(store, FINISHED_AT_KEY),
        next_sync_at=next_sync_time(scheduler),
        sync_interval_minutes=sync_interval_minutes,
        counts=store.counts(),
        requests_last_hour=budget.spent_last_hour(),
        requests_per_hour=budget.requests_per_hour,
        last_sync_error=store.get_state(ERROR_KEY),
        overdue=overdue,
        subscription_troubles=(
            None if guild_id is None else subscription_troubles(store.list_subscriptions(guild_id))
        ),
    )


def next_sync_time(scheduler: BaseScheduler | None) -> datetime | None:
    """Return when the scheduler runs the sync next, or None when it is not scheduled."""
    if scheduler is None or not scheduler.running:
        return None
    job = scheduler.get_job(SYNC_JOB_ID)
    return job.next_run_time if job is not None else None


def subscription_troubles(subscriptions: Iterable[SubscriptionLike]) -> tuple[SubscriptionTrouble, ...]:
    """Return the subscriptions that are disabled or failing, disabled ones first."""
    troubles = [
        SubscriptionTrouble(
            channel_id=subscription.channel_id,
            station_name=subscription.station_name,
            failure_count=subscription.failure_count,
            reason=subscription.disabled_reason or subscription.last_error or "unknown error",
            disabled=subscription.disabled_reason is not None,
        )
        for subscription in subscriptions
        if subscription.disabled_reason is not None or subscription.failure_count > 0
    ]
    return tuple(sorted(troubles, key=lambda trouble: not trouble.disabled))


def _read_time(store: ExpeditionStore, key: str) -> datetime | None:
    saved = store.get_state(key)
    if not saved:
        return None
    try:
        moment = datetime.fromisoformat(saved)
    except ValueError:
        log.warning("status: ignoring unreadable %s in sync state: %.80r", key, saved)
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Building the embed


def build_status_embed(status: BotStatus) -> discord.Embed:
    """Return the status embed: sync, mirror, LL2 budget, last error and this server's subscriptions."""
    warning = status.overdue is not None or status.last_sync_error is not None
    embed = discord.Embed(
        title="Expedition bot status",
        colour=WARNING_COLOUR if warning else EMBED_COLOUR,
        timestamp=status.checked_at,
    )
    if status.overdue is not None:
        embed.description = describe_overdue(status.overdue)

    embed.add_field(name="Sync", value=describe_sync(status), inline=False)
    embed.add_field(name="Mirror", value=describe_counts(status.counts), inline=False)
    embed.add_field(
        name="LL2 requests",
        value=f"{status.requests_last_hour} of {status.requests_per_hour} spent in the last hour",
        inline=False,
    )
    if status.last_sync_error is not None:
        embed.add_field(
            name="Last LL2 error",
            value=escape_and_truncate(status.last_sync_error, ERROR_LIMIT),
            inline=False,
        )
    if status.subscription_troubles is not None:
        embed.add_field(
            name="Subscriptions in this server",
            value=describe_troubles(status.subscription_troubles),
            inline=False,
        )

    embed.set_footer(text=f"expedition-bot {status.version}")
    return enforce_limits(embed)


def describe_overdue(overdue: OverdueSync) -> str:
    """Return the warning shown when the watchdog finds the last sync too old."""
    if overdue.last_sync_at is None:
        since = f"since the bot started {_relative(overdue.since)}"
    else:
        since = f"since {_relative(overdue.last_sync_at)}"
    return (
        f"⚠️ **Sync overdue**: no full sync has finished {since}, longer than "
        f"{_duration(overdue.limit)}. Answers may be out of date; the bot's log says why."
    )


def describe_sync(status: BotStatus) -> str:
    """Return the lines about the last and the next sync."""
    last = _relative(status.last_sync_at) if status.last_sync_at else "never"
    next_run = _relative(status.next_sync_at) if status.next_sync_at else "not scheduled"
    return (
        f"Last successful: {last}\n"
        f"Next: {next_run}\n"
        f"Every {_duration(timedelta(minutes=status.sync_interval_minutes))}"
    )


def describe_counts(counts: StoreCounts) -> str:
    """Return how many expeditions, stations and astronauts the mirror holds."""
    return (
        f"{_plural(counts.expeditions, 'expedition')}, {_plural(counts.stations, 'station')}, "
        f"{_plural(counts.astronauts, 'astronaut')}"
    )


def describe_troubles(troubles: tuple[SubscriptionTrouble, ...]) -> str:
    """Return one line per failing or disabled subscription, or a line saying there is none."""
    if not troubles:
        return "All delivering normally."
    return join_blocks((_trouble_line(trouble) for trouble in troubles), FIELD_VALUE_LIMIT)


def _trouble_line(trouble: SubscriptionTrouble) -> str:
    station = escape_and_truncate(trouble.station_name, STATION_NAME_LIMIT) if trouble.station_name else ALL_STATIONS_LABEL
    reason = escape_and_truncate(trouble.reason, REASON_LIMIT)
    if trouble.disabled:
        state = "**disabled**"
    else:
        state = f"failing ({_plural(trouble.failure_count, 'failed delivery', 'failed deliveries')})"
    return f"<#{trouble.channel_id}> ({station}): {state}: {reason}"


def _relative(moment: datetime) -> str:
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:R> (<t:{stamp}:f>)"


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{_plural(hours, 'hour')} {_plural(minutes, 'minute')}"
    if hours:
        return _plural(hours, "hour")
    return _plural(minutes, "minute")


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
