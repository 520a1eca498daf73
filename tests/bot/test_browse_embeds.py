"""Tests of the station, crew and current embeds, and of the crew names in search results."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.browse_embeds import (
    NOBODY_ABOARD,
    build_crew_embed,
    build_current_embeds,
    build_station_embed,
    roles_of,
)
from bot.embeds import build_search_embed, format_search_result
from bot.views import select_option
from storage.browse import TimeFilter
from storage.records import Agency, Astronaut, CrewMember, Expedition, Nationality, SearchPage, Station
from tests.bot.embed_checks import (
    assert_message_within_limits,
    assert_payload_sendable,
    assert_safe_text,
    embed_texts,
)
from tests.bot.test_detail_embeds import ISS, NOW, SYNCED, detailed_expeditions
from tests.bot.test_embeds import (
    EMBED_SETTINGS,
    LIGHT_SETTINGS,
    NAME_TEXT,
    SHORT_TEXT,
    SYNCED_AT,
    URL_CHOICES,
    UTC_DATETIMES,
    stations,
)

KELLY = Astronaut(
    id=7,
    name="Scott Kelly",
    agency=Agency(id=44, name="National Aeronautics and Space Administration", abbrev="NASA"),
    nationalities=(Nationality("American", "US"),),
    image_url="https://example.invalid/kelly.png",
)
KORNIENKO = Astronaut(id=8, name="Mikhail Kornienko", agency=Agency(id=63, name="Roscosmos", abbrev="RFSA"))
SPARSE = Astronaut(id=9, name="Nobody Known")


def seat(flight_id: int, astronaut: Astronaut, role: str | None, priority: int | None = None) -> CrewMember:
    return CrewMember(flight_id=flight_id, astronaut=astronaut, role=role, role_priority=priority)


EXPEDITION_46 = Expedition(
    id=46,
    name="Expedition 46",
    start=datetime(2015, 12, 11, tzinfo=timezone.utc),
    end=datetime(2016, 3, 2, tzinfo=timezone.utc),
    station=ISS,
    crew=(seat(1, KELLY, "Commander", 0), seat(2, KORNIENKO, "Flight Engineer", 1), seat(3, SPARSE, None)),
)
ONGOING = Expedition(
    id=73,
    name="Expedition 73",
    start=datetime(2026, 4, 1, tzinfo=timezone.utc),
    station=ISS,
    crew=(seat(4, SPARSE, None), seat(5, KELLY, "Commander", 0)),
)


def page_of(*expeditions: Expedition, total: int | None = None, offset: int = 0) -> SearchPage:
    return SearchPage(total=len(expeditions) if total is None else total, offset=offset,
                      expeditions=tuple(expeditions))


# Search results name the crew members the query matched.


def test_search_result_names_matched_member() -> None:
    block = format_search_result(EXPEDITION_46, 1, ["kelly"])

    assert "Crew: 3 people, including Scott Kelly" in block


def test_search_result_without_name_match() -> None:
    block = format_search_result(EXPEDITION_46, 1, ["nasa"])

    assert block.endswith("Crew: 3 people")


def test_search_result_names_two_then_counts() -> None:
    crowded = Expedition(id=1, name="Crowded", start=NOW, station=ISS, crew=tuple(
        seat(index, Astronaut(id=index, name=f"Ann Smith {index}"), None) for index in range(4)
    ))

    block = format_search_result(crowded, 1, ["smith"])

    assert block.endswith("including Ann Smith 0, Ann Smith 1 and 2 more")


def test_search_embed_escapes_matched_name() -> None:
    loud = Astronaut(id=1, name="**Loud** @everyone Kelly")
    expedition = Expedition(id=1, name="E", start=NOW, station=ISS, crew=(seat(1, loud, None),))

    description = build_search_embed(page_of(expedition), "kelly", page_size=5, synced_at=None).description or ""

    assert "including \\*\\*Loud\\*\\* @\u200beveryone Kelly" in description


def test_search_embed_matches_accents_folded() -> None:
    accented = Astronaut(id=1, name="Jérôme Péña")
    expedition = Expedition(id=1, name="E", start=NOW, station=ISS, crew=(seat(1, accented, None),))

    description = build_search_embed(page_of(expedition), "pena", page_size=5, synced_at=None).description or ""

    assert "including Jérôme Péña" in description


# Station listings.


def test_station_embed_layout() -> None:
    embed = build_station_embed(ISS, page_of(ONGOING, EXPEDITION_46, total=12, offset=5), when=TimeFilter.ALL,
                                page_size=5, synced_at=SYNCED, now=NOW).to_dict()

    assert embed["title"] == "International Space Station: all expeditions"
    assert embed["thumbnail"]["url"] == ISS.thumbnail_url
    assert "**6. Expedition 73**\nStatus: on-going" in embed["description"]
    assert "**7. Expedition 46**\nStatus: ended" in embed["description"]
    assert "page 2 of 3 · 12 expeditions" in embed["footer"]["text"]


def test_station_embed_without_image() -> None:
    embed = build_station_embed(Station(id=1, name="Bare"), page_of(EXPEDITION_46), when=TimeFilter.PAST,
                                page_size=5, synced_at=None, now=NOW).to_dict()

    assert "thumbnail" not in embed
    assert embed["title"] == "Bare: past"
    assert "not synced yet" in embed["footer"]["text"]


# Crew listings.


def test_crew_embed_lists_roles() -> None:
    embed = build_crew_embed(KELLY, page_of(ONGOING, EXPEDITION_46), page_size=5, synced_at=SYNCED,
                             now=NOW).to_dict()

    assert embed["title"] == "Expeditions of Scott Kelly"
    assert embed["thumbnail"]["url"] == KELLY.image_url
    assert embed["description"].startswith("🇺🇸 American · National Aeronautics and Space Administration (NASA)")
    assert "**1. Expedition 73**\nRole: Commander" in embed["description"]


def test_crew_embed_sparse_person() -> None:
    embed = build_crew_embed(SPARSE, page_of(EXPEDITION_46), page_size=5, synced_at=None, now=NOW).to_dict()

    assert "thumbnail" not in embed
    assert embed["description"].startswith("**1. Expedition 46**\nRole: Crew")


def test_roles_of_person_without_seat() -> None:
    assert roles_of(12345, EXPEDITION_46) == []


# Who is aboard.


def test_current_one_section_per_station() -> None:
    other = Station(id=18, name="Tiangong")
    shenzhou = Expedition(id=116, name="Shenzhou 16", start=NOW, station=other, crew=())

    embeds = [embed.to_dict() for embed in build_current_embeds([ONGOING, shenzhou], synced_at=SYNCED)]

    assert [embed["title"] for embed in embeds] == ["International Space Station", "Tiangong"]
    assert embeds[0]["description"].splitlines()[1] == "🇺🇸 Scott Kelly · NASA · Commander"
    assert embeds[0]["description"].splitlines()[2] == "Nobody Known · Crew"
    assert "No crew listed." in embeds[1]["description"]
    assert "footer" not in embeds[0]
    assert embeds[1]["footer"]["text"].startswith("Data: Launch Library 2")


def test_current_nobody_aboard() -> None:
    (embed,) = [embed.to_dict() for embed in build_current_embeds([], synced_at=None)]

    assert embed["description"] == NOBODY_ABOARD


def test_current_many_stations_capped() -> None:
    many = [
        Expedition(id=index, name=f"E{index}", start=NOW, station=Station(id=index, name=f"S{index}"))
        for index in range(14)
    ]

    embeds = [embed.to_dict() for embed in build_current_embeds(many, synced_at=SYNCED)]

    assert len(embeds) == 10
    assert "4 more stations not shown" in embeds[-1]["footer"]["text"]


# Generated records: every Discord limit, no raw mention, no control character.


def check_message(payloads: list[dict]) -> None:
    assert payloads
    assert_message_within_limits(payloads)
    for data in payloads:
        assert_payload_sendable(data)
        for text in embed_texts(data):
            assert_safe_text(text, allow_newlines=True)


@st.composite
def astronauts(draw: st.DrawFn) -> Astronaut:
    agency = draw(st.one_of(st.none(), st.builds(Agency, st.just(1), NAME_TEXT, st.one_of(st.none(), SHORT_TEXT))))
    codes = st.one_of(st.none(), st.sampled_from(["US", "cn", "XX", ""]), SHORT_TEXT)
    nationalities = draw(st.lists(st.builds(Nationality, SHORT_TEXT, codes), max_size=3))
    return Astronaut(
        id=draw(st.integers(min_value=1, max_value=1_000)),
        name=draw(NAME_TEXT),
        agency=agency,
        nationalities=tuple(nationalities),
        image_url=draw(URL_CHOICES),
        thumbnail_url=draw(URL_CHOICES),
        bio=draw(st.one_of(st.none(), NAME_TEXT)),
    )


@st.composite
def pages(draw: st.DrawFn) -> tuple[SearchPage, int]:
    page_size = draw(st.integers(min_value=1, max_value=10))
    shown = draw(st.lists(detailed_expeditions(), min_size=1, max_size=min(page_size, 3)))
    offset = draw(st.integers(min_value=0, max_value=40)) * page_size
    total = offset + len(shown) + draw(st.integers(min_value=0, max_value=300))
    return SearchPage(total=total, offset=offset, expeditions=tuple(shown)), page_size


@LIGHT_SETTINGS
@given(stations(), pages(), st.sampled_from(list(TimeFilter)), SYNCED_AT, UTC_DATETIMES)
def test_generated_station_embed_fits(station: Station, paged: tuple[SearchPage, int], when: TimeFilter,
                                      synced_at: datetime | None, now: datetime) -> None:
    page, page_size = paged

    embed = build_station_embed(station, page, when=when, page_size=page_size, synced_at=synced_at, now=now)

    check_message([embed.to_dict()])


@LIGHT_SETTINGS
@given(astronauts(), pages(), SYNCED_AT, UTC_DATETIMES)
def test_generated_crew_embed_fits(astronaut: Astronaut, paged: tuple[SearchPage, int],
                                   synced_at: datetime | None, now: datetime) -> None:
    page, page_size = paged

    embed = build_crew_embed(astronaut, page, page_size=page_size, synced_at=synced_at, now=now)

    check_message([embed.to_dict()])


@EMBED_SETTINGS
@given(st.lists(detailed_expeditions(), max_size=4), st.integers(min_value=1, max_value=3), SYNCED_AT)
def test_generated_current_embeds_fit(expeditions: list[Expedition], stations_count: int,
                                      synced_at: datetime | None) -> None:
    # Spread the expeditions over a few stations, so that some stations hold several of them.
    spread = [
        Expedition(id=index, name=item.name, start=item.start, end=item.end, crew=item.crew,
                   station=Station(id=index % stations_count, name=item.station.name,
                                   thumbnail_url=item.station.thumbnail_url))
        for index, item in enumerate(expeditions)
    ]

    check_message([embed.to_dict() for embed in build_current_embeds(spread, synced_at=synced_at)])


@LIGHT_SETTINGS
@given(detailed_expeditions(), SHORT_TEXT)
def test_generated_search_match_fits(expedition: Expedition, query: str) -> None:
    name = expedition.crew[0].astronaut.name if expedition.crew else query
    page = SearchPage(total=1, offset=0, expeditions=(expedition,))

    embed = build_search_embed(page, f"{query} {name[:40]}", page_size=5, synced_at=None)

    check_message([embed.to_dict()])


@LIGHT_SETTINGS
@given(detailed_expeditions())
def test_generated_menu_option_fits(expedition: Expedition) -> None:
    option = select_option(expedition).to_dict()

    assert 0 < len(option["label"]) <= 100
    assert 0 < len(option["description"]) <= 100
    assert option["value"] == str(expedition.id)
    # Menu texts are plain text that Discord never renders as mentions, so only control characters matter.
    for text in (option["label"], option["description"]):
        assert [character for character in text if unicodedata.category(character) == "Cc"] == []
        text.encode("utf-8")
