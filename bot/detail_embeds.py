"""The embeds that show one expedition in full: a pure function of the record and two times.

The first embed carries the facts in one column (phones stack inline fields anyway), the
station as its thumbnail and the mission patch of the lowest priority number as its image.
Each further patch gets an embed of its own, as far as one message's 10 embeds and 6,000
characters allow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

import discord

from bot.embeds import (
    DATA_SOURCE,
    ELLIPSIS,
    EMBED_COLOUR,
    FIELD_COUNT_LIMIT,
    FIELD_VALUE_LIMIT,
    MESSAGE_EMBED_COUNT_LIMIT,
    describe_crew_count,
    enforce_limits,
    escape_and_truncate,
    fit_message,
    is_image_url,
    is_web_url,
    station_thumbnail_url,
)
from storage.records import CrewMember, Expedition, MissionPatch, Spacewalk

log = logging.getLogger(__name__)

# Caps on single pieces of LL2 text, so one long name cannot crowd out the rest.
NAME_LIMIT = 200
STATION_LIMIT = 150
CREW_NAME_LIMIT = 80
ROLE_LIMIT = 60
AGENCY_LIMIT = 20
SPACEWALK_NAME_LIMIT = 100
PATCH_NAME_LIMIT = 100

# Fields left for crew roles after the spacewalk field.
MAX_ROLE_FIELDS = FIELD_COUNT_LIMIT - 1

NO_ROLE = "Crew"

_TWO_LETTERS = re.compile(r"[A-Z]{2}")
_ISO_DURATION = re.compile(
    r"P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def expedition_status(expedition: Expedition, now: datetime) -> str:
    """Return "upcoming", "on-going" or "ended" for the expedition at `now`."""
    if expedition.start > now:
        return "upcoming"
    if expedition.is_ongoing(now):
        return "on-going"
    return "ended"


def flag_emoji(country_code: str | None) -> str:
    """Return the flag emoji of a two-letter country code (regional indicator symbols), or ""."""
    code = (country_code or "").strip().upper()
    if not _TWO_LETTERS.fullmatch(code):
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code)


def describe_span(seconds: float) -> str:
    """Return a length of time in days, or hours and minutes below one day."""
    seconds = max(0, int(seconds))
    days = seconds // 86_400
    if days >= 1:
        return "1 day" if days == 1 else f"{days:,} days"
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    return f"{hours} h {minutes} min"


def describe_duration(expedition: Expedition, now: datetime) -> str:
    """Return how long the expedition lasts, lasted, or has lasted so far."""
    status = expedition_status(expedition, now)
    if expedition.end is not None and expedition.end >= expedition.start:
        span = describe_span((expedition.end - expedition.start).total_seconds())
        return f"{span} (planned)" if status != "ended" else span
    if status == "on-going":
        return f"{describe_span((now - expedition.start).total_seconds())} so far"
    return "unknown"


def describe_iso_duration(value: str | None) -> str | None:
    """Turn an ISO 8601 duration such as "PT6H30M" into "6 h 30 min"; None when it cannot be read."""
    match = _ISO_DURATION.fullmatch((value or "").strip())
    if not value or match is None or not any(match.groupdict().values()):
        return None
    days = int(match["days"] or 0)
    hours = int(match["hours"] or 0) + 24 * days
    minutes = int(match["minutes"] or 0)
    return f"{hours} h {minutes} min"


def format_moment(moment: datetime) -> str:
    """Return a full date and a relative time, each shown in the reader's own time zone."""
    return f"{discord.utils.format_dt(moment, 'F')} ({discord.utils.format_dt(moment, 'R')})"


def ordered_patches(patches: Iterable[MissionPatch]) -> list[MissionPatch]:
    """Return the patches with a usable image, the lowest priority number first (none last)."""
    usable = [patch for patch in patches if is_image_url(patch.image_url)]
    return sorted(usable, key=lambda patch: (patch.priority is None, patch.priority or 0, patch.id))


def crew_line(member: CrewMember) -> str:
    """Render one crew member: flags, name and agency abbreviation."""
    astronaut = member.astronaut
    flags = "".join(flag_emoji(nationality.country_code) for nationality in astronaut.nationalities)
    name = escape_and_truncate(astronaut.name, CREW_NAME_LIMIT) or "Unnamed"
    line = f"{flags} {name}" if flags else name

    agency = astronaut.agency
    label = (agency.abbrev or agency.name) if agency is not None else None
    if label:
        line += f" · {escape_and_truncate(label, AGENCY_LIMIT)}"
    return line


