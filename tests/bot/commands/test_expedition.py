"""Unit tests of the search pager and the `/expedition search` callback.

Interactions are stand-in objects here, because each test drives one method of the view or
the cog. The full path through discord.py and a stand-in Discord belongs to the end-to-end tests.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.commands.expedition import NOT_YOUR_PAGER, ExpeditionCog, SearchPager, setup
from bot.search_answer import MAX_QUERY_LENGTH, PAGE_SIZE, build_search_answer
from storage.database import ExpeditionStore
from storage.schema import SEARCH_TABLE
from tests.bot.commands.conftest import KONONENKO_EXPEDITIONS

INVOKER_ID = 1001
OTHER_USER_ID = 2002
PAGES = -(-KONONENKO_EXPEDITIONS // PAGE_SIZE)


def fake_interaction(user_id: int = INVOKER_ID, interaction_id: int = 555) -> Any:
    """Return an object with the parts of `discord.Interaction` that the pager and the cog use."""
    return SimpleNamespace(
        id=interaction_id,
        user=SimpleNamespace(id=user_id),
        guild_id=42,
        command=None,
        data={},
        response=SimpleNamespace(
            send_message=AsyncMock(),
            edit_message=AsyncMock(),
            is_done=lambda: False,
        ),
        followup=SimpleNamespace(send=AsyncMock()),
        edit_original_response=AsyncMock(),
    )


def pager_for(store: ExpeditionStore, query: str = "Kononenko", offset: int = 0) -> SearchPager:
    return SearchPager(store, build_search_answer(store, query, offset), author_id=INVOKER_ID)


def button_states(pager: SearchPager) -> tuple[bool, str | None, bool]:
    return pager.previous_page.disabled, pager.page_counter.label, pager.next_page.disabled


async def test_pager_first_page_buttons(store: ExpeditionStore) -> None:
    pager = pager_for(store)

    assert button_states(pager) == (True, f"1/{PAGES}", False)
    assert pager.page_counter.disabled


async def test_pager_components_in_order(store: ExpeditionStore) -> None:
    pager = pager_for(store)

    assert [item.custom_id for item in pager.children] == [
        "expedition_search:previous",
        "expedition_search:page",
        "expedition_search:next",
        "expedition_search:open",
    ]


async def test_pager_invoker_passes_check(store: ExpeditionStore) -> None:
    pager = pager_for(store)
    interaction = fake_interaction(INVOKER_ID)

    assert await pager.interaction_check(interaction) is True
    interaction.response.send_message.assert_not_awaited()


async def test_pager_other_user_gets_note(store: ExpeditionStore) -> None:
    pager = pager_for(store)
    interaction = fake_interaction(OTHER_USER_ID)

    assert await pager.interaction_check(interaction) is False

    interaction.response.send_message.assert_awaited_once()
    args, kwargs = interaction.response.send_message.await_args
    assert args == (NOT_YOUR_PAGER,)
    assert kwargs["ephemeral"] is True
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_pager_next_shows_page_two(store: ExpeditionStore) -> None:
    pager = pager_for(store)
    interaction = fake_interaction()

    await pager.next_page.callback(interaction)

    interaction.response.edit_message.assert_awaited_once()
    kwargs = interaction.response.edit_message.await_args.kwargs
    assert kwargs["view"] is pager
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert f"page 2 of {PAGES}" in (kwargs["embeds"][0].footer.text or "")
    assert f"**{PAGE_SIZE + 1}. " in (kwargs["embeds"][0].description or "")
    assert button_states(pager) == (False, f"2/{PAGES}", False)
    assert pager.latest_interaction is interaction


async def test_pager_walks_to_last_and_back(store: ExpeditionStore) -> None:
    pager = pager_for(store)

    for _ in range(PAGES - 1):
        await pager.next_page.callback(fake_interaction())
    assert button_states(pager) == (False, f"{PAGES}/{PAGES}", True)

    await pager.previous_page.callback(fake_interaction())
    assert button_states(pager) == (False, f"{PAGES - 1}/{PAGES}", False)


async def test_pager_next_on_last_page_stays(store: ExpeditionStore) -> None:
    pager = pager_for(store, offset=(PAGES - 1) * PAGE_SIZE)
    interaction = fake_interaction()

    await pager.next_page.callback(interaction)

    assert pager.answer.page_number == PAGES
    footer = interaction.response.edit_message.await_args.kwargs["embeds"][0].footer.text or ""
    assert f"page {PAGES} of {PAGES}" in footer


async def test_pager_reads_current_mirror(store: ExpeditionStore) -> None:
    pager = pager_for(store)
    store.db.execute(f"DELETE FROM {SEARCH_TABLE}")
    interaction = fake_interaction()

    await pager.next_page.callback(interaction)

    kwargs = interaction.response.edit_message.await_args.kwargs
    assert kwargs["view"] is None
    assert kwargs["embeds"] == []
    assert "No expeditions match" in kwargs["content"]
    assert pager.is_finished()


async def test_pager_timeout_disables_buttons(store: ExpeditionStore) -> None:
    pager = pager_for(store)
    interaction = fake_interaction()
    pager.latest_interaction = interaction

    await pager.on_timeout()

    assert all(item.disabled for item in pager.children)
    interaction.edit_original_response.assert_awaited_once()
    assert interaction.edit_original_response.await_args.kwargs["view"] is pager


async def test_pager_timeout_edit_failure_logged(store: ExpeditionStore, caplog: pytest.LogCaptureFixture) -> None:
    pager = pager_for(store)
    interaction = fake_interaction(interaction_id=777)
    response = SimpleNamespace(status=404, reason="Not Found")
    interaction.edit_original_response.side_effect = discord.NotFound(
        response, {"code": 10008, "message": "Unknown Message"}
    )
    pager.latest_interaction = interaction

    with caplog.at_level(logging.WARNING, logger="bot.commands.expedition"):
        await pager.on_timeout()

    assert "777" in caplog.text
    assert "10008" in caplog.text


async def test_pager_error_gives_reference(store: ExpeditionStore, caplog: pytest.LogCaptureFixture) -> None:
    pager = pager_for(store)
    interaction = fake_interaction(interaction_id=888)

    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await pager.on_error(interaction, RuntimeError("disk on fire"), pager.next_page)

    message = interaction.response.send_message.await_args.args[0]
    reference = message.split("`")[1]
    assert reference in caplog.text
    assert "888" in caplog.text
    assert "expedition_search:next" in caplog.text


def make_cog(store: ExpeditionStore) -> ExpeditionCog:
    return ExpeditionCog(SimpleNamespace(store=store))  # type: ignore[arg-type]


async def run_search(cog: ExpeditionCog, query: str) -> Any:
    interaction = fake_interaction()
    await cog.search.callback(cog, interaction, query)  # type: ignore[arg-type]
    interaction.response.send_message.assert_awaited_once()
    return interaction.response.send_message.await_args


async def test_search_one_page_has_menu_only(store: ExpeditionStore) -> None:
    call = await run_search(make_cog(store), "Chinese")

    pager = call.kwargs["view"]
    assert [item.custom_id for item in pager.children] == ["expedition_search:open"]
    assert [option.value for option in pager.open_expedition.options] == ["116", "115"]
    pager.stop()
    assert call.kwargs.get("ephemeral", False) is False
    assert len(call.kwargs["embeds"]) == 1
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_search_many_pages_has_pager(store: ExpeditionStore) -> None:
    call = await run_search(make_cog(store), "Kononenko")

    pager = call.kwargs["view"]
    assert isinstance(pager, SearchPager)
    assert pager.author_id == INVOKER_ID
    assert button_states(pager) == (True, f"1/{PAGES}", False)
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}
    pager.stop()


@pytest.mark.parametrize("query", ["", "Gagarin", ",,,", "z" * (MAX_QUERY_LENGTH + 50)])
async def test_search_problem_is_ephemeral(store: ExpeditionStore, query: str) -> None:
    call = await run_search(make_cog(store), query)

    assert call.kwargs["ephemeral"] is True
    assert call.args[0]
    assert "embeds" not in call.kwargs
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}


def search_command_payload() -> dict[str, Any]:
    """Return the `/expedition` group as the JSON that `tree.sync()` sends to Discord."""
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    group = ExpeditionCog(SimpleNamespace(store=None)).app_command  # type: ignore[arg-type]
    assert group is not None
    return group.to_dict(tree)


def test_search_command_declaration() -> None:
    payload = search_command_payload()
    search = next(option for option in payload["options"] if option["name"] == "search")
    query = search["options"][0]

    assert payload["name"] == "expedition"
    assert search["description"] == "Search expeditions by station, crew member, agency or nationality."
    assert query["name"] == "query"
    assert query["type"] == discord.AppCommandOptionType.string.value
    assert query["required"] is True
    assert query["max_length"] == MAX_QUERY_LENGTH
    assert 0 < len(query["description"]) <= 100


async def test_setup_adds_group(store: ExpeditionStore) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    bot.store = store  # type: ignore[attr-defined]

    await setup(bot)

    group = bot.tree.get_command("expedition")
    assert isinstance(group, app_commands.Group)
    assert group.get_command("search") is not None
