"""The stand-in Discord driven by a real discord.py Bot with a small test-only command group."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.standins.discord import InteractionNotAnswered, StandInDiscord
from tests.standins.discord.models import (
    EMBED_LINKS,
    MANAGE_CHANNELS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)

TOKEN = "test-token-kept-secret-1234"
STATIONS = {"tiangong": "Tiangong", "iss": "International Space Station", "mir": "Mir"}


class PagerView(discord.ui.View):
    """One "next" button; on timeout it disables the button by editing the original response."""

    def __init__(self, interaction: discord.Interaction, clicks: list[int], timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.interaction = interaction
        self.clicks = clicks

    @discord.ui.button(label="Next", custom_id="probe:next")
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        assert interaction.message is not None
        self.clicks.append(interaction.message.id)
        await interaction.response.edit_message(content=f"page 2 for {interaction.user.name}")

    async def on_timeout(self) -> None:
        for item in self.children:
            item.disabled = True  # type: ignore[attr-defined]
        await self.interaction.edit_original_response(view=self)


class StationSelectView(discord.ui.View):
    """A string select of stations that notes the values chosen."""

    def __init__(self, picked: list[list[str]]) -> None:
        super().__init__(timeout=5)
        self.picked = picked

    @discord.ui.select(
        custom_id="probe:station",
        options=[discord.SelectOption(label=name, value=value) for value, name in STATIONS.items()],
    )
    async def station(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        self.picked.append(list(select.values))
        await interaction.response.defer()


class Probe(app_commands.Group):
    """Commands that exercise each kind of interaction response."""

    def __init__(self, bot: ProbeBot) -> None:
        super().__init__(name="probe", description="Stand-in checks")
        self.bot = bot

    @app_commands.command(description="Echo the options")
    async def echo(
        self, interaction: discord.Interaction, text: str, count: int, loud: bool,
        channel: discord.TextChannel, role: discord.Role,
    ) -> None:
        answer = f"{text}|{count}|{loud}|{channel.id}|{role.name}"
        await interaction.response.send_message(
            answer, ephemeral=not loud, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(description="Report the member's and the bot's permissions")
    async def perms(self, interaction: discord.Interaction) -> None:
        answer = f"manage={interaction.permissions.manage_channels} embed={interaction.app_permissions.embed_links}"
        await interaction.response.send_message(answer, ephemeral=True)

    @app_commands.command(description="Defer, then edit")
    async def slow(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="ready", embed=discord.Embed(title="Done"))

    @app_commands.command(description="Defer, send two follow-ups, read the original")
    async def steps(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("step 1")
        original = await interaction.original_response()
        await interaction.followup.send(f"original {original.id}", ephemeral=True)

    @app_commands.command(description="Send a message with a station select")
    async def choose(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("choose", view=StationSelectView(self.bot.picked))

    @app_commands.command(description="Answer after the deadline")
    async def late(self, interaction: discord.Interaction) -> None:
        await asyncio.sleep(self.bot.late_delay)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as error:
            self.bot.errors.put_nowait(error)

    @app_commands.command(description="Send a message with a button")
    async def pager(self, interaction: discord.Interaction) -> None:
        view = PagerView(interaction, self.bot.clicks, self.bot.view_timeout)
        await interaction.response.send_message("page 1", view=view)

    @app_commands.command(description="Pick a station")
    async def pick(self, interaction: discord.Interaction, station: str) -> None:
        await interaction.response.send_message(station)

    @pick.autocomplete("station")
    async def pick_station(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=name, value=value)
            for value, name in STATIONS.items()
            if current.lower() in name.lower()
        ]


class ProbeBot(commands.Bot):
    """A bot with the probe group that notes readiness, errors and clicked message ids."""

    def __init__(self) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned, intents=discord.Intents.default(), guild_ready_timeout=0.05
        )
        self.ready = asyncio.Event()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()
        self.clicks: list[int] = []
        self.picked: list[list[str]] = []
        self.late_delay = 0.0
        self.view_timeout = 5.0
        self.tree.add_command(Probe(self))

    async def on_ready(self) -> None:
        self.ready.set()


@pytest.fixture
async def standin() -> AsyncIterator[StandInDiscord]:
    async with StandInDiscord(token=TOKEN) as server:
        yield server


@pytest.fixture
def pointed_at_standin(standin: StandInDiscord) -> Iterator[None]:
    """Point discord.py's REST base and gateway at the stand-in, and restore both afterwards."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = standin.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    yield
    discord.http.Route.BASE = old_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@pytest.fixture
