"""Embed builders: pure functions from `storage.records` to `discord.Embed`.

Every string that comes from LL2 (or from a user) is untrusted, so it is cleaned of control
characters and has its markdown and mentions escaped before it goes into an embed. Every part of
an embed is kept within Discord's limits, and text that has to be cut ends in an ellipsis.

NOTE: lengths are counted in Unicode code points, as `len(str)` and discord.py's `len(Embed)` do.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import discord

from storage.records import Expedition, SearchPage, Station
from storage.search import normalize_text, search_terms

log = logging.getLogger(__name__)

# Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
MESSAGE_EMBEDS_TOTAL_LIMIT = 6000
MESSAGE_EMBED_COUNT_LIMIT = 10

ELLIPSIS = "…"

# Caps for one search result, so that a full page of results always fits in one description.
RESULT_NAME_LIMIT = 200
RESULT_STATION_LIMIT = 100
QUERY_IN_TITLE_LIMIT = 100

# Crew members named in a result because the query matched their name.
MATCHED_NAMES_SHOWN = 2
MATCHED_NAME_LIMIT = 80

# Records only ever carry http(s) image URLs, so anything else is rejected before Discord sees it.
# The 2048-character cap is our own choice, not a documented Discord limit.
IMAGE_URL_LIMIT = 2048

EMBED_COLOUR = discord.Colour(0x2B6CB0)
DATA_SOURCE = "Data: Launch Library 2"

# Bidirectional overrides and isolates can reorder the text around them. Line and paragraph
# separators break lines like a newline does.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKERS = frozenset("\u2028\u2029\u0085")

# `discord.utils.escape_mentions` only matches ids of 17 to 20 digits and skips channel mentions,
# so a zero-width space also goes after the `@` or `#` of any `<@id>`, `<@&id>` or `<#id>`.
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_ID_MENTION = re.compile(r"<([@#])(?=[!&]?\d)")
_WHITESPACE_RUN = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Remove control characters, bidirectional controls and lone surrogates, and fold whitespace.

    Line breaks become spaces, so that a record's text always stays on its own line.
    """
    cleaned_characters: list[str] = []
    for character in text:
        category = unicodedata.category(character)
        if category == "Cc" or character in _LINE_BREAKERS:
            cleaned_characters.append(" ")
        elif category == "Cs" or character in _BIDI_CONTROLS:
            continue
        else:
            cleaned_characters.append(character)

    return _WHITESPACE_RUN.sub(" ", "".join(cleaned_characters)).strip()


def escape_text(text: str) -> str:
    """Clean `text`, then escape its markdown and neutralize its mentions for use in an embed."""
    escaped = discord.utils.escape_markdown(clean_text(text))
    escaped = discord.utils.escape_mentions(escaped)
    escaped = _MASS_MENTION.sub("@\u200b", escaped)
    return _ID_MENTION.sub("<\\1\u200b", escaped)


