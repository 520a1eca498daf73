"""Tests of `build_search_answer` against a real mirror, for ordinary and odd queries."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search_answer import (
    MAX_QUERY_LENGTH,
    PAGE_SIZE,
    SearchOutcome,
    build_search_answer,
    embeds_to_json,
)
from storage.database import ExpeditionStore
from tests.bot.commands.conftest import KONONENKO_EXPEDITIONS, LAST_SYNC, TIANGONG
from tests.bot.embed_checks import assert_message_within_limits, assert_payload_sendable, assert_safe_text

LAST_PAGE_OFFSET = (KONONENKO_EXPEDITIONS - 1) // PAGE_SIZE * PAGE_SIZE
PAGES = -(-KONONENKO_EXPEDITIONS // PAGE_SIZE)


def test_first_page_of_results(store: ExpeditionStore) -> None:
    answer = build_search_answer(store, "Kononenko")

    assert answer.outcome is SearchOutcome.RESULTS
    assert answer.message is None
    assert answer.total == KONONENKO_EXPEDITIONS
    assert answer.offset == 0
    assert (answer.page_number, answer.page_count) == (1, PAGES)
    assert len(answer.embeds) == 1
    assert f"page 1 of {PAGES}" in (answer.embeds[0].footer.text or "")


def test_results_newest_first(store: ExpeditionStore) -> None:
    description = build_search_answer(store, "Kononenko").embeds[0].description or ""

    assert description.index("**1. Expedition 12**") < description.index("**2. Expedition 11**")


def test_page_index_selects_offset(store: ExpeditionStore) -> None:
    answer = build_search_answer(store, "Kononenko", page=1)

    assert answer.offset == PAGE_SIZE
    assert f"**{PAGE_SIZE + 1}. " in (answer.embeds[0].description or "")


@pytest.mark.parametrize(
    ("requested", "shown"),
    [(-7, 0), (PAGE_SIZE + 2, PAGE_SIZE), (10_000, LAST_PAGE_OFFSET), (LAST_PAGE_OFFSET, LAST_PAGE_OFFSET)],
)
def test_offset_clamped_to_pages(store: ExpeditionStore, requested: int, shown: int) -> None:
    answer = build_search_answer(store, "Kononenko", requested)

    assert answer.outcome is SearchOutcome.RESULTS
    assert answer.offset == shown
    assert f"**{shown + 1}. " in (answer.embeds[0].description or "")


def test_last_page_has_no_next(store: ExpeditionStore) -> None:
    answer = build_search_answer(store, "Kononenko", LAST_PAGE_OFFSET)

    assert answer.has_previous
    assert not answer.has_next
    assert answer.next_offset == LAST_PAGE_OFFSET
    assert answer.previous_offset == LAST_PAGE_OFFSET - PAGE_SIZE


def test_nationality_search_uses_station_image(store: ExpeditionStore) -> None:
    answer = build_search_answer(store, "Chinese")

    assert answer.total == 2
    assert answer.page_count == 1
    assert answer.embeds[0].thumbnail.url == TIANGONG.image_url
    assert "no end date yet" in (answer.embeds[0].description or "")


def test_timestamp_is_last_sync(store: ExpeditionStore) -> None:
    embed = build_search_answer(store, "Chinese").embeds[0]

    assert embed.timestamp == LAST_SYNC
    assert (embed.footer.text or "").endswith("last sync")


def test_missing_sync_state_says_not_synced(store: ExpeditionStore) -> None:
    store.set_state("last_sync_finished_at", None)
    embed = build_search_answer(store, "Chinese").embeds[0]

    assert embed.timestamp is None
    assert "not synced yet" in (embed.footer.text or "")


def test_invalid_sync_state_logged_and_ignored(store: ExpeditionStore, caplog: pytest.LogCaptureFixture) -> None:
    store.set_state("last_sync_finished_at", "yesterday-ish")

    with caplog.at_level(logging.WARNING, logger="bot.search_answer"):
        embed = build_search_answer(store, "Chinese").embeds[0]

    assert embed.timestamp is None
    assert "yesterday-ish" in caplog.text


def test_hostile_name_escaped_in_answer(store: ExpeditionStore) -> None:
    answer = build_search_answer(store, "@everyone")

    assert answer.outcome is SearchOutcome.RESULTS
    data = answer.embeds[0].to_dict()
    assert_safe_text(data["title"])
    assert_safe_text(data["description"], allow_newlines=True)
    assert "\\*\\*loud\\*\\*" in data["description"]


@pytest.mark.parametrize(
    ("query", "outcome"),
    [
        ("", SearchOutcome.EMPTY_QUERY),
        ("   \t ", SearchOutcome.EMPTY_QUERY),
        ("x" * (MAX_QUERY_LENGTH + 1), SearchOutcome.QUERY_TOO_LONG),
        ("kononenko " * 50, SearchOutcome.QUERY_TOO_LONG),
        ("x" * MAX_QUERY_LENGTH, SearchOutcome.NO_MATCHES),
        (",,,", SearchOutcome.NOTHING_SEARCHABLE),
        ("\x00", SearchOutcome.NOTHING_SEARCHABLE),
        ("\u0301\u0302", SearchOutcome.NOTHING_SEARCHABLE),
        ('"*:()', SearchOutcome.NO_MATCHES),
        ("NEAR", SearchOutcome.NO_MATCHES),
        ("' OR 1=1 --", SearchOutcome.NO_MATCHES),
        ("\U0001f680", SearchOutcome.NO_MATCHES),
        ("<@123> @here", SearchOutcome.NO_MATCHES),
        ("Ko\u0301nonenko", SearchOutcome.RESULTS),
        ("  shenzhou,  jing ", SearchOutcome.RESULTS),
    ],
)
def test_odd_query_outcome(store: ExpeditionStore, query: str, outcome: SearchOutcome) -> None:
    answer = build_search_answer(store, query)

    assert answer.outcome is outcome
    if outcome is SearchOutcome.RESULTS:
        assert answer.message is None
        assert answer.embeds
    else:
        assert answer.message
        assert answer.embeds == ()
        assert_safe_text(answer.message)


def test_too_long_message_names_limit(store: ExpeditionStore) -> None:
    message = build_search_answer(store, "y" * 250).message or ""

    assert "250 characters" in message
    assert str(MAX_QUERY_LENGTH) in message


def test_no_matches_message_quotes_query(store: ExpeditionStore) -> None:
    message = build_search_answer(store, "Gagarin").message or ""

    assert "“Gagarin”" in message
    assert "`ISS`" in message


def test_answer_json_round_trip(store: ExpeditionStore) -> None:
    answer = build_search_answer(store, "Kononenko", PAGE_SIZE)
    encoded = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))

    assert encoded["outcome"] == "results"
    assert (encoded["page"], encoded["pages"], encoded["total"]) == (2, PAGES, KONONENKO_EXPEDITIONS)
    assert encoded["embeds"] == embeds_to_json(answer.embeds)
    assert encoded["embeds"][0]["timestamp"] == LAST_SYNC.isoformat()


def test_page_size_must_be_positive(store: ExpeditionStore) -> None:
    with pytest.raises(ValueError):
        build_search_answer(store, "Kononenko", page_size=0)


QUERY_TEXT = st.text(st.characters(exclude_categories=()), max_size=120) | st.sampled_from(
    ["@everyone", "<@&5>", "Kononenko", "iss", "a", "a b c", "**", "%", "_", "\\", "'", '"']
)


@settings(max_examples=200, deadline=None)
@given(query=QUERY_TEXT, offset=st.integers(min_value=-50, max_value=100))
def test_any_query_gives_safe_answer(shared_store: ExpeditionStore, query: str, offset: int) -> None:
    answer = build_search_answer(shared_store, query, offset)

    assert (answer.message is None) == (answer.outcome is SearchOutcome.RESULTS)
    if answer.message is not None:
        assert_safe_text(answer.message)
        return

    payloads = embeds_to_json(answer.embeds)
    assert_message_within_limits(payloads)
    for data in payloads:
        assert_payload_sendable(data)
        assert_safe_text(data["title"])
        assert_safe_text(data["description"], allow_newlines=True)
    assert 0 <= answer.offset < answer.total
