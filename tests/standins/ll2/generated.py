"""Generate invented but schema-valid LL2 expeditions, with no recorded data needed.

The output is deterministic per seed and covers the awkward cases a consumer must handle:
null end dates, missing images, astronauts without agency or nationality, accented names,
markdown characters and mass mentions. Records share nested objects (stations, astronauts,
roles, agencies) so that 100,000 expeditions build in a few seconds. Treat the result as
read-only, or copy a record before editing it.
"""

from __future__ import annotations

import gc
import logging
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from . import payloads
from .payloads import SYNTHETIC_API_BASE, SYNTHETIC_MEDIA_BASE

log = logging.getLogger(__name__)

REFERENCE_DATE = date(2026, 7, 1)

COUNTRIES = [
    # id, name, alpha-2, alpha-3, nationality name, composed form
    (2, "United States of America", "US", "USA", "American", "Americano"),
    (5, "Russia", "RU", "RUS", "Russian", "Russo"),
    (6, "China", "CN", "CHN", "Chinese", "Sino"),
    (8, "France", "FR", "FRA", "French", "Franco"),
    (9, "Japan", "JP", "JPN", "Japanese", "Japano"),
    (10, "Brazil", "BR", "BRA", "Brazilian", "Brazilo"),
    (11, "Canada", "CA", "CAN", "Canadian", "Canado"),
    (12, "Germany", "DE", "DEU", "German", "Germano"),
    (13, "Spain", "ES", "ESP", "Spanish", "Hispano"),
    (14, "India", "IN", "IND", "Indian", "Indo"),
]

AGENCIES = [
    # id, name, abbrev, type, country index
    (2001, "National Orbital Agency", "NOA", "Government", 0),
    (2002, "Kosmoflot", "KSF", "Government", 1),
    (2003, "Xingchen Space Administration", "XSA", "Government", 2),
    (2004, "Société Orbitale de Recherche", "SOR", "Government", 3),
    (2005, "Nihon Orbital Exploration", "NOX", "Government", 4),
    (2006, "Agência Espacial Austral", "AEA", "Government", 5),
    (2007, "Helios Commercial Spaceflight", "HCS", "Commercial", 0),
    (2008, "Polaris Private Voyages", "PPV", "Private", 6),
]

STATIONS = [
    # id, name, founded, deorbited, naming prefix, owner agency ids, has image
    (101, "Aurora Orbital Laboratory", "1996-03-02", None, "Aurora Expedition", (2001, 2002, 2005), True),
    (102, "Zvezdny Dom", "1979-05-11", "1994-02-20", "Zvezdny Dom EO-", (2002,), True),
    (103, "Xinghe Station", "2012-09-30", None, "Xinghe", (2003,), True),
    (104, "Estação Cruzeiro", "2004-07-19", "2023-11-05", "Cruzeiro Expedição", (2006, 2004), False),
    (105, "Halcyon Outpost", "2019-01-15", None, "Halcyon Increment", (2007, 2008), True),
    (106, "Borealis Lab", "1988-08-08", "1991-12-31", "Borealis Mission", None, False),
]

FIRST_NAMES = [
    "Anna", "Boris", "Chen", "Dmitri", "Elena", "Farah", "Gregory", "Hana", "Ivan", "Julia",
    "Kenji", "Li", "Marta", "Nikolai", "Olga", "Pedro", "Qing", "Rafael", "Sofia", "Tomasz",
    "Uma", "Viktor", "Wen", "Yuki", "Zhang", "José", "Jérôme", "Zoë", "Søren", "Łukasz",
]
LAST_NAMES = [
    "Alvarez", "Belov", "Carter", "Dubois", "Egorov", "Fischer", "Garcia", "Hoshino", "Ivanova",
    "Jensen", "Kowalski", "Liu", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
    "Sato", "Tkachenko", "Ueda", "Volkov", "Wang", "Xu", "Yamada", "Zhao", "Peña", "Lefèvre",
    "Müller", "Ñúñez",
]

