"""Build LL2 2.3.0 detailed expedition payloads from the recorded LL2 responses.

The recorded files hold a handful of real expeditions, real crews in the older 2.2.0 shape,
all 15 stations and 858 real astronauts with their flights. This module keeps every real
record as it is and fills in the rest of each station's history from `history.py`, with
crews taken from the astronauts whose recorded flights fit the expedition.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import history, payloads
from .history import StationVisit

log = logging.getLogger(__name__)

# Every value computed relative to "now" (age, time in space, in space) uses this instant,
# so that the two station snapshots produce identical expeditions apart from real changes.
REFERENCE_TIME = datetime(2026, 7, 23, tzinfo=timezone.utc)

REAL_API_BASE = "https://ll.thespacedevs.com/2.3.0"
FIRST_SYNTHETIC_EXPEDITION_ID = 1001
FIRST_SYNTHETIC_FLIGHT_ID = 600001
FIRST_SPACEWALK_ID = 20001
FIRST_PATCH_ID = 30001

SUBORBITAL_MARKERS = ("New Shepard", "SpaceShip", "Flight ", "Mercury-Redstone")
CHINESE_STATIONS = {history.TIANGONG_1_ID, history.TIANGONG_2_ID, history.TIANGONG_ID}


@dataclass
class RecordedFiles:
    """The parsed recorded files that the build reads."""

    stations: list[dict[str, Any]]
    normal_page: dict[str, Any]
    crew_dumps: list[list[dict[str, Any]]]    # 2.2.0 station dumps, oldest first
    astronauts: list[dict[str, Any]]


@dataclass
class PlannedExpedition:
    """An expedition before it becomes a payload: its window and where its crew comes from."""

    station_id: int
    name: str
    start: datetime
    end: datetime | None
    visit: StationVisit | None = None          # None for ISS expeditions, crewed by overlap
    real: dict[str, Any] | None = None         # the real record this one is, when there is one
    real_crew: list[dict[str, Any]] | None = None
    expedition_id: int = 0
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Flight:
    """One recorded launch of one astronaut."""

    astronaut: dict[str, Any]
    mission: str
    net: datetime


def read_recorded_files(shared_ll2_dir: Path, snapshot: str) -> RecordedFiles:
    """Read the recorded files; raises FileNotFoundError naming a missing file."""
    recorded = Path(shared_ll2_dir) / "recorded"

    def read(name: str) -> Any:
        path = recorded / name
        if not path.is_file():
            raise FileNotFoundError(f"recorded LL2 file not found: {path}")
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)

    return RecordedFiles(
        stations=read(f"space_stations_detailed_{snapshot}.json"),
        normal_page=read("expeditions_normal_lldev_offset90.json"),
        crew_dumps=[read("v2.2.0_spacestation_detailed_2024-09-09.json"),
                    read("v2.2.0_spacestation_detailed_2026-07-15.json")],
        astronauts=read("astronauts_trimmed_2026-07-24.json"),
    )


def mission_of(flight_name: str) -> str:
    """Return the mission part of a flight name such as `Soyuz FG | Soyuz TMA-16M`."""
    return flight_name.split(" | ", 1)[-1]


def index_flights(astronauts: list[dict[str, Any]]) -> dict[str, list[Flight]]:
    """Group every recorded flight by mission name, each group in astronaut file order."""
    flights: dict[str, list[Flight]] = {}
    for astronaut in astronauts:
        for flight in astronaut["flights"]:
            mission = mission_of(flight["name"])
            flights.setdefault(mission, []).append(
                Flight(astronaut, mission, payloads.parse_datetime(flight["net"])))
    return flights


def build_recorded(shared_ll2_dir: Path, snapshot: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build (expeditions, stations) from the recorded files of one station snapshot."""
    files = read_recorded_files(shared_ll2_dir, snapshot)
    flights = index_flights(files.astronauts)
    stations = {station["id"]: station for station in files.stations}

    planned = plan_station_history(flights, stations)
    attach_real_records(planned, files)
    assign_ids(planned)

    builder = PayloadBuilder(files, flights)
    expeditions = [builder.expedition(plan, stations[plan.station_id]) for plan in planned]
    expeditions.sort(key=lambda expedition: expedition["id"])

    log.info("built %d expeditions from recorded snapshot %s", len(expeditions), snapshot)
    # A JSON round trip gives every record its own nested dicts, so a test may edit one safely.
    return json.loads(json.dumps(expeditions)), json.loads(json.dumps(files.stations))


