"""The one code path from a search query to the embeds that show its results.

Both `/expedition search` and `python -m bot search TEXT --json` call `build_search_answer`, so
the command line prints exactly the embeds that the slash command would send.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import discord

from bot.embeds import (
    build_search_embed,
    escape_and_truncate,
    fit_message,
    page_count,
)
from bot.paging import PagePosition
from storage.records import Expedition, SearchPage
from storage.search import search_terms

log = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_QUERY_LENGTH = 100
LAST_SYNC_STATE_KEY = "last_sync_finished_at"

# Quoting a long query back in full would bury the advice that follows it.
QUERY_IN_MESSAGE_LIMIT = 60

EXAMPLES = "a station (`ISS`, `Tiangong`), a crew member's surname, an agency (`NASA`) or a nationality (`Chinese`)"


class SearchStore(Protocol):
    """The part of `storage.database.ExpeditionStore` that `build_search_answer` reads."""

    def search(self, query: str, *, offset: int = 0, limit: int = 10) -> SearchPage: ...

    def get_state(self, key: str) -> str | None: ...


class SearchOutcome(enum.Enum):
    """Whether a search produced results, and if not, why not."""

    RESULTS = "results"
    EMPTY_QUERY = "empty_query"
    QUERY_TOO_LONG = "query_too_long"
    NOTHING_SEARCHABLE = "nothing_searchable"
    NO_MATCHES = "no_matches"


@dataclass(frozen=True)
class SearchAnswer(PagePosition):
    """Reply to one search: embeds for one page of results, or a message saying what to try.

    `offset` is the offset of the page shown, after clamping to the pages that exist, and
    `expeditions` are the results on it.
    """

    query: str
    outcome: SearchOutcome
    embeds: tuple[discord.Embed, ...] = ()
    message: str | None = None
    total: int = 0
    offset: int = 0
    page_size: int = PAGE_SIZE
    expeditions: tuple[Expedition, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the reply as JSON-ready data, with the embeds as Discord receives them."""
        return {
            "query": self.query,
            "outcome": self.outcome.value,
            "message": self.message,
            "total": self.total,
            "offset": self.offset,
            "page": self.page_number,
            "pages": self.page_count,
            "embeds": embeds_to_json(self.embeds),
        }


def embeds_to_json(embeds: tuple[discord.Embed, ...] | list[discord.Embed]) -> list[dict[str, Any]]:
    """Return the embeds as the JSON objects discord.py sends for them."""
    return [embed.to_dict() for embed in embeds]


def build_search_answer(
    store: SearchStore,
    query: str,
    offset: int = 0,
    *,
    page: int | None = None,
    page_size: int = PAGE_SIZE,
) -> SearchAnswer:
    """Search the mirror and build the reply for the page at `offset`.

    `page`, when given, is a 0-based page index and replaces `offset`. An offset past the last
    page shows the last page, because the mirror can shrink between two clicks on a pager.
    """
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")

    text = query.strip()
    rejection = check_query(text)
    if rejection is not None:
        return rejection

    offset = page * page_size if page is not None else offset
    offset = max(offset, 0) // page_size * page_size
    results = store.search(text, offset=offset, limit=page_size)

    if results.total == 0:
        return SearchAnswer(query=text, outcome=SearchOutcome.NO_MATCHES, message=no_matches_message(text))

    if not results.expeditions:
        last_offset = (page_count(results.total, page_size) - 1) * page_size
        results = store.search(text, offset=last_offset, limit=page_size)

    embed = build_search_embed(results, text, page_size=page_size, synced_at=read_last_sync(store))
    return SearchAnswer(
        query=text,
        outcome=SearchOutcome.RESULTS,
        embeds=tuple(fit_message([embed])),
        total=results.total,
        offset=results.offset,
        page_size=page_size,
        expeditions=results.expeditions,
    )


def check_query(text: str) -> SearchAnswer | None:
    """Return the reply that rejects `text`, or None when `text` can be searched."""
    if not text:
        message = f"Type something to search for: {EXAMPLES}."
        return SearchAnswer(query=text, outcome=SearchOutcome.EMPTY_QUERY, message=message)

    if len(text) > MAX_QUERY_LENGTH:
        message = (
            f"That search is {len(text)} characters long, and the limit is {MAX_QUERY_LENGTH}. "
            f"Try one or two words: {EXAMPLES}."
        )
        return SearchAnswer(query=text, outcome=SearchOutcome.QUERY_TOO_LONG, message=message)

    if not search_terms(text):
        message = f"“{quote_query(text)}” contains no words to search for. Try {EXAMPLES}."
        return SearchAnswer(query=text, outcome=SearchOutcome.NOTHING_SEARCHABLE, message=message)

    return None


def no_matches_message(text: str) -> str:
    """Return the message for a search without matches, explaining how words are matched."""
    return (
        f"No expeditions match “{quote_query(text)}”. Every word has to appear in an expedition's name, "
        f"its station, or a crew member's name, agency or nationality, so try fewer words or {EXAMPLES}."
    )


def quote_query(text: str) -> str:
    """Return the user's query escaped and shortened for quoting in a message."""
    return escape_and_truncate(text, QUERY_IN_MESSAGE_LIMIT)


def read_last_sync(store: SearchStore) -> datetime | None:
    """Return when the last sync finished, from the store's sync state, or None if unknown."""
    value = store.get_state(LAST_SYNC_STATE_KEY)
    if not value:
        return None

    try:
        finished = datetime.fromisoformat(value)
    except ValueError:
        log.warning("Ignoring invalid sync state %s=%r: expected an ISO 8601 time", LAST_SYNC_STATE_KEY, value)
        return None

    # A time stored without an offset is taken as UTC, the zone every record uses.
    return finished if finished.tzinfo else finished.replace(tzinfo=timezone.utc)
