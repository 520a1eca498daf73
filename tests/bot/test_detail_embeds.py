"""Tests of the one-expedition embeds: examples for the layout, generated records for the limits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.detail_embeds import (
    build_expedition_embeds,
    describe_iso_duration,
    expedition_status,
    flag_emoji,
)
from storage.records import (
    Agency,
    Astronaut,
    CrewMember,
    Expedition,
    MissionPatch,
    Nationality,
    Spacewalk,
    Station,
)
from tests.bot.embed_checks import (
    assert_message_within_limits,
    assert_payload_sendable,
    assert_safe_text,
    embed_texts,
)
from tests.bot.test_embeds import (
    EMBED_SETTINGS,
    NAME_TEXT,
    SHORT_TEXT,
    SYNCED_AT,
    URL_CHOICES,
    UTC_DATETIMES,
    stations,
)

NOW = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)
SYNCED = datetime(2026, 7, 23, 9, 30, tzinfo=timezone.utc)

ISS = Station(id=4, name="International Space Station", thumbnail_url="https://example.invalid/iss-thumb.png")
NASA = Agency(id=44, name="National Aeronautics and Space Administration", abbrev="NASA")
ROSCOSMOS = Agency(id=63, name="Russian Federal Space Agency (ROSCOSMOS)", abbrev="RFSA")


def patch(patch_id: int, priority: int | None) -> MissionPatch:
    return MissionPatch(id=patch_id, name=f"Patch {patch_id}", image_url=f"https://example.invalid/p{patch_id}.png",
                        priority=priority)


def full_expedition(**changes: object) -> Expedition:
    crew = (
        CrewMember(1, Astronaut(1, "Oleg Kononenko", ROSCOSMOS, (Nationality("Russian", "RU"),)), "Commander", 1),
        CrewMember(2, Astronaut(2, "Sunita Williams", NASA, (Nationality("American", "US"),)), "Flight Engineer", 2),
        CrewMember(3, Astronaut(3, "Nick Hague", NASA, (Nationality("American", "US"),)), "Flight Engineer", 2),
    )
    values = dict(
        id=72,
        name="Expedition 72",
        start=datetime(2024, 9, 23, tzinfo=timezone.utc),
        end=datetime(2025, 4, 19, tzinfo=timezone.utc),
        station=ISS,
        crew=crew,
        mission_patches=(patch(8, 2), patch(7, 0), patch(9, None)),
        spacewalks=(Spacewalk(5, "US EVA 91", start=datetime(2025, 1, 16, tzinfo=timezone.utc), duration="PT6H0M"),),
    )
    values.update(changes)
    return Expedition(**values)


def payloads(expedition: Expedition, synced_at: datetime | None = SYNCED) -> list[dict]:
    return [embed.to_dict() for embed in build_expedition_embeds(expedition, synced_at=synced_at, now=NOW)]


def test_layout_of_full_record() -> None:
    first, *extras = payloads(full_expedition())

    assert first["title"] == "Expedition 72"
    assert first["thumbnail"]["url"] == ISS.thumbnail_url
    assert first["image"]["url"] == "https://example.invalid/p7.png"
    assert [extra["image"]["url"] for extra in extras] == ["https://example.invalid/p8.png",
                                                         "https://example.invalid/p9.png"]
    assert "**Start:** <t:1727049600:F> (<t:1727049600:R>)" in first["description"]
    assert "**Status:** ended" in first["description"]
    assert "**Duration:** 208 days" in first["description"]
    assert first["timestamp"].startswith("2026-07-23T09:30:00")
    assert all(not field.get("inline") for field in first["fields"])


def test_crew_grouped_by_role_with_flags() -> None:
    fields = payloads(full_expedition())[0]["fields"]

    assert [field["name"] for field in fields] == ["Commander (1)", "Flight Engineer (2)", "Spacewalks (1)"]
    assert fields[0]["value"] == "\U0001f1f7\U0001f1fa Oleg Kononenko · RFSA"
    assert fields[1]["value"].splitlines() == ["\U0001f1fa\U0001f1f8 Sunita Williams · NASA",
                                               "\U0001f1fa\U0001f1f8 Nick Hague · NASA"]
    assert "6 h 0 min" in fields[2]["value"]


def test_minimal_record_renders() -> None:
    bare = Expedition(id=1, name="Bare", start=datetime(2030, 1, 1, tzinfo=timezone.utc), station=Station(id=1, name=""))

    (embed,) = payloads(bare, synced_at=None)

    assert "thumbnail" not in embed
    assert "image" not in embed
    assert "fields" not in embed
    assert "**Status:** upcoming" in embed["description"]
    assert "no end date yet" in embed["description"]
    assert "not synced yet" in embed["footer"]["text"]


def test_started_without_end_is_ongoing() -> None:
    ongoing = full_expedition(end=None, start=NOW - timedelta(days=10))

    description = payloads(ongoing)[0]["description"]

    assert "**Status:** on-going" in description
    assert "**Duration:** 10 days so far" in description


def test_future_end_is_ongoing() -> None:
    assert expedition_status(full_expedition(start=NOW - timedelta(days=1), end=NOW + timedelta(days=1)), NOW) == "on-going"


def test_flag_emoji() -> None:
    assert flag_emoji("fr") == "\U0001f1eb\U0001f1f7"
    assert [flag_emoji(code) for code in (None, "", "USA", "1A", "É")] == ["", "", "", "", ""]


def test_iso_duration() -> None:
    assert describe_iso_duration("P1DT2H5M") == "26 h 5 min"
    assert describe_iso_duration("soon") is None


def test_large_crew_ends_with_count() -> None:
    crew = tuple(CrewMember(index, Astronaut(index, f"Astronaut Number {index:03d}", NASA), "Operator", 3)
                 for index in range(100))

    value = payloads(full_expedition(crew=crew))[0]["fields"][0]["value"]

    assert len(value) <= 1024
    assert value.splitlines()[0] == "Astronaut Number 000 · NASA"
    listed_count = len(value.splitlines()) - 1
    assert value.splitlines()[-1] == f"… and {100 - listed_count} more"


def test_at_most_ten_embeds() -> None:
    many = full_expedition(mission_patches=tuple(patch(index, index) for index in range(30)))

    assert len(payloads(many)) == 10


@st.composite
def crew_members(draw: st.DrawFn, index: int) -> CrewMember:
    agency = draw(st.one_of(st.none(), st.builds(Agency, st.just(index), SHORT_TEXT, st.one_of(st.none(), SHORT_TEXT))))
    codes = st.one_of(st.none(), st.sampled_from(["US", "ru", "XX", "", "USA", "🇺"]), SHORT_TEXT)
    nationalities = draw(st.lists(st.builds(Nationality, SHORT_TEXT, codes), max_size=3))
    astronaut = Astronaut(index, draw(NAME_TEXT), agency, tuple(nationalities))
    role = draw(st.one_of(st.none(), st.sampled_from(["Commander", "Flight Engineer"]), SHORT_TEXT))
    return CrewMember(index, astronaut, role, draw(st.one_of(st.none(), st.integers(-5, 5))))


@st.composite
def detailed_expeditions(draw: st.DrawFn) -> Expedition:
    size = draw(st.one_of(st.sampled_from([0, 100]), st.integers(min_value=0, max_value=12)))
    crew = tuple(draw(crew_members(index)) for index in range(size))
    patches = draw(st.lists(
        st.builds(MissionPatch, st.integers(1, 1000), NAME_TEXT, URL_CHOICES.map(lambda url: url or ""),
                  st.one_of(st.none(), st.integers(-3, 3))),
        max_size=14,
    ))
    spacewalks = draw(st.lists(
        st.builds(Spacewalk, st.integers(1, 1000), NAME_TEXT, st.one_of(st.none(), UTC_DATETIMES),
                  st.none(), st.one_of(st.none(), st.just("PT6H30M"), SHORT_TEXT)),
        max_size=40,
    ))
    return Expedition(
        id=draw(st.integers(min_value=1, max_value=1_000_000)),
        name=draw(NAME_TEXT),
        start=draw(UTC_DATETIMES),
        end=draw(st.one_of(st.none(), UTC_DATETIMES)),
        station=draw(stations()),
        crew=crew,
        mission_patches=tuple(patches),
        spacewalks=tuple(spacewalks),
    )


@EMBED_SETTINGS
@given(detailed_expeditions(), SYNCED_AT, UTC_DATETIMES)
def test_generated_records_fit_discord(expedition: Expedition, synced_at: datetime | None, now: datetime) -> None:
    built = [embed.to_dict() for embed in build_expedition_embeds(expedition, synced_at=synced_at, now=now)]

    assert built, "the first embed must always be there"
    assert_message_within_limits(built)
    for data in built:
        assert_payload_sendable(data)
        for text in embed_texts(data):
            assert_safe_text(text, allow_newlines=True)


def test_title_links_to_ll2() -> None:
    linked = full_expedition(url="https://ll.thespacedevs.com/2.3.0/expeditions/165/")
    unsafe = full_expedition(url="javascript:alert(1)")

    assert payloads(linked)[0]["url"] == "https://ll.thespacedevs.com/2.3.0/expeditions/165/"
    assert "url" not in payloads(unsafe)[0]
