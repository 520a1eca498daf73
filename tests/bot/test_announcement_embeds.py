"""Tests of the announcement embeds: examples per event kind, generated events for the limits."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.announcement_embeds import WHAT_CHANGED, build_announcement_embeds, describe_change
from storage.events import EVENT_KINDS, EVENT_LABELS, ChangeEvent
from storage.records import Expedition
from tests.bot.embed_checks import (
    assert_message_within_limits,
    assert_payload_sendable,
    assert_safe_text,
    embed_texts,
)
from tests.bot.test_detail_embeds import NOW, SYNCED, full_expedition
from tests.bot.test_embeds import EMBED_SETTINGS, NAME_TEXT, SHORT_TEXT, UTC_DATETIMES, expeditions

NEW_END = "2026-07-26T07:02:00+00:00"
NEW_END_STAMP = "<t:1785049320:F>"


def event(kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None, *, event_id: int = 1,
          expedition_id: int = 72) -> ChangeEvent:
    return ChangeEvent(id=event_id, expedition_id=expedition_id, station_id=4, kind=kind, old=old, new=new,
                       occurred_at=NOW)


def payloads(items: list[tuple[ChangeEvent, Expedition | None]]) -> list[dict[str, Any]]:
    return [embed.to_dict() for embed in build_announcement_embeds(items, synced_at=SYNCED, now=NOW)]


def what_changed(payload: dict[str, Any]) -> str:
    first = payload["fields"][0]
    assert first["name"] == WHAT_CHANGED
    return first["value"]


def test_dates_change_shows_old_and_new_end() -> None:
    expedition = full_expedition(end=datetime(2026, 7, 26, 7, 2, tzinfo=timezone.utc))
    change = event("dates_changed", {"start": "2024-09-23T00:00:00+00:00", "end": None},
                   {"start": "2024-09-23T00:00:00+00:00", "end": NEW_END})

    [payload] = payloads([(change, expedition)])

    assert payload["author"]["name"] == EVENT_LABELS["dates_changed"]
    assert payload["title"] == "Expedition 72"
    assert what_changed(payload) == f"**End:** no end date → {NEW_END_STAMP}"
    assert NEW_END_STAMP in payload["description"]
    assert [field["name"] for field in payload["fields"][1:3]] == ["Commander (1)", "Flight Engineer (2)"]


def test_crew_change_lists_added_and_removed_names() -> None:
    change = event(
        "crew_changed",
        {"crew": [{"name": "Oleg Kononenko", "role": "Commander"}, {"name": "Tracy Dyson", "role": "Flight Engineer"}]},
        {"crew": [{"name": "Oleg Kononenko", "role": "Flight Engineer"}, {"name": "Nick Hague", "role": None},
                  {"name": "Sunita Williams", "role": "Flight Engineer"}]},
    )

    text = describe_change(change, full_expedition())

    assert text.splitlines() == [
        "**Added:** Nick Hague, Sunita Williams",
        "**Removed:** Tracy Dyson",
        "**Roles:** Oleg Kononenko (Commander → Flight Engineer)",
        "**Crew:** 2 → 3",
    ]


def test_patch_and_spacewalk_added_lists_only_new_names() -> None:
    change = event(
        "patch_or_spacewalk_added",
        {"mission_patches": ["Patch 7"], "spacewalks": []},
        {"mission_patches": ["Patch 7", "Patch 8"], "spacewalks": ["US EVA 91"]},
    )

    text = describe_change(change, full_expedition())

    assert text.splitlines() == ["**Mission patch added:** Patch 8", "**Spacewalk added:** US EVA 91"]


def test_started_and_ended_lines() -> None:
    started = event("started", None, {"start": "2024-09-23T00:00:00+00:00"})
    ended = event("ended", None, {"end": NEW_END})

    assert describe_change(started, full_expedition()) == "**Started:** <t:1727049600:F>"
    assert describe_change(ended, full_expedition()) == f"**Ended:** {NEW_END_STAMP}"


def test_new_expedition_names_its_start() -> None:
    change = event("new_expedition", None, {"name": "Expedition 72", "start": "2024-09-23T00:00:00+00:00", "end": None})

    text = describe_change(change, full_expedition())

    assert text.startswith("**New in Launch Library 2.**")
    assert "<t:1727049600:F>" in text


def test_removed_expedition_still_announced_from_event_values() -> None:
    change = event("dates_changed", {"end": None}, {"end": NEW_END}, expedition_id=999)
    named = event("new_expedition", None, {"name": "Shenzhou **21**", "start": NEW_END, "end": None}, event_id=2)

    first, second = payloads([(change, None), (named, None)])

    assert first["title"] == "Expedition 999"
    assert what_changed(first) == f"**End:** no end date → {NEW_END_STAMP}"
    assert second["title"] == "Shenzhou \\*\\*21\\*\\*"
    assert second["author"]["name"] == "New expedition"


def test_names_from_launch_library_are_escaped() -> None:
    change = event("crew_changed", {"crew": []}, {"crew": [{"name": "@everyone <@&5> **x**", "role": "C"}]})

    text = describe_change(change, None)

    assert_safe_text(text, allow_newlines=True)
    assert "\\*\\*x\\*\\*" in text


def test_ten_large_events_keep_ten_embeds() -> None:
    crew_expedition = full_expedition(crew=full_expedition().crew * 34)
    items = [(event("dates_changed", {"end": None}, {"end": NEW_END}, event_id=index), crew_expedition)
             for index in range(10)]

    result = payloads(items)

    assert len(result) == 10
    assert_message_within_limits(result)
    assert all(what_changed(payload).endswith(NEW_END_STAMP) for payload in result)


TIME_TEXT = UTC_DATETIMES.map(lambda moment: moment.isoformat())
NAMES = st.lists(NAME_TEXT, max_size=40)


@st.composite
def change_events(draw: st.DrawFn) -> ChangeEvent:
    kind = draw(st.sampled_from(EVENT_KINDS))
    crew = st.lists(st.fixed_dictionaries({"name": NAME_TEXT, "role": st.one_of(st.none(), SHORT_TEXT)}),
                    max_size=40)
    values = {
        "new_expedition": st.tuples(st.none(), st.fixed_dictionaries(
            {"name": NAME_TEXT, "start": TIME_TEXT, "end": st.one_of(st.none(), TIME_TEXT)})),
        "crew_changed": st.tuples(crew.map(lambda seats: {"crew": seats}), crew.map(lambda seats: {"crew": seats})),
        "dates_changed": st.tuples(
            st.fixed_dictionaries({"start": TIME_TEXT, "end": st.one_of(st.none(), TIME_TEXT)}),
            st.fixed_dictionaries({"start": TIME_TEXT, "end": st.one_of(st.none(), TIME_TEXT)})),
        "started": st.tuples(st.none(), st.fixed_dictionaries({"start": TIME_TEXT})),
        "ended": st.tuples(st.none(), st.fixed_dictionaries({"end": TIME_TEXT})),
        "patch_or_spacewalk_added": st.tuples(
            st.fixed_dictionaries({"mission_patches": NAMES, "spacewalks": NAMES}),
            st.fixed_dictionaries({"mission_patches": NAMES, "spacewalks": NAMES})),
    }[kind]
    old, new = draw(values)
    return ChangeEvent(id=draw(st.integers(min_value=1, max_value=10**9)), expedition_id=1, station_id=4,
                       kind=kind, old=old, new=new, occurred_at=NOW)


ITEMS = st.lists(st.tuples(change_events(), st.one_of(st.none(), expeditions())), min_size=1, max_size=12)


@EMBED_SETTINGS
@given(items=ITEMS)
def test_any_events_fit_one_message(items: list[tuple[ChangeEvent, Expedition | None]]) -> None:
    result = payloads(items)

    assert len(result) == min(len(items), 10)
    assert_message_within_limits(result)
    for payload, (change, _) in zip(result, items, strict=False):
        assert payload["author"]["name"] == EVENT_LABELS[change.kind]
        assert what_changed(payload)
        assert_payload_sendable(payload)
        for text in embed_texts(payload):
            assert_safe_text(text, allow_newlines=True)
