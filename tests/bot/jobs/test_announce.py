"""Tests of the announcer over a real store and discord.py's HTTP client against the stand-in Discord."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest
import yarl

from bot.client import ExpeditionBot
from bot.jobs.announce import Announcer, OutgoingMessage, discord_sender
from bot.jobs.sync import ANNOUNCE_JOB_ID, SYNC_JOB_ID, create_scheduler, sync_then_announce
from bot.process_lock import ProcessLock, lock_path_for
from bot.settings import Settings
from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from storage.records import Expedition, Station
from tests.bot.test_detail_embeds import full_expedition
from tests.standins.discord import StandInDiscord, build_guild
from tests.standins.discord.models import SEND_MESSAGES

TOKEN = "stand-in-token.announce"
SUBSCRIBED_AT = datetime.now(UTC) - timedelta(hours=1)
NEW_END = datetime(2026, 7, 26, 7, 2, tzinfo=UTC)
NEW_END_STAMP = "<t:1785049320:F>"
TIANGONG = Station(id=18, name="Tiangong")
CHANNEL_MESSAGES = r"/channels/\d+/messages"


class Clock:
    """A clock the test moves forward, starting at the real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExpeditionStore]:
    """A store with Expedition 72 on the ISS, a baseline, and no events yet."""
    opened = ExpeditionStore.open(tmp_path / "mirror.sqlite3", check_same_thread=False)
    opened.save_expeditions([full_expedition(end=None)])
    opened.mark_baseline(SUBSCRIBED_AT)
    yield opened
    opened.close()


@pytest.fixture
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StandInDiscord]:
    async with StandInDiscord(token=TOKEN, guilds=[build_guild()]) as server:
        monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
        yield server


@pytest.fixture
async def http(standin: StandInDiscord) -> AsyncIterator[discord.http.HTTPClient]:
    """discord.py's HTTP client of a client logged in to the stand-in, gateway included."""
    client = discord.Client(intents=discord.Intents(guilds=True))
    runner = asyncio.create_task(client.start(TOKEN))
    try:
        await standin.wait_for_identify(timeout=10)
        yield client.http
    finally:
        await client.close()
        await asyncio.wait_for(runner, 10)


def subscribe(store: ExpeditionStore, channel_id: int, *, station_id: int | None = 4,
              role_id: int | None = None, events: tuple[str, ...] = EVENT_KINDS) -> int:
    subscription, _ = store.add_subscription(
        guild_id=build_guild().id, channel_id=channel_id, station_id=station_id, events=events,
        mention_role_id=role_id, created_by=1, now=SUBSCRIBED_AT,
    )
    return subscription.id


def change_end_date(store: ExpeditionStore) -> Expedition:
    changed = full_expedition(end=NEW_END)
    report = store.save_expeditions([changed])
    assert len(report.events) == 1
    return changed


def channel_ids(standin: StandInDiscord) -> list[int]:
    return [channel.id for channel in standin.guild().channels[:2]]


def posts(standin: StandInDiscord) -> list[dict]:
    return [request.json for request in standin.requests_to("POST", CHANNEL_MESSAGES)]


def state_of_subscription_messages(store: ExpeditionStore) -> dict[str, int]:
    return {state: count for state, count in store.outbox_counts().items() if count}


