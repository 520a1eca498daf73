"""Golden files: the exact JSON each command sends for fixed records, a fixed `now` and a fixed sync time.

A change in layout or wording shows up as a diff of `golden/<command>.json`. After an intended
change, regenerate the files with `UPDATE_GOLDEN_FILES=1` and review the diff before committing.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.browse_answer import build_crew_answer, build_current_answer, build_station_answer
from bot.detail_embeds import build_expedition_embeds
from bot.search_answer import build_search_answer, read_last_sync
from bot.views import ExpeditionPager, SearchPager
from storage.browse import TimeFilter
from storage.database import ExpeditionStore
from tests.bot.commands.conftest import ISS, KONONENKO, TIANGONG

GOLDEN = Path(__file__).parent / "golden"
UPDATE_VARIABLE = "UPDATE_GOLDEN_FILES"

NOW = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)
AUTHOR_ID = 1001


def message(embeds: Any, view: discord.ui.View | None = None) -> dict[str, Any]:
    """Return the parts of a message the bot sends: embeds and components, as Discord receives them."""
    rendered = {"embeds": [embed.to_dict() for embed in embeds], "components": view.to_components() if view else []}
    if view is not None:
        view.stop()
    return rendered


def listing_pager(store: ExpeditionStore, answer: Any, prefix: str) -> ExpeditionPager:
    return ExpeditionPager(store, answer, lambda offset: answer, author_id=AUTHOR_ID, id_prefix=prefix,
                           not_yours="not yours")


async def render_search(store: ExpeditionStore) -> list[dict[str, Any]]:
    first = build_search_answer(store, "Kononenko")
    last = build_search_answer(store, "Kononenko", first.total)
    return [message(answer.embeds, SearchPager(store, answer, author_id=AUTHOR_ID)) for answer in (first, last)]


async def render_show(store: ExpeditionStore) -> list[dict[str, Any]]:
    synced_at = read_last_sync(store)
    return [
        message(build_expedition_embeds(store.get_expedition(expedition_id), synced_at=synced_at, now=NOW))
        for expedition_id in (2, 116)
    ]


async def render_station(store: ExpeditionStore) -> list[dict[str, Any]]:
    answers = [
        build_station_answer(store, ISS.id, TimeFilter.ALL, now=NOW),
        build_station_answer(store, TIANGONG.id, TimeFilter.ONGOING, now=NOW),
        build_station_answer(store, TIANGONG.id, TimeFilter.UPCOMING, now=NOW),
    ]
    return [
        {"content": answer.message} if answer.message else message(answer.embeds, listing_pager(store, answer, "expedition_station"))
        for answer in answers
    ]


async def render_crew(store: ExpeditionStore) -> list[dict[str, Any]]:
    answer = build_crew_answer(store, KONONENKO.id, 5, now=NOW)
    return [message(answer.embeds, listing_pager(store, answer, "expedition_crew"))]


async def render_current(store: ExpeditionStore) -> list[dict[str, Any]]:
    return [message(build_current_answer(store, now=NOW)), message(build_current_answer(store, now=datetime(1990, 1, 1, tzinfo=timezone.utc)))]


RENDERERS = {
    "search": render_search,
    "show": render_show,
    "station": render_station,
    "crew": render_crew,
    "current": render_current,
}


@pytest.mark.parametrize("command", sorted(RENDERERS))
async def test_command_matches_golden(store: ExpeditionStore, command: str) -> None:
    rendered = await RENDERERS[command](store)
    path = GOLDEN / f"{command}.json"
    if os.environ.get(UPDATE_VARIABLE) == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(rendered, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")

    expected = json.loads(path.read_text(encoding="utf-8"))

    assert rendered == expected, (
        f"/expedition {command} renders differently from {path.name}. If the change is intended, run "
        f"`{UPDATE_VARIABLE}=1 .venv/bin/python -m pytest tests/bot/commands/{Path(__file__).name}` "
        "and review the diff of the golden file before committing it."
    )