def truncate(text: str, limit: int) -> str:
    """Return `text` cut to at most `limit` characters, ending in an ellipsis when it was cut."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if len(text) <= limit:
        return text

    head = text[: limit - len(ELLIPSIS)].rstrip()

    # A backslash left without the character it escaped would escape the ellipsis instead.
    trailing_backslashes = len(head) - len(head.rstrip("\\"))
    if trailing_backslashes % 2 == 1:
        head = head[:-1]
    return head + ELLIPSIS


def escape_and_truncate(text: str, limit: int) -> str:
    """Escape `text` with `escape_text` and cut the result to `limit` characters."""
    return truncate(escape_text(text), limit)


def embed_length(embed: discord.Embed | Mapping[str, Any]) -> int:
    """Return an embed's length as Discord counts it toward the 6000-character message limit.

    Discord counts the title, description, field names and values, footer text and author name.
    """
    data = embed.to_dict() if isinstance(embed, discord.Embed) else embed
    total = len(data.get("title") or "") + len(data.get("description") or "")

    for embed_field in data.get("fields") or ():
        total += len(embed_field.get("name") or "") + len(embed_field.get("value") or "")

    total += len((data.get("footer") or {}).get("text") or "")
    total += len((data.get("author") or {}).get("name") or "")
    return total


def message_embeds_length(embeds: Iterable[discord.Embed | Mapping[str, Any]]) -> int:
    """Return the combined length of the embeds of one message."""
    return sum(embed_length(embed) for embed in embeds)


def enforce_limits(embed: discord.Embed) -> discord.Embed:
    """Cut every part of `embed` to Discord's limits in place and return it.

    When the parts together exceed the message total, the description is shortened first, then
    fields are dropped from the end.
    """
    if embed.title:
        embed.title = truncate(embed.title, TITLE_LIMIT)
    if embed.description:
        embed.description = truncate(embed.description, DESCRIPTION_LIMIT)
    _limit_fields(embed)
    if embed.footer.text:
        embed.set_footer(text=truncate(embed.footer.text, FOOTER_LIMIT), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=truncate(embed.author.name, AUTHOR_NAME_LIMIT), url=embed.author.url, icon_url=embed.author.icon_url
        )

    _fit_message_total(embed)
    return embed


def _limit_fields(embed: discord.Embed) -> None:
    if not embed.fields:
        return

    fields = embed.fields[:FIELD_COUNT_LIMIT]
    embed.clear_fields()
    for embed_field in fields:
        embed.add_field(
            name=truncate(embed_field.name or "\u200b", FIELD_NAME_LIMIT),
            value=truncate(embed_field.value or "\u200b", FIELD_VALUE_LIMIT),
            inline=bool(embed_field.inline),
        )


def _fit_message_total(embed: discord.Embed) -> None:
    excess = embed_length(embed) - MESSAGE_EMBEDS_TOTAL_LIMIT
    if excess > 0 and embed.description:
        keep = len(embed.description) - excess
        embed.description = truncate(embed.description, keep) if keep >= len(ELLIPSIS) else None

    while embed_length(embed) > MESSAGE_EMBEDS_TOTAL_LIMIT and embed.fields:
        embed.remove_field(len(embed.fields) - 1)

    # The title, footer and author name are capped at 256, 2048 and 256, so they alone always fit.


def fit_message(embeds: Iterable[discord.Embed]) -> list[discord.Embed]:
    """Return the embeds that fit in one message: at most 10, and 6000 characters together.

    Each embed is first cut to the per-embed limits. The first embed that would make an 11th
    or push the total over 6000 is dropped with every embed after it, and the drop is logged.
    """
    candidates = list(embeds)
    fitted: list[discord.Embed] = []
    total = 0
    for embed in candidates:
        enforce_limits(embed)
        length = embed_length(embed)
        if len(fitted) == MESSAGE_EMBED_COUNT_LIMIT or total + length > MESSAGE_EMBEDS_TOTAL_LIMIT:
            break
        fitted.append(embed)
        total += length

    if len(fitted) < len(candidates):
        log.warning(
            "Dropped %d of %d embeds to stay within 10 embeds and 6000 characters per message",
            len(candidates) - len(fitted),
            len(candidates),
        )
    return fitted


def page_number(offset: int, page_size: int) -> int:
    """Return the 1-based number of the page that starts at `offset`."""
    return max(offset, 0) // page_size + 1


def page_count(total: int, page_size: int) -> int:
    """Return how many pages `total` results fill. An empty result still has one page."""
    return max(1, math.ceil(total / page_size))


def is_image_url(url: str | None) -> bool:
    """Return True when `url` is an http(s) URL that Discord will accept as an embed image."""
    return is_web_url(url)


def is_web_url(url: str | None) -> bool:
    """Return True when `url` is an http(s) URL without spaces or control characters, for an embed."""
    if not url or len(url) > IMAGE_URL_LIMIT:
        return False
    if not url.startswith(("https://", "http://")):
        return False
    return not any(character.isspace() or unicodedata.category(character) == "Cc" for character in url)


def station_thumbnail_url(station: Station) -> str | None:
    """Return the station's thumbnail URL, its full image URL if it has no thumbnail, or None."""
    for url in (station.thumbnail_url, station.image_url):
        if is_image_url(url):
            return url
    return None


