"""Builders of LL2 2.3.0 detailed expedition payloads shaped like the official schema."""

from __future__ import annotations

import copy
from typing import Any


def image_payload(image_id: int, name: str) -> dict[str, Any]:
    """Return an `Image` object with every field the schema requires."""
    return {
        "id": image_id,
        "name": name,
        "image_url": f"https://images.example.org/{image_id}.jpg",
        "thumbnail_url": f"https://images.example.org/{image_id}_thumbnail.jpg",
        "credit": None,
        "license": {"id": 1, "name": "Unknown", "priority": 9, "link": None},
        "single_use": True,
        "variants": [],
    }


def agency_payload(agency_id: int, name: str, abbrev: str) -> dict[str, Any]:
    """Return an `AgencyMini` object."""
    return {
        "response_mode": "list",
        "id": agency_id,
        "url": f"https://ll2.example.org/2.3.0/agencies/{agency_id}/",
        "name": name,
        "abbrev": abbrev,
        "type": {"id": 1, "name": "Government"},
    }


def country_payload(country_id: int, name: str, code: str, nationality: str) -> dict[str, Any]:
    """Return a `Country` object."""
    return {
        "id": country_id,
        "name": name,
        "alpha_2_code": code,
        "alpha_3_code": code + "X",
        "nationality_name": nationality,
        "nationality_name_composed": nationality[:4] + "o",
    }


def astronaut_payload(astronaut_id: int, name: str) -> dict[str, Any]:
    """Return an `AstronautDetailed` object of a NASA astronaut."""
    return {
        "id": astronaut_id,
        "url": f"https://ll2.example.org/2.3.0/astronauts/{astronaut_id}/",
        "name": name,
        "status": {"id": 1, "name": "Active"},
        "agency": agency_payload(44, "National Aeronautics and Space Administration", "NASA"),
        "image": image_payload(10_000 + astronaut_id, f"{name} portrait"),
        "response_mode": "detailed",
        "type": {"id": 2, "name": "Government"},
        "in_space": False,
        "time_in_space": "P165DT16H19M",
        "eva_time": "PT6H30M",
        "age": 45,
        "date_of_birth": "1980-01-02",
        "date_of_death": None,
        "nationality": [country_payload(1, "United States", "US", "American")],
        "bio": f"{name} flew on a space station.",
        "wiki": f"https://en.wikipedia.org/wiki/{name.replace(' ', '_')}",
        "last_flight": "2025-12-09T01:41:00Z",
        "first_flight": "2020-04-09T08:05:06Z",
        "social_media_links": [],
    }


def station_payload(station_id: int = 4, name: str = "International Space Station") -> dict[str, Any]:
    """Return a `SpaceStationDetailed` object."""
    return {
        "id": station_id,
        "url": f"https://ll2.example.org/2.3.0/space_stations/{station_id}/",
        "name": name,
        "image": image_payload(1000 + station_id, f"{name} image"),
        "status": {"id": 1, "name": "Active"},
        "founded": "1998-11-20",
        "deorbited": None,
        "description": "A modular space station in low Earth orbit.",
        "orbit": "Low Earth Orbit",
        "type": {"id": 1, "name": "Government"},
        "owners": [],
    }


def expedition_payload(expedition_id: int, **overrides: Any) -> dict[str, Any]:
    """Return an `ExpeditionDetailed` object with two crew, one patch and one spacewalk."""
    payload = {
        "id": expedition_id,
        "url": f"https://ll2.example.org/2.3.0/expeditions/{expedition_id}/",
        "name": f"Expedition {expedition_id}",
        "start": "2025-12-09T01:41:00Z",
        "end": None,
        "response_mode": "detailed",
        "spacestation": station_payload(),
        "mission_patches": [
            {
                "id": 500 + expedition_id,
                "name": f"Expedition {expedition_id} patch",
                "priority": 10,
                "image_url": f"https://images.example.org/patch_{expedition_id}.png",
                "agency": agency_payload(44, "National Aeronautics and Space Administration", "NASA"),
                "response_mode": "normal",
            }
        ],
        "spacewalks": [
            {
                "response_mode": "list",
                "id": 900 + expedition_id,
                "url": f"https://ll2.example.org/2.3.0/spacewalks/{900 + expedition_id}/",
                "name": f"US EVA {expedition_id}",
                "start": "2026-01-15T12:00:00Z",
                "end": "2026-01-15T18:30:00Z",
                "duration": "PT6H30M",
                "location": "International Space Station",
            }
        ],
        "crew": [
            {
                "id": 5000 + 2 * expedition_id,
                "role": {"id": 1, "role": "Commander", "priority": 0},
                "astronaut": astronaut_payload(700 + expedition_id, f"Commander Of {expedition_id}"),
            },
            {
                "id": 5001 + 2 * expedition_id,
                "role": {"id": 3, "role": "Flight Engineer", "priority": 2},
                "astronaut": astronaut_payload(800 + expedition_id, f"Engineer Of {expedition_id}"),
            },
        ],
    }
    payload.update(copy.deepcopy(overrides))
    return payload


def page_payload(
    results: list[Any], *, count: int, offset: int, limit: int = 100, base: str = "http://127.0.0.1"
) -> dict[str, Any]:
    """Return a paginated list body with absolute `next` and `previous` links."""
    link = f"{base}/2.3.0/expeditions/?limit={limit}&mode=detailed&ordering=id&offset="
    next_link = None
    if offset + limit < count:
        next_link = f"{link}{offset + limit}"
    previous_link = None
    if offset > 0:
        previous_link = f"{link}{max(0, offset - limit)}"
    return {"count": count, "next": next_link, "previous": previous_link, "results": results}
