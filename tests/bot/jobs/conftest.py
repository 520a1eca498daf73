"""Fixtures of the sync tests: a real store in tmp_path, the stand-in LL2 and clients of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.ll2.client import LL2Client, RequestBudget
from storage.database import ExpeditionStore
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset
from tests.standins.ll2.server import StandInLL2


class RecordedSleep:
    """An injectable sleep that records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExpeditionStore]:
    """Open a store in a fresh SQLite file, usable from the sync's worker threads."""
    opened = ExpeditionStore.open(tmp_path / "mirror.sqlite3", check_same_thread=False)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def dataset() -> LL2Dataset:
    """Return 170 generated expeditions, close to the size of LL2's real list (two pages)."""
    return generate_dataset(170, seed=7)


@pytest.fixture
async def start_standin() -> AsyncIterator[Callable[..., object]]:
    """Return an async factory of started stand-in LL2 servers, all stopped after the test."""
    started: list[StandInLL2] = []

    async def start(dataset: LL2Dataset, **options: object) -> StandInLL2:
        standin = StandInLL2(dataset, **options)  # type: ignore[arg-type]
        await standin.start()
        started.append(standin)
        return standin

    yield start
    for standin in started:
        await standin.stop()


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open an aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def recorded_sleep() -> RecordedSleep:
    """Return a sleep that records delays without waiting."""
    return RecordedSleep()


@pytest.fixture
def make_client(
    http_session: aiohttp.ClientSession, recorded_sleep: RecordedSleep
) -> Callable[..., LL2Client]:
    """Return a factory of clients of a given stand-in, with a generous budget unless given one."""

    def make(standin: StandInLL2, *, api_key: str | None = None, budget: RequestBudget | None = None,
             **options: object) -> LL2Client:
        return LL2Client(
            http_session,
            standin.base_url,
            api_key=api_key,
            budget=budget or RequestBudget(1000),
            sleep=recorded_sleep,
            **options,  # type: ignore[arg-type]
        )

    return make
