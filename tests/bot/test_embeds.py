"""Tests of the embed builders, mostly property-based over generated records."""

from __future__ import annotations

from datetime import datetime, timezone

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.embeds import (
    ELLIPSIS,
    build_search_embed,
    clean_text,
    embed_length,
    enforce_limits,
    escape_text,
    fit_message,
    page_count,
    page_number,
    station_thumbnail_url,
    truncate,
)
from storage.records import Agency, Astronaut, CrewMember, Expedition, SearchPage, Station
from tests.bot.embed_checks import (
    RAW_MENTION,
    assert_embed_within_limits,
    assert_message_within_limits,
    assert_payload_sendable,
    assert_safe_text,
    embed_texts,
)

# Fragments that Discord would render as markdown, mentions, timestamps or line breaks, or that
# a JSON encoder or a terminal would choke on.
TRICKY_FRAGMENTS = [
    "@everyone", "@here", "@EVERYONE", "<@123>", "<@!123>", "<@&5>", "<#42>", "<@123456789012345678>",
    "**", "__", "~~", "||", "`", "```", "> ", ">>> ", "# ", "-# ", "[link](https://example.invalid)",
    "\\", "\\\\", "\n", "\r\n", "\t", "\x00", "\x1b[31m", "\x7f", "\u0085", "\u2028", "\u202e", "\u2066",
    "\u200b", "\ufeff", "\ud800", "\udfff", "e\u0301", "\U0001f680", "\U0001f469\u200d\U0001f680",
    "\U00010000", "\U00020000", "\U000e0001", "\U000f0000", "\U0010fffd", "<t:0:F>", "…",
]

ANY_CHARACTER = st.one_of(
    st.characters(exclude_categories=()),
    st.integers(min_value=0, max_value=0x10FFFF).map(chr),
)

SHORT_TEXT = st.lists(
    st.one_of(st.sampled_from(TRICKY_FRAGMENTS), st.text(ANY_CHARACTER, max_size=12)), max_size=24
).map("".join)

# Kilobytes of text, built by repetition because drawing thousands of characters one by one is slow.
LONG_TEXT = st.tuples(SHORT_TEXT, st.integers(min_value=200, max_value=1500)).map(
    lambda parts: (parts[0] or "x") * parts[1]
)

NAME_TEXT = st.one_of(SHORT_TEXT, LONG_TEXT)

UTC_DATETIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(timezone.utc)
)

THUMBNAIL = "https://example.invalid/station-thumb.png"
IMAGE = "https://example.invalid/station.png"
URL_CHOICES = st.sampled_from([None, "", THUMBNAIL, "javascript:alert(1)", "https://a b/c.png", "ftp://x/y.png"])


@st.composite
def stations(draw: st.DrawFn) -> Station:
    return Station(
        id=draw(st.integers(min_value=1, max_value=10_000)),
        name=draw(NAME_TEXT),
        thumbnail_url=draw(URL_CHOICES),
        image_url=draw(st.sampled_from([None, IMAGE, "not a url"])),
    )


@st.composite
def crews(draw: st.DrawFn) -> tuple[CrewMember, ...]:
    size = draw(st.one_of(st.sampled_from([0, 100]), st.integers(min_value=0, max_value=100)))
    name = draw(SHORT_TEXT)
    agency = Agency(id=1, name=draw(SHORT_TEXT), abbrev="@here")
    return tuple(
        CrewMember(flight_id=index, astronaut=Astronaut(id=index, name=f"{name} {index}", agency=agency), role=name)
        for index in range(size)
    )


@st.composite
def expeditions(draw: st.DrawFn) -> Expedition:
    start = draw(UTC_DATETIMES)
    return Expedition(
        id=draw(st.integers(min_value=1, max_value=1_000_000)),
        name=draw(NAME_TEXT),
        start=start,
        end=draw(st.one_of(st.none(), UTC_DATETIMES)),
        station=draw(stations()),
        crew=draw(crews()),
    )


@st.composite
def search_pages(draw: st.DrawFn, *, max_page_size: int = 25) -> tuple[SearchPage, int]:
    page_size = draw(st.integers(min_value=1, max_value=max_page_size))
    shown = draw(st.lists(expeditions(), min_size=1, max_size=page_size))
    page_index = draw(st.integers(min_value=0, max_value=50))
    offset = page_index * page_size
    total = offset + len(shown) + draw(st.integers(min_value=0, max_value=500))
    return SearchPage(total=total, offset=offset, expeditions=tuple(shown)), page_size


SYNCED_AT = st.one_of(st.none(), UTC_DATETIMES)

# Hypothesis flags the generation of multi-kilobyte names as slow, but that size is the point of the test.
EMBED_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIGHT_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def stamp(moment: datetime, style: str) -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