def plan_station_history(flights: dict[str, list[Flight]],
                         stations: dict[int, dict[str, Any]]) -> list[PlannedExpedition]:
    """Lay out every station's expeditions with their time windows."""
    planned: list[PlannedExpedition] = []
    visits = history.EARLY_VISITS + history.MIR_VISITS + history.AXIOM_VISITS
    for visit in visits:
        plan = plan_visit(visit, flights)
        if plan is not None:
            planned.append(plan)

    planned.extend(plan_tiangong(flights))
    planned.extend(plan_iss(stations[history.ISS_ID]))
    return [plan for plan in planned if plan.station_id in stations]


def plan_visit(visit: StationVisit, flights: dict[str, list[Flight]]) -> PlannedExpedition | None:
    """Place one launch-defined expedition at its launch date."""
    launches = flights.get(visit.mission)
    if not launches:
        log.warning("no recorded flight for mission %r; expedition %r left out", visit.mission, visit.name)
        return None

    net = min(flight.net for flight in launches)
    start = net + timedelta(days=visit.start_offset_days)
    return PlannedExpedition(visit.station_id, visit.name, start,
                             start + timedelta(days=visit.duration_days), visit=visit)


def plan_tiangong(flights: dict[str, list[Flight]]) -> list[PlannedExpedition]:
    """Place the Tiangong crews; each stays until a few days after the next one arrives."""
    planned = [plan for visit in history.TIANGONG_VISITS
               if (plan := plan_visit(visit, flights)) is not None]
    for current, following in zip(planned, planned[1:]):
        current.end = following.start + timedelta(days=5)
    return planned


