"""Embeds for browsing: a station's expeditions, an astronaut's flights, and who is aboard right now.

Pure functions of records and times, in one column, within every Discord limit (see bot.embeds).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import discord

from bot.detail_embeds import NO_ROLE, crew_line, expedition_status, fit_lines, flag_emoji
from bot.embeds import (
    DATA_SOURCE,
    DESCRIPTION_LIMIT,
    EMBED_COLOUR,
    MESSAGE_EMBED_COUNT_LIMIT,
    MESSAGE_EMBEDS_TOTAL_LIMIT,
    RESULT_NAME_LIMIT,
    RESULT_STATION_LIMIT,
    describe_crew_count,
    enforce_limits,
    escape_and_truncate,
    fit_message,
    is_image_url,
    join_blocks,
    page_count,
    page_number,
    station_thumbnail_url,
)
from storage.browse import TimeFilter
from storage.records import Astronaut, CrewMember, Expedition, SearchPage, Station

log = logging.getLogger(__name__)

TITLE_NAME_LIMIT = 200
ROLE_LIMIT = 60
AGENCY_LIMIT = 60
# The start of the astronaut's biography shown above their flights.
BIO_LIMIT = 300
CURRENT_TITLE = "Who is aboard right now"
NOBODY_ABOARD = (
    "Nobody is aboard a space station right now, as far as the mirror of Launch Library 2 knows. "
    "Try `/expedition station` to see a station's past and upcoming expeditions."
)

# Room kept out of the 6,000-character message total for the titles and the footer of the
# `current` embeds, so their descriptions can share the rest.
CURRENT_RESERVE = 800

WHEN_LABELS = {
    TimeFilter.ALL: "all expeditions",
    TimeFilter.ONGOING: "on-going",
    TimeFilter.UPCOMING: "upcoming",
    TimeFilter.PAST: "past",
}


def _dates_line(expedition: Expedition) -> str:
    start = discord.utils.format_dt(expedition.start, "D")
    end = discord.utils.format_dt(expedition.end, "D") if expedition.end is not None else "no end date yet"
    return f"{start} to {end}"


def station_result(expedition: Expedition, position: int, now: datetime) -> str:
    """Render one expedition of a station listing: name, status, dates and crew count."""
    name = escape_and_truncate(expedition.name, RESULT_NAME_LIMIT) or "Unnamed expedition"
    return "\n".join(
        [
            f"**{position}. {name}**",
            f"Status: {expedition_status(expedition, now)}",
            f"Dates: {_dates_line(expedition)}",
            f"Crew: {describe_crew_count(len(expedition.crew))}",
        ]
    )


def roles_of(astronaut_id: int, expedition: Expedition) -> list[str]:
    """Return the astronaut's roles on the expedition (usually one), "Crew" for a seat without a role."""
    roles: list[str] = []
    for member in expedition.crew:
        role = member.role or NO_ROLE
        if member.astronaut.id == astronaut_id and role not in roles:
            roles.append(role)
    return roles


def crew_result(astronaut_id: int, expedition: Expedition, position: int, now: datetime) -> str:
    """Render one expedition of an astronaut's listing: name, role, station, dates and status."""
    name = escape_and_truncate(expedition.name, RESULT_NAME_LIMIT) or "Unnamed expedition"
    station = escape_and_truncate(expedition.station.name, RESULT_STATION_LIMIT) or "Unknown station"
    roles = " and ".join(escape_and_truncate(role, ROLE_LIMIT) or NO_ROLE for role in roles_of(astronaut_id, expedition))
    return "\n".join(
        [
            f"**{position}. {name}**",
            f"Role: {roles or NO_ROLE}",
            f"Station: {station}",
            f"Dates: {_dates_line(expedition)} ({expedition_status(expedition, now)})",
        ]
    )


def _page_footer(page: SearchPage, page_size: int, synced_at: datetime | None) -> str:
    count = "1 expedition" if page.total == 1 else f"{page.total} expeditions"
    position = f"page {page_number(page.offset, page_size)} of {page_count(page.total, page_size)}"
    freshness = "last sync" if synced_at is not None else "not synced yet"
    return f"{DATA_SOURCE} · {position} · {count} · {freshness}"


def build_station_embed(
    station: Station,
    page: SearchPage,
    *,
    when: TimeFilter,
    page_size: int,
    synced_at: datetime | None,
    now: datetime,
) -> discord.Embed:
    """Build the embed for one page of a station's expeditions, newest first.

    `now` decides each expedition's status; `synced_at` is the last successful sync.
    """
    name = escape_and_truncate(station.name, TITLE_NAME_LIMIT) or "Unnamed station"
    embed = discord.Embed(title=f"{name}: {WHEN_LABELS[when]}", colour=EMBED_COLOUR, timestamp=synced_at)

    blocks = [station_result(expedition, page.offset + index + 1, now) for index, expedition in enumerate(page.expeditions)]
    embed.description = join_blocks(blocks, DESCRIPTION_LIMIT) if blocks else "No expeditions on this page."

    thumbnail = station_thumbnail_url(station)
    if thumbnail:
        embed.set_thumbnail(url=thumbnail)

    embed.set_footer(text=_page_footer(page, page_size, synced_at))
    return enforce_limits(embed)


def astronaut_image_url(astronaut: Astronaut) -> str | None:
    """Return the astronaut's thumbnail URL, the full image URL without one, or None."""
    for url in (astronaut.thumbnail_url, astronaut.image_url):
        if is_image_url(url):
            return url
    return None