# Astronauts placed at fixed pool positions so the escaping paths always have input.
SPECIAL_ASTRONAUTS = [
    ("José Peña", "Flew as the first Austral agency astronaut. Known as **Pepe** to the crew."),
    ("Jérôme Lefèvre", "Engineer and pilot; loves `printf` debugging and _long_ spacewalks."),
    ("@everyone", "An account name chosen to test mention escaping: @everyone @here <@123456789>."),
    ("Kai *Starlight* Tanaka", "Her bio has ||spoilers||, ~~strikes~~ and a [link](https://example.org)."),
    ("Mae_Jemison_Two", "Underscores_in_the_name and a > quote marker."),
]

# Expedition names placed at fixed positions, for the same reason.
SPECIAL_EXPEDITION_NAMES = {
    7: "Aurora Expedition *7* (\"lucky\")",
    11: "@everyone Increment",
    13: "Cruzeiro Expedição __13__ — Ñandú",
}


def country(index: int) -> dict[str, Any]:
    """Build the `Country` object at `index` of COUNTRIES."""
    country_id, name, alpha_2, alpha_3, nationality, composed = COUNTRIES[index]
    return {"id": country_id, "name": name, "alpha_2_code": alpha_2, "alpha_3_code": alpha_3,
            "nationality_name": nationality, "nationality_name_composed": composed}


def agency_mini(row: tuple[int, str, str, str, int]) -> dict[str, Any]:
    """Build an `AgencyMini` object."""
    agency_id, name, abbrev, kind, _ = row
    type_id = {"Government": 1, "Commercial": 3, "Private": 5}[kind]
    return {"response_mode": "list", "id": agency_id, "url": f"{SYNTHETIC_API_BASE}/agencies/{agency_id}/",
            "name": name, "abbrev": abbrev, "type": {"id": type_id, "name": kind}}


def agency_normal(row: tuple[int, str, str, str, int]) -> dict[str, Any]:
    """Build an `AgencyNormal` object, as station owners carry."""
    mini = agency_mini(row)
    return {
        **mini,
        "response_mode": "normal",
        "featured": False,
        "country": [country(row[4])],
        "description": f"{row[1]} is an invented agency used in tests.",
        "administrator": None,
        "founding_year": 1960 + row[0] % 40,
        "launchers": "",
        "spacecraft": "",
        "parent": None,
        "image": None,
        "logo": payloads.image(row[0] + 500, f"{row[1]} logo", f"{SYNTHETIC_MEDIA_BASE}/logos/{row[2].lower()}.png"),
        "social_logo": None,
    }


def build_station(row: tuple) -> dict[str, Any]:
    """Build a `SpaceStationDetailedEndpoint` record from a STATIONS row."""
    station_id, name, founded, deorbited, _, owner_ids, has_image = row
    owners = None if owner_ids is None else [
        agency_normal(agency) for agency in AGENCIES if agency[0] in owner_ids]
    image = None
    if has_image:
        slug = "-".join(name.lower().split())
        image = payloads.image(station_id + 900, f"{name} - image", f"{SYNTHETIC_MEDIA_BASE}/stations/{slug}.jpg",
                               f"{SYNTHETIC_MEDIA_BASE}/stations/{slug}_thumbnail.jpg")
    status = {"id": 1, "name": "Active"} if deorbited is None else {"id": 2, "name": "De-Orbited"}
    return {
        "id": station_id,
        "url": f"{SYNTHETIC_API_BASE}/space_stations/{station_id}/",
        "name": name,
        "image": image,
        "status": status,
        "founded": founded,
        "deorbited": deorbited,
        "description": f"{name} is an invented crewed station used in tests.\r\nIt has no real counterpart.",
        "orbit": "Low Earth Orbit",
        "type": {"id": 2, "name": "Government"},
        "owners": owners,
        "response_mode": "detailed",
        "active_expeditions": [],
        "height": 20.0 + station_id % 7,
        "width": 10.5,
        "mass": 80.0 + station_id,
        "volume": 300 + station_id,
        "onboard_crew": 0,
        "docked_vehicles": 0,
        "docking_location": [],
        "active_docking_events": [],
    }


