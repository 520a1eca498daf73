"""`/expedition station`, `crew` and `current`, and the shared pager, through the real bot and both stand-ins."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.bot_process import BotProcess
from tests.e2e.conftest import DISCORD_TOKEN, RunningBot, bot_settings, listed_names, start_bot, unescape
from tests.standins.discord import InteractionReply, StandInDiscord
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset
from tests.standins.ll2.server import StandInLL2

EPHEMERAL = 1 << 6
WHEN_OPTIONS = ["all", "on-going", "upcoming", "past"]

VIEW_TIMEOUT_SECONDS = 2
SPARSE_EXPEDITION_ID = 6
SPARSE_ASTRONAUT_ID = 990001


# Expected results, computed from the LL2 payloads outside the bot.


def parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def status_at(expedition: dict[str, Any], now: datetime) -> str:
    start, end = parse_time(expedition["start"]), parse_time(expedition["end"])
    if start > now:
        return "upcoming"
    if end is None or end > now:
        return "on-going"
    return "past"


def newest_first(expeditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(expeditions, key=lambda item: (parse_time(item["start"]), item["id"]), reverse=True)


def station_expeditions(dataset: LL2Dataset, station_id: int, when: str) -> list[str]:
    now = datetime.now(timezone.utc)
    chosen = [
        item for item in dataset.expeditions
        if item["spacestation"]["id"] == station_id and when in ("all", status_at(item, now))
    ]
    return [item["name"] for item in newest_first(chosen)]


def flights_of(dataset: LL2Dataset, astronaut_id: int) -> list[dict[str, Any]]:
    flown = [item for item in dataset.expeditions if any(seat["astronaut"]["id"] == astronaut_id for seat in item["crew"])]
    return newest_first(flown)


def busiest_astronaut(dataset: LL2Dataset) -> dict[str, Any]:
    """Return the astronaut payload with the most flights (more than one page of them)."""
    seats = [seat["astronaut"] for item in dataset.expeditions for seat in item["crew"]]
    return max(seats, key=lambda astronaut: (len(flights_of(dataset, astronaut["id"])), -astronaut["id"]))


def component(message: dict[str, Any], custom_id: str) -> dict[str, Any] | None:
    for row in message.get("components", []):
        for item in row.get("components", []):
            if item.get("custom_id") == custom_id:
                return item
    return None


def page_label(reply: InteractionReply, prefix: str) -> str:
    counter = component(reply.message, f"{prefix}:page")
    assert counter is not None, f"no page counter on {reply.message.get('components')}"
    return counter["label"]


async def station_listing(bot: RunningBot, station_id: int, when: str | None = None, **kwargs: Any) -> InteractionReply:
    options: dict[str, Any] = {"station": str(station_id)}
    if when is not None:
        options["when"] = when
    return await bot.discord.slash_command("expedition", "station", options, **kwargs)


async def walk_pages(standin: StandInDiscord, first: InteractionReply, prefix: str) -> list[str]:
    names = listed_names(first)
    reply = first
    while not component(reply.message, f"{prefix}:next")["disabled"]:
        reply = await standin.click(reply.message, f"{prefix}:next")
        names.extend(listed_names(reply))
    return names


# Station.


async def test_station_autocomplete_then_pages(generated_bot: RunningBot) -> None:
    choices = await generated_bot.discord.autocomplete("expedition", "station", {"station": "auror"}, focused="station")
    station_id = int(choices[0]["value"])
    expected = station_expeditions(generated_bot.dataset, station_id, "all")

    first = await station_listing(generated_bot, station_id)
    names = await walk_pages(generated_bot.discord, first, "expedition_station")

    assert choices[0]["name"] == "Aurora Orbital Laboratory"
    assert len(expected) > 5, "the station needs more than one page for this test"
    assert names == expected
    assert first.flags & EPHEMERAL == 0
    assert first.allowed_mentions == {"parse": []}


async def test_station_pages_back(generated_bot: RunningBot) -> None:
    station_id = generated_bot.dataset.expeditions[0]["spacestation"]["id"]
    first = await station_listing(generated_bot, station_id, "all")

    # A reply's message is the stand-in's live copy, so each state is read before the next click.
    forward = await generated_bot.discord.click(first.message, "expedition_station:next")
    forward_label = page_label(forward, "expedition_station")
    back = await generated_bot.discord.click(forward.message, "expedition_station:previous")

    assert forward_label.startswith("2/")
    assert page_label(back, "expedition_station").startswith("1/")
    assert listed_names(back) == station_expeditions(generated_bot.dataset, station_id, "all")[:5]


@pytest.mark.parametrize("when", WHEN_OPTIONS)
async def test_station_when_option(generated_bot: RunningBot, when: str) -> None:
    ongoing = next(item for item in generated_bot.dataset.expeditions if item["end"] is None)
    station_id = ongoing["spacestation"]["id"]
    expected = station_expeditions(generated_bot.dataset, station_id, when)

    reply = await station_listing(generated_bot, station_id, when)

    if expected:
        assert listed_names(reply) == expected[:5]
        assert reply.embeds[0]["title"].endswith(when if when != "all" else "all expeditions")
    else:
        assert reply.flags & EPHEMERAL
        assert f"no {when} expeditions" in reply.content
    assert generated_bot.process.error_lines() == []


async def test_station_unknown_gets_note(generated_bot: RunningBot) -> None:
    reply = await generated_bot.discord.slash_command("expedition", "station", {"station": "Vostok qqqq"})

    assert reply.flags & EPHEMERAL
    assert "can't find a station" in reply.content


# Crew.


async def test_crew_autocomplete_roles_and_pages(generated_bot: RunningBot) -> None:
    person = busiest_astronaut(generated_bot.dataset)
    flights = flights_of(generated_bot.dataset, person["id"])
    surname = person["name"].split()[-1]

    choices = await generated_bot.discord.autocomplete("expedition", "crew", {"astronaut": surname}, focused="astronaut")
    first = await generated_bot.discord.slash_command("expedition", "crew", {"astronaut": str(person["id"])})
    names = await walk_pages(generated_bot.discord, first, "expedition_crew")

    assert str(person["id"]) in [choice["value"] for choice in choices]
    assert 0 < len(choices) <= 25
    assert len(flights) > 5, "the astronaut needs more than one page of flights for this test"
    assert names == [item["name"] for item in flights]
    embed = first.embeds[0]
    assert unescape(embed["title"]) == f"Expeditions of {person['name']}"
    role = next(seat["role"]["role"] for seat in flights[0]["crew"] if seat["astronaut"]["id"] == person["id"])
    assert f"Role: {role}" in embed["description"]
    image = person["image"]
    assert embed.get("thumbnail", {}).get("url") == (image["thumbnail_url"] if image else None)


# Current.


async def test_current_lists_each_station(generated_bot: RunningBot) -> None:
    now = datetime.now(timezone.utc)
    ongoing = [item for item in generated_bot.dataset.expeditions if status_at(item, now) == "on-going"]

    reply = await generated_bot.discord.slash_command("expedition", "current", {})

    titles = [unescape(embed["title"]) for embed in reply.embeds]
    assert ongoing, "the generated data set needs on-going expeditions"
    assert sorted(titles) == sorted({item["spacestation"]["name"] for item in ongoing})
    listed = unescape("\n".join(embed["description"] for embed in reply.embeds))
    for seat in (seat for item in ongoing for seat in item["crew"]):
        assert seat["astronaut"]["name"] in listed
    assert reply.allowed_mentions == {"parse": []}


# The pager's menu and who may use it.


async def test_menu_opens_result_in_full(generated_bot: RunningBot) -> None:
    station_id = generated_bot.dataset.expeditions[0]["spacestation"]["id"]
    first = await station_listing(generated_bot, station_id)
    option = component(first.message, "expedition_station:open")["options"][1]

    opened = await generated_bot.discord.click(first.message, "expedition_station:open", values=[option["value"]])

    assert opened.flags & EPHEMERAL
    assert unescape(opened.embeds[0]["title"]) == unescape(option["label"])
    assert "**Station:**" in opened.embeds[0]["description"]


async def test_search_menu_and_crew_match(generated_bot: RunningBot) -> None:
    crewed = next(item for item in generated_bot.dataset.expeditions if item["crew"])
    name = crewed["crew"][0]["astronaut"]["name"]
    first = await generated_bot.discord.slash_command("expedition", "search", {"query": name.split()[-1]})

    opened = await generated_bot.discord.click(first.message, "expedition_search:open", values=[str(crewed["id"])])

    assert "including " in first.embeds[0]["description"]
    assert name in unescape(first.embeds[0]["description"])
    assert unescape(opened.embeds[0]["title"]) == crewed["name"]


async def test_other_user_refused(generated_bot: RunningBot) -> None:
    invoker, other = (member.user for member in generated_bot.discord.guild().members[:2])
    station_id = generated_bot.dataset.expeditions[0]["spacestation"]["id"]
    first = await station_listing(generated_bot, station_id, user=invoker)
    value = component(first.message, "expedition_station:open")["options"][0]["value"]

    paged = await generated_bot.discord.click(first.message, "expedition_station:next", user=other)
    opened = await generated_bot.discord.click(first.message, "expedition_station:open", user=other, values=[value])

    for rejected in (paged, opened):
        assert rejected.flags & EPHEMERAL
        assert "Only the person who ran this command" in rejected.content
    assert page_label(first, "expedition_station").startswith("1/")


# A record with every optional field empty, and the pager's time-out.


def sparse_dataset() -> LL2Dataset:
    """Return the generated data set with one expedition whose optional fields are all null or empty."""
    dataset = generate_dataset(180, seed=7)
    expedition = next(item for item in dataset.expeditions if item["id"] == SPARSE_EXPEDITION_ID)
    seat = copy.deepcopy(expedition["crew"][0])
    seat["role"] = None
    seat["astronaut"].update(
        id=SPARSE_ASTRONAUT_ID, name="Sparse Person", agency=None, image=None, nationality=[], bio=None, wiki=None,
        social_media_links=[],
    )
    expedition.update(name="Sparse Expedition 1", end=None, crew=[seat], mission_patches=[], spacewalks=[])
    assert expedition["spacestation"]["image"] is None
    return dataset


@pytest.fixture
async def sparse_bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot over the sparse data set, with pagers that time out after two seconds."""
    settings = {"VIEW_TIMEOUT_SECONDS": str(VIEW_TIMEOUT_SECONDS)}
    async for running in start_bot(sparse_dataset(), tmp_path, settings):
        yield running


