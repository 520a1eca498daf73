"""Tests of the browse queries: a station's expeditions by time, an astronaut's flights, who is aboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage.browse import TimeFilter
from storage.database import ExpeditionStore
from storage.records import Astronaut, CrewMember, Expedition, Station

NOW = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)

ALPHA = Station(id=1, name="Alpha Station")
BETA = Station(id=2, name="Beta Station")
ANNA = Astronaut(id=10, name="Anna Ivanova")
BORIS = Astronaut(id=11, name="Boris Lee")


def utc(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


def expedition(expedition_id: int, station: Station, start: datetime, end: datetime | None,
               crew: tuple[Astronaut, ...] = ()) -> Expedition:
    seats = tuple(
        CrewMember(flight_id=expedition_id * 10 + index, astronaut=astronaut, role="Commander" if index == 0 else None)
        for index, astronaut in enumerate(crew)
    )
    return Expedition(id=expedition_id, name=f"Expedition {expedition_id}", start=start, end=end,
                      station=station, crew=seats)


# On Alpha: 1 past, 2 ended exactly at NOW, 3 on-going without end, 4 on-going with a later end,
# 5 upcoming. On Beta: 6 past, 7 on-going.
RECORDS = [
    expedition(1, ALPHA, utc(2020), utc(2020, 6), (ANNA,)),
    expedition(2, ALPHA, utc(2026, 1), NOW, (ANNA, BORIS)),
    expedition(3, ALPHA, utc(2026, 5), None, (BORIS,)),
    expedition(4, ALPHA, utc(2026, 6), utc(2026, 12), ()),
    expedition(5, ALPHA, utc(2027), None, (ANNA,)),
    expedition(6, BETA, utc(2010), utc(2010, 6), (ANNA,)),
    expedition(7, BETA, utc(2025), utc(2027), (BORIS,)),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExpeditionStore]:
    opened = ExpeditionStore.open(tmp_path / "mirror.sqlite3")
    opened.save_expeditions(RECORDS)
    yield opened
    opened.close()


def listed_ids(store: ExpeditionStore, station_id: int, when: TimeFilter, **page: int) -> list[int]:
    return [item.id for item in store.station_expeditions(station_id, when=when, now=NOW, **page).expeditions]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (TimeFilter.ALL, [5, 4, 3, 2, 1]),
        (TimeFilter.ONGOING, [4, 3]),
        (TimeFilter.UPCOMING, [5]),
        (TimeFilter.PAST, [2, 1]),
    ],
)
def test_station_filter_by_time(store: ExpeditionStore, when: TimeFilter, expected: list[int]) -> None:
    assert listed_ids(store, ALPHA.id, when) == expected


def test_station_page_total_and_offset(store: ExpeditionStore) -> None:
    page = store.station_expeditions(ALPHA.id, when=TimeFilter.ALL, now=NOW, offset=2, limit=2)

    assert page.total == 5
    assert page.offset == 2
    assert [item.id for item in page.expeditions] == [3, 2]


def test_station_unknown_is_empty(store: ExpeditionStore) -> None:
    page = store.station_expeditions(999, when=TimeFilter.ALL, now=NOW)

    assert page.total == 0
    assert page.expeditions == ()


def test_astronaut_flights_newest_first(store: ExpeditionStore) -> None:
    page = store.astronaut_expeditions(ANNA.id, limit=3)

    assert page.total == 4
    assert [item.id for item in page.expeditions] == [5, 2, 1]
    assert store.astronaut_expeditions(ANNA.id, offset=3, limit=3).expeditions[0].id == 6


def test_ongoing_grouped_by_station(store: ExpeditionStore) -> None:
    assert [item.id for item in store.ongoing_expeditions(NOW)] == [4, 3, 7]


def test_ongoing_crew_loaded(store: ExpeditionStore) -> None:
    on_alpha = {item.id: item for item in store.ongoing_expeditions(NOW)}

    assert [seat.astronaut.name for seat in on_alpha[3].crew] == ["Boris Lee"]


def test_get_station_and_astronaut(store: ExpeditionStore) -> None:
    assert store.get_station(BETA.id) == BETA
    assert store.get_astronaut(ANNA.id) == ANNA
    assert store.get_station(999) is None
    assert store.get_astronaut(999) is None
