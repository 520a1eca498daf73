"""`/expedition status`, the sync watchdog, and the scheduler stop used on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import discord
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot import __version__
from bot.commands import expedition, status as status_extension
from bot.commands.status import subscriptions_guild_id
from bot.jobs.sync import ERROR_KEY, FINISHED_AT_KEY, SYNC_JOB_ID
from bot.jobs.watchdog import WATCHDOG_JOB_ID, SyncWatchdog, add_watchdog_job
from bot.ll2.client import RequestBudget
from bot.settings import Settings
from bot.shutdown import RunningJobs, stop_scheduler
from bot.status import build_status_embed, gather_status
from storage.database import ExpeditionStore
from tests.bot.commands.conftest import open_filled_store
from tests.bot.embed_checks import assert_embed_within_limits

GUILD_ID = 42
OTHER_GUILD_ID = 43
START = datetime(2026, 7, 23, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=30)
MARGIN = timedelta(minutes=10)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, span: timedelta) -> None:
        self.now += span


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExpeditionStore]:
    filled = open_filled_store(tmp_path / "mirror.sqlite3")
    yield filled
    filled.close()


# The watchdog


def test_watchdog_quiet_within_two_intervals_and_margin(store: ExpeditionStore) -> None:
    clock = Clock(START)
    store.set_state(FINISHED_AT_KEY, START.isoformat())
    watchdog = SyncWatchdog(store, interval=INTERVAL, margin=MARGIN, clock=clock)

    clock.advance(2 * INTERVAL + MARGIN)

    assert watchdog.check() is None
    assert watchdog.overdue is None


def test_watchdog_flags_and_logs_overdue_sync(store: ExpeditionStore, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(START)
    store.set_state(FINISHED_AT_KEY, START.isoformat())
    watchdog = SyncWatchdog(store, interval=INTERVAL, margin=MARGIN, clock=clock)

    clock.advance(2 * INTERVAL + MARGIN + timedelta(seconds=1))
    with caplog.at_level(logging.ERROR, logger="bot.jobs.watchdog"):
        found = watchdog.check()

    assert found is not None and watchdog.overdue == found
    assert found.last_sync_at == START
    assert found.limit == timedelta(minutes=70)
    assert [record.levelno for record in caplog.records] == [logging.ERROR]
    assert START.isoformat(timespec="seconds") in caplog.records[0].getMessage()


def test_watchdog_clears_after_a_new_sync(store: ExpeditionStore) -> None:
    clock = Clock(START)
    store.set_state(FINISHED_AT_KEY, START.isoformat())
    watchdog = SyncWatchdog(store, interval=INTERVAL, margin=MARGIN, clock=clock)
    clock.advance(timedelta(hours=3))
    assert watchdog.check() is not None

    store.set_state(FINISHED_AT_KEY, clock.now.isoformat())

    assert watchdog.check() is None
    assert watchdog.overdue is None


def test_watchdog_without_any_sync_counts_from_its_start(store: ExpeditionStore) -> None:
    store.set_state(FINISHED_AT_KEY, None)
    clock = Clock(START)
    watchdog = SyncWatchdog(store, interval=INTERVAL, margin=MARGIN, clock=clock)

    clock.advance(timedelta(minutes=69))
    assert watchdog.check() is None

    clock.advance(timedelta(minutes=2))
    found = watchdog.check()
    assert found is not None
    assert found.last_sync_at is None
    assert found.since == START


async def test_watchdog_job_runs_on_the_scheduler(store: ExpeditionStore) -> None:
    store.set_state(FINISHED_AT_KEY, (START - timedelta(days=1)).isoformat())
    watchdog = SyncWatchdog(store, interval=INTERVAL, margin=MARGIN, clock=Clock(START))
    scheduler = AsyncIOScheduler(timezone=UTC)
    add_watchdog_job(scheduler, watchdog, every=timedelta(minutes=5))
    scheduler.start()
    try:
        job = scheduler.get_job(WATCHDOG_JOB_ID)
        assert job is not None
        job.modify(next_run_time=datetime.now(UTC))
        scheduler.wakeup()
        while watchdog.overdue is None:
            await asyncio.sleep(0.01)
    finally:
        scheduler.shutdown(wait=False)

    assert watchdog.overdue.last_sync_at == START - timedelta(days=1)


# Gathering the status


async def idle_sync() -> None:
    """Stands in for the sync job, which these tests never run."""


def add_troubled_subscriptions(store: ExpeditionStore) -> None:
    """Give guild 42 a healthy, a failing and a disabled subscription, and guild 43 a failing one."""
    def add(guild_id: int, channel_id: int, station_id: int | None) -> int:
        subscription, _ = store.add_subscription(
            guild_id=guild_id, channel_id=channel_id, station_id=station_id, events=["new_expedition"],
            mention_role_id=None, created_by=7, now=START,
        )
        return subscription.id

    add(GUILD_ID, 1001, 4)
    failing = add(GUILD_ID, 1002, None)
    disabled = add(GUILD_ID, 1003, 18)
    elsewhere = add(OTHER_GUILD_ID, 2001, 4)

    store.record_delivery_failure(failing, "Discord answered 503 Service Unavailable")
    for _ in range(3):
        store.record_delivery_failure(disabled, "Missing Permissions (403, code 50013)")
    store.record_delivery_failure(elsewhere, "other server's trouble")


async def gathered(store: ExpeditionStore, *, guild_id: int | None = GUILD_ID, **overrides: Any) -> Any:
    scheduler = AsyncIOScheduler(timezone=UTC)
    next_run = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=17)
    scheduler.add_job(idle_sync, "interval", minutes=30, id=SYNC_JOB_ID, next_run_time=next_run)
    scheduler.start()
    try:
        now = datetime.now(UTC).timestamp()
        values: dict[str, Any] = {
            "guild_id": guild_id,
            "scheduler": scheduler,
            "budget": RequestBudget(8, spent=[now - 10, now - 20, now - 4000]),
            "sync_interval_minutes": 30,
            "overdue": None,
            "version": "9.9.9",
        }
        values.update(overrides)
        return gather_status(store, **values), next_run
    finally:
        scheduler.shutdown(wait=False)


async def test_gather_reads_sync_counts_budget_and_error(store: ExpeditionStore) -> None:
    store.set_state(ERROR_KEY, "LL2 answered 503 three times")

    status, next_run = await gathered(store)

    assert status.last_sync_at == datetime(2026, 7, 23, 9, 30, tzinfo=UTC)
    assert status.next_sync_at == next_run
    assert (status.counts.expeditions, status.counts.stations, status.counts.astronauts) == (15, 2, 3)
    assert (status.requests_last_hour, status.requests_per_hour) == (2, 8)
    assert status.last_sync_error == "LL2 answered 503 three times"
    assert status.version == "9.9.9"


async def test_gather_lists_only_this_servers_troubled_subscriptions(store: ExpeditionStore) -> None:
    add_troubled_subscriptions(store)

    status, _ = await gathered(store)

    troubles = status.subscription_troubles
    assert [(trouble.channel_id, trouble.disabled) for trouble in troubles] == [(1003, True), (1002, False)]
    assert troubles[0].reason == "Missing Permissions (403, code 50013)"
    assert troubles[0].station_name == "Tiangong Space Station"
    assert troubles[1].failure_count == 1
    assert troubles[1].station_name is None


async def test_gather_in_direct_message_has_no_subscriptions(store: ExpeditionStore) -> None:
    add_troubled_subscriptions(store)

    status, _ = await gathered(store, guild_id=None)

    assert status.subscription_troubles is None


async def test_gather_without_running_scheduler_has_no_next_sync(store: ExpeditionStore) -> None:
    status, _ = await gathered(store, scheduler=None)

    assert status.next_sync_at is None


# The embed


def field_values(embed: discord.Embed) -> dict[str, str]:
    return {field.name: field.value for field in embed.fields}


async def test_embed_shows_each_part(store: ExpeditionStore) -> None:
    add_troubled_subscriptions(store)
    store.set_state(ERROR_KEY, "LL2 answered 503 @everyone")
    status, next_run = await gathered(store)

    embed = build_status_embed(status)

    fields = field_values(embed)
    last_stamp = int(datetime(2026, 7, 23, 9, 30, tzinfo=UTC).timestamp())
    assert f"<t:{last_stamp}:R>" in fields["Sync"]
    assert f"<t:{int(next_run.timestamp())}:R>" in fields["Sync"]
    assert "Every 30 minutes" in fields["Sync"]
    assert fields["Mirror"] == "15 expeditions, 2 stations, 3 astronauts"
    assert fields["LL2 requests"] == "2 of 8 spent in the last hour"
    assert "@everyone" not in fields["Last LL2 error"]
    subscriptions = fields["Subscriptions in this server"]
    assert "<#1003> (Tiangong Space Station): **disabled**: Missing Permissions (403, code 50013)" in subscriptions
    assert "<#1002> (all stations): failing (1 failed delivery)" in subscriptions
    assert "2001" not in subscriptions
    assert embed.footer.text == "expedition-bot 9.9.9"
    assert embed.description is None
    assert_embed_within_limits(embed.to_dict())


async def test_embed_warns_when_sync_overdue(store: ExpeditionStore) -> None:
    store.set_state(FINISHED_AT_KEY, START.isoformat())
    watchdog = SyncWatchdog(store, interval=INTERVAL, margin=MARGIN, clock=Clock(START + timedelta(hours=5)))
    status, _ = await gathered(store, overdue=watchdog.check())

    embed = build_status_embed(status)

    assert embed.description is not None
    assert "Sync overdue" in embed.description
    assert f"<t:{int(START.timestamp())}:R>" in embed.description
    assert "1 hour 10 minutes" in embed.description


async def test_embed_without_problems(store: ExpeditionStore) -> None:
    status, _ = await gathered(store)

    embed = build_status_embed(status)

    assert "Last LL2 error" not in field_values(embed)
    assert field_values(embed)["Subscriptions in this server"] == "All delivering normally."


async def test_embed_within_limits_with_long_texts(store: ExpeditionStore) -> None:
    store.set_state(ERROR_KEY, "x" * 5000)
    for channel_id in range(3000, 3060):
        subscription, _ = store.add_subscription(
            guild_id=GUILD_ID, channel_id=channel_id, station_id=None, events=["ended"],
            mention_role_id=None, created_by=7, now=START,
        )
        store.record_delivery_failure(subscription.id, "y" * 400)
    status, _ = await gathered(store)

    embed = build_status_embed(status)

    assert_embed_within_limits(embed.to_dict())
    assert field_values(embed)["Subscriptions in this server"].endswith("…")


# The command


async def bot_with_status(store: ExpeditionStore) -> commands.Bot:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    bot.store = store  # type: ignore[attr-defined]
    bot.settings = Settings(_env_file=None, sync_interval_minutes=30, ll2_requests_per_hour=8)  # type: ignore[attr-defined]
    await expedition.setup(bot)
    await status_extension.setup(bot)
    return bot


async def test_status_is_a_subcommand_of_expedition(store: ExpeditionStore) -> None:
    bot = await bot_with_status(store)

    payload = {command.name: command.to_dict(bot.tree) for command in bot.tree.get_commands()}

    names = [option["name"] for option in payload["expedition"]["options"]]
    assert "status" in names
    assert "search" in names


async def test_status_needs_the_expedition_group(store: ExpeditionStore) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())

    with pytest.raises(commands.ExtensionFailed):
        await status_extension.setup(bot)


async def test_status_answers_ephemeral_embed(store: ExpeditionStore) -> None:
    add_troubled_subscriptions(store)
    bot = await bot_with_status(store)
    command = bot.tree.get_command("expedition").get_command("status")  # type: ignore[union-attr]
    interaction = SimpleNamespace(
        client=bot, guild_id=GUILD_ID, user=SimpleNamespace(id=5),
        permissions=discord.Permissions(manage_channels=True),
        response=SimpleNamespace(send_message=AsyncMock()),
    )

    await command.callback(interaction)

    call = interaction.response.send_message.await_args
    assert call.kwargs["ephemeral"] is True
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}
    embed = call.kwargs["embed"]
    assert embed.footer.text == f"expedition-bot {__version__}"
    assert "<#1003>" in field_values(embed)["Subscriptions in this server"]
    assert field_values(embed)["Sync"].startswith("Last successful: <t:")


# Stopping the scheduler


async def test_stop_waits_for_running_job() -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    finished: list[str] = []

    async def job() -> None:
        started.set()
        await release.wait()
        finished.append("job")

    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = RunningJobs()
    jobs.attach(scheduler)
    scheduler.add_job(job, "interval", minutes=30, id="slow", next_run_time=datetime.now(UTC))
    scheduler.start()
    await started.wait()

    stopping = asyncio.create_task(stop_scheduler(scheduler, jobs, timeout=60))
    await asyncio.sleep(0.1)
    assert not stopping.done()
    release.set()

    assert await stopping is True
    assert finished == ["job"]
    assert not scheduler.running


async def test_stop_cancels_job_after_the_wait() -> None:
    started = asyncio.Event()
    outcome: list[str] = []

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    scheduler = AsyncIOScheduler(timezone=UTC)
    jobs = RunningJobs()
    jobs.attach(scheduler)
    scheduler.add_job(job, "interval", minutes=30, id="stuck", next_run_time=datetime.now(UTC))
    scheduler.start()
    await started.wait()

    assert await stop_scheduler(scheduler, jobs, timeout=0.2) is False
    assert outcome == ["cancelled"]
    assert jobs.running == []



def test_subscriptions_shown_to_channel_managers() -> None:
    manager = SimpleNamespace(guild_id=42, permissions=discord.Permissions(manage_channels=True))
    member = SimpleNamespace(guild_id=42, permissions=discord.Permissions(send_messages=True))
    direct = SimpleNamespace(guild_id=None, permissions=discord.Permissions(manage_channels=True))

    assert subscriptions_guild_id(manager) == 42
    assert subscriptions_guild_id(member) is None
    assert subscriptions_guild_id(direct) is None
