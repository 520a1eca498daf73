"""Record factory and store fixtures for the storage tests."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.database import ExpeditionStore
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

FIRST_NAMES = [
    "Yuri", "Valentina", "Jérôme", "Søren", "Zhai", "Wang", "Sunita", "Chris", "Anna", "Oleg",
    "Samantha", "Koichi", "Peggy", "Sergei", "Nicole", "Matthias", "Thomas", "Hazzaa", "Aleksandr",
    "François", "Ülkü", "Łukasz", "Ñico", "Dumitru",
]
LAST_NAMES = [
    "Gagarin", "Tereshkova", "Chrétien", "Mogensen", "Zhigang", "Yaping", "Williams", "Hadfield",
    "Kikina", "Kononenko", "Cristoforetti", "Wakata", "Whitson", "Krikalev", "Stott", "Maurer",
    "Pesquet", "Al Mansoori", "Skvortsov", "Nuñez", "Prunariu", "Kórnienko", "Uznański",
]
AGENCIES = [
    Agency(44, "National Aeronautics and Space Administration", "NASA"),
    Agency(63, "Russian Federal Space Agency (ROSCOSMOS)", "RFSA"),
    Agency(17, "China National Space Administration", "CNSA"),
    Agency(27, "European Space Agency", "ESA"),
    Agency(37, "Japan Aerospace Exploration Agency", "JAXA"),
    Agency(16, "Canadian Space Agency", "CSA"),
    Agency(1021, "Mohammed bin Rashid Space Centre", None),
]
NATIONALITIES = [
    Nationality("American", "US"), Nationality("Russian", "RU"), Nationality("Chinese", "CN"),
    Nationality("French", "FR"), Nationality("Japanese", "JP"), Nationality("Italian", "IT"),
    Nationality("Danish", "DK"), Nationality("Emirati", "AE"), Nationality("Canadian", "CA"),
    Nationality("Polish", "PL"), Nationality("Romanian", "RO"), Nationality("Kazakh", None),
]
STATIONS = [
    (4, "International Space Station"), (18, "Tiangong space station"), (6, "Mir"),
    (10, "Salyut 7"), (12, "Skylab"), (9, "Salyut 6"),
]
ROLES = [("Commander", 1), ("Flight Engineer", 2), ("Spaceflight Participant", 3), ("Operator", None)]


class RecordFactory:
    """Builds varied, valid records from a seeded random generator; ids never repeat."""

    def __init__(self, seed: int = 0) -> None:
        self.random = random.Random(seed)
        self._next_id = {"astronaut": 1, "expedition": 1, "flight": 1, "patch": 1, "spacewalk": 1}

    def next_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    def station(self, station_id: int | None = None, name: str | None = None) -> Station:
        chosen_id, chosen_name = self.random.choice(STATIONS)
        station_id = chosen_id if station_id is None else station_id
        return Station(
            id=station_id,
            name=name or chosen_name,
            status="Active",
            image_url=f"https://images.example/stations/{station_id}.jpg",
            thumbnail_url=f"https://images.example/stations/{station_id}-thumb.jpg",
            orbit="Low Earth Orbit",
            founded="1998-11-20",
            description=f"Station {station_id}, a crewed outpost in orbit.",
        )

    def astronaut(self, name: str | None = None, **overrides: object) -> Astronaut:
        astronaut_id = self.next_id("astronaut")
        nationalities = tuple(self.random.sample(NATIONALITIES, self.random.choice([0, 1, 1, 2])))
        values: dict[str, object] = {
            "id": astronaut_id,
            "name": name or f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}",
            "agency": self.random.choice([*AGENCIES, None]),
            "nationalities": nationalities,
            "status": self.random.choice(["Active", "Retired", "Deceased", None]),
            "image_url": f"https://images.example/astronauts/{astronaut_id}.jpg",
            "thumbnail_url": self.random.choice([None, f"https://images.example/a/{astronaut_id}-t.jpg"]),
            "bio": "Flew to orbit.\r\nЛетал в космос. 曾经飞上太空。",
            "wiki_url": None,
        }
        values.update(overrides)
        return Astronaut(**values)  # type: ignore[arg-type]

    def seat(self, astronaut: Astronaut | None = None) -> CrewMember:
        role, priority = self.random.choice(ROLES)
        return CrewMember(
            flight_id=self.next_id("flight"),
            astronaut=astronaut or self.astronaut(),
            role=role,
            role_priority=priority,
        )

    def patch(self) -> MissionPatch:
        patch_id = self.next_id("patch")
        return MissionPatch(
            id=patch_id,
            name=f"Patch {patch_id}",
            image_url=f"https://images.example/patches/{patch_id}.png",
            priority=self.random.choice([None, 1, 5, 10]),
            agency_name=self.random.choice([None, "NASA", "ESA"]),
        )

    def spacewalk(self, start: datetime) -> Spacewalk:
        spacewalk_id = self.next_id("spacewalk")
        walk_start = start + timedelta(days=self.random.randint(1, 90), minutes=self.random.randint(0, 1439))
        return Spacewalk(
            id=spacewalk_id,
            name=f"US EVA {spacewalk_id}",
            start=walk_start,
            end=walk_start + timedelta(hours=6, minutes=30),
            duration="PT6H30M",
            location="Quest airlock",
        )

    def start(self) -> datetime:
        base = datetime(1971, 4, 19, tzinfo=timezone.utc)
        return base + timedelta(days=self.random.randint(0, 20000), seconds=self.random.randint(0, 86399))

    def expedition(
        self,
        *,
        expedition_id: int | None = None,
        name: str | None = None,
        crew_size: int | None = None,
        station: Station | None = None,
        **overrides: object,
    ) -> Expedition:
        expedition_id = self.next_id("expedition") if expedition_id is None else expedition_id
        start = self.start()
        size = self.random.randint(1, 7) if crew_size is None else crew_size
        values: dict[str, object] = {
            "id": expedition_id,
            "name": name or f"Expedition {expedition_id}",
            "start": start,
            "station": station or self.station(),
            "end": self.random.choice([None, start + timedelta(days=self.random.randint(10, 200))]),
            "url": f"https://ll2.example/2.3.0/expeditions/{expedition_id}/",
            "crew": tuple(self.seat() for _ in range(size)),
            "mission_patches": tuple(self.patch() for _ in range(self.random.randint(0, 3))),
            "spacewalks": tuple(self.spacewalk(start) for _ in range(self.random.randint(0, 2))),
        }
        values.update(overrides)
        return Expedition(**values)  # type: ignore[arg-type]

    def expeditions(self, count: int) -> list[Expedition]:
        return [self.expedition() for _ in range(count)]


@pytest.fixture
def factory() -> RecordFactory:
    return RecordFactory(seed=7)


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    # A folder that does not exist yet, so opening the store must create it.
    return tmp_path / "data" / "mirror.sqlite"


@pytest.fixture
def store(database_path: Path) -> Iterator[ExpeditionStore]:
    opened = ExpeditionStore.open(database_path)
    yield opened
    opened.close()
