"""`/expedition show` and its autocomplete through the real bot process and both stand-ins."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import RunningBot, unescape

EPHEMERAL = 1 << 6

PLAIN_NAME = re.compile(r"[A-Za-z]+( [A-Za-z]+)* \d+")


def pick_expedition(bot: RunningBot) -> dict[str, Any]:
    """Return a generated expedition with crew, a station image and a plain "Words N" name."""
    return next(
        expedition for expedition in bot.dataset.expeditions
        if expedition["crew"] and expedition["spacestation"]["image"]
        and PLAIN_NAME.fullmatch(expedition["name"]) and max(map(len, expedition["name"].split())) >= 6
    )


def misspell(name: str) -> str:
    """Drop one inner letter of the longest word: "Halcyon Increment 1" becomes "Halcyon Incremnt 1"."""
    words = name.split()
    longest = max(range(len(words)), key=lambda index: len(words[index]))
    word = words[longest]
    words[longest] = word[: len(word) - 3] + word[len(word) - 2:]
    return " ".join(words)


async def autocomplete(bot: RunningBot, typed: str) -> list[dict[str, Any]]:
    return await bot.discord.autocomplete("expedition", "show", {"expedition": typed}, focused="expedition")


async def test_autocomplete_exact_name_first(generated_bot: RunningBot) -> None:
    chosen = pick_expedition(generated_bot)

    choices = await autocomplete(generated_bot, chosen["name"])

    assert 0 < len(choices) <= 25
    assert choices[0] == {"name": chosen["name"], "value": str(chosen["id"])}


async def test_autocomplete_typo_still_first(generated_bot: RunningBot) -> None:
    chosen = pick_expedition(generated_bot)
    typed = misspell(chosen["name"])

    choices = await autocomplete(generated_bot, typed)

    assert typed != chosen["name"]
    assert 0 < len(choices) <= 25
    assert choices[0]["value"] == str(chosen["id"])


async def test_autocomplete_empty_offers_25(generated_bot: RunningBot) -> None:
    choices = await autocomplete(generated_bot, "")

    assert len(choices) == 25
    assert generated_bot.process.error_lines() == []


async def test_show_chosen_expedition(generated_bot: RunningBot) -> None:
    chosen = pick_expedition(generated_bot)
    image = chosen["spacestation"]["image"]

    reply = await generated_bot.discord.slash_command("expedition", "show", {"expedition": str(chosen["id"])})

    first = reply.embeds[0]
    assert unescape(first["title"]) == chosen["name"]
    assert first["thumbnail"]["url"] in {image["thumbnail_url"], image["image_url"]}
    listed = unescape("\n".join(field["value"] for field in first["fields"]))
    for seat in chosen["crew"]:
        assert seat["astronaut"]["name"] in listed
    assert reply.flags & EPHEMERAL == 0
    assert reply.allowed_mentions == {"parse": []}


async def test_show_unknown_name_gets_ephemeral_note(generated_bot: RunningBot) -> None:
    reply = await generated_bot.discord.slash_command("expedition", "show", {"expedition": "Vostok qqqqqq"})

    assert reply.flags & EPHEMERAL
    assert "can't find an expedition" in reply.content
    assert generated_bot.process.error_lines() == []