async def test_sparse_record_renders_everywhere(sparse_bot: RunningBot) -> None:
    discord_standin = sparse_bot.discord
    station_id = next(item for item in sparse_bot.dataset.expeditions if item["id"] == SPARSE_EXPEDITION_ID)[
        "spacestation"]["id"]

    replies = {
        "search": await discord_standin.slash_command("expedition", "search", {"query": "Sparse"}),
        "show": await discord_standin.slash_command("expedition", "show", {"expedition": str(SPARSE_EXPEDITION_ID)}),
        "station": await station_listing(sparse_bot, station_id, "on-going"),
        "crew": await discord_standin.slash_command("expedition", "crew", {"astronaut": str(SPARSE_ASTRONAUT_ID)}),
        "current": await discord_standin.slash_command("expedition", "current", {}),
    }

    for command, reply in replies.items():
        text = unescape("\n".join(str(embed) for embed in reply.embeds))
        assert reply.flags & EPHEMERAL == 0, command
        assert "Sparse" in text, command
    assert "thumbnail" not in replies["crew"].embeds[0]
    assert "Sparse Person · Crew" in unescape(str(replies["current"].embeds))
    assert sparse_bot.process.error_lines() == []


async def test_pager_times_out(sparse_bot: RunningBot) -> None:
    station_id = sparse_bot.dataset.expeditions[0]["spacestation"]["id"]
    first = await station_listing(sparse_bot, station_id)
    clicked = await sparse_bot.discord.click(first.message, "expedition_station:next")

    await clicked.wait_for_edit(timeout=VIEW_TIMEOUT_SECONDS + 10)

    states = [item.get("disabled") for row in first.message["components"] for item in row["components"]]
    assert states and all(states)
    assert page_label(first, "expedition_station").startswith("2/")
    await asyncio.sleep(0)
    assert sparse_bot.process.error_lines() == []


async def test_pager_after_restart_expires(tmp_path) -> None:
    dataset = generate_dataset(180, seed=7)
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    async with StandInLL2(dataset) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        settings = bot_settings(ll2, discord_standin, database_path)
        first_run = BotProcess(settings, cwd=tmp_path)
        await first_run.start()
        await first_run.wait_for_log(r"Connected as", timeout=30)
        await first_run.wait_for_log(r"full sync finished", timeout=60)
        listing = await discord_standin.slash_command("expedition", "search", {"query": "a"})
        assert await first_run.stop() == 0

        second_run = BotProcess(settings, cwd=tmp_path)
        await second_run.start()
        await second_run.wait_for_log(r"Connected as", timeout=30)
        click = await discord_standin.click(listing.message, "expedition_search:next")
        assert await second_run.stop() == 0

    assert click.ephemeral
    assert "expired" in click.content
    assert second_run.error_lines() == []
