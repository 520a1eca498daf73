"""`/expedition search` through the real bot process, the stand-in Discord and the stand-in LL2."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter

import pytest

from tests.e2e.bot_process import run_cli
from tests.e2e.conftest import (
    RunningBot,
    bot_settings,
    expected_names,
    search_all_pages,
)

EPHEMERAL = 1 << 6

ODD_QUERIES = [
    "",
    "   ",
    "x" * 500,
    '"*:()',
    "NEAR",
    "' OR 1=1 --",
    "🚀🛰️👩‍🚀",
    unicodedata.normalize("NFD", "Jérôme Kéllý"),
    "%_%",
    "\u200b\u202e",
]


@pytest.mark.parametrize("query", ["Kelly", "Salyut 6", "Chinese"])
async def test_recorded_search_matches_ll2(recorded_bot: RunningBot, query: str) -> None:
    expected = expected_names(recorded_bot.ll2, recorded_bot.dataset, query)

    first, listed = await search_all_pages(recorded_bot.discord, query)

    assert expected, f"the stand-in LL2 finds nothing for {query!r}, so the comparison proves nothing"
    assert Counter(listed) == Counter(expected)
    assert first.flags & EPHEMERAL == 0
    assert first.allowed_mentions == {"parse": []}
    assert recorded_bot.process.error_lines() == []


async def test_generated_search_matches_ll2(generated_bot: RunningBot) -> None:
    crewed = next(expedition for expedition in generated_bot.dataset.expeditions if expedition["crew"])
    surname = crewed["crew"][0]["astronaut"]["name"].split()[-1]
    expected = expected_names(generated_bot.ll2, generated_bot.dataset, surname)

    first, listed = await search_all_pages(generated_bot.discord, surname)

    assert Counter(listed) == Counter(expected)
    assert first.embeds[0].get("thumbnail", {}).get("url") or crewed["spacestation"]["image"] is None


async def test_pager_refuses_other_user(generated_bot: RunningBot) -> None:
    invoker, other = (member.user for member in generated_bot.discord.guild().members[:2])
    first = await generated_bot.discord.slash_command("expedition", "search", {"query": "a"}, user=invoker)

    refused = await generated_bot.discord.click(first.message, "expedition_search:next", user=other)

    assert refused.flags & EPHEMERAL
    assert "Only the person who ran this search" in refused.content


@pytest.mark.parametrize("query", ODD_QUERIES)
async def test_odd_query_gets_clear_answer(generated_bot: RunningBot, query: str) -> None:
    reply = await generated_bot.discord.slash_command("expedition", "search", {"query": query})

    if reply.embeds:
        assert reply.embeds[0]["title"].startswith("Expeditions matching")
    else:
        assert reply.flags & EPHEMERAL
        assert len(reply.content) > 20
    assert generated_bot.process.error_lines() == []


async def test_cli_json_equals_slash_command(generated_bot: RunningBot, tmp_path) -> None:
    query = generated_bot.dataset.expeditions[0]["spacestation"]["name"]
    reply = await generated_bot.discord.slash_command("expedition", "search", {"query": query})
    settings = bot_settings(generated_bot.ll2, generated_bot.discord, generated_bot.database_path)

    exit_code, stdout, stderr = await run_cli(["search", query, "--json"], settings, tmp_path)

    assert exit_code == 0, stderr
    assert json.loads(stdout) == reply.embeds
