"""The bot, run in this process against the stand-in Discord, over a copy of a benchmark mirror.

The bot is the real `ExpeditionBot` with its real cogs, plus a `/bench` group used only here:
`noop` responds at once (the round-trip baseline) and `ll2search` responds to a search by
asking LL2 instead of the mirror. Its scheduled sync is postponed through the sync state
`retry_not_before`, so it sends no LL2 request while answers are timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ExpeditionBot
from bot.discord_endpoints import apply_discord_endpoints
from bot.jobs.sync import RETRY_NOT_BEFORE_KEY
from bot.settings import Settings
from storage.database import ExpeditionStore
from tests.standins.discord import StandInDiscord

log = logging.getLogger(__name__)

TOKEN = "stand-in-token.benchmark"

# Far enough ahead that no scheduled sync starts during a benchmark.
POSTPONED_UNTIL = "2999-01-01T00:00:00+00:00"

# An address nothing listens on: the bot needs an LL2 base URL, and its sync is postponed.
UNUSED_LL2_BASE_URL = "http://127.0.0.1:9/2.3.0"

STARTUP_TIMEOUT_SECONDS = 60.0


class BenchCog(commands.GroupCog, group_name="bench", group_description="Benchmark helpers"):
    """Commands that exist only in the benchmarks, for comparison with the real ones."""

    def __init__(self, ll2_base_url: str | None) -> None:
        self.ll2_base_url = ll2_base_url
        self.session: aiohttp.ClientSession | None = None

    async def cog_unload(self) -> None:
        if self.session is not None:
            await self.session.close()

    @app_commands.command(name="noop")
    async def noop(self, interaction: discord.Interaction) -> None:
        """Respond at once: the round trip without any work."""
        await interaction.response.send_message("ok")

    @app_commands.command(name="ll2search")
    async def ll2search(self, interaction: discord.Interaction, query: str) -> None:
        """Respond to a search with LL2's results, as a bot without a mirror would."""
        if self.ll2_base_url is None:
            await interaction.response.send_message("no LL2 configured", ephemeral=True)
            return
        if self.session is None:
            self.session = aiohttp.ClientSession()

        params = {"search": query, "mode": "normal", "ordering": "-start", "limit": "5"}
        async with self.session.get(f"{self.ll2_base_url}/expeditions/", params=params) as response:
            payload = await response.json()

        names = "\n".join(item["name"] for item in payload["results"])
        embed = discord.Embed(title=f"Expeditions matching {query}"[:256], description=names or "none")
        await interaction.response.send_message(embed=embed)


class BenchBot(ExpeditionBot):
    """The real bot with the `/bench` commands added before its command tree is synced."""

    def __init__(self, settings: Settings, ll2_base_url: str | None) -> None:
        super().__init__(settings)
        self._bench_ll2_base_url = ll2_base_url

    async def setup_hook(self) -> None:
        await self.add_cog(BenchCog(self._bench_ll2_base_url))
        await super().setup_hook()


@dataclass
class RunningBot:
    """The stand-in Discord and the bot connected to it."""

    discord: StandInDiscord
    bot: BenchBot
    database_path: Path


def postpone_sync(database_path: Path) -> None:
    """Store a `retry_not_before` far ahead, so the bot's scheduled sync skips its runs."""
    store = ExpeditionStore.open(database_path)
    try:
        store.set_state(RETRY_NOT_BEFORE_KEY, POSTPONED_UNTIL)
    finally:
        store.close()


@contextlib.asynccontextmanager
async def running_bot(database_path: Path, *, ll2_base_url: str | None = None) -> AsyncIterator[RunningBot]:
    """Start the stand-in Discord and the bot over `database_path`; stop both afterwards."""
    postpone_sync(database_path)
    async with StandInDiscord(token=TOKEN) as standin:
        apply_discord_endpoints(standin.api_base, standin.gateway_url)
        settings = Settings(
            discord_token=TOKEN,
            database_path=database_path,
            ll2_base_url=UNUSED_LL2_BASE_URL,
            discord_api_base=standin.api_base,
            discord_gateway_url=standin.gateway_url,
            log_level="WARNING",
        )
        # The bot never joins voice; without this, discord.py warns about missing voice libraries.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        bot = BenchBot(settings, ll2_base_url)
        task = asyncio.create_task(bot.start(TOKEN), name="benchmark-bot")
        try:
            await asyncio.wait_for(_wait_ready(bot, task), STARTUP_TIMEOUT_SECONDS)
            yield RunningBot(discord=standin, bot=bot, database_path=database_path)
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)


async def _wait_ready(bot: BenchBot, task: asyncio.Task[None]) -> None:
    # wait_until_ready() raises before login, so poll is_ready(); the caller bounds the wait.
    while not bot.is_ready():
        if task.done():
            task.result()
            raise RuntimeError("the bot stopped before it was ready")
        await asyncio.sleep(0.01)