def plan_iss(station: dict[str, Any]) -> list[PlannedExpedition]:
    """Place the numbered ISS expeditions back to back."""
    starts = []
    for number, text in sorted(history.ISS_EXPEDITION_STARTS.items()):
        if "T" in text:
            moment = payloads.parse_datetime(text)
        else:
            # Spread the synthetic start times over the day instead of all at midnight.
            moment = datetime.fromisoformat(text).replace(
                tzinfo=timezone.utc, hour=(number * 5) % 24, minute=(number * 13) % 60)
        starts.append((number, moment))

    planned = []
    for index, (number, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else None
        planned.append(PlannedExpedition(station["id"], f"Expedition {number}", start, end))
    return planned


def attach_real_records(planned: list[PlannedExpedition], files: RecordedFiles) -> None:
    """Replace planned expeditions by the real records of the same station and name."""
    by_key = {(plan.station_id, plan.name): plan for plan in planned}

    def plan_for(station_id: int, name: str, start: str) -> PlannedExpedition:
        plan = by_key.get((station_id, name))
        if plan is None:
            log.warning("real expedition %r on station %d has no planned slot; adding it", name, station_id)
            plan = PlannedExpedition(station_id, name, payloads.parse_datetime(start), None)
            planned.append(plan)
            by_key[(station_id, name)] = plan
        return plan

    for record in files.normal_page["results"]:
        plan = plan_for(record["spacestation"]["id"], record["name"], record["start"])
        plan.real = record

    # The 2.2.0 dumps were taken while these expeditions were on-going: their end stays
    # the planned one unless a later source (the station snapshot) gives the real end.
    for dump in files.crew_dumps:
        for station in dump:
            for active in station["active_expeditions"]:
                plan = plan_for(station["id"], active["name"], active["start"])
                url = active["url"].replace("/2.2.0/expedition/", "/2.3.0/expeditions/")
                plan.real = {**active, "url": url, "end": payloads.format_datetime(plan.end) if plan.end else None}
                plan.real_crew = active["crew"]

    for station in files.stations:
        for active in station["active_expeditions"]:
            plan = plan_for(station["id"], active["name"], active["start"])
            plan.real = {**(plan.real or {}), **active}


def assign_ids(planned: list[PlannedExpedition]) -> None:
    """Give real expeditions their ids and the others fresh ids in start order."""
    planned.sort(key=lambda plan: (plan.start, plan.station_id, plan.name))
    next_id = FIRST_SYNTHETIC_EXPEDITION_ID
    for plan in planned:
        if plan.real is not None:
            plan.expedition_id = plan.real["id"]
        else:
            plan.expedition_id = next_id
            next_id += 1


class PayloadBuilder:
    """Turns planned expeditions into ExpeditionDetailed payloads, sharing astronaut objects."""

    def __init__(self, files: RecordedFiles, flights: dict[str, list[Flight]]) -> None:
        self.astronauts = {record["id"]: record for record in files.astronauts}
        self.flights = flights
        self.agencies = {record["agency"]["abbrev"]: record["agency"]
                         for record in files.astronauts if record["agency"]}
        self.crew_overrides = self._crew_overrides(files.crew_dumps)
        self.stay_days = self._stay_days()
        self._astronaut_cache: dict[int, dict[str, Any]] = {}
        self._next_flight_id = FIRST_SYNTHETIC_FLIGHT_ID
        self._next_spacewalk_id = FIRST_SPACEWALK_ID
        self._next_patch_id = FIRST_PATCH_ID

    @staticmethod
    def _crew_overrides(dumps: list[list[dict[str, Any]]]) -> dict[int, dict[str, Any]]:
        """Collect the status and image that the 2.2.0 dumps give real crew members."""
        overrides: dict[int, dict[str, Any]] = {}
        for dump in dumps:
            for station in dump:
                for active in station["active_expeditions"]:
                    for member in active["crew"]:
                        overrides[member["astronaut"]["id"]] = member["astronaut"]
        return overrides

    @staticmethod
    def _stay_days() -> dict[str, float]:
        stays = {visit.mission: visit.duration_days + visit.start_offset_days
                 for visit in history.EARLY_VISITS + history.MIR_VISITS
                 + history.TIANGONG_VISITS + history.AXIOM_VISITS}
        return stays

    def flight_days(self, mission: str, net: str, astronaut: dict[str, Any]) -> float:
        """Return the days spent in space on one flight (an estimate for unknown missions)."""
        if any(marker in mission for marker in SUBORBITAL_MARKERS):
            return 0.007
        if history.is_iss_crew_mission(mission, net) and history.is_iss_crew_member(mission, astronaut):
            return history.iss_stay_days(mission, astronaut)
        return self.stay_days.get(mission, 10.0)

    def expedition(self, plan: PlannedExpedition, station: dict[str, Any]) -> dict[str, Any]:
        """Build the detailed payload of one planned expedition."""
        real = plan.real or {}
        start = real.get("start") or payloads.format_datetime(plan.start)
        if "end" in real:
            end = real["end"]
        elif plan.end is not None:
            end = payloads.format_datetime(plan.end)
        else:
            end = None

        if plan.real_crew is not None:
            crew = [self.real_crew_member(member) for member in plan.real_crew]
        else:
            crew = self.computed_crew(plan)

        patches = real.get("mission_patches")
        if patches is None:
            patches = self.patches(plan)
        spacewalks = real.get("spacewalks")
        if spacewalks is None:
            spacewalks = self.spacewalks(plan)

        return payloads.expedition_detailed(
            expedition_id=plan.expedition_id,
            url=real.get("url") or f"{payloads.SYNTHETIC_API_BASE}/expeditions/{plan.expedition_id}/",
            name=plan.name,
            start=start,
            end=end,
            spacestation=payloads.station_detailed(station),
            crew=crew,
            mission_patches=patches,
            spacewalks=spacewalks,
        )

    def real_crew_member(self, member: dict[str, Any]) -> dict[str, Any]:
        """Convert a 2.2.0 crew entry to the 2.3.0 `AstronautFlight` shape."""
        role = member["role"]
        return payloads.crew_member(member["id"], {"id": role["id"], "role": role["role"],
                                                   "priority": role["priority"]},
                                    self.astronaut(member["astronaut"]["id"]))

    def computed_crew(self, plan: PlannedExpedition) -> list[dict[str, Any]]:
        """Pick the crew of a planned expedition from the recorded flights."""
        if plan.visit is not None:
            members = [flight.astronaut for flight in self.flights.get(plan.visit.mission, [])]
            aboard_at_start: set[int] = set()
        else:
            members, aboard_at_start = self.iss_members(plan)

        # The most experienced member (ties: the one aboard first, then the lowest id) commands.
        def seniority(record: dict[str, Any]) -> tuple[bool, int, int]:
            return (record["id"] not in aboard_at_start, -len(record["flights"]), record["id"])

        members = sorted({record["id"]: record for record in members}.values(), key=seniority)
        crew = []
        for position, record in enumerate(members):
            crew.append(payloads.crew_member(self._flight_id(), self.role(plan, position, record),
                                             self.astronaut(record["id"])))
        return crew

    def iss_members(self, plan: PlannedExpedition) -> tuple[list[dict[str, Any]], set[int]]:
        """Return the astronauts whose ISS stay makes them crew of the expedition, and those aboard at its start."""
        window_end = plan.end or REFERENCE_TIME + timedelta(days=365)
        minimum = timedelta(days=history.ISS_MIN_OVERLAP_DAYS)
        members, aboard_at_start = [], set()
        for mission, launches in self.flights.items():
            if not history.is_iss_crew_mission(mission, payloads.format_datetime(launches[0].net)):
                continue
            for flight in launches:
                if not history.is_iss_crew_member(mission, flight.astronaut):
                    continue
                leaves = flight.net + timedelta(days=history.iss_stay_days(mission, flight.astronaut))
                overlap = min(window_end, leaves) - max(plan.start, flight.net)
                stayed_to_end = plan.start <= flight.net and leaves >= window_end
                if overlap > minimum or (overlap > timedelta() and stayed_to_end):
                    members.append(flight.astronaut)
                    if flight.net < plan.start:
                        aboard_at_start.add(flight.astronaut["id"])
        return members, aboard_at_start

    @staticmethod
    def role(plan: PlannedExpedition, position: int, record: dict[str, Any]) -> dict[str, Any]:
        """Choose a crew role from the seat order and the kind of mission."""
        if plan.visit is not None and plan.visit.mission.startswith("Axiom"):
            return payloads.ROLE_COMMANDER if position == 0 else payloads.ROLE_PARTICIPANT
        if position == 0:
            return payloads.ROLE_COMMANDER
        if plan.station_id in CHINESE_STATIONS:
            return payloads.ROLE_OPERATOR
        return payloads.ROLE_FLIGHT_ENGINEER

    def _flight_id(self) -> int:
        flight_id = self._next_flight_id
        self._next_flight_id += 1
        return flight_id

    def astronaut(self, astronaut_id: int) -> dict[str, Any]:
        """Build (once) the `AstronautDetailed` object of a recorded astronaut."""
        cached = self._astronaut_cache.get(astronaut_id)
        if cached is not None:
            return cached

        record = self.astronauts[astronaut_id]
        override = self.crew_overrides.get(astronaut_id)
        in_space, time_in_space = self.time_in_space(record)
        built = payloads.astronaut_detailed(
            astronaut_id=astronaut_id,
            url=f"{REAL_API_BASE}/astronauts/{astronaut_id}/?format=json",
            name=record["name"],
            status=override["status"] if override else self.status(record, in_space),
            agency=record["agency"],
            image_object=self.astronaut_image(record, override),
            in_space=in_space,
            time_in_space=time_in_space,
            age=payloads.age_on(record["date_of_birth"], record["date_of_death"], REFERENCE_TIME.date()),
            date_of_birth=record["date_of_birth"],
            date_of_death=record["date_of_death"],
            nationality=record["nationality"],
            bio=record["bio"] or "",
            wiki=f"https://en.wikipedia.org/wiki/{record['name'].replace(' ', '_')}",
            first_flight=record["first_flight"],
            last_flight=record["last_flight"],
        )
        self._astronaut_cache[astronaut_id] = built
        return built

    def time_in_space(self, record: dict[str, Any]) -> tuple[bool, timedelta]:
        """Sum the astronaut's flights up to the reference time, and tell whether one is on-going."""
        total = timedelta()
        in_space = False
        for flight in record["flights"]:
            net = payloads.parse_datetime(flight["net"])
            if net > REFERENCE_TIME:
                continue
            duration = timedelta(days=self.flight_days(mission_of(flight["name"]), flight["net"], record))
            if net + duration > REFERENCE_TIME:
                in_space = True
                duration = REFERENCE_TIME - net
            total += duration
        return in_space, total

    @staticmethod
    def status(record: dict[str, Any], in_space: bool) -> dict[str, Any]:
        """Derive a plausible astronaut status; the recorded astronauts lack theirs."""
        if record["date_of_death"]:
            return payloads.STATUS_DECEASED
        last = record["last_flight"]
        if in_space or (last is not None and last >= "2016"):
            return payloads.STATUS_ACTIVE
        return payloads.STATUS_RETIRED

    @staticmethod
    def astronaut_image(record: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any] | None:
        """Return the real 2.2.0 profile image, else an invented one (none for about one in eleven)."""
        astronaut_id = record["id"]
        if override is not None:
            if override.get("profile_image") is None:
                return None
            return payloads.image(astronaut_id + 100000, f"{record['name']} - image",
                                  override["profile_image"], override.get("profile_image_thumbnail"))
        if astronaut_id % 11 == 0:
            return None
        url = f"{payloads.SYNTHETIC_MEDIA_BASE}/astronaut_images/{astronaut_id}.jpg"
        thumbnail = f"{payloads.SYNTHETIC_MEDIA_BASE}/astronaut_images/{astronaut_id}_thumbnail.jpg"
        return payloads.image(astronaut_id + 100000, f"{record['name']} - image", url, thumbnail)

    def patches(self, plan: PlannedExpedition) -> list[dict[str, Any]]:
        """Invent a mission patch for the expeditions that had one: later ISS, Mir, Tiangong."""
        if plan.name.startswith("Expedition "):
            if int(plan.name.split()[1]) < 7:
                return []
            agency = self.agencies.get("NASA")
        elif plan.name.startswith("Shenzhou"):
            agency = self.agencies.get("CNSA")
        elif plan.name.startswith("Mir EO"):
            agency = self.agencies.get("RFSA")
        else:
            return []

        patch_id = self._next_patch_id
        self._next_patch_id += 1
        return [payloads.mission_patch(patch_id, f"{plan.name} Patch", agency)]

    def spacewalks(self, plan: PlannedExpedition) -> list[dict[str, Any]]:
        """Invent zero to two spacewalks for long expeditions, placed inside their window."""
        if plan.end is None or plan.end - plan.start < timedelta(days=60):
            return []

        count = plan.expedition_id % 3
        location = {history.ISS_ID: "Quest airlock", history.MIR_ID: "Kvant-2",
                    history.TIANGONG_ID: "Wentian airlock"}.get(plan.station_id)
        walks = []
        for number in range(1, count + 1):
            spacewalk_id = self._next_spacewalk_id
            self._next_spacewalk_id += 1
            start = plan.start + timedelta(days=20 * number, hours=plan.expedition_id % 12)
            duration = timedelta(hours=5, minutes=(plan.expedition_id * 17 + number * 41) % 150)
            walks.append(payloads.spacewalk(spacewalk_id, f"{plan.name} EVA {number}", start, duration, location))
        return walks
