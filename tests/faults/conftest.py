"""Fixtures of the fault tests: a real SQLite mirror, stand-in LL2 servers and an in-process bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.client import ExpeditionBot
from bot.discord_endpoints import apply_discord_endpoints
from bot.jobs.sync import FINISHED_AT_KEY
from bot.ll2.client import LL2Client, RequestBudget
from bot.settings import Settings
from storage.database import ExpeditionStore
from tests.faults.support import PagingFaultLL2
from tests.standins.discord import StandInDiscord
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset
from tests.standins.ll2.server import StandInLL2

DISCORD_TOKEN = "stand-in-token.faults"


class RecordedSleep:
    """An injectable sleep that records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "mirror.sqlite3"


@pytest.fixture
def store(database_path: Path) -> Iterator[ExpeditionStore]:
    """A store in a fresh SQLite file, usable from the sync's worker threads."""
    opened = ExpeditionStore.open(database_path, check_same_thread=False)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def dataset() -> LL2Dataset:
    """250 generated expeditions: three pages, so that one page can fail in the middle."""
    return generate_dataset(250, seed=23)


@pytest.fixture
async def start_ll2() -> AsyncIterator[Callable[..., Any]]:
    """An async factory of started stand-in LL2 servers (with per-offset faults), stopped after the test."""
    started: list[StandInLL2] = []

    async def start(dataset: LL2Dataset, **options: Any) -> PagingFaultLL2:
        standin = PagingFaultLL2(dataset, **options)
        await standin.start()
        started.append(standin)
        return standin

    yield start
    for standin in started:
        await standin.stop()


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def recorded_sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def make_client(http_session: aiohttp.ClientSession, recorded_sleep: RecordedSleep) -> Callable[..., LL2Client]:
    """A factory of LL2 clients of a stand-in, with a generous budget and a sleep that does not wait."""

    def make(standin: StandInLL2, **options: Any) -> LL2Client:
        options.setdefault("budget", RequestBudget(1000))
        options.setdefault("api_key", None)
        return LL2Client(http_session, standin.base_url, sleep=recorded_sleep, **options)

    return make


class FaultyDiscord(StandInDiscord):
    """A stand-in Discord that can also end a gateway session for good, as Discord does after 4007 or 4009."""

    async def drop_gateway_session(self, code: int) -> None:
        """Forget every session, so that a RESUME gets INVALID_SESSION, then close the connection with `code`."""
        self._gateway._sessions.clear()
        await self.drop_gateway(code)


@dataclass
class BotHarness:
    """An in-process ExpeditionBot connected to the stand-in Discord, its mirror filled by the first sync."""

    bot: ExpeditionBot
    discord: FaultyDiscord
    ll2: StandInLL2
    dataset: LL2Dataset


def bot_settings(ll2: StandInLL2, discord_standin: StandInDiscord, database_path: Path, **extra: Any) -> Settings:
    """Settings that point the bot at both stand-ins and nowhere else."""
    values: dict[str, Any] = {
        "discord_token": DISCORD_TOKEN,
        "ll2_base_url": ll2.base_url,
        "ll2_api_key": None,
        "database_path": database_path,
        "discord_api_base": discord_standin.api_base,
        "discord_gateway_url": discord_standin.gateway_url,
        "dev_guild_id": None,
        "log_level": "DEBUG",
        "ll2_requests_per_hour": 1000,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


@pytest.fixture
def discord_endpoints() -> Iterator[None]:
    """Restore discord.py's REST base and gateway after a test pointed them at a stand-in."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


async def wait_until(predicate: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Wait until `predicate()` holds; fail the test when it does not within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def run_bot(
    dataset: LL2Dataset, database_path: Path, discord_standin: FaultyDiscord, **settings: Any
) -> AsyncIterator[BotHarness]:
    """Start the stand-in LL2 and an ExpeditionBot, wait for its first sync, and stop both after."""
    async with StandInLL2(dataset) as ll2:
        apply_discord_endpoints(discord_standin.api_base, discord_standin.gateway_url)
        bot = ExpeditionBot(bot_settings(ll2, discord_standin, database_path, **settings))
        running = asyncio.create_task(bot.start(DISCORD_TOKEN))
        try:
            await discord_standin.wait_for_identify(timeout=30)
            await wait_until(lambda: bot.store.get_state(FINISHED_AT_KEY) is not None)
            await wait_until(bot.is_ready)
            yield BotHarness(bot, discord_standin, ll2, dataset)
        finally:
            await bot.close()
            await asyncio.wait_for(running, 30)


@pytest.fixture
async def bot_harness(
    database_path: Path, discord_endpoints: None
) -> AsyncIterator[BotHarness]:
    """An in-process bot over 40 generated expeditions."""
    async with FaultyDiscord(token=DISCORD_TOKEN) as discord_standin:
        async for harness in run_bot(generate_dataset(40, seed=29), database_path, discord_standin):
            yield harness
