"""The whole bot, started as `python -m bot`, against the stand-in LL2 and the stand-in Discord."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.bot_process import BotProcess
from tests.standins.discord import InteractionReply, StandInDiscord
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset, load_recorded_dataset
from tests.standins.ll2.server import StandInLL2

DISCORD_TOKEN = "stand-in-token.e2e"

RESULT_HEADING = re.compile(r"^\*\*\d+\. (?P<name>.+)\*\*$", re.MULTILINE)
MARKDOWN_ESCAPE = re.compile(r"\\(.)")
NEXT_BUTTON = "expedition_search:next"


@dataclass
class RunningBot:
    """A bot process connected to both stand-ins, with its mirror filled by the first sync."""

    process: BotProcess
    ll2: StandInLL2
    discord: StandInDiscord
    dataset: LL2Dataset
    database_path: Path


def bot_settings(ll2: StandInLL2, discord_standin: StandInDiscord, database_path: Path) -> dict[str, str]:
    """Return the environment that points the bot at both stand-ins."""
    return {
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "LL2_BASE_URL": ll2.base_url,
        "DATABASE_PATH": str(database_path),
        "DISCORD_API_BASE": discord_standin.api_base,
        "DISCORD_GATEWAY_URL": discord_standin.gateway_url,
        "LOG_LEVEL": "INFO",
    }


async def start_bot(
    dataset: LL2Dataset, tmp_path: Path, extra_settings: Mapping[str, str] | None = None
) -> AsyncIterator[RunningBot]:
    """Start both stand-ins and the bot, wait for its first full sync, and stop everything after.

    `extra_settings` adds to or replaces the environment that `bot_settings` returns.
    """
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    async with StandInLL2(dataset) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        settings = {**bot_settings(ll2, discord_standin, database_path), **(extra_settings or {})}
        process = BotProcess(settings, cwd=tmp_path)
        await process.start()
        try:
            await discord_standin.wait_for_identify(timeout=30)
            await process.wait_for_log(r"full sync finished", timeout=60)
            await process.wait_for_log(r"Connected as", timeout=30)
            yield RunningBot(process, ll2, discord_standin, dataset, database_path)
        finally:
            exit_code = await process.stop()
            assert exit_code == 0, "\n".join(process.log_lines)


@pytest.fixture
async def generated_bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot over a generated data set, which needs no recorded files."""
    async for running in start_bot(generate_dataset(180, seed=7), tmp_path):
        yield running


@pytest.fixture
async def recorded_bot(tmp_path: Path, shared_ll2_dir: Path) -> AsyncIterator[RunningBot]:
    """The bot over the data set built from recorded LL2 responses."""
    async for running in start_bot(load_recorded_dataset(shared_ll2_dir), tmp_path):
        yield running


def unescape(text: str) -> str:
    """Undo markdown escapes and the zero-width spaces that break up mentions."""
    return MARKDOWN_ESCAPE.sub(r"\1", text).replace("\u200b", "")


def listed_names(reply: InteractionReply) -> list[str]:
    """Return the expedition names that one search page lists."""
    names: list[str] = []
    for embed in reply.embeds:
        description = embed.get("description", "")
        names.extend(unescape(match["name"]) for match in RESULT_HEADING.finditer(description))
    return names


def has_enabled_button(message: dict, custom_id: str) -> bool:
    """Return whether the message carries the button `custom_id` and it can be clicked."""
    for row in message.get("components", []):
        for component in row.get("components", []):
            if component.get("custom_id") == custom_id:
                return not component.get("disabled", False)
    return False


async def search_all_pages(standin: StandInDiscord, query: str) -> tuple[InteractionReply, list[str]]:
    """Run `/expedition search`, turn every page with Next, and return the first reply and all names."""
    first = await standin.slash_command("expedition", "search", {"query": query})
    names = listed_names(first)
    reply = first
    while has_enabled_button(reply.message, NEXT_BUTTON):
        reply = await standin.click(reply.message, NEXT_BUTTON)
        names.extend(listed_names(reply))
    return first, names


def expected_names(ll2: StandInLL2, dataset: LL2Dataset, query: str) -> list[str]:
    """Return the names the bot should list for `query`, computed outside the bot.

    That is what the stand-in LL2's own `search=` returns, plus the expeditions on a station
    whose name contains every word of the query. The mirror also searches station names,
    which LL2's search leaves out, so LL2 misses "Soyuz 25" for "Salyut 6", for instance.
    """
    by_id = {expedition["id"]: expedition for expedition in dataset.expeditions}
    matching = set(ll2.search_ids(query))

    terms = [term.casefold() for term in re.split(r"[\s,]+", query) if term]
    for expedition in dataset.expeditions:
        station = expedition["spacestation"]["name"].casefold()
        if terms and all(term in station for term in terms):
            matching.add(expedition["id"])

    return [by_id[expedition_id]["name"] for expedition_id in sorted(matching)]
