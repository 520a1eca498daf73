"""Unit tests of `/expedition show`, its autocomplete, and the command tree that Discord receives."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from bot.client import EXTENSIONS
from bot.commands.expedition import (
    CHOICE_LIMIT,
    NO_MENTIONS,
    ExpeditionCog,
    expedition_choices,
    resolve_expedition,
)
from storage.database import ExpeditionStore
from tests.bot.commands.conftest import ISS
from tests.bot.commands.test_expedition import fake_interaction, make_cog

SNAPSHOT = Path(__file__).parent / "snapshots" / "command_tree.json"
UPDATE_VARIABLE = "UPDATE_COMMAND_SNAPSHOT"


def test_choices_exact_name_first(store: ExpeditionStore) -> None:
    choices = expedition_choices(store, "Expedition 1")

    assert (choices[0].name, choices[0].value) == ("Expedition 1", "1")
    assert [choice.name for choice in choices[1:4]] == ["Expedition 10", "Expedition 11", "Expedition 12"]


def test_choices_tolerate_typo(store: ExpeditionStore) -> None:
    assert expedition_choices(store, "Shenzou 16")[0].value == "116"


def test_choices_empty_query_capped(store: ExpeditionStore) -> None:
    choices = expedition_choices(store, "")

    assert 0 < len(choices) <= CHOICE_LIMIT
    assert choices[0].name == "Shenzhou 16"


def test_choice_names_are_plain_and_short(store: ExpeditionStore) -> None:
    (choice,) = [choice for choice in expedition_choices(store, "loud") if choice.value == "50"]

    assert choice.name == "Expedition 13 @everyone <@&5> **loud**"
    assert 0 < len(choice.name) <= 100


def test_resolve_by_chosen_id(store: ExpeditionStore) -> None:
    assert resolve_expedition(store, "7").name == "Expedition 7"


def test_resolve_by_typed_name(store: ExpeditionStore) -> None:
    assert resolve_expedition(store, "  expedtion 12 ").id == 12


def test_resolve_nothing(store: ExpeditionStore) -> None:
    assert resolve_expedition(store, "zzzqqq") is None
    assert resolve_expedition(store, "\u200b") is None
    assert resolve_expedition(store, "999999") is None


async def run_show(cog: ExpeditionCog, value: str) -> Any:
    interaction = fake_interaction()
    await cog.show.callback(cog, interaction, value)  # type: ignore[arg-type]
    interaction.response.send_message.assert_awaited_once()
    return interaction.response.send_message.await_args


async def test_show_sends_detail_embeds(store: ExpeditionStore) -> None:
    call = await run_show(make_cog(store), "2")

    first = call.kwargs["embeds"][0].to_dict()
    assert first["title"] == "Expedition 2"
    assert first["thumbnail"]["url"] == ISS.thumbnail_url
    assert "Oleg Kononenko" in json.dumps(first["fields"], ensure_ascii=False)
    assert call.kwargs["allowed_mentions"] is NO_MENTIONS
    assert not call.kwargs.get("ephemeral")


async def test_show_unknown_gets_ephemeral_note(store: ExpeditionStore) -> None:
    call = await run_show(make_cog(store), "Vostok @everyone")

    assert call.kwargs["ephemeral"] is True
    assert call.kwargs["allowed_mentions"] is NO_MENTIONS
    assert "can't find an expedition" in call.args[0]
    assert "@everyone" not in call.args[0]


async def test_show_removed_id_gets_ephemeral_note(store: ExpeditionStore) -> None:
    store.db.conn.execute("DELETE FROM crew WHERE expedition_id = 116")
    store.db.conn.execute("DELETE FROM expeditions WHERE id = 116")

    call = await run_show(make_cog(store), "116")

    assert call.kwargs["ephemeral"] is True


async def test_autocomplete_callback(store: ExpeditionStore) -> None:
    cog = make_cog(store)

    choices = await cog.expedition_autocomplete(fake_interaction(), "expedition 3")  # type: ignore[arg-type]

    assert choices[0].value == "3"


async def command_tree_payload(store: ExpeditionStore) -> list[dict[str, Any]]:
    """Return the payload `tree.sync()` would send with every extension the bot loads."""
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    bot.store = store  # type: ignore[attr-defined]
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands()]


async def test_command_tree_matches_snapshot(store: ExpeditionStore) -> None:
    payload = await command_tree_payload(store)
    if os.environ.get(UPDATE_VARIABLE) == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))

    assert payload == expected, (
        f"The commands sent to Discord differ from {SNAPSHOT.name}. If the change is intended, "
        f"run `{UPDATE_VARIABLE}=1 .venv/bin/python -m pytest tests/bot/commands/{Path(__file__).name}` "
        "and review the diff of the snapshot before committing it."
    )
