"""Unit tests of `/expedition station`, `crew` and `current`, their autocomplete, and the shared pager."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.browse_answer import build_station_answer, resolve_astronaut, resolve_station
from bot.commands.expedition import CHOICE_LIMIT, ExpeditionCog, lookup_choices
from bot.search_answer import build_search_answer
from bot.views import REMOVED_EXPEDITION, ExpeditionPager, SearchPager
from storage.browse import TimeFilter
from storage.database import ExpeditionStore
from tests.bot.commands.conftest import ISS, KONONENKO, KONONENKO_EXPEDITIONS, LAST_SYNC, TIANGONG
from tests.bot.commands.test_expedition import INVOKER_ID, OTHER_USER_ID, fake_interaction, make_cog

EPHEMERAL_NOTE_WORDS = ("can't find", "Tell me which", "has no")

ODD_INPUTS = ["", " ", "\x00", "🚀🛰️", "x" * 500, '"*:()', "' OR 1=1 --", "e\u0301", "\ud800", "0", "9" * 40]


async def run_command(cog: ExpeditionCog, name: str, *args: Any) -> Any:
    interaction = fake_interaction()
    command = getattr(cog, name)
    await command.callback(cog, interaction, *args)
    interaction.response.send_message.assert_awaited_once()
    return interaction.response.send_message.await_args


def component_ids(view: ExpeditionPager) -> list[str | None]:
    return [item.custom_id for item in view.children]


async def test_station_lists_with_pager(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "station", str(ISS.id), "all")

    pager = call.kwargs["view"]
    assert component_ids(pager) == [
        "expedition_station:previous", "expedition_station:page", "expedition_station:next", "expedition_station:open",
    ]
    assert call.kwargs["embeds"][0].title == "International Space Station: all expeditions"
    assert [option.label for option in pager.open_expedition.options][:2] == ["Expedition 12", "Expedition 11"]
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert not call.kwargs.get("ephemeral")
    pager.stop()


async def test_station_by_typed_name(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "station", "tiangong", "on-going")

    assert call.kwargs["embeds"][0].title == "Tiangong Space Station: on-going"
    assert [option.value for option in call.kwargs["view"].open_expedition.options] == ["116"]
    call.kwargs["view"].stop()


@pytest.mark.parametrize(("station", "when"), [(str(TIANGONG.id), "upcoming"), ("Vostok qqq", "all"), ("", "all")])
async def test_station_nothing_gets_note(store: ExpeditionStore, station: str, when: str) -> None:
    call = await run_command(make_cog(store), "station", station, when)

    assert call.kwargs["ephemeral"] is True
    assert any(words in call.args[0] for words in EPHEMERAL_NOTE_WORDS)
    assert "view" not in call.kwargs


async def test_crew_lists_roles_and_pages(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "crew", str(KONONENKO.id))

    pager = call.kwargs["view"]
    assert pager.page_counter.label == f"1/{-(-KONONENKO_EXPEDITIONS // 5)}"
    assert "Role: Commander" in call.kwargs["embeds"][0].description
    next_click = fake_interaction()
    await pager.next_page.callback(next_click)
    assert "page 2 of 3" in next_click.response.edit_message.await_args.kwargs["embeds"][0].footer.text
    assert pager.page_counter.label == "2/3"
    pager.stop()


async def test_crew_unknown_gets_note(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "crew", "Gagarin")

    assert call.kwargs["ephemeral"] is True
    assert "can't find anyone called “Gagarin”" in call.args[0]


async def test_current_lists_tiangong(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "current")

    titles = [embed.title for embed in call.kwargs["embeds"]]
    assert titles == ["Tiangong Space Station"]
    assert "Jing Haipeng · CNSA · Commander" in call.kwargs["embeds"][0].description
    assert "view" not in call.kwargs


def test_resolvers(store: ExpeditionStore) -> None:
    assert resolve_station(store, "4") == ISS
    assert resolve_station(store, "internatonal") == ISS
    assert resolve_astronaut(store, "kononenko") == KONONENKO
    assert resolve_astronaut(store, "999") is None
    assert resolve_station(store, "\u200b") is None


@pytest.mark.parametrize("typed", ODD_INPUTS)
def test_choices_survive_odd_input(store: ExpeditionStore, typed: str) -> None:
    for lookup in (store.lookup_stations, store.lookup_astronauts):
        choices = lookup_choices(lookup, typed, "Record")

        assert len(choices) <= CHOICE_LIMIT
        assert all(0 < len(choice.name) <= 100 and choice.value.isdigit() for choice in choices)


async def test_autocomplete_callbacks(store: ExpeditionStore) -> None:
    cog = make_cog(store)

    stations = await cog.station_autocomplete(fake_interaction(), "tian")  # type: ignore[arg-type]
    people = await cog.astronaut_autocomplete(fake_interaction(), "sunita")  # type: ignore[arg-type]

    assert (stations[0].name, stations[0].value) == ("Tiangong Space Station", str(TIANGONG.id))
    assert (people[0].name, people[0].value) == ("Sunita Williams", "2")


def search_pager(store: ExpeditionStore) -> SearchPager:
    return SearchPager(store, build_search_answer(store, "Kononenko"), author_id=INVOKER_ID)


async def test_menu_opens_expedition_ephemeral(store: ExpeditionStore) -> None:
    pager = search_pager(store)
    pager.open_expedition._values = ["7"]
    interaction = fake_interaction()

    await pager.open_expedition.callback(interaction)

    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True
    assert kwargs["embeds"][0].title == "Expedition 7"
    assert pager.latest_interaction is None
    pager.stop()


async def test_menu_removed_expedition_note(store: ExpeditionStore) -> None:
    pager = search_pager(store)
    store.db.conn.execute("DELETE FROM crew WHERE expedition_id = 12")
    store.db.conn.execute("DELETE FROM expeditions WHERE id = 12")
    pager.open_expedition._values = ["12"]
    interaction = fake_interaction()

    await pager.open_expedition.callback(interaction)

    assert interaction.response.send_message.await_args.args == (REMOVED_EXPEDITION,)
    assert interaction.response.send_message.await_args.kwargs["ephemeral"] is True
    pager.stop()


async def test_station_pager_refuses_other_user(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "station", str(ISS.id), "all")
    interaction = fake_interaction(OTHER_USER_ID)

    assert await call.kwargs["view"].interaction_check(interaction) is False

    note = interaction.response.send_message.await_args
    assert "Run `/expedition station`" in note.args[0]
    assert note.kwargs["ephemeral"] is True
    call.kwargs["view"].stop()


async def test_station_removed_while_paging(store: ExpeditionStore) -> None:
    call = await run_command(make_cog(store), "station", str(TIANGONG.id), "all")
    pager = call.kwargs["view"]
    store.db.conn.execute("DELETE FROM crew WHERE expedition_id IN (115, 116)")
    store.db.conn.execute("DELETE FROM expeditions WHERE station_id = 18")
    store.db.conn.execute("DELETE FROM stations WHERE id = 18")
    interaction = fake_interaction()

    await pager.show_page(interaction, 0)

    kwargs = interaction.response.edit_message.await_args.kwargs
    assert "no longer in the mirror" in kwargs["content"]
    assert kwargs["view"] is None
    assert pager.is_finished()


async def test_timeout_disables_menu(store: ExpeditionStore) -> None:
    pager = search_pager(store)
    pager.latest_interaction = fake_interaction()

    await pager.on_timeout()

    assert pager.open_expedition.disabled
    assert all(item.disabled for item in pager.children)


def test_view_timeout_from_settings(store: ExpeditionStore) -> None:
    cog = ExpeditionCog(SimpleNamespace(store=store, settings=SimpleNamespace(view_timeout_seconds=7.5)))  # type: ignore[arg-type]

    assert cog.view_timeout == 7.5


def test_offset_past_end_shows_last_page(store: ExpeditionStore) -> None:
    answer = build_station_answer(store, ISS.id, TimeFilter.ALL, 500, now=LAST_SYNC)

    assert answer.page_number == answer.page_count == 3
