"""`/subscription add|remove|list` through the real bot process, the stand-in Discord and its stored results.

The stand-in serves two servers, so a channel of the other one can be offered to a command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from storage.subscriptions import Subscription
from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import DISCORD_TOKEN, bot_settings
from tests.standins.discord import Guild, InteractionReply, StandInDiscord, User, build_guild
from tests.standins.discord.models import EMBED_LINKS, SEND_MESSAGES_IN_THREADS
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset
from tests.standins.ll2.server import StandInLL2

EPHEMERAL = 1 << 6
OTHER_GUILD_ID = 1_260_000_000_000_000_000


@dataclass
class SubscriptionBot:
    """The bot connected to a stand-in Discord with two servers, its mirror filled by the first sync."""

    process: BotProcess
    discord: StandInDiscord
    dataset: LL2Dataset
    database_path: Path
    guild: Guild
    other_guild: Guild

    @property
    def moderator(self) -> User:
        """Grace, who has the Moderator role (Manage Channels) and owns the server."""
        return self.guild.member(self.guild.id + 22).user  # type: ignore[union-attr]

    @property
    def member(self) -> User:
        """Ada, a member without Manage Channels."""
        return self.guild.member(self.guild.id + 21).user  # type: ignore[union-attr]

    def stored(self) -> list[Subscription]:
        """Read the server's subscriptions from the database file, outside the bot."""
        store = ExpeditionStore.open(self.database_path)
        try:
            return store.list_subscriptions(self.guild.id)
        finally:
            store.close()

    async def command(self, subcommand: str, options: dict[str, Any], **kwargs: Any) -> InteractionReply:
        """Run `/subscription SUBCOMMAND` as the moderator unless another user is given."""
        kwargs.setdefault("user", self.moderator)
        return await self.discord.slash_command("subscription", subcommand, options, **kwargs)


@pytest.fixture
async def subscription_bot(tmp_path: Path) -> AsyncIterator[SubscriptionBot]:
    dataset = generate_dataset(60, seed=11)
    guild = build_guild()
    other_guild = build_guild(OTHER_GUILD_ID, name="Other Club")
    database_path = tmp_path / "data" / "expeditions.sqlite3"

    async with StandInLL2(dataset) as ll2, StandInDiscord(
        token=DISCORD_TOKEN, guilds=[guild, other_guild]
    ) as discord_standin:
        process = BotProcess(bot_settings(ll2, discord_standin, database_path), cwd=tmp_path)
        await process.start()
        try:
            await discord_standin.wait_for_identify(timeout=30)
            await process.wait_for_log(r"full sync finished", timeout=60)
            await process.wait_for_log(r"Connected as", timeout=30)
            yield SubscriptionBot(process, discord_standin, dataset, database_path, guild, other_guild)
        finally:
            exit_code = await process.stop()
            assert exit_code == 0, "\n".join(process.log_lines)


def mirrored_station(bot: SubscriptionBot) -> dict[str, Any]:
    """Return the station of the first generated expedition, which the mirror contains after the sync."""
    return bot.dataset.expeditions[0]["spacestation"]


def assert_private(reply: InteractionReply) -> None:
    assert reply.flags & EPHEMERAL
    assert reply.allowed_mentions == {"parse": []}


async def test_add_update_list_remove(subscription_bot: SubscriptionBot) -> None:
    bot = subscription_bot
    station = mirrored_station(bot)
    general = bot.guild.channel("general")
    launches = bot.guild.channel("launches")
    moderator_role = bot.guild.role("Moderator")

    first = await bot.command("add", {"station": str(station["id"])})
    everything = await bot.command(
        "add",
        {"station": "all", "channel": launches, "events": "Crew change, expedition_ended",
         "mention_role": moderator_role},
    )

    assert_private(first)
    assert f"Subscribed <#{general.id}>" in first.content
    assert station["name"] in first.content
    assert "Events: all events." in first.content
    assert "from now on" in first.content
    assert_private(everything)
    assert "**All stations**" in everything.content
    assert "Events: Crew change and Expedition ended." in everything.content
    assert f"Mentions: <@&{moderator_role.id}>." in everything.content

    stored = {(item.channel_id, item.station_id): item for item in bot.stored()}
    assert set(stored) == {(general.id, station["id"]), (launches.id, None)}
    assert stored[(general.id, station["id"])].events == EVENT_KINDS
    assert stored[(general.id, station["id"])].created_by == bot.moderator.id
    assert stored[(launches.id, None)].events == ("crew_changed", "ended")
    assert stored[(launches.id, None)].mention_role_id == moderator_role.id

    listed = await bot.command("list", {})
    assert_private(listed)
    assert "(2)" in listed.content
    assert f"<#{general.id}>: all events" in listed.content
    assert f"**All stations** in <#{launches.id}>: Crew change and Expedition ended" in listed.content

    again = await bot.command("add", {"station": str(station["id"]), "events": "started"})
    assert again.content.startswith(f"Updated the subscription of <#{general.id}>")
    updated = [item for item in bot.stored() if item.channel_id == general.id]
    assert [item.events for item in updated] == [("started",)]
    assert updated[0].id == stored[(general.id, station["id"])].id

    choices = await bot.discord.autocomplete(
        "subscription", "remove", {"station": ""}, focused="station", user=bot.moderator
    )
    assert [choice["name"] for choice in choices] == [
        f"{station['name']} in #general",
        "All stations in #launches",
    ]

    removed = await bot.command("remove", {"station": choices[1]["value"]})
    assert_private(removed)
    assert f"Removed the subscription of <#{launches.id}> to **All stations**" in removed.content
    assert [(item.channel_id, item.station_id) for item in bot.stored()] == [(general.id, station["id"])]

    removed_again = await bot.command("remove", {"station": "all", "channel": launches})
    assert "has no subscription" in removed_again.content
    assert bot.process.error_lines() == []


