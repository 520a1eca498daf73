"""Conversion between the record dataclasses and table rows, and the change fingerprints.

A fingerprint is a SHA-256 over a canonical JSON form of what a row stores, so comparing it
with the stored one shows whether a save would change anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

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

log = logging.getLogger(__name__)

Row = dict[str, Any]

# Sorts rows with no priority after every row that has one.
_NO_PRIORITY = float("inf")


def format_datetime(value: datetime) -> str:
    """Format an aware datetime as fixed-width UTC ISO 8601, so text order is time order."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime {value!r} has no time zone; records must carry UTC datetimes")
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def format_optional_datetime(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def parse_datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def fingerprint(content: object) -> str:
    """Return a stable hash of JSON-compatible `content`."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def clean_text(value: str) -> str:
    """Replace lone surrogates, which SQLite cannot store as UTF-8, with U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in value)
    return value


def clean_row(row: Mapping[str, Any]) -> Row:
    return {key: clean_text(value) if isinstance(value, str) else value for key, value in row.items()}


def _to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def station_row(station: Station) -> Row:
    """Build the `stations` row of `station`, fingerprint included."""
    content = {
        "id": station.id,
        "name": station.name,
        "status": station.status,
        "image_url": station.image_url,
        "thumbnail_url": station.thumbnail_url,
        "orbit": station.orbit,
        "founded": station.founded,
        "deorbited": station.deorbited,
        "description": station.description,
    }
    return clean_row({**content, "fingerprint": fingerprint(content)})


def station_from_row(row: Mapping[str, Any]) -> Station:
    return Station(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        image_url=row["image_url"],
        thumbnail_url=row["thumbnail_url"],
        orbit=row["orbit"],
        founded=row["founded"],
        deorbited=row["deorbited"],
        description=row["description"],
    )


def astronaut_row(astronaut: Astronaut) -> Row:
    """Build the `astronauts` row of `astronaut`, fingerprint included."""
    agency = astronaut.agency
    nationalities = [
        {"name": nationality.name, "country_code": nationality.country_code}
        for nationality in astronaut.nationalities
    ]
    content = {
        "id": astronaut.id,
        "name": astronaut.name,
        "agency_id": agency.id if agency else None,
        "agency_name": agency.name if agency else None,
        "agency_abbrev": agency.abbrev if agency else None,
        "nationalities": nationalities,
        "status": astronaut.status,
        "image_url": astronaut.image_url,
        "thumbnail_url": astronaut.thumbnail_url,
        "bio": astronaut.bio,
        "wiki_url": astronaut.wiki_url,
    }
    row = {**content, "nationalities": _to_json(nationalities), "fingerprint": fingerprint(content)}
    return clean_row(row)


def astronaut_from_row(row: Mapping[str, Any]) -> Astronaut:
    agency = None
    if row["agency_id"] is not None:
        agency = Agency(id=row["agency_id"], name=row["agency_name"], abbrev=row["agency_abbrev"])

    nationalities = tuple(
        Nationality(name=item["name"], country_code=item["country_code"])
        for item in json.loads(row["nationalities"])
    )
    return Astronaut(
        id=row["id"],
        name=row["name"],
        agency=agency,
        nationalities=nationalities,
        status=row["status"],
        image_url=row["image_url"],
        thumbnail_url=row["thumbnail_url"],
        bio=row["bio"],
        wiki_url=row["wiki_url"],
    )


def unique_seats(expedition: Expedition) -> list[CrewMember]:
    """Return the crew seats keyed by flight id, the last one winning, sorted by flight id."""
    seats: dict[int, CrewMember] = {}
    for member in expedition.crew:
        if member.flight_id in seats:
            log.warning("expedition %d lists crew flight %d twice; keeping the last one",
                        expedition.id, member.flight_id)
        seats[member.flight_id] = member
    return [seats[flight_id] for flight_id in sorted(seats)]


def crew_rows(expedition: Expedition) -> list[Row]:
    """Build the `crew` rows of `expedition`, one per seat."""
    return [
        clean_row({
            "expedition_id": expedition.id,
            "flight_id": member.flight_id,
            "astronaut_id": member.astronaut.id,
            "role": member.role,
            "role_priority": member.role_priority,
        })
        for member in unique_seats(expedition)
    ]


