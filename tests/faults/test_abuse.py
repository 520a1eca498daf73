"""Hostile input: fuzzed `/expedition search` options, and LL2 text that tries to ping or format."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.embed_checks import assert_message_within_limits, assert_safe_text, embed_texts
from tests.faults.conftest import DISCORD_TOKEN, BotHarness, FaultyDiscord, run_bot
from tests.standins.discord import InteractionReply
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset

NO_MENTIONS = {"parse": []}
HOSTILE_PARTS = ("@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "**bold**",
                 "`code`", "zero\u200bwidth\u2060joined")
HOSTILE = " ".join(HOSTILE_PARTS)
# Undo markdown escapes and the zero-width spaces that break up mentions.
MARKDOWN_ESCAPE = re.compile(r"\\(.)")

CONTROL_CHARACTERS = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(
    ["\x7f", "\u0085", "\u2028", "\u202e", "\u200b"])
QUERIES = st.one_of(
    st.text(max_size=120),
    st.text(CONTROL_CHARACTERS, min_size=1, max_size=40),
    st.builds(lambda character, size: character * size, st.characters(), st.integers(5990, 6000)),
    st.builds(lambda word, size: (word + " ") * size, st.sampled_from(["@everyone", "<@&1>", "**", "Zv"]),
              st.integers(1, 600)),
)


def unescape(text: str) -> str:
    return MARKDOWN_ESCAPE.sub(r"\1", text).replace("\u200b", "")


def assert_valid_answer(reply: InteractionReply) -> None:
    """Assert that a reply is embeds within Discord's limits or a short ephemeral note, with mentions disabled."""
    assert reply.callback_type is not None
    assert reply.allowed_mentions == NO_MENTIONS
    if reply.embeds:
        assert_message_within_limits(reply.embeds)
        for embed in reply.embeds:
            for text in embed_texts(embed):
                assert_safe_text(text, allow_newlines=True)
    else:
        assert reply.ephemeral
        assert reply.content
        assert_safe_text(reply.content, allow_newlines=True)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=QUERIES)
async def test_fuzzed_search_gets_valid_reply(bot_harness: BotHarness, query: str) -> None:
    reply = await bot_harness.discord.slash_command("expedition", "search", {"query": query})

    assert_valid_answer(reply)


def hostile_dataset() -> LL2Dataset:
    """Return a generated dataset whose first crewed expedition and its crew carry hostile text."""
    dataset = generate_dataset(30, seed=31)
    dataset.expeditions = copy.deepcopy(dataset.expeditions)
    record = next(item for item in dataset.expeditions if item["crew"])
    record["name"] = f"Hostile {HOSTILE}"
    for seat in record["crew"]:
        astronaut = seat["astronaut"]
        astronaut["name"] = f"{astronaut['name']} {HOSTILE}"
        astronaut["bio"] = f"Biography {HOSTILE}"
    return dataset


@pytest.fixture
async def hostile_harness(database_path: Path, discord_endpoints: None) -> AsyncIterator[BotHarness]:
    async with FaultyDiscord(token=DISCORD_TOKEN) as discord_standin:
        async for harness in run_bot(hostile_dataset(), database_path, discord_standin):
            yield harness


def hostile_record(harness: BotHarness) -> dict[str, Any]:
    return next(item for item in harness.dataset.expeditions if item["name"].startswith("Hostile"))


def assert_parts_shown(text: str) -> None:
    """Assert that each hostile part reads as itself once markdown escapes and zero-width spaces are removed."""
    displayed = unescape(text)
    for part in HOSTILE_PARTS:
        assert unescape(part) in displayed, part


def rendered_text(reply: InteractionReply) -> str:
    return "\n".join(text for embed in reply.embeds for text in embed_texts(embed))


async def test_hostile_name_in_search_is_inert(hostile_harness: BotHarness) -> None:
    reply = await hostile_harness.discord.slash_command("expedition", "search", {"query": "Hostile"})

    assert reply.embeds
    assert_valid_answer(reply)
    assert_parts_shown(rendered_text(reply))


async def test_hostile_name_in_details_is_inert(hostile_harness: BotHarness) -> None:
    record = hostile_record(hostile_harness)

    reply = await hostile_harness.discord.slash_command("expedition", "show", {"expedition": str(record["id"])})

    assert reply.embeds
    assert_valid_answer(reply)
    assert_parts_shown(rendered_text(reply))


async def test_hostile_bio_in_crew_is_inert(hostile_harness: BotHarness) -> None:
    astronaut = hostile_record(hostile_harness)["crew"][0]["astronaut"]

    reply = await hostile_harness.discord.slash_command("expedition", "crew", {"astronaut": str(astronaut["id"])})

    assert reply.embeds
    assert_valid_answer(reply)
    displayed = unescape(rendered_text(reply))
    assert unescape(astronaut["name"]) in displayed
    assert unescape(astronaut["bio"]) in displayed
