"""Saving records and reading them back."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from storage.database import ExpeditionStore, StoreCounts
from storage.records import Agency, Astronaut, CrewMember, Expedition, MissionPatch, Station
from tests.storage.conftest import RecordFactory


def sorted_like_store(expedition: Expedition) -> Expedition:
    """Return `expedition` with crew, patches and spacewalks in the documented read order."""
    def crew_key(member: CrewMember) -> tuple:
        priority = member.role_priority if member.role_priority is not None else float("inf")
        return (priority, member.astronaut.name.casefold(), member.astronaut.name, member.flight_id)

    def patch_key(patch: MissionPatch) -> tuple:
        return (patch.priority if patch.priority is not None else float("inf"), patch.id)

    def spacewalk_key(spacewalk) -> tuple:
        return (spacewalk.start is None, spacewalk.start or datetime.min.replace(tzinfo=timezone.utc),
                spacewalk.id)

    return dataclasses.replace(
        expedition,
        crew=tuple(sorted(expedition.crew, key=crew_key)),
        mission_patches=tuple(sorted(expedition.mission_patches, key=patch_key)),
        spacewalks=tuple(sorted(expedition.spacewalks, key=spacewalk_key)),
    )


def test_full_record_round_trip(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(crew_size=6)
    expedition = dataclasses.replace(
        expedition,
        mission_patches=(factory.patch(), factory.patch(), factory.patch()),
        spacewalks=(factory.spacewalk(expedition.start), factory.spacewalk(expedition.start)),
        end=expedition.start + timedelta(days=180),
    )

    store.save_expeditions([expedition])

    assert store.get_expedition(expedition.id) == sorted_like_store(expedition)


def test_minimal_record_round_trip(store: ExpeditionStore) -> None:
    expedition = Expedition(
        id=3,
        name="Salyut 1 crew",
        start=datetime(1971, 6, 7, 7, 45, tzinfo=timezone.utc),
        station=Station(id=1, name="Salyut 1"),
        crew=(CrewMember(flight_id=9, astronaut=Astronaut(id=2, name="Georgy Dobrovolsky")),),
    )
    empty = Expedition(id=4, name="Empty", start=expedition.start, station=Station(id=1, name="Salyut 1"))

    store.save_expeditions([expedition, empty])

    assert store.get_expedition(3) == expedition
    assert store.get_expedition(4) == empty


def test_round_trip_keeps_odd_text(store: ExpeditionStore, factory: RecordFactory) -> None:
    odd_name = "Ex\x00pé\u0301dition 'x' \"y\" 🚀 ﬁ Straße\r\nΣ"
    astronaut = factory.astronaut(name="Ø\u0308 %_ 'OR 1=1 --", bio=None)
    expedition = factory.expedition(name=odd_name, crew=(factory.seat(astronaut),))

    store.save_expeditions([expedition])

    assert store.get_expedition(expedition.id) == sorted_like_store(expedition)


def test_lone_surrogate_becomes_replacement(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(name="Broken \ud800 name")

    store.save_expeditions([expedition])

    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert stored.name == "Broken \ufffd name"


def test_datetimes_read_back_in_utc(store: ExpeditionStore, factory: RecordFactory) -> None:
    moscow = timezone(timedelta(hours=3))
    start = datetime(2001, 3, 21, 8, 0, 0, 123456, tzinfo=moscow)
    expedition = factory.expedition(start=start, end=None, spacewalks=())

    store.save_expeditions([expedition])

    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert stored.start == start
    assert stored.start.utcoffset() == timedelta(0)


def test_naive_datetime_rolls_back_batch(
    store: ExpeditionStore, factory: RecordFactory
) -> None:
    good = factory.expedition()
    naive = factory.expedition(start=datetime(2000, 11, 2))

    with pytest.raises(ValueError, match="no time zone"):
        store.save_expeditions([good, naive])

    assert store.expedition_ids() == []
    assert store.counts() == StoreCounts(expeditions=0, stations=0, astronauts=0, crew_seats=0)


def test_crew_sorted_by_priority_then_name(store: ExpeditionStore) -> None:
    station = Station(id=4, name="International Space Station")
    crew = (
        CrewMember(1, Astronaut(1, "Zoe Zed"), "Flight Engineer", 2),
        CrewMember(2, Astronaut(2, "ángel Alba"), "Flight Engineer", 2),
        CrewMember(3, Astronaut(3, "Mike Major"), "Commander", 1),
        CrewMember(4, Astronaut(4, "Nora None"), None, None),
        CrewMember(5, Astronaut(5, "Bob Brown"), "Flight Engineer", 2),
    )
    store.save_expeditions([Expedition(1, "Expedition 1", datetime(2000, 11, 2, tzinfo=timezone.utc),
                                       station, crew=crew)])

    stored = store.get_expedition(1)

    assert stored is not None
    assert [member.astronaut.name for member in stored.crew] == [
        "Mike Major", "Bob Brown", "Zoe Zed", "ángel Alba", "Nora None",
    ]


def test_patches_sorted_by_priority(store: ExpeditionStore, factory: RecordFactory) -> None:
    patches = (
        MissionPatch(5, "late", "https://p.example/5.png", None),
        MissionPatch(6, "second", "https://p.example/6.png", 10),
        MissionPatch(7, "first", "https://p.example/7.png", 1),
    )
    expedition = factory.expedition(mission_patches=patches)

    store.save_expeditions([expedition])

    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert [patch.id for patch in stored.mission_patches] == [7, 6, 5]


def test_unknown_expedition_is_none(store: ExpeditionStore, factory: RecordFactory) -> None:
    store.save_expeditions([factory.expedition(expedition_id=1)])

    assert store.get_expedition(2) is None


def test_ids_and_counts(store: ExpeditionStore) -> None:
    station = Station(4, "International Space Station")
    shared = Astronaut(1, "Peggy Whitson", Agency(44, "National Aeronautics and Space Administration", "NASA"))
    first = Expedition(30, "Expedition 5", datetime(2002, 6, 7, tzinfo=timezone.utc), station,
                       crew=(CrewMember(1, shared, "Flight Engineer", 2),
                             CrewMember(2, Astronaut(2, "Valery Korzun"), "Commander", 1)))
    second = Expedition(12, "Expedition 16", datetime(2007, 10, 10, tzinfo=timezone.utc), station,
                        crew=(CrewMember(3, shared, "Commander", 1),))

    store.save_expeditions([first, second])

    assert store.expedition_ids() == [12, 30]
    assert store.counts() == StoreCounts(expeditions=2, stations=1, astronauts=2, crew_seats=3)
