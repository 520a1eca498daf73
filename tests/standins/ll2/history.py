"""Crewed station history used to fill in the expeditions that the recorded LL2 data lacks.

Dates and durations are approximate (taken from public mission histories, rounded to days):
good enough for realistic test data, not a reference. Launch dates come from the astronauts'
recorded flights wherever a table names a launch mission.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

ISS_ID = 4
MIR_ID = 5
SKYLAB_ID = 6
TIANGONG_1_ID = 7
TIANGONG_2_ID = 8
SALYUT_1_ID = 9
SALYUT_3_ID = 11
SALYUT_4_ID = 12
SALYUT_5_ID = 13
SALYUT_6_ID = 14
SALYUT_7_ID = 15
TIANGONG_ID = 18


@dataclass(frozen=True)
class StationVisit:
    """One expedition defined by the launch that carried its crew.

    The expedition starts `start_offset_days` after that launch's `net` and lasts
    `duration_days`, unless the builder ends it at the next expedition's start instead.
    """

    station_id: int
    mission: str            # the mission part of a flight name, after " | "
    name: str
    duration_days: float
    start_offset_days: float = 1.0


def _visits(station_id: int, rows: list[tuple[str, str, float]]) -> list[StationVisit]:
    return [StationVisit(station_id, mission, name, days) for mission, name, days in rows]


# Soviet and Skylab era: every crewed launch to the station, failed dockings included
# (LL2 lists Soyuz 15's failed docking with Salyut 3 as an expedition).
EARLY_VISITS: list[StationVisit] = [
    *_visits(SALYUT_1_ID, [("Soyuz 10", "Soyuz 10", 2), ("Soyuz 11", "Soyuz 11", 23)]),
    *_visits(SKYLAB_ID, [("Skylab 2", "Skylab 2", 28), ("Skylab 3", "Skylab 3", 59),
                         ("Skylab 4", "Skylab 4", 84)]),
    *_visits(SALYUT_3_ID, [("Soyuz 14", "Soyuz 14", 15), ("Soyuz 15", "Soyuz 15", 2)]),
    *_visits(SALYUT_4_ID, [("Soyuz 17", "Soyuz 17", 29), ("Soyuz 18", "Soyuz 18", 62)]),
    *_visits(SALYUT_5_ID, [("Soyuz 21", "Soyuz 21", 49), ("Soyuz 23", "Soyuz 23", 2),
                           ("Soyuz 24", "Soyuz 24", 17)]),
    *_visits(SALYUT_6_ID, [
        ("Soyuz 25", "Soyuz 25", 1), ("Soyuz 26", "Salyut 6 EO-1", 96),
        ("Soyuz 27", "Salyut 6 EP-1", 6), ("Soyuz 28", "Salyut 6 EP-2", 8),
        ("Soyuz 29", "Salyut 6 EO-2", 140), ("Soyuz 30", "Salyut 6 EP-3", 8),
        ("Soyuz 31", "Salyut 6 EP-4", 8), ("Soyuz 32", "Salyut 6 EO-3", 175),
        ("Soyuz 33", "Soyuz 33", 2), ("Soyuz 35", "Salyut 6 EO-4", 185),
        ("Soyuz 36", "Salyut 6 EP-5", 8), ("Soyuz T-2", "Salyut 6 EP-6", 4),
        ("Soyuz 37", "Salyut 6 EP-7", 8), ("Soyuz 38", "Salyut 6 EP-8", 8),
        ("Soyuz T-3", "Salyut 6 EO-5", 13), ("Soyuz T-4", "Salyut 6 EO-6", 75),
        ("Soyuz 39", "Salyut 6 EP-9", 8), ("Soyuz 40", "Salyut 6 EP-10", 8),
    ]),
    *_visits(SALYUT_7_ID, [
        ("Soyuz T-5", "Salyut 7 EO-1", 211), ("Soyuz T-6", "Salyut 7 EP-1", 8),
        ("Soyuz T-7", "Salyut 7 EP-2", 8), ("Soyuz T-8", "Soyuz T-8", 2),
        ("Soyuz T-9", "Salyut 7 EO-2", 150), ("Soyuz T-10", "Salyut 7 EO-3", 237),
        ("Soyuz T-11", "Salyut 7 EP-3", 8), ("Soyuz T-12", "Salyut 7 EP-4", 12),
        ("Soyuz T-13", "Salyut 7 EO-4", 112), ("Soyuz T-14", "Salyut 7 EO-5", 65),
    ]),
    # Soyuz T-15 flew from Mir to Salyut 7 and back: the second half of its flight.
    StationVisit(SALYUT_7_ID, "Soyuz T-15", "Salyut 7 EO-6", 50, start_offset_days=54),
    *_visits(TIANGONG_1_ID, [("Shenzhou-9 & Shenzhou-9-GC", "Shenzhou 9", 13),
                             ("Shenzhou-10", "Shenzhou 10", 15)]),
    *_visits(TIANGONG_2_ID, [("Shenzhou-11", "Shenzhou 11", 30)]),
]

MIR_VISITS: list[StationVisit] = _visits(MIR_ID, [
    ("Soyuz T-15", "Mir EO-1", 50), ("Soyuz TM-2", "Mir EO-2", 174),
    ("Soyuz TM-3", "Mir EP-1", 8), ("Soyuz TM-4", "Mir EO-3", 365),
    ("Soyuz TM-5", "Mir EP-2", 10), ("Soyuz TM-6", "Mir EP-3", 9),
    ("Soyuz TM-7", "Mir EO-4", 151), ("Soyuz TM-8", "Mir EO-5", 166),
    ("Soyuz TM-9", "Mir EO-6", 179), ("Soyuz TM-10", "Mir EO-7", 130),
    ("Soyuz TM-11", "Mir EO-8", 175), ("Soyuz TM-12", "Mir EO-9", 144),
    ("Soyuz TM-13", "Mir EO-10", 175), ("Soyuz TM-14", "Mir EO-11", 145),
    ("Soyuz TM-15", "Mir EO-12", 188), ("Soyuz TM-16", "Mir EO-13", 179),
    ("Soyuz TM-17", "Mir EO-14", 196), ("Soyuz TM-18", "Mir EO-15", 182),
    ("Soyuz TM-19", "Mir EO-16", 125), ("Soyuz TM-20", "Mir EO-17", 169),
    ("Soyuz TM-21", "Mir EO-18", 115), ("STS-71", "Mir EO-19", 75),
    ("STS-74", "STS-74", 3), ("Soyuz TM-22", "Mir EO-20", 179),
    ("Soyuz TM-23", "Mir EO-21", 193), ("STS-76", "STS-76", 5),
    ("Soyuz TM-24", "Mir EO-22", 196), ("STS-79", "STS-79", 5),
    ("STS-81", "STS-81", 5), ("Soyuz TM-25", "Mir EO-23", 184),
    ("STS-84", "STS-84", 5), ("Soyuz TM-26", "Mir EO-24", 197),
    ("STS-86", "STS-86", 6), ("Soyuz TM-27", "Mir EO-25", 207),
    ("STS-89", "STS-89", 5), ("STS-91", "STS-91", 4),
    ("Soyuz TM-28", "Mir EO-26", 198), ("Soyuz TM-29", "Mir EO-27", 188),
    ("Soyuz TM-30", "Mir EO-28", 72),
])

# Tiangong space station crews: each one ends a few days after the next crew arrives.
TIANGONG_VISITS: list[StationVisit] = [
    StationVisit(TIANGONG_ID, f"Shenzhou {number}", f"Shenzhou {number}", 183, start_offset_days=0.3)
    for number in (12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23)
]

AXIOM_VISITS: list[StationVisit] = [
    StationVisit(ISS_ID, f"Axiom Space Mission {number}", f"Axiom Mission {number} (Ax-{number})", days)
    for number, days in ((1, 17), (2, 8), (3, 18), (4, 18))
]

# ISS expedition numbers and start dates (UTC); each ends when the next one starts.
ISS_EXPEDITION_STARTS: dict[int, str] = {
    1: "2000-11-02", 2: "2001-03-21", 3: "2001-08-12", 4: "2001-12-07", 5: "2002-06-07",
    6: "2002-11-25", 7: "2003-04-28", 8: "2003-10-20", 9: "2004-04-21", 10: "2004-10-16",
    11: "2005-04-17", 12: "2005-10-03", 13: "2006-04-01", 14: "2006-09-28", 15: "2007-04-19",
    16: "2007-10-19", 17: "2008-04-19", 18: "2008-10-23", 19: "2009-04-08", 20: "2009-05-29",
    21: "2009-10-11", 22: "2009-12-01", 23: "2010-03-18", 24: "2010-06-02", 25: "2010-09-25",
    26: "2010-11-26", 27: "2011-03-16", 28: "2011-05-23", 29: "2011-09-16", 30: "2011-11-21",
    31: "2012-04-27", 32: "2012-07-01", 33: "2012-09-16", 34: "2012-11-18", 35: "2013-03-15",
    36: "2013-05-13", 37: "2013-09-10", 38: "2013-11-10", 39: "2014-03-10", 40: "2014-05-13",
    41: "2014-09-10", 42: "2014-11-10", 43: "2015-03-11", 44: "2015-06-11", 45: "2015-09-11",
    46: "2015-12-11", 47: "2016-03-01", 48: "2016-06-18", 49: "2016-09-06", 50: "2016-10-30",
    51: "2017-04-10", 52: "2017-06-02", 53: "2017-09-02", 54: "2017-12-14", 55: "2018-02-27",
    56: "2018-06-03", 57: "2018-10-04", 58: "2018-12-20", 59: "2019-03-14", 60: "2019-06-24",
    61: "2019-10-03", 62: "2020-02-06", 63: "2020-04-17", 64: "2020-10-21", 65: "2021-04-17",
    66: "2021-10-17", 67: "2022-03-30", 68: "2022-09-29", 69: "2023-03-28", 70: "2023-09-27",
    71: "2024-04-06T03:53:57Z", 72: "2024-09-23", 73: "2025-04-19", 74: "2025-12-09T01:41:00Z",
}

# Launch missions that brought ISS expedition crews, with how long their crews usually
# stayed (days).
ISS_STAY_DAYS_DEFAULT = 160
ISS_STAY_DAYS: dict[str, float] = {
    "Soyuz TM-31": 130,
    "Soyuz TM-32": 10, "Soyuz TM-33": 10, "Soyuz TM-34": 10, "Soyuz TMA-1": 10,
    "Soyuz MS-18": 355,
    "Soyuz MS-22": 371,
    "SpX-DM2 (Demonstration Mission 2)": 63,
    "CST-100 Starliner Crewed Flight Test": 286,
}

# Shuttle flights also carry visitors, so only the named expedition members count.
ISS_SHUTTLE_CREWS: dict[str, tuple[str, ...]] = {
    "STS-102": ("Yury Usachov", "James S. Voss", "Susan Helms"),
    "STS-105": ("Frank L. Culbertson Jr.", "Vladimir Dezhurov", "Mikhail Tyurin"),
    "STS-108": ("Yury Onufriyenko", "Carl E. Walz", "Daniel W. Bursch"),
    "STS-111": ("Valery Korzun", "Peggy Whitson", "Sergei Treshchov"),
    "STS-113": ("Ken Bowersox", "Nikolai Budarin", "Donald Pettit"),
}

# Individual stays that differ from the rest of their crew's: (mission, astronaut) -> days.
ISS_PERSONAL_STAY_DAYS: dict[tuple[str, str], float] = {
    ("Soyuz TMA-16M", "Scott Kelly"): 340,          # the year-long mission
    ("Soyuz TMA-16M", "Mikhail Kornienko"): 340,
    ("Soyuz MS-12", "Christina Koch"): 328,
    **{(mission, name): 10 for mission, name in (
        ("Soyuz TMA-18M", "Aidyn Aimbetov"), ("Soyuz TMA-18M", "Andreas Mogensen"),
        ("Soyuz MS-15", "Hazza Al Mansouri"), ("Soyuz MS-19", "Klim Shipenko"),
        ("Soyuz MS-19", "Yulia Peresild"), ("Soyuz MS-20", "Yusaku Maezawa"),
        ("Soyuz MS-20", "Yozo Hirano"), ("Soyuz MS-20", "Alexander Misurkin"),
        ("Soyuz MS-25", "Marina Vasilevskaya"), ("Soyuz MS-25", "Oleg Novitskiy"),
    )},
}

# Spaceflight participants (no agency, or a tourism company) visited for about ten days.
VISITOR_AGENCY_ABBREVS = {None, "", "SA"}
VISITOR_STAY_DAYS = 10

# An astronaut is a member of an ISS expedition when the stay overlaps it by more than
# this, or when the astronaut arrived during it and stayed to its end. So a crew that
# leaves just as the next expedition begins is not listed there.
ISS_MIN_OVERLAP_DAYS = 21


def is_iss_crew_mission(mission: str, net: str) -> bool:
    """Tell whether a launch mission carried long-stay ISS crew."""
    if mission in ISS_STAY_DAYS or mission in ISS_SHUTTLE_CREWS:
        return True
    if mission.startswith("Soyuz TM-") or mission.startswith("Soyuz T-"):
        return False
    if mission.startswith("Soyuz TMA") or mission.startswith("Soyuz MS"):
        return True
    return mission.startswith("Crew-") and net >= "2020"


def is_iss_crew_member(mission: str, astronaut: dict) -> bool:
    """Tell whether an astronaut on an ISS crew mission joined the expedition crew."""
    members = ISS_SHUTTLE_CREWS.get(mission)
    return members is None or astronaut["name"] in members


def iss_stay_days(mission: str, astronaut: dict) -> float:
    """Return how many days `astronaut`, launched on `mission`, stayed aboard the ISS."""
    personal = ISS_PERSONAL_STAY_DAYS.get((mission, astronaut["name"]))
    if personal is not None:
        return personal
    agency = astronaut["agency"]
    if agency is None or agency["abbrev"] in VISITOR_AGENCY_ABBREVS:
        return VISITOR_STAY_DAYS
    return ISS_STAY_DAYS.get(mission, ISS_STAY_DAYS_DEFAULT)