def astronaut_summary(astronaut: Astronaut) -> str:
    """Return one line with the astronaut's flags, nationalities and agency, or "" when none is known."""
    parts: list[str] = []
    nationalities = [
        f"{flag_emoji(item.country_code)} {escape_and_truncate(item.name, AGENCY_LIMIT)}".strip()
        for item in astronaut.nationalities
        if item.name.strip() or flag_emoji(item.country_code)
    ]
    if nationalities:
        parts.append(", ".join(nationalities))
    if astronaut.agency is not None:
        label = escape_and_truncate(astronaut.agency.name, AGENCY_LIMIT)
        if astronaut.agency.abbrev and astronaut.agency.abbrev.strip():
            label = f"{label} ({escape_and_truncate(astronaut.agency.abbrev, AGENCY_LIMIT)})".strip()
        if label:
            parts.append(label)
    return " · ".join(part for part in parts if part)


def _bio_excerpt(astronaut: Astronaut) -> str:
    return escape_and_truncate(astronaut.bio, BIO_LIMIT) if astronaut.bio else ""


def build_crew_embed(
    astronaut: Astronaut,
    page: SearchPage,
    *,
    page_size: int,
    synced_at: datetime | None,
    now: datetime,
) -> discord.Embed:
    """Build the embed for one page of the expeditions an astronaut flew on, with their role on each."""
    name = escape_and_truncate(astronaut.name, TITLE_NAME_LIMIT) or "Unnamed astronaut"
    embed = discord.Embed(title=f"Expeditions of {name}", colour=EMBED_COLOUR, timestamp=synced_at)

    blocks = [
        crew_result(astronaut.id, expedition, page.offset + index + 1, now)
        for index, expedition in enumerate(page.expeditions)
    ]
    summary = "\n".join(part for part in (astronaut_summary(astronaut), _bio_excerpt(astronaut)) if part)
    listing = join_blocks(blocks, DESCRIPTION_LIMIT - len(summary) - 2) if blocks else "No expeditions on this page."
    embed.description = f"{summary}\n\n{listing}" if summary else listing

    image = astronaut_image_url(astronaut)
    if image:
        embed.set_thumbnail(url=image)

    embed.set_footer(text=_page_footer(page, page_size, synced_at))
    return enforce_limits(embed)


def aboard_line(member: CrewMember) -> str:
    """Render one person aboard: flags, name, agency abbreviation and role."""
    role = escape_and_truncate(member.role, ROLE_LIMIT) if member.role else ""
    return f"{crew_line(member)} · {role or NO_ROLE}"


def _seat_order(member: CrewMember) -> tuple[bool, int, str]:
    return (member.role_priority is None, member.role_priority or 0, member.astronaut.name.casefold())


def aboard_text(expeditions: Sequence[Expedition], limit: int) -> str:
    """Render the on-going expeditions of one station and their crews within `limit` characters."""
    sections: list[str] = []
    share = max(limit // max(len(expeditions), 1) - 2, 40)
    for expedition in expeditions:
        name = escape_and_truncate(expedition.name, RESULT_NAME_LIMIT) or "Unnamed expedition"
        heading = f"**{name}** · since {discord.utils.format_dt(expedition.start, 'D')}"
        crew = sorted(expedition.crew, key=_seat_order)
        lines = [aboard_line(member) for member in crew] or ["No crew listed."]
        body = fit_lines(lines, max(share - len(heading) - 1, 20))
        sections.append(f"{heading}\n{body}")
    return join_blocks(sections, limit)


def build_current_embeds(
    expeditions: Sequence[Expedition], *, synced_at: datetime | None
) -> list[discord.Embed]:
    """Build one embed per station with an on-going expedition, listing who is aboard.

    `expeditions` are the on-going ones, in the order to show their stations. Without any, one
    embed says that nobody is aboard. At most 10 stations fit in one message; the footer counts
    the stations left out.
    """
    by_station: dict[int, tuple[Station, list[Expedition]]] = {}
    for expedition in expeditions:
        by_station.setdefault(expedition.station.id, (expedition.station, []))[1].append(expedition)

    if not by_station:
        embed = discord.Embed(title=CURRENT_TITLE, description=NOBODY_ABOARD, colour=EMBED_COLOUR, timestamp=synced_at)
        embed.set_footer(text=_current_footer(synced_at, left_out=0))
        return fit_message([embed])

    groups = list(by_station.values())
    shown = groups[:MESSAGE_EMBED_COUNT_LIMIT]
    limit = min(DESCRIPTION_LIMIT, (MESSAGE_EMBEDS_TOTAL_LIMIT - CURRENT_RESERVE) // len(shown))

    embeds: list[discord.Embed] = []
    for station, station_expeditions in shown:
        title = escape_and_truncate(station.name, TITLE_NAME_LIMIT) or "Unnamed station"
        embed = discord.Embed(title=title, description=aboard_text(station_expeditions, limit), colour=EMBED_COLOUR)
        thumbnail = station_thumbnail_url(station)
        if thumbnail:
            embed.set_thumbnail(url=thumbnail)
        embeds.append(embed)

    embeds[-1].set_footer(text=_current_footer(synced_at, left_out=len(groups) - len(shown)))
    embeds[-1].timestamp = synced_at
    return fit_message(embeds)


def _current_footer(synced_at: datetime | None, *, left_out: int) -> str:
    freshness = "last sync" if synced_at is not None else "not synced yet"
    footer = f"{DATA_SOURCE} · {freshness}"
    if left_out:
        footer += f" · {left_out} more stations not shown"
    return footer