@EMBED_SETTINGS
@given(page_and_size=search_pages(), query=NAME_TEXT, synced_at=SYNCED_AT)
def test_search_embed_within_discord_limits(
    page_and_size: tuple[SearchPage, int], query: str, synced_at: datetime | None
) -> None:
    page, page_size = page_and_size
    embed = build_search_embed(page, query, page_size=page_size, synced_at=synced_at)
    data = embed.to_dict()

    assert_embed_within_limits(data)
    assert_message_within_limits([data])
    assert_payload_sendable(data)
    assert embed_length(embed) == len(embed)


@EMBED_SETTINGS
@given(page_and_size=search_pages(), query=NAME_TEXT, synced_at=SYNCED_AT)
def test_search_embed_text_is_escaped(
    page_and_size: tuple[SearchPage, int], query: str, synced_at: datetime | None
) -> None:
    page, page_size = page_and_size
    data = build_search_embed(page, query, page_size=page_size, synced_at=synced_at).to_dict()

    assert_safe_text(data["title"])
    assert_safe_text(data["description"], allow_newlines=True)
    assert_safe_text(data["footer"]["text"])


@EMBED_SETTINGS
@given(page_and_size=search_pages(max_page_size=5), synced_at=SYNCED_AT)
def test_search_embed_shows_every_result(page_and_size: tuple[SearchPage, int], synced_at: datetime | None) -> None:
    page, page_size = page_and_size
    description = build_search_embed(page, "query", page_size=page_size, synced_at=synced_at).description or ""

    for position, expedition in enumerate(page.expeditions, start=page.offset + 1):
        assert f"**{position}. " in description
        assert stamp(expedition.start, "F") in description
        if expedition.end is not None:
            assert stamp(expedition.end, "F") in description

    without_end = sum(1 for expedition in page.expeditions if expedition.end is None)
    assert description.count("no end date yet") == without_end


@LIGHT_SETTINGS
@given(page_and_size=search_pages(), synced_at=SYNCED_AT)
def test_search_embed_footer_and_timestamp(page_and_size: tuple[SearchPage, int], synced_at: datetime | None) -> None:
    page, page_size = page_and_size
    embed = build_search_embed(page, "query", page_size=page_size, synced_at=synced_at)

    expected_page = page.offset // page_size + 1
    expected_pages = -(-page.total // page_size)
    assert f"page {expected_page} of {expected_pages}" in (embed.footer.text or "")
    assert f"{page.total} match" in (embed.footer.text or "")
    assert (embed.footer.text or "").startswith("Data: Launch Library 2")
    assert embed.timestamp == synced_at


@LIGHT_SETTINGS
@given(page_and_size=search_pages())
def test_search_embed_thumbnail_from_first_station(page_and_size: tuple[SearchPage, int]) -> None:
    page, page_size = page_and_size
    embed = build_search_embed(page, "query", page_size=page_size, synced_at=None)
    station = page.expeditions[0].station

    if station.thumbnail_url == THUMBNAIL:
        assert embed.thumbnail.url == THUMBNAIL
    elif station.image_url == IMAGE:
        assert embed.thumbnail.url == IMAGE
    else:
        assert embed.thumbnail.url is None


def make_expedition(name: str, *, crew_size: int = 0, end: datetime | None = None) -> Expedition:
    astronaut = Astronaut(id=1, name="Oleg Kononenko")
    return Expedition(
        id=1,
        name=name,
        start=datetime(2023, 9, 27, 12, 0, tzinfo=timezone.utc),
        end=end,
        station=Station(id=4, name="International Space Station"),
        crew=tuple(CrewMember(flight_id=index, astronaut=astronaut) for index in range(crew_size)),
    )


def test_search_embed_crew_count_in_words() -> None:
    page = SearchPage(
        total=3,
        offset=0,
        expeditions=(make_expedition("A"), make_expedition("B", crew_size=1), make_expedition("C", crew_size=100)),
    )
    description = build_search_embed(page, "x", page_size=5, synced_at=None).description or ""

    assert "Crew: none listed" in description
    assert "Crew: 1 person" in description
    assert "Crew: 100 people" in description


def test_search_embed_escapes_markdown_name() -> None:
    page = SearchPage(total=1, offset=0, expeditions=(make_expedition("**Bold** _x_ @everyone <@&5>"),))
    description = build_search_embed(page, "x", page_size=5, synced_at=None).description or ""

    assert "\\*\\*Bold\\*\\* \\_x\\_" in description
    assert RAW_MENTION.search(description) is None


def test_search_embed_long_name_ends_in_ellipsis() -> None:
    page = SearchPage(total=1, offset=0, expeditions=(make_expedition("Expedition " * 800),))
    description = build_search_embed(page, "x", page_size=5, synced_at=None).description or ""
    first_line = description.splitlines()[0]

    assert first_line.endswith(f"{ELLIPSIS}**")
    assert len(first_line) < 300


def test_search_embed_without_sync_says_so() -> None:
    page = SearchPage(total=1, offset=0, expeditions=(make_expedition("A"),))
    embed = build_search_embed(page, "x", page_size=5, synced_at=None)

    assert "not synced yet" in (embed.footer.text or "")
    assert embed.timestamp is None


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(SHORT_TEXT, LONG_TEXT), limit=st.integers(min_value=1, max_value=5000))
def test_truncate_respects_limit(text: str, limit: int) -> None:
    cut = truncate(text, limit)

    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
    else:
        assert cut.endswith(ELLIPSIS)
        assert text.startswith(cut[: -len(ELLIPSIS)])