def _patch_content(patch: MissionPatch) -> dict[str, Any]:
    return {
        "id": patch.id,
        "name": patch.name,
        "image_url": patch.image_url,
        "priority": patch.priority,
        "agency_name": patch.agency_name,
    }


def _spacewalk_content(spacewalk: Spacewalk) -> dict[str, Any]:
    return {
        "id": spacewalk.id,
        "name": spacewalk.name,
        "start": format_optional_datetime(spacewalk.start),
        "end": format_optional_datetime(spacewalk.end),
        "duration": spacewalk.duration,
        "location": spacewalk.location,
    }


def _patch_order(patch: MissionPatch) -> tuple[float, int]:
    return (_NO_PRIORITY if patch.priority is None else patch.priority, patch.id)


def _spacewalk_order(spacewalk: Spacewalk) -> tuple[bool, str, int]:
    start = format_optional_datetime(spacewalk.start)
    return (start is None, start or "", spacewalk.id)


def expedition_fingerprint(expedition: Expedition) -> str:
    """Hash what makes an expedition change: its own fields, station id, crew, patches, EVAs.

    Astronaut and station details are left out because they have rows of their own. A
    spacewalk's duration is left out because LL2 computes it (a read-only field) and it may
    tick while the spacewalk is under way, so it is stored but never reported as a change.
    """
    spacewalks = []
    for spacewalk in sorted(expedition.spacewalks, key=lambda item: item.id):
        content = _spacewalk_content(spacewalk)
        del content["duration"]
        spacewalks.append(content)

    content = {
        "id": expedition.id,
        "name": expedition.name,
        "start": format_datetime(expedition.start),
        "end": format_optional_datetime(expedition.end),
        "station_id": expedition.station.id,
        "url": expedition.url,
        "crew": [
            [member.flight_id, member.astronaut.id, member.role, member.role_priority]
            for member in unique_seats(expedition)
        ],
        "mission_patches": [
            _patch_content(patch) for patch in sorted(expedition.mission_patches, key=lambda p: p.id)
        ],
        "spacewalks": spacewalks,
    }
    return fingerprint(content)


def expedition_row(expedition: Expedition) -> Row:
    """Build the `expeditions` row of `expedition`, fingerprint included."""
    patches = sorted(expedition.mission_patches, key=_patch_order)
    spacewalks = sorted(expedition.spacewalks, key=_spacewalk_order)
    row = {
        "id": expedition.id,
        "name": expedition.name,
        "start_at": format_datetime(expedition.start),
        "end_at": format_optional_datetime(expedition.end),
        "station_id": expedition.station.id,
        "url": expedition.url,
        "mission_patches": _to_json([_patch_content(patch) for patch in patches]),
        "spacewalks": _to_json([_spacewalk_content(spacewalk) for spacewalk in spacewalks]),
        "fingerprint": expedition_fingerprint(expedition),
    }
    return clean_row(row)


def _patch_from_json(item: Mapping[str, Any]) -> MissionPatch:
    return MissionPatch(
        id=item["id"],
        name=item["name"],
        image_url=item["image_url"],
        priority=item["priority"],
        agency_name=item["agency_name"],
    )


def _spacewalk_from_json(item: Mapping[str, Any]) -> Spacewalk:
    return Spacewalk(
        id=item["id"],
        name=item["name"],
        start=parse_datetime(item["start"]),
        end=parse_datetime(item["end"]),
        duration=item["duration"],
        location=item["location"],
    )


def crew_order(member: CrewMember) -> tuple[float, str, str, int]:
    """Sort key of a crew seat: role priority (none last), then name, then flight id."""
    priority = _NO_PRIORITY if member.role_priority is None else member.role_priority
    name = member.astronaut.name
    return (priority, name.casefold(), name, member.flight_id)


def expedition_from_rows(
    row: Mapping[str, Any], station: Station, crew: Iterable[CrewMember]
) -> Expedition:
    """Rebuild an Expedition from its row, its station and its crew seats."""
    patches = tuple(_patch_from_json(item) for item in json.loads(row["mission_patches"]))
    spacewalks = tuple(_spacewalk_from_json(item) for item in json.loads(row["spacewalks"]))
    return Expedition(
        id=row["id"],
        name=row["name"],
        start=datetime.fromisoformat(row["start_at"]),
        station=station,
        end=parse_datetime(row["end_at"]),
        url=row["url"],
        crew=tuple(sorted(crew, key=crew_order)),
        mission_patches=patches,
        spacewalks=spacewalks,
    )