async def test_rejections_store_nothing(subscription_bot: SubscriptionBot) -> None:
    bot = subscription_bot
    station = str(mirrored_station(bot)["id"])
    launches = bot.guild.channel("launches")
    thread = bot.guild.channel("iss-crew")

    not_moderator = await bot.command("add", {"station": station}, user=bot.member)
    elsewhere = await bot.command("add", {"station": station, "channel": bot.other_guild.channel("general")})
    everyone = await bot.command("add", {"station": station, "mention_role": bot.guild.everyone_role})
    managed = await bot.command("add", {"station": station, "mention_role": bot.guild.role("Expedition Bot")})
    unknown_event = await bot.command("add", {"station": station, "events": "Crew change, landing"})
    unknown_station = await bot.command("add", {"station": "qqqzzz"})

    await bot.discord.set_bot_overwrite(launches.id, deny=EMBED_LINKS)
    no_embeds = await bot.command("add", {"station": station, "channel": launches})
    no_embeds_here = await bot.command("add", {"station": station}, channel_id=launches.id)

    await bot.discord.set_bot_overwrite(bot.guild.channel("general").id, deny=SEND_MESSAGES_IN_THREADS)
    no_thread_posts = await bot.command("add", {"station": station, "channel": thread})

    replies = [not_moderator, elsewhere, everyone, managed, unknown_event, unknown_station, no_embeds,
               no_embeds_here, no_thread_posts]
    for reply in replies:
        assert_private(reply)
    assert "Manage Channels" in not_moderator.content
    assert "another server" in elsewhere.content
    assert "@everyone" in everyone.content
    assert "managed by a bot or an integration" in managed.content
    assert "“landing” is not an event" in unknown_event.content
    assert "can't find a station" in unknown_station.content
    assert f"<#{launches.id}>" in no_embeds.content
    assert "the Embed Links permission " in no_embeds.content
    assert "the Embed Links permission " in no_embeds_here.content
    assert f"<#{thread.id}>" in no_thread_posts.content
    assert "Send Messages in Threads" in no_thread_posts.content

    assert bot.stored() == []
    assert bot.process.error_lines() == []


async def test_member_cannot_list_or_remove(subscription_bot: SubscriptionBot) -> None:
    bot = subscription_bot
    station = str(mirrored_station(bot)["id"])
    await bot.command("add", {"station": station})

    listed = await bot.command("list", {}, user=bot.member)
    removed = await bot.command("remove", {"station": station}, user=bot.member)

    assert "Manage Channels" in listed.content
    assert "Manage Channels" in removed.content
    assert len(bot.stored()) == 1


async def test_station_and_events_autocomplete(subscription_bot: SubscriptionBot) -> None:
    bot = subscription_bot
    station = mirrored_station(bot)

    stations = await bot.discord.autocomplete(
        "subscription", "add", {"station": station["name"]}, focused="station", user=bot.moderator
    )
    events = await bot.discord.autocomplete(
        "subscription", "add", {"station": "all", "events": "Crew change, exp"}, focused="events",
        user=bot.moderator,
    )

    assert stations[0] == {"name": "All stations", "value": "all"}
    assert stations[1] == {"name": station["name"], "value": str(station["id"])}
    assert [choice["value"] for choice in events] == [
        "crew_changed,new_expedition",
        "crew_changed,started",
        "crew_changed,ended",
    ]
    assert events[0]["name"] == "Crew change, New expedition"