def group_crew(crew: Iterable[CrewMember]) -> list[tuple[str, list[CrewMember]]]:
    """Group crew by role, the groups in order of their best role priority (none last)."""
    groups: dict[str, list[CrewMember]] = {}
    for member in crew:
        groups.setdefault(member.role or NO_ROLE, []).append(member)

    def group_order(item: tuple[str, list[CrewMember]]) -> tuple[bool, int, str]:
        priorities = [member.role_priority for member in item[1] if member.role_priority is not None]
        return (not priorities, min(priorities, default=0), item[0].casefold())

    return sorted(groups.items(), key=group_order)


def fit_lines(lines: list[str], limit: int) -> str:
    """Join whole lines within `limit` characters, ending with a count of the lines left out."""
    included: list[str] = []
    length = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index - 1
        reserve = len(f"\n{ELLIPSIS} and {remaining} more") if remaining else 0
        added = len(line) + (1 if included else 0)
        if length + added + reserve > limit:
            note = f"{ELLIPSIS} and {len(lines) - index} more"
            return "\n".join([*included, note]) if included else note
        included.append(line)
        length += added
    return "\n".join(included)


def spacewalk_line(spacewalk: Spacewalk) -> str:
    """Render one spacewalk: name, date and duration when known."""
    parts = [escape_and_truncate(spacewalk.name, SPACEWALK_NAME_LIMIT) or "Unnamed spacewalk"]
    if spacewalk.start is not None:
        parts.append(discord.utils.format_dt(spacewalk.start, "D"))
    duration = describe_iso_duration(spacewalk.duration)
    if duration:
        parts.append(duration)
    return " · ".join(parts)


def build_expedition_embeds(
    expedition: Expedition, *, synced_at: datetime | None, now: datetime
) -> list[discord.Embed]:
    """Build the embeds of one expedition, within every limit of one Discord message.

    `now` decides the status and the running duration; `synced_at` is the last successful
    sync, shown as the embed timestamp.
    """
    embed = discord.Embed(
        title=escape_and_truncate(expedition.name, NAME_LIMIT) or "Unnamed expedition",
        colour=EMBED_COLOUR,
        description=_facts(expedition, now),
        timestamp=synced_at,
    )

    # The title links to the expedition's page on LL2, its API address, which a browser shows
    # as a readable page.
    if is_web_url(expedition.url):
        embed.url = expedition.url

    thumbnail = station_thumbnail_url(expedition.station)
    if thumbnail:
        embed.set_thumbnail(url=thumbnail)

    for role, members in group_crew(expedition.crew)[:MAX_ROLE_FIELDS]:
        title = f"{escape_and_truncate(role, ROLE_LIMIT) or NO_ROLE} ({len(members)})"
        embed.add_field(name=title, value=fit_lines([crew_line(m) for m in members], FIELD_VALUE_LIMIT), inline=False)

    if expedition.spacewalks:
        lines = [spacewalk_line(spacewalk) for spacewalk in expedition.spacewalks]
        embed.add_field(name=f"Spacewalks ({len(lines)})", value=fit_lines(lines, FIELD_VALUE_LIMIT), inline=False)

    freshness = "last sync" if synced_at is not None else "not synced yet"
    embed.set_footer(text=f"{DATA_SOURCE} · {freshness}")

    patches = ordered_patches(expedition.mission_patches)
    if patches:
        embed.set_image(url=patches[0].image_url)

    embeds = [enforce_limits(embed)]
    for patch in patches[1:MESSAGE_EMBED_COUNT_LIMIT]:
        extra = discord.Embed(title=escape_and_truncate(patch.name, PATCH_NAME_LIMIT) or None, colour=EMBED_COLOUR)
        embeds.append(extra.set_image(url=patch.image_url))
    return fit_message(embeds)


def _facts(expedition: Expedition, now: datetime) -> str:
    station = escape_and_truncate(expedition.station.name, STATION_LIMIT) or "Unknown station"
    end = format_moment(expedition.end) if expedition.end is not None else "no end date yet"
    lines = [
        f"**Station:** {station}",
        f"**Status:** {expedition_status(expedition, now)}",
        f"**Start:** {format_moment(expedition.start)}",
        f"**End:** {end}",
        f"**Duration:** {describe_duration(expedition, now)}",
        f"**Crew:** {describe_crew_count(len(expedition.crew))}",
    ]
    return "\n".join(lines)
