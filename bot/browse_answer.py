"""Answers of `/expedition station`, `/expedition crew` and `/expedition current`, built from the mirror.

Like `bot.search_answer`, these functions only read the store and build embeds, so tests (and
the golden files) can render them with a fixed `now`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

import discord

from bot.browse_embeds import WHEN_LABELS, build_crew_embed, build_current_embeds, build_station_embed
from bot.embeds import escape_and_truncate, fit_message, page_count
from bot.paging import PagePosition
from bot.search_answer import PAGE_SIZE, read_last_sync
from storage.browse import TimeFilter
from storage.lookups import NameMatch
from storage.records import Astronaut, Expedition, SearchPage, Station
from storage.search import search_terms

log = logging.getLogger(__name__)

# The maximum number of digits of an id in a choice value. A longer number is taken as a typed name.
MAX_ID_DIGITS = 18

NAME_IN_MESSAGE_LIMIT = 60

Record = TypeVar("Record")


class BrowseStore(Protocol):
    """The part of `storage.database.ExpeditionStore` that the station, crew and current replies read."""

    def get_state(self, key: str) -> str | None: ...

    def get_station(self, station_id: int) -> Station | None: ...

    def get_astronaut(self, astronaut_id: int) -> Astronaut | None: ...

    def lookup_stations(self, query: str, *, limit: int = 25) -> list[NameMatch]: ...

    def lookup_astronauts(self, query: str, *, limit: int = 25) -> list[NameMatch]: ...

    def station_expeditions(
        self, station_id: int, *, when: TimeFilter, now: datetime, offset: int = 0, limit: int = 10
    ) -> SearchPage: ...

    def astronaut_expeditions(self, astronaut_id: int, *, offset: int = 0, limit: int = 10) -> SearchPage: ...

    def ongoing_expeditions(self, now: datetime) -> list[Expedition]: ...


@dataclass(frozen=True)
class BrowseAnswer(PagePosition):
    """One page of a station's or an astronaut's expeditions, or a message saying why there is none."""

    embeds: tuple[discord.Embed, ...] = ()
    message: str | None = None
    expeditions: tuple[Expedition, ...] = ()
    total: int = 0
    offset: int = 0
    page_size: int = PAGE_SIZE


def resolve_record(
    value: str, get: Callable[[int], Record | None], lookup: Callable[..., list[NameMatch]]
) -> Record | None:
    """Return the record an autocompleted option names: a chosen id, or else the best match for a typed name."""
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        found = get(int(text))
        if found is not None:
            return found

    # Without searchable words a lookup lists names alphabetically, which the user did not ask for.
    matches = lookup(text, limit=1) if search_terms(text) else []
    return get(matches[0].id) if matches else None


def resolve_station(store: BrowseStore, value: str) -> Station | None:
    """Return the station a `station` option names, or None."""
    return resolve_record(value, store.get_station, store.lookup_stations)


def resolve_astronaut(store: BrowseStore, value: str) -> Astronaut | None:
    """Return the astronaut an `astronaut` option names, or None."""
    return resolve_record(value, store.get_astronaut, store.lookup_astronauts)


def quote_name(text: str) -> str:
    """Return a name escaped and shortened for quoting in a message."""
    return escape_and_truncate(text, NAME_IN_MESSAGE_LIMIT)


def clamp_offset(offset: int, page_size: int) -> int:
    """Return `offset` rounded down to the start of its page, and never negative."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    return max(offset, 0) // page_size * page_size


def last_page_offset(total: int, page_size: int) -> int:
    """Return the offset of the last page of `total` results."""
    return (page_count(total, page_size) - 1) * page_size


def build_station_answer(
    store: BrowseStore,
    station_id: int,
    when: TimeFilter = TimeFilter.ALL,
    offset: int = 0,
    *,
    now: datetime,
    page_size: int = PAGE_SIZE,
) -> BrowseAnswer:
    """Build the page at `offset` of the station's expeditions that fit `when` at `now`.

    An offset past the last page shows the last page, because the mirror can change between two clicks.
    """
    offset = clamp_offset(offset, page_size)
    station = store.get_station(station_id)
    if station is None:
        return BrowseAnswer(message="That station is no longer in the mirror: a sync removed it since this list was shown.")

    page = store.station_expeditions(station_id, when=when, now=now, offset=offset, limit=page_size)
    if page.total == 0:
        label = "" if when is TimeFilter.ALL else f"{WHEN_LABELS[when]} "
        return BrowseAnswer(
            message=f"The mirror has no {label}expeditions on {quote_name(station.name)}. "
            "Try `when: all` to see every expedition of the station."
        )
    if not page.expeditions:
        page = store.station_expeditions(
            station_id, when=when, now=now, offset=last_page_offset(page.total, page_size), limit=page_size
        )

    embed = build_station_embed(
        station, page, when=when, page_size=page_size, synced_at=read_last_sync(store), now=now
    )
    return BrowseAnswer(
        embeds=tuple(fit_message([embed])),
        expeditions=page.expeditions,
        total=page.total,
        offset=page.offset,
        page_size=page_size,
    )


def build_crew_answer(
    store: BrowseStore, astronaut_id: int, offset: int = 0, *, now: datetime, page_size: int = PAGE_SIZE
) -> BrowseAnswer:
    """Build the page at `offset` of the expeditions the astronaut flew on, with their role on each."""
    offset = clamp_offset(offset, page_size)
    astronaut = store.get_astronaut(astronaut_id)
    if astronaut is None:
        return BrowseAnswer(message="That person is no longer in the mirror: a sync removed them since this list was shown.")

    page = store.astronaut_expeditions(astronaut_id, offset=offset, limit=page_size)
    if page.total == 0:
        return BrowseAnswer(message=f"The mirror lists no expeditions for {quote_name(astronaut.name)}.")
    if not page.expeditions:
        page = store.astronaut_expeditions(astronaut_id, offset=last_page_offset(page.total, page_size), limit=page_size)

    embed = build_crew_embed(astronaut, page, page_size=page_size, synced_at=read_last_sync(store), now=now)
    return BrowseAnswer(
        embeds=tuple(fit_message([embed])),
        expeditions=page.expeditions,
        total=page.total,
        offset=page.offset,
        page_size=page_size,
    )


def build_current_answer(store: BrowseStore, *, now: datetime) -> list[discord.Embed]:
    """Build the embeds that show who is aboard each station at `now`."""
    return build_current_embeds(store.ongoing_expeditions(now), synced_at=read_last_sync(store))


def station_not_found_message(value: str) -> str:
    """Return the note for a `station` option that names no stored station."""
    quoted = quote_name(value)
    example = "Start typing a name, such as `ISS` or `Tiangong`, and pick one from the list."
    if not quoted:
        return f"Tell me which station to list. {example}"
    return f"I can't find a station called “{quoted}” in the mirror of Launch Library 2. {example}"


def astronaut_not_found_message(value: str) -> str:
    """Return the note for an `astronaut` option that names no stored person."""
    quoted = quote_name(value)
    example = "Start typing a name, such as `Kononenko` or `Williams`, and pick one from the list."
    if not quoted:
        return f"Tell me whose expeditions to list. {example}"
    return f"I can't find anyone called “{quoted}” in the mirror of Launch Library 2. {example}"