def build_astronaut_pool(size: int, rng: random.Random, agencies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Build `size` invented `AstronautDetailed` objects, the special ones first."""
    pool = []
    for index in range(size):
        astronaut_id = 5001 + index
        if index < len(SPECIAL_ASTRONAUTS):
            name, bio = SPECIAL_ASTRONAUTS[index]
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            bio = f"{name} is an invented astronaut who trained for {rng.randint(2, 9)} years."

        agency_index = rng.randrange(len(agencies))
        agency = None if index % 13 == 12 else agencies[agency_index]
        nationality = [] if index % 17 == 16 else [country(AGENCIES[agency_index][4])]
        born = date(1940 + rng.randrange(50), rng.randint(1, 12), rng.randint(1, 28))
        died = born.replace(year=born.year + 70).isoformat() if index % 23 == 22 else None
        first_flight = datetime(born.year + 35, 1 + index % 12, 1 + index % 28, 12, tzinfo=timezone.utc)
        image = None if index % 7 == 6 else payloads.image(
            astronaut_id + 100000, f"{name} - image", f"{SYNTHETIC_MEDIA_BASE}/astronauts/{astronaut_id}.jpg")
        status = payloads.STATUS_DECEASED if died else (payloads.STATUS_ACTIVE if born.year > 1970
                                                         else payloads.STATUS_RETIRED)
        pool.append(payloads.astronaut_detailed(
            astronaut_id=astronaut_id,
            url=f"{SYNTHETIC_API_BASE}/astronauts/{astronaut_id}/",
            name=name,
            status=status,
            agency=agency,
            image_object=image,
            in_space=False,
            time_in_space=timedelta(days=rng.randint(5, 900), hours=rng.randint(0, 23)),
            age=payloads.age_on(born.isoformat(), died, REFERENCE_DATE),
            date_of_birth=born.isoformat(),
            date_of_death=died,
            nationality=nationality,
            bio=bio,
            wiki=None if index % 5 == 4 else f"https://en.wikipedia.org/wiki/Invented_astronaut_{astronaut_id}",
            first_flight=payloads.format_datetime(first_flight),
            last_flight=payloads.format_datetime(first_flight + timedelta(days=400 * (index % 4))),
        ))
    return pool


class ExpeditionGenerator:
    """Generates expeditions station by station, spread over each station's lifetime."""

    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.rng = random.Random(seed)
        self.agencies = [agency_mini(row) for row in AGENCIES]
        self.stations = [build_station(row) for row in STATIONS]
        self.nested_stations = [payloads.station_detailed(station) for station in self.stations]
        # About ten seats per astronaut, like a real flown astronaut corps.
        self.pool = build_astronaut_pool(max(40, count // 10), self.rng, self.agencies)
        self.next_flight_id = 700001

    def generate(self) -> list[dict[str, Any]]:
        """Generate `count` expeditions with ids 1..count, in id order."""
        per_station = [self.count // len(STATIONS)] * len(STATIONS)
        for index in range(self.count % len(STATIONS)):
            per_station[index] += 1

        # Ids interleave the stations, so id order differs from start order.
        slots = [(sequence, station_index)
                 for station_index, total in enumerate(per_station) for sequence in range(total)]
        slots.sort()
        expeditions = [self.expedition(expedition_id, station_index, sequence, per_station[station_index])
                       for expedition_id, (sequence, station_index) in enumerate(slots, start=1)]
        self.mark_active(expeditions)
        return expeditions

    def expedition(self, expedition_id: int, station_index: int, sequence: int, total: int) -> dict[str, Any]:
        """Generate one expedition: the `sequence`-th of `total` on its station."""
        row = STATIONS[station_index]
        founded = datetime.fromisoformat(row[2]).replace(tzinfo=timezone.utc)
        retired = (datetime.fromisoformat(row[3]).replace(tzinfo=timezone.utc) if row[3]
                   else datetime(2026, 6, 1, tzinfo=timezone.utc))
        step = (retired - founded) / total
        start = founded + step * sequence + timedelta(minutes=int(self.rng.random() * 24 * 60))
        end: datetime | None = start + step * 0.9
        on_going = row[3] is None and sequence == total - 1
        if on_going or self.rng.random() < 0.01:
            end = None

        name = SPECIAL_EXPEDITION_NAMES.get(expedition_id) or self.name(row[4], sequence)
        return payloads.expedition_detailed(
            expedition_id=expedition_id,
            url=f"{SYNTHETIC_API_BASE}/expeditions/{expedition_id}/",
            name=name,
            start=payloads.format_datetime(start),
            end=payloads.format_datetime(end) if end else None,
            spacestation=self.nested_stations[station_index],
            crew=self.crew(expedition_id, station_index == 2),
            mission_patches=self.patches(expedition_id, name),
            spacewalks=self.spacewalks(expedition_id, name, start, end),
        )

    @staticmethod
    def name(prefix: str, sequence: int) -> str:
        """Name an expedition after its station's naming scheme."""
        if prefix.endswith("-"):
            return f"{prefix}{sequence + 1}"
        return f"{prefix} {sequence + 1}"

    def crew(self, expedition_id: int, uses_operators: bool) -> list[dict[str, Any]]:
        """Pick up to six pool astronauts; every 29th expedition has no crew at all."""
        if expedition_id % 29 == 0:
            return []

        # random() and a dict keep this fast at 100,000 expeditions. A repeated pick makes
        # the crew one smaller.
        size = 1 + int(self.rng.random() * 6)
        picks = (self.pool[int(self.rng.random() * len(self.pool))] for _ in range(size))
        members = list({member["id"]: member for member in picks}.values())
        if expedition_id <= len(SPECIAL_ASTRONAUTS) * 3:
            # Make sure the special astronauts fly even in the smallest datasets.
            special = self.pool[(expedition_id - 1) % len(SPECIAL_ASTRONAUTS)]
            members = [special] + [member for member in members if member is not special][: size - 1]

        crew = []
        for position, astronaut in enumerate(members):
            if position == 0:
                role = payloads.ROLE_COMMANDER
            else:
                role = payloads.ROLE_OPERATOR if uses_operators else payloads.ROLE_FLIGHT_ENGINEER
            crew.append(payloads.crew_member(self.next_flight_id, role, astronaut))
            self.next_flight_id += 1
        return crew

    def patches(self, expedition_id: int, name: str) -> list[dict[str, Any]]:
        """Give every fourth expedition a patch, some of them without agency."""
        if expedition_id % 4 != 0:
            return []
        agency = None if expedition_id % 12 == 0 else self.agencies[expedition_id % len(self.agencies)]
        return [payloads.mission_patch(expedition_id + 300000, f"{name} Patch", agency)]

    def spacewalks(self, expedition_id: int, name: str, start: datetime,
                   end: datetime | None) -> list[dict[str, Any]]:
        """Give every fifth expedition one spacewalk inside its window."""
        if expedition_id % 5 != 0:
            return []
        walk_start = start + timedelta(hours=12)
        if end is not None and walk_start + timedelta(hours=8) > end:
            return []
        duration = timedelta(hours=5, minutes=expedition_id % 180)
        return [payloads.spacewalk(expedition_id + 400000, f"{name} EVA 1", walk_start, duration, "Main airlock")]

    def mark_active(self, expeditions: list[dict[str, Any]]) -> None:
        """List each active station's on-going expeditions and mark their crews in space."""
        by_station = {station["id"]: station for station in self.stations}
        for expedition in expeditions:
            if expedition["end"] is not None:
                continue
            station = by_station[expedition["spacestation"]["id"]]
            if station["deorbited"] is not None:
                continue
            station["active_expeditions"].append({key: expedition[key] for key in ("id", "url", "name", "start", "end")})
            station["onboard_crew"] += len(expedition["crew"])
            for member in expedition["crew"]:
                member["astronaut"]["in_space"] = True


def generate(count: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (expeditions, stations) for `count` invented expeditions."""
    if count < 0:
        raise ValueError(f"count must be zero or more, got {count}")
    # The build allocates millions of small acyclic dicts, which the cyclic garbage collector
    # would rescan again and again. Pausing it halved the build time at 100,000 expeditions.
    collector_was_enabled = gc.isenabled()
    gc.disable()
    try:
        generator = ExpeditionGenerator(count, seed)
        expeditions = generator.generate()
    finally:
        if collector_was_enabled:
            gc.enable()
    log.info("generated %d expeditions (seed %d)", len(expeditions), seed)
    return expeditions, generator.stations