def test_truncate_drops_dangling_backslash() -> None:
    assert truncate("abc\\*def", 5) == "abc…"


def test_truncate_rejects_zero_limit() -> None:
    with pytest.raises(ValueError):
        truncate("abc", 0)


@settings(max_examples=300, deadline=None)
@given(text=SHORT_TEXT)
def test_escape_text_leaves_no_mention(text: str) -> None:
    escaped = escape_text(text)

    assert_safe_text(escaped)
    assert "\n" not in escaped


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x00b", "a b"),
        ("line one\nline two", "line one line two"),
        ("\u202eevil", "evil"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("  spaced \t out  ", "spaced out"),
        ("Expedition 72 \U0001f680", "Expedition 72 \U0001f680"),
    ],
)
def test_clean_text_cases(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


PART_TEXT = st.tuples(st.sampled_from(["a", "@everyone ", "**", "é", "\U0001f680"]), st.integers(0, 7000)).map(
    lambda parts: parts[0] * parts[1]
)


@st.composite
def raw_embeds(draw: st.DrawFn) -> discord.Embed:
    embed = discord.Embed(title=draw(PART_TEXT) or None, description=draw(PART_TEXT) or None)
    for _ in range(draw(st.integers(min_value=0, max_value=30))):
        embed.add_field(name=draw(PART_TEXT), value=draw(PART_TEXT), inline=draw(st.booleans()))
    if draw(st.booleans()):
        embed.set_footer(text=draw(PART_TEXT))
    if draw(st.booleans()):
        embed.set_author(name=draw(PART_TEXT))
    return embed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(embed=raw_embeds())
def test_enforce_limits_on_any_embed(embed: discord.Embed) -> None:
    originals = {"title": embed.title or "", "description": embed.description or ""}
    data = enforce_limits(embed).to_dict()

    assert_embed_within_limits(data)
    for key, original in originals.items():
        rendered = data.get(key) or ""
        if rendered and rendered != original:
            assert rendered.endswith(ELLIPSIS)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(embeds=st.lists(raw_embeds(), max_size=14))
def test_fit_message_within_message_limits(embeds: list[discord.Embed]) -> None:
    fitted = fit_message(embeds)

    assert_message_within_limits([embed.to_dict() for embed in fitted])
    assert all(kept is original for kept, original in zip(fitted, embeds))
    if embeds:
        assert len(fitted) >= 1


def test_embed_length_counts_discord_parts() -> None:
    embed = discord.Embed(title="ab", description="cde", url="https://example.invalid/not-counted")
    embed.add_field(name="f", value="gh")
    embed.set_footer(text="ijkl")
    embed.set_author(name="m")

    assert embed_length(embed) == 13
    assert embed_length(embed.to_dict()) == 13


@pytest.mark.parametrize(
    ("thumbnail", "image", "expected"),
    [
        (THUMBNAIL, IMAGE, THUMBNAIL),
        (None, IMAGE, IMAGE),
        ("javascript:alert(1)", None, None),
        ("https://example.invalid/with space.png", IMAGE, IMAGE),
        (None, None, None),
    ],
)
def test_station_thumbnail_fallbacks(thumbnail: str | None, image: str | None, expected: str | None) -> None:
    station = Station(id=1, name="Tiangong", thumbnail_url=thumbnail, image_url=image)
    assert station_thumbnail_url(station) == expected


@pytest.mark.parametrize(
    ("offset", "total", "page_size", "number", "count"),
    [(0, 0, 5, 1, 1), (0, 5, 5, 1, 1), (5, 6, 5, 2, 2), (30, 31, 5, 7, 7), (-3, 10, 5, 1, 2)],
)
def test_page_math(offset: int, total: int, page_size: int, number: int, count: int) -> None:
    assert page_number(offset, page_size) == number
    assert page_count(total, page_size) == count


def test_embed_texts_reads_every_part() -> None:
    # Guards the shared checker: a part it skipped would let a raw mention pass unnoticed.
    embed = discord.Embed(title="t", description="d")
    embed.add_field(name="n", value="v")
    embed.set_footer(text="f")
    embed.set_author(name="a")

    assert sorted(embed_texts(embed.to_dict())) == ["a", "d", "f", "n", "t", "v"]
