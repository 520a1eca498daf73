"""A small real mirror (SQLite in a temporary folder) for the command and search answer tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage.database import ExpeditionStore
from storage.records import Agency, Astronaut, CrewMember, Expedition, Nationality, Station

LAST_SYNC = datetime(2026, 7, 23, 9, 30, tzinfo=timezone.utc)

ISS = Station(
    id=4,
    name="International Space Station",
    thumbnail_url="https://example.invalid/iss-thumb.png",
    image_url="https://example.invalid/iss.png",
)
TIANGONG = Station(id=18, name="Tiangong Space Station", image_url="https://example.invalid/tiangong.png")

KONONENKO = Astronaut(
    id=1,
    name="Oleg Kononenko",
    agency=Agency(id=63, name="Russian Federal Space Agency (ROSCOSMOS)", abbrev="RFSA"),
    nationalities=(Nationality("Russian", "RU"),),
)
WILLIAMS = Astronaut(
    id=2,
    name="Sunita Williams",
    agency=Agency(id=44, name="National Aeronautics and Space Administration", abbrev="NASA"),
    nationalities=(Nationality("American", "US"),),
)
JING = Astronaut(
    id=3,
    name="Jing Haipeng",
    agency=Agency(id=1022, name="China National Space Administration", abbrev="CNSA"),
    nationalities=(Nationality("Chinese", "CN"),),
)

# Expeditions with Kononenko aboard: twelve numbered ones plus one with hostile text in its name.
KONONENKO_EXPEDITIONS = 13


def build_expeditions() -> list[Expedition]:
    """Return 13 ISS expeditions with Kononenko aboard and 2 Tiangong expeditions, the newest without an end."""
    expeditions = []
    for number in range(1, 13):
        crew = [CrewMember(flight_id=number * 10, astronaut=KONONENKO, role="Commander", role_priority=0)]
        if number % 2 == 0:
            crew.append(CrewMember(flight_id=number * 10 + 1, astronaut=WILLIAMS, role="Flight Engineer"))
        expeditions.append(
            Expedition(
                id=number,
                name=f"Expedition {number}",
                start=datetime(2000 + number, 3, 1, tzinfo=timezone.utc),
                end=datetime(2000 + number, 9, 1, tzinfo=timezone.utc),
                station=ISS,
                crew=tuple(crew),
            )
        )

    expeditions.append(
        Expedition(
            id=50,
            name="Expedition 13 @everyone <@&5> **loud**",
            start=datetime(1999, 1, 1, tzinfo=timezone.utc),
            end=datetime(1999, 6, 1, tzinfo=timezone.utc),
            station=ISS,
            crew=(CrewMember(flight_id=500, astronaut=KONONENKO),),
        )
    )
    for number, end in ((15, datetime(2023, 6, 1, tzinfo=timezone.utc)), (16, None)):
        expeditions.append(
            Expedition(
                id=100 + number,
                name=f"Shenzhou {number}",
                start=datetime(2022 + number - 15, 11, 29, tzinfo=timezone.utc),
                end=end,
                station=TIANGONG,
                crew=(CrewMember(flight_id=1000 + number, astronaut=JING, role="Commander"),),
            )
        )
    return expeditions


def open_filled_store(path: Path) -> ExpeditionStore:
    """Open a store at `path` holding `build_expeditions()` and a recorded last sync."""
    store = ExpeditionStore.open(path)
    store.save_expeditions(build_expeditions())
    store.set_state("last_sync_finished_at", LAST_SYNC.isoformat())
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExpeditionStore]:
    """A filled mirror that the test may change."""
    filled = open_filled_store(tmp_path / "mirror.sqlite3")
    yield filled
    filled.close()


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExpeditionStore]:
    """A filled mirror shared by a module's tests, for Hypothesis, which runs a test many times.

    Tests that use it must not change it.
    """
    filled = open_filled_store(tmp_path_factory.mktemp("mirror") / "mirror.sqlite3")
    yield filled
    filled.close()
