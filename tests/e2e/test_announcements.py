"""Announcements through the real bot process: runs of `python -m bot` against both stand-ins.

Each run syncs at start-up and then runs an announce pass. Subscriptions are written through
the store between runs, so these tests do not depend on the subscription commands.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from storage.subscriptions import Subscription
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import DISCORD_TOKEN, bot_settings
from tests.standins.discord import Channel, Guild, StandInDiscord, build_guild
from tests.standins.discord.handlers import RestCall
from tests.standins.discord.models import SEND_MESSAGES
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset, load_recorded_dataset
from tests.standins.ll2.server import StandInLL2

AFTER_SYNC_PASS = r"announce pass finished \(after sync\)"
ISS = 4
TIANGONG = 18
EXPEDITION_74_END = "<t:1785049320:"
CHANNEL_POSTS = r"/channels/\d+/messages"


class SlowPostDiscord(StandInDiscord):
    """The stand-in Discord, able to delay each message-create response after storing the message.

    A process killed during the delay has posted messages without receiving the responses,
    which is the case that nonce de-duplication covers.
    """

    post_delay = 0.0

    async def _post_message(self, call: RestCall) -> web.Response:
        response = await super()._post_message(call)
        if self.post_delay:
            await asyncio.sleep(self.post_delay)
        return response


def guild_with_channels(count: int) -> Guild:
    """The default stand-in guild plus `count` text channels named news-0, news-1, ..."""
    guild = build_guild()
    for index in range(count):
        guild.channels.append(Channel(id=guild.id + 100 + index, name=f"news-{index}", position=10 + index))
    return guild


def subscribe(database_path: Path, channel_id: int, station_id: int | None) -> Subscription:
    store = ExpeditionStore.open(database_path)
    try:
        subscription, created = store.add_subscription(
            guild_id=build_guild().id, channel_id=channel_id, station_id=station_id, events=EVENT_KINDS,
            mention_role_id=None, created_by=1, now=datetime.now(UTC),
        )
    finally:
        store.close()
    assert created
    return subscription


def with_new_end_date(dataset: LL2Dataset) -> tuple[LL2Dataset, dict[str, Any]]:
    """Return a copy of the data set in which the last expedition has a later end date."""
    changed = copy.deepcopy(dataset)
    expedition = changed.expeditions[-1]
    expedition["end"] = "2026-07-26T07:02:00Z"
    return changed, expedition


class Runs:
    """Starts one bot process after another on the same database and stand-ins."""

    def __init__(self, ll2: StandInLL2, discord: StandInDiscord, tmp_path: Path) -> None:
        self.ll2 = ll2
        self.discord = discord
        self.tmp_path = tmp_path
        self.database_path = tmp_path / "data" / "expeditions.sqlite3"
        self.processes: list[BotProcess] = []

    def new_process(self) -> BotProcess:
        settings = bot_settings(self.ll2, self.discord, self.database_path)
        process = BotProcess(settings, cwd=self.tmp_path)
        self.processes.append(process)
        return process

    async def run_until_announced(self) -> BotProcess:
        """Start the bot, wait for the announce pass after its first sync, and stop it."""
        process = self.new_process()
        await process.start()
        try:
            await process.wait_for_log(AFTER_SYNC_PASS, timeout=90)
        finally:
            exit_code = await process.stop()
        assert exit_code == 0, "\n".join(process.log_lines)
        return process

    def store(self) -> ExpeditionStore:
        return ExpeditionStore.open(self.database_path)


def posts_to(discord: StandInDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [request.json for request in discord.requests_to("POST", rf"/channels/{channel_id}/messages")]


def embed_text(message: dict[str, Any]) -> str:
    texts = []
    for embed in message["embeds"]:
        texts.extend([embed.get("title", ""), embed.get("description", "")])
        texts.extend(field["value"] for field in embed.get("fields", []))
    return "\n".join(texts)


async def test_replay_recorded_end_date_change(tmp_path: Path, shared_ll2_dir: Path) -> None:
    guild = guild_with_channels(1)
    iss_channel, all_channel, tiangong_channel = (guild.channel("general").id, guild.channel("launches").id,
                                                  guild.channel("news-0").id)
    before = load_recorded_dataset(shared_ll2_dir, snapshot="2026-07-23")
    after = load_recorded_dataset(shared_ll2_dir, snapshot="2026-07-24")

    async with StandInLL2(before) as ll2, StandInDiscord(token=DISCORD_TOKEN, guilds=[guild]) as discord:
        runs = Runs(ll2, discord, tmp_path)
        await runs.run_until_announced()
        subscribe(runs.database_path, iss_channel, ISS)
        subscribe(runs.database_path, all_channel, None)
        subscribe(runs.database_path, tiangong_channel, TIANGONG)

        ll2.set_dataset(after)
        second = await runs.run_until_announced()
        messages_after_change = {channel: list(items) for channel, items in discord.channel_messages.items()}
        third = await runs.run_until_announced()

    assert set(messages_after_change) == {iss_channel, all_channel}
    for channel_id in (iss_channel, all_channel):
        [message] = messages_after_change[channel_id]
        assert "Expedition 74" in embed_text(message)
        assert EXPEDITION_74_END in embed_text(message)
    assert discord.channel_messages == messages_after_change
    assert len(discord.requests_to("POST", CHANNEL_POSTS)) == 2
    assert second.error_lines() == []
    assert third.error_lines() == []


async def test_first_start_on_empty_database_posts_nothing(tmp_path: Path) -> None:
    guild = build_guild()
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    subscribe(database_path, guild.channel("general").id, None)
    subscribe(database_path, guild.channel("launches").id, ISS)

    async with StandInLL2(generate_dataset(180, seed=7)) as ll2, \
            StandInDiscord(token=DISCORD_TOKEN, guilds=[guild]) as discord:
        runs = Runs(ll2, discord, tmp_path)
        first = await runs.run_until_announced()

        store = runs.store()
        try:
            mirrored = store.counts().expeditions
            baseline = store.has_baseline()
        finally:
            store.close()

    assert mirrored == 180
    assert baseline
    assert discord.channel_messages == {}
    assert discord.requests_to("POST", CHANNEL_POSTS) == []
    assert first.error_lines() == []


async def test_sigkill_mid_announcement_no_duplicates(tmp_path: Path) -> None:
    guild = guild_with_channels(50)
    channels = [guild.channel(f"news-{index}").id for index in range(50)]
    dataset = generate_dataset(180, seed=7)
    changed, expedition = with_new_end_date(dataset)

    async with StandInLL2(dataset) as ll2, SlowPostDiscord(token=DISCORD_TOKEN, guilds=[guild]) as discord:
        runs = Runs(ll2, discord, tmp_path)
        await runs.run_until_announced()
        for channel_id in channels:
            subscribe(runs.database_path, channel_id, None)

        ll2.set_dataset(changed)
        discord.post_delay = 1.0
        killed = runs.new_process()
        await killed.start()
        await wait_until(lambda: len(discord.channel_messages) >= 15, timeout=90)
        await killed.kill()
        posted_before_kill = len(discord.channel_messages)

        discord.post_delay = 0.0
        restarted = await runs.run_until_announced()

    assert posted_before_kill < len(channels)
    for channel_id in channels:
        [message] = discord.channel_messages[channel_id]
        assert expedition["name"] in embed_text(message)
    resent = [channel_id for channel_id in channels if len(posts_to(discord, channel_id)) > 1]
    assert resent, "no message was resent after the kill"
    for channel_id in resent:
        nonces = {body["nonce"] for body in posts_to(discord, channel_id)}
        assert len(nonces) == 1
    assert restarted.error_lines() == []


async def test_forbidden_gone_and_rate_limited_channels(tmp_path: Path) -> None:
    guild = guild_with_channels(4)
    working = [guild.channel("general").id, guild.channel("launches").id]
    denied, denied_before, gone, limited = (guild.channel(f"news-{index}").id for index in range(4))
    dataset = generate_dataset(180, seed=7)
    changed, expedition = with_new_end_date(dataset)

    async with StandInLL2(dataset) as ll2, StandInDiscord(token=DISCORD_TOKEN, guilds=[guild]) as discord:
        runs = Runs(ll2, discord, tmp_path)
        await runs.run_until_announced()
        subscriptions = {channel_id: subscribe(runs.database_path, channel_id, None)
                         for channel_id in [*working, denied, denied_before, gone, limited]}
        store = runs.store()
        try:
            # Two failed deliveries already: the third disables the subscription.
            for _ in range(2):
                store.record_delivery_failure(subscriptions[denied_before].id, "403 50013 earlier")
        finally:
            store.close()

        await discord.set_bot_overwrite(denied, deny=SEND_MESSAGES, notify=False)
        await discord.set_bot_overwrite(denied_before, deny=SEND_MESSAGES, notify=False)
        await discord.remove_channel(gone)
        discord.fail_next("POST", rf"/channels/{limited}/messages", 429,
                          {"message": "You are being rate limited.", "retry_after": 0.5, "global": False})

        ll2.set_dataset(changed)
        await runs.run_until_announced()

        store = runs.store()
        try:
            remaining = {item.channel_id: item for item in store.list_subscriptions(guild.id)}
            counts = store.outbox_counts()
        finally:
            store.close()

    for channel_id in [*working, limited]:
        [message] = discord.channel_messages[channel_id]
        assert expedition["name"] in embed_text(message)
    assert [request.status for request in discord.requests_to("POST", rf"/channels/{limited}/messages")] == [429, 200]

    assert gone not in remaining
    assert remaining[denied].failure_count == 1
    assert "50013" in (remaining[denied].last_error or "")
    assert remaining[denied].disabled_reason is None
    assert remaining[denied_before].failure_count == 3
    assert remaining[denied_before].disabled_reason is not None
    assert denied not in discord.channel_messages
    assert denied_before not in discord.channel_messages
    # Sent: the two working channels and the rate-limited one. Dropped: the gone channel and the
    # disabled subscription. Pending: the forbidden channel, waiting for its retry.
    assert (counts["sent"], counts["dropped"], counts["pending"]) == (3, 2, 1)


async def wait_until(condition: Any, *, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