async def bot(standin: StandInDiscord, pointed_at_standin: None) -> AsyncIterator[ProbeBot]:
    probe_bot = ProbeBot()
    runner = asyncio.create_task(probe_bot.start(TOKEN))
    try:
        await asyncio.wait_for(probe_bot.ready.wait(), 5)
        yield probe_bot
    finally:
        await probe_bot.close()
        await asyncio.wait_for(runner, 5)


async def test_login_reaches_ready(standin: StandInDiscord, bot: ProbeBot) -> None:
    guild_layout = standin.guild()
    guild = bot.get_guild(guild_layout.id)

    assert bot.user is not None
    assert bot.user.id == standin.bot_user_id
    assert bot.application_id == standin.application_id
    assert guild is not None
    assert isinstance(guild.get_channel(guild_layout.channel("general").id), discord.TextChannel)
    assert guild.get_channel(guild_layout.channel("launches").id).type is discord.ChannelType.news
    assert isinstance(guild.get_thread(guild_layout.channel("iss-crew").id), discord.Thread)
    assert guild.me is not None
    assert guild_layout.role("Expedition Bot").id in [role.id for role in guild.me.roles]
    assert [item.path for item in standin.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
    assert all(item.has_authorization for item in standin.requests[:2])


async def test_wrong_token_raises_login_failure(standin: StandInDiscord, pointed_at_standin: None) -> None:
    probe_bot = ProbeBot()
    try:
        with pytest.raises(discord.LoginFailure):
            await probe_bot.login("not-the-token")
    finally:
        await probe_bot.close()

    assert standin.requests[0].status == 401


async def test_token_never_logged(
    standin: StandInDiscord, pointed_at_standin: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tests.standins.discord")
    probe_bot = ProbeBot()
    runner = asyncio.create_task(probe_bot.start(TOKEN))
    await asyncio.wait_for(probe_bot.ready.wait(), 5)
    reply = await standin.slash_command("probe", "perms", {})
    await probe_bot.close()
    await runner

    assert reply.content
    assert caplog.records
    assert TOKEN not in caplog.text
    assert reply.token not in caplog.text


async def test_rest_json_content_type_is_exact(standin: StandInDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {TOKEN}"}
        async with session.get(f"{standin.api_base}/users/@me", headers=headers) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json"


async def test_slash_command_options_reach_bot(standin: StandInDiscord, bot: ProbeBot) -> None:
    guild = standin.guild()
    general = guild.channel("general")
    moderator = guild.role("Moderator")

    reply = await standin.slash_command(
        "probe", "echo", {"text": "iss", "count": 3, "loud": True, "channel": general, "role": moderator}
    )

    assert reply.callback_type == 4
    assert reply.content == f"iss|3|True|{general.id}|Moderator"
    assert not reply.ephemeral
    assert reply.allowed_mentions == {"parse": []}
    assert reply.message is not None
    assert reply.message["interaction_metadata"]["user"]["username"] == "ada"


async def test_slash_command_ephemeral_flag(standin: StandInDiscord, bot: ProbeBot) -> None:
    guild = standin.guild()
    options = {
        "text": "mir", "count": 1, "loud": False, "channel": guild.channel("general"), "role": guild.everyone_role,
    }

    reply = await standin.slash_command("probe", "echo", options)

    assert reply.ephemeral
    assert reply.content.startswith("mir|1|False|")


async def test_member_permissions_per_call(standin: StandInDiscord, bot: ProbeBot) -> None:
    without = await standin.slash_command("probe", "perms", {}, permissions=VIEW_CHANNEL | SEND_MESSAGES)
    with_manage = await standin.slash_command("probe", "perms", {}, permissions=VIEW_CHANNEL | MANAGE_CHANNELS)
    no_embeds = await standin.slash_command("probe", "perms", {}, app_permissions=VIEW_CHANNEL | SEND_MESSAGES)

    assert without.content == "manage=False embed=True"
    assert with_manage.content == "manage=True embed=True"
    assert no_embeds.content == "manage=False embed=False"


async def test_deferred_answer_then_edit(standin: StandInDiscord, bot: ProbeBot) -> None:
    reply = await standin.slash_command("probe", "slow", {})

    assert reply.callback_type == 5
    assert reply.content == "ready"
    assert [embed["title"] for embed in reply.embeds] == ["Done"]
    assert reply.flags & 128 == 0
    assert len(reply.edits) == 1


async def test_button_click_reaches_view(standin: StandInDiscord, bot: ProbeBot) -> None:
    reply = await standin.slash_command("probe", "pager", {})
    assert reply.message is not None

    clicked = await standin.click(reply.message, "probe:next")

    assert clicked.callback_type == 7
    assert bot.clicks == [int(reply.message["id"])]
    assert clicked.content == "page 2 for ada"
    assert reply.content == "page 2 for ada"


async def test_view_timeout_disables_button(standin: StandInDiscord, bot: ProbeBot) -> None:
    bot.view_timeout = 0.2
    reply = await standin.slash_command("probe", "pager", {})
    assert reply.message is not None

    message = await reply.wait_for_edit(timeout=3)

    button = message["components"][0]["components"][0]
    assert button["custom_id"] == "probe:next"
    assert button["disabled"] is True
    with pytest.raises(ValueError, match="disabled"):
        await standin.click(message, "probe:next")


async def test_autocomplete_returns_choices(standin: StandInDiscord, bot: ProbeBot) -> None:
    choices = await standin.autocomplete("probe", "pick", {"station": "TIAN"}, focused="station")

    assert choices == [{"name": "Tiangong", "value": "tiangong"}]


async def test_late_callback_gets_unknown_interaction(standin: StandInDiscord, bot: ProbeBot) -> None:
    standin.callback_deadline = 0.3
    bot.late_delay = 0.5

    with pytest.raises(InteractionNotAnswered):
        await standin.slash_command("probe", "late", {})
    error = await asyncio.wait_for(bot.errors.get(), 3)

    assert isinstance(error, discord.NotFound)
    assert error.code == 10062
    callbacks = standin.requests_to("POST", r"/interactions/\d+/[^/]+/callback")
    assert [item.status for item in callbacks] == [404]
    assert not callbacks[0].has_authorization


async def test_second_acknowledgement_rejected(standin: StandInDiscord, bot: ProbeBot) -> None:
    reply = await standin.slash_command("probe", "perms", {})
    url = f"{standin.api_base}/interactions/{reply.interaction_id}/{reply.token}/callback"

    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
            body = await response.json()

    assert response.status == 400
    assert body["code"] == 40060


async def test_nonce_repeated_posts_once(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("launches").id
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    first = await channel.send("Expedition 73 started", nonce="exp-73")
    second = await channel.send("Expedition 73 started", nonce="exp-73")
    other = await channel.send("Expedition 74 started", nonce="exp-74")

    assert second.id == first.id
    assert other.id != first.id
    assert [message["content"] for message in standin.channel_messages[channel_id]] == [
        "Expedition 73 started", "Expedition 74 started",
    ]


async def test_denied_send_raises_forbidden(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("general").id
    await standin.set_bot_overwrite(channel_id, deny=SEND_MESSAGES)
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("hello")

    assert raised.value.code == 50013
    assert channel_id not in standin.channel_messages


async def test_hidden_channel_raises_missing_access(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("launches").id
    await standin.set_bot_overwrite(channel_id, deny=VIEW_CHANNEL)
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("hello")

    assert raised.value.code == 50001


async def test_embed_without_embed_links_forbidden(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("general").id
    await standin.set_bot_overwrite(channel_id, deny=EMBED_LINKS)
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.Forbidden):
        await channel.send(embed=discord.Embed(title="Expedition 73"))
    plain = await channel.send("Expedition 73")

    assert not channel.permissions_for(channel.guild.me).embed_links
    assert [message["id"] for message in standin.channel_messages[channel_id]] == [str(plain.id)]


async def test_unknown_channel_not_found(standin: StandInDiscord, bot: ProbeBot) -> None:
    with pytest.raises(discord.NotFound) as raised:
        await bot.fetch_channel(123456789012345678)

    assert raised.value.code == 10003


async def test_rate_limit_retried_after_delay(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("general").id
    standin.fail_next("POST", rf"/channels/{channel_id}/messages", 429, {"retry_after": 0.05})
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    await channel.send("after the limit")

    posts = standin.requests_to("POST", rf"/channels/{channel_id}/messages")
    assert [item.status for item in posts] == [429, 200]
    assert len(standin.channel_messages[channel_id]) == 1


async def test_rate_limit_without_via_raises(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("general").id
    standin.fail_next("POST", rf"/channels/{channel_id}/messages", 429, {"retry_after": 0.05}, headers={"Via": None})
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as raised:
        await channel.send("banned")

    assert raised.value.status == 429


async def test_tree_sync_payload_recorded(standin: StandInDiscord, bot: ProbeBot) -> None:
    guild = discord.Object(id=standin.guild().id)
    synced = await bot.tree.sync()
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)

    assert [sync["guild_id"] for sync in standin.command_syncs] == [None, guild.id]
    probe = standin.command_syncs[0]["commands"][0]
    assert probe["name"] == "probe"
    assert sorted(option["name"] for option in probe["options"]) == [
        "choose", "echo", "late", "pager", "perms", "pick", "slow", "steps",
    ]
    assert synced[0].id > 0

    reply = await standin.slash_command("probe", "perms", {})
    dispatched = standin.interactions[reply.interaction_id].payload
    assert dispatched["data"]["guild_id"] == str(guild.id)
    assert reply.content.startswith("manage=")


async def test_gateway_drop_resumes(standin: StandInDiscord, bot: ProbeBot) -> None:
    await standin.drop_gateway(code=4000)
    await standin.wait_for_resume(timeout=5)

    reply = await standin.slash_command("probe", "perms", {})

    assert standin.identify_count == 1
    assert standin.gateway_paths == ["/gateway", "/gateway/resume"]
    assert reply.content.startswith("manage=")


async def test_followups_after_defer(standin: StandInDiscord, bot: ProbeBot) -> None:
    reply = await standin.slash_command("probe", "steps", {})
    second = await reply.wait_for_followup(count=2)

    assert reply.callback_type == 5
    assert reply.ephemeral
    assert reply.content == "step 1"
    assert reply.followups[0]["id"] == reply.message["id"]
    assert second["content"] == f"original {reply.message['id']}"
    assert second["flags"] & 64


async def test_select_values_reach_view(standin: StandInDiscord, bot: ProbeBot) -> None:
    reply = await standin.slash_command("probe", "choose", {})
    assert reply.message is not None

    chosen = await standin.click(reply.message, "probe:station", values=["mir"])

    assert chosen.callback_type == 6
    assert bot.picked == [["mir"]]
    dispatched = standin.interactions[chosen.interaction_id].payload
    assert dispatched["data"]["component_type"] == 3


async def test_bucket_headers_delay_next_request(standin: StandInDiscord, bot: ProbeBot) -> None:
    channel_id = standin.guild().channel("general").id
    standin.set_rate_limit("POST", r"/channels/\d+/messages", limit=1, per=0.2, bucket="channel-messages")
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)

    await channel.send("first")
    await channel.send("second")

    posts = standin.requests_to("POST", rf"/channels/{channel_id}/messages")
    assert [item.status for item in posts] == [200, 200]