def format_search_result(expedition: Expedition, position: int, terms: Sequence[str] = ()) -> str:
    """Render one search result as a block of lines, numbered by its `position` in all results.

    `terms` are the normalized query terms (see `storage.search.search_terms`); the crew line
    names the crew members whose names contain one of them.
    """
    name = escape_and_truncate(expedition.name, RESULT_NAME_LIMIT) or "Unnamed expedition"
    station = escape_and_truncate(expedition.station.name, RESULT_STATION_LIMIT) or "Unknown station"
    start = discord.utils.format_dt(expedition.start, "F")

    if expedition.end is None:
        end = f"no end date yet (started {discord.utils.format_dt(expedition.start, 'R')})"
    else:
        end = discord.utils.format_dt(expedition.end, "F")

    return "\n".join(
        [
            f"**{position}. {name}**",
            f"Station: {station}",
            f"Start: {start}",
            f"End: {end}",
            f"Crew: {describe_crew_count(len(expedition.crew))}{describe_crew_matches(expedition, terms)}",
        ]
    )


def matching_crew_names(expedition: Expedition, terms: Sequence[str]) -> list[str]:
    """Return the names of the crew members whose normalized name contains one of `terms`, in crew order."""
    if not terms:
        return []

    names: list[str] = []
    for member in expedition.crew:
        normalized = normalize_text(member.astronaut.name)
        if any(term in normalized for term in terms) and member.astronaut.name not in names:
            names.append(member.astronaut.name)
    return names


def describe_crew_matches(expedition: Expedition, terms: Sequence[str]) -> str:
    """Return ", including NAME" for the crew members the query matched, or "" when it matched none."""
    names = matching_crew_names(expedition, terms)
    if not names:
        return ""

    shown = [escape_and_truncate(name, MATCHED_NAME_LIMIT) or "Unnamed" for name in names[:MATCHED_NAMES_SHOWN]]
    hidden = len(names) - len(shown)
    if hidden:
        shown.append(f"{hidden} more")
    if len(shown) == 1:
        return f", including {shown[0]}"
    return f", including {', '.join(shown[:-1])} and {shown[-1]}"


def describe_crew_count(count: int) -> str:
    """Return the crew count in words, e.g. "3 people" or "none listed"."""
    if count == 0:
        return "none listed"
    if count == 1:
        return "1 person"
    return f"{count} people"


def join_blocks(blocks: Iterable[str], limit: int) -> str:
    """Join text blocks with blank lines, leaving out whole blocks that would exceed `limit`.

    Cutting a block in half could split a `<t:...>` timestamp, so the text ends with an
    ellipsis line instead.
    """
    text = ""
    for block in blocks:
        candidate = f"{text}\n\n{block}" if text else block
        if len(candidate) > limit - len(ELLIPSIS) - 2:
            return truncate(f"{text}\n\n{ELLIPSIS}" if text else block, limit)
        text = candidate
    return text


def build_search_embed(
    page: SearchPage, query: str, *, page_size: int, synced_at: datetime | None
) -> discord.Embed:
    """Build the embed for one page of search results.

    The footer names the data source, the page and the number of matches, and the embed
    timestamp is the last successful sync, which Discord shows beside the footer.
    """
    shown_query = escape_and_truncate(query, QUERY_IN_TITLE_LIMIT)
    embed = discord.Embed(title=f"Expeditions matching “{shown_query}”", colour=EMBED_COLOUR)

    terms = search_terms(query)
    blocks = [
        format_search_result(expedition, page.offset + index + 1, terms)
        for index, expedition in enumerate(page.expeditions)
    ]
    embed.description = join_blocks(blocks, DESCRIPTION_LIMIT) if blocks else "No expeditions on this page."

    if page.expeditions:
        thumbnail = station_thumbnail_url(page.expeditions[0].station)
        if thumbnail:
            embed.set_thumbnail(url=thumbnail)

    embed.set_footer(text=_search_footer(page, page_size, synced_at))
    embed.timestamp = synced_at
    return enforce_limits(embed)


def _search_footer(page: SearchPage, page_size: int, synced_at: datetime | None) -> str:
    matches = "1 match" if page.total == 1 else f"{page.total} matches"
    position = f"page {page_number(page.offset, page_size)} of {page_count(page.total, page_size)}"
    freshness = "last sync" if synced_at is not None else "not synced yet"
    return f"{DATA_SOURCE} · {position} · {matches} · {freshness}"