async def test_each_subscribed_channel_gets_one_message_with_nonce(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    first, second = channel_ids(standin)
    subscribe(store, first)
    subscribe(store, second, station_id=None)
    change_end_date(store)
    announcer = Announcer(store, discord_sender(http))

    report = await announcer.run_pass()
    again = await announcer.run_pass()

    assert report.sent == 2
    assert again.due == 0
    for channel_id in (first, second):
        [message] = standin.channel_messages[channel_id]
        [embed] = message["embeds"]
        assert NEW_END_STAMP in embed["fields"][0]["value"]
        assert embed["title"] == "Expedition 72"
    bodies = posts(standin)
    assert len(bodies) == 2
    assert all(body["enforce_nonce"] is True and 0 < len(body["nonce"]) <= 25 for body in bodies)
    assert bodies[0]["nonce"] != bodies[1]["nonce"]
    assert all(body["allowed_mentions"] == {"parse": []} and "content" not in body for body in bodies)
    assert state_of_subscription_messages(store) == {"sent": 2}


async def test_other_station_and_unsubscribed_kind_get_nothing(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    first, second = channel_ids(standin)
    store.save_expeditions([full_expedition(id=900, name="Shenzhou 20", station=TIANGONG)])
    store.plan_deliveries(datetime.now(UTC))  # its "new expedition" event came before the subscriptions
    subscribe(store, first, station_id=TIANGONG.id)
    subscribe(store, second, events=("crew_changed",))
    change_end_date(store)

    report = await Announcer(store, discord_sender(http)).run_pass()

    assert report.sent == 0
    assert standin.channel_messages == {}


async def test_role_mention_allows_only_that_role(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    first, _ = channel_ids(standin)
    role_id = standin.guild().role("Moderator").id
    subscribe(store, first, role_id=role_id)
    change_end_date(store)

    await Announcer(store, discord_sender(http)).run_pass()

    [body] = posts(standin)
    assert body["content"] == f"<@&{role_id}>"
    assert body["allowed_mentions"]["parse"] == []
    assert [int(item) for item in body["allowed_mentions"]["roles"]] == [role_id]
    assert not body["allowed_mentions"].get("users")


async def test_crash_after_post_resends_nonce(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    first, _ = channel_ids(standin)
    subscribe(store, first)
    change_end_date(store)
    real_send = discord_sender(http)

    async def post_then_die(channel_id: int, message: OutgoingMessage) -> int:
        await real_send(channel_id, message)
        raise asyncio.CancelledError  # the process dies before it records the result

    with pytest.raises(asyncio.CancelledError):
        await Announcer(store, post_then_die).run_pass()
    assert store.outbox_counts()["sending"] == 1

    report = await Announcer(store, real_send).run_pass()

    assert report.sent == 1
    bodies = posts(standin)
    assert len(bodies) == 2
    assert bodies[0]["nonce"] == bodies[1]["nonce"]
    assert len(standin.channel_messages[first]) == 1
    assert state_of_subscription_messages(store) == {"sent": 1}


async def test_unknown_channel_removes_its_subscriptions(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    gone, kept = channel_ids(standin)
    gone_subscription = subscribe(store, gone)
    subscribe(store, kept)
    change_end_date(store)
    await standin.remove_channel(gone)

    report = await Announcer(store, discord_sender(http)).run_pass()

    assert (report.sent, report.dropped) == (1, 1)
    assert store.get_subscription(gone_subscription) is None
    assert len(standin.channel_messages[kept]) == 1
    assert state_of_subscription_messages(store) == {"sent": 1, "dropped": 1}


async def test_missing_permission_retries_then_disables(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    denied, kept = channel_ids(standin)
    denied_subscription = subscribe(store, denied)
    subscribe(store, kept)
    change_end_date(store)
    await standin.set_bot_overwrite(denied, deny=SEND_MESSAGES)
    clock = Clock()
    announcer = Announcer(store, discord_sender(http), clock=clock, disable_after=3)

    first = await announcer.run_pass()
    early = await announcer.run_pass()

    assert (first.sent, first.retried) == (1, 1)
    assert early.due == 0
    failing = store.get_subscription(denied_subscription)
    assert failing is not None
    assert (failing.failure_count, failing.disabled_reason) == (1, None)
    assert "50013" in (failing.last_error or "")

    for _ in range(2):
        clock.advance(24 * 3600)
        await announcer.run_pass()

    disabled = store.get_subscription(denied_subscription)
    assert disabled is not None
    assert disabled.failure_count == 3
    assert disabled.disabled_reason is not None
    assert state_of_subscription_messages(store) == {"sent": 1, "dropped": 1}
    assert denied not in standin.channel_messages
    assert len(standin.requests_to("POST", rf"/channels/{denied}/messages")) == 3


async def test_failure_count_reset_after_a_successful_send(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    first, _ = channel_ids(standin)
    subscription_id = subscribe(store, first)
    store.record_delivery_failure(subscription_id, "earlier failure")
    change_end_date(store)

    await Announcer(store, discord_sender(http)).run_pass()

    subscription = store.get_subscription(subscription_id)
    assert subscription is not None
    assert (subscription.failure_count, subscription.last_error) == (0, None)


async def test_rate_limited_channel_gets_its_message_after_waiting(
    store: ExpeditionStore, standin: StandInDiscord, http: discord.http.HTTPClient
) -> None:
    limited, other = channel_ids(standin)
    subscribe(store, limited)
    subscribe(store, other)
    change_end_date(store)
    standin.fail_next("POST", rf"/channels/{limited}/messages", 429,
                      {"message": "You are being rate limited.", "retry_after": 0.05, "global": False})

    report = await Announcer(store, discord_sender(http)).run_pass()

    assert report.sent == 2
    assert len(standin.channel_messages[limited]) == 1
    assert [request.status for request in standin.requests_to("POST", rf"/channels/{limited}/messages")] == [429, 200]


def server_error(status: int) -> discord.DiscordServerError:
    response = SimpleNamespace(status=status, reason="Service Unavailable")
    return discord.DiscordServerError(response, {"message": "upstream down", "code": 0})  # type: ignore[arg-type]


async def test_server_error_retries_later_with_growing_backoff(store: ExpeditionStore) -> None:
    subscribe(store, 101)
    change_end_date(store)
    clock = Clock()
    attempts: list[datetime] = []

    async def unavailable_twice(channel_id: int, message: OutgoingMessage) -> int:
        attempts.append(clock())
        if len(attempts) <= 2:
            raise server_error(503)
        return 7

    announcer = Announcer(store, unavailable_twice, clock=clock, retry_base_seconds=60)
    await announcer.run_pass()
    clock.advance(59)
    await announcer.run_pass()
    clock.advance(1)
    await announcer.run_pass()
    clock.advance(119)
    await announcer.run_pass()
    clock.advance(1)
    last = await announcer.run_pass()

    assert len(attempts) == 3
    assert [(moment - attempts[0]).total_seconds() for moment in attempts] == [0, 60, 180]
    assert last.sent == 1
    assert state_of_subscription_messages(store) == {"sent": 1}


@pytest.mark.parametrize(("status", "code", "expected_state"), [
    (400, 50035, "dropped"),
    (413, 40005, "dropped"),
    (404, 10008, "pending"),
    (401, 0, "pending"),
    (503, 0, "pending"),
])
async def test_http_error_drops_or_retries(
    store: ExpeditionStore, status: int, code: int, expected_state: str
) -> None:
    subscription_id = subscribe(store, 501)
    change_end_date(store)

    async def failing_send(channel_id: int, message: OutgoingMessage) -> int:
        response = SimpleNamespace(status=status, reason="error")
        raise discord.HTTPException(response, {"message": "error", "code": code})  # type: ignore[arg-type]

    await Announcer(store, failing_send).run_pass()

    assert state_of_subscription_messages(store) == {expected_state: 1}
    subscription = store.get_subscription(subscription_id)
    assert subscription is not None
    assert subscription.failure_count == 0


async def test_channels_independent_and_ordered(store: ExpeditionStore) -> None:
    slow_channel, *other_channels = range(201, 206)
    for channel_id in (slow_channel, *other_channels):
        subscribe(store, channel_id)
    change_end_date(store)
    store.plan_deliveries(datetime.now(UTC))
    # A second event planned in the pass gives each channel a second message.
    store.save_expeditions([full_expedition(end=NEW_END + timedelta(days=1))])
    store.plan_deliveries(datetime.now(UTC))
    expected_order = [(message.channel_id, message.nonce) for message in store.due_messages(datetime.now(UTC))]

    release = asyncio.Event()
    sent: list[tuple[int, str]] = []

    async def send(channel_id: int, message: OutgoingMessage) -> int:
        if channel_id == slow_channel:
            await release.wait()
        sent.append((channel_id, message.nonce))
        if len([item for item in sent if item[0] != slow_channel]) == 2 * len(other_channels):
            release.set()
        return len(sent)

    report = await asyncio.wait_for(Announcer(store, send, concurrency=2).run_pass(), 10)

    assert report.sent == 10
    assert [channel for channel, _ in sent[-2:]] == [slow_channel, slow_channel]
    for channel_id in (slow_channel, *other_channels):
        assert [item for item in sent if item[0] == channel_id] == [
            item for item in expected_order if item[0] == channel_id
        ]


async def test_passes_never_overlap(store: ExpeditionStore) -> None:
    subscribe(store, 301)
    change_end_date(store)
    sending = asyncio.Event()
    release = asyncio.Event()
    calls: list[str] = []

    async def blocked_send(channel_id: int, message: OutgoingMessage) -> int:
        calls.append(message.nonce)
        sending.set()
        await release.wait()
        return 1

    announcer = Announcer(store, blocked_send)
    first = asyncio.create_task(announcer.run_pass())
    await asyncio.wait_for(sending.wait(), 10)
    # The message is "sending" now, which a pass running alongside would send a second time.
    second = asyncio.create_task(announcer.run_pass(trigger="after sync"))
    await asyncio.sleep(0.2)
    waiting = not second.done()
    release.set()
    reports = await asyncio.gather(first, second)

    assert waiting
    assert len(calls) == 1
    assert [report.sent for report in reports] == [1, 0]


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def test_scheduler_announces_after_sync(store: ExpeditionStore) -> None:
    order: list[str] = []

    async def sync(client: object, given_store: object) -> None:
        order.append("sync")

    class RecordingAnnouncer:
        async def run_pass(self, *, trigger: str = "interval") -> None:
            order.append(f"announce ({trigger})")

    announcer = RecordingAnnouncer()
    scheduler = create_scheduler(object(), store, _settings(announce_interval_seconds=45),  # type: ignore[arg-type]
                                 sync=sync, announcer=announcer)  # type: ignore[arg-type]

    sync_job = scheduler.get_job(SYNC_JOB_ID)
    announce_job = scheduler.get_job(ANNOUNCE_JOB_ID)
    assert sync_job.func is sync_then_announce
    assert announce_job.trigger.interval == timedelta(seconds=45)
    assert (announce_job.max_instances, sync_job.max_instances) == (1, 1)

    await sync_job.func(*sync_job.args)
    assert order == ["sync", "announce (after sync)"]


async def test_announce_runs_after_a_failed_sync(store: ExpeditionStore) -> None:
    passes: list[str] = []

    async def failing_sync(client: object, given_store: object) -> None:
        raise RuntimeError("LL2 store error")

    class RecordingAnnouncer:
        async def run_pass(self, *, trigger: str = "interval") -> None:
            passes.append(trigger)

    with pytest.raises(RuntimeError):
        await sync_then_announce(failing_sync, object(), store, RecordingAnnouncer())  # type: ignore[arg-type]
    assert passes == ["after sync"]


async def test_message_error_keeps_pass_going(
    store: ExpeditionStore, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(store, 401)
    subscribe(store, 402)
    change_end_date(store)

    async def send(channel_id: int, message: OutgoingMessage) -> int:
        if channel_id == 401:
            raise ValueError("bug in a builder")
        return 9

    with caplog.at_level(logging.ERROR, logger="bot.jobs.announce"):
        report = await Announcer(store, send).run_pass()

    assert (report.sent, report.retried) == (1, 1)
    assert any("channel 401" in record.getMessage() for record in caplog.records)


# The process lock.

def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    path = lock_path_for(tmp_path / "data" / "mirror.sqlite3")
    first, second = ProcessLock(path), ProcessLock(path)

    assert path.name == "mirror.sqlite3.lock"
    assert first.acquire() is True
    assert second.acquire() is False
    first.release()
    assert second.acquire() is True
    second.release()


def test_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    path = tmp_path / "mirror.sqlite3.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from bot.process_lock import ProcessLock; "
         f"assert ProcessLock({str(path)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert ProcessLock(path).acquire() is False
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    lock = ProcessLock(path)
    assert lock.acquire() is True
    lock.release()


async def test_second_bot_on_same_database_starts_no_jobs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "mirror.sqlite3"
    other_process = ProcessLock(lock_path_for(database))
    assert other_process.acquire()
    bot = ExpeditionBot(_settings(database_path=database))
    try:
        with caplog.at_level(logging.ERROR, logger="bot.client"):
            bot._start_sync_job()
    finally:
        bot.store.close()
        other_process.release()

    assert bot.scheduler is None
    assert bot.announcer is None
    [record] = [record for record in caplog.records if record.name == "bot.client"]
    assert f"another expedition-bot process is running on {database}" in record.getMessage()
    assert "not run sync or announcements" in record.getMessage()
