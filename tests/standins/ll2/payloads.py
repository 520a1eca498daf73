"""Builders for the nested LL2 2.3.0 objects that expedition payloads are made of.

Every builder returns a plain dict in the shape of the official OpenAPI schema (`Image`,
`AstronautDetailed`, `AstronautFlight`, `SpaceStationDetailed`, `MissionPatch`,
`SpacewalkList`). Nested dicts such as roles and agencies may be shared between payloads,
so callers must treat the results as read-only.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any

log = logging.getLogger(__name__)

# Base of the `url` fields of records this package invents; example.org is reserved for
# documentation, so no server responds there.
SYNTHETIC_API_BASE = "https://ll2.example.org/2.3.0"
SYNTHETIC_MEDIA_BASE = "https://media.example.org/ll2"

UNKNOWN_LICENSE = {"id": 1, "name": "Unknown", "priority": 9, "link": None}

ROLE_COMMANDER = {"id": 1, "role": "Commander", "priority": 0}
ROLE_FLIGHT_ENGINEER = {"id": 3, "role": "Flight Engineer", "priority": 2}
ROLE_OPERATOR = {"id": 32, "role": "Operator", "priority": 2}
ROLE_PARTICIPANT = {"id": 10, "role": "Spaceflight Participant", "priority": 3}

STATUS_ACTIVE = {"id": 1, "name": "Active"}
STATUS_RETIRED = {"id": 2, "name": "Retired"}
STATUS_DECEASED = {"id": 11, "name": "Deceased"}

ASTRONAUT_TYPE_BY_AGENCY_TYPE = {
    "Government": {"id": 2, "name": "Government"},
    "Commercial": {"id": 3, "name": "Commercial"},
    "Private": {"id": 4, "name": "Private"},
}
ASTRONAUT_TYPE_UNKNOWN = {"id": 1, "name": "Unknown"}

# The fields of a SpaceStationDetailedEndpoint record that SpaceStationDetailed (nested in a
# detailed expedition) carries; live counters such as `onboard_crew` are left out.
STATION_DETAILED_KEYS = (
    "id", "url", "name", "image", "status", "founded", "deorbited",
    "description", "orbit", "type", "owners",
)

TWITTER = {"id": 1, "name": "Twitter", "url": "https://twitter.com", "logo": None}
INSTAGRAM = {"id": 2, "name": "Instagram", "url": "https://www.instagram.com", "logo": None}


def format_datetime(moment: datetime) -> str:
    """Format an aware datetime the way LL2 does: UTC, whole seconds, a trailing `Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> datetime:
    """Parse an LL2 date-time such as `2025-12-09T01:41:00Z` into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_duration(total: timedelta) -> str:
    """Format a duration as LL2's ISO 8601 strings do, e.g. `P165DT16H19M`."""
    minutes = int(total.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days == 0 and hours == 0 and minutes == 0:
        return "PT0S"

    text = f"P{days}D" if days else "P"
    if hours or minutes:
        text += "T"
        text += f"{hours}H" if hours else ""
        text += f"{minutes}M" if minutes else ""
    return text


def image(image_id: int, name: str, image_url: str, thumbnail_url: str | None = None,
          *, credit: str | None = None) -> dict[str, Any]:
    """Build an `Image` object."""
    return {
        "id": image_id,
        "name": name,
        "image_url": image_url,
        "thumbnail_url": thumbnail_url or image_url,
        "credit": credit,
        "license": UNKNOWN_LICENSE,
        "single_use": True,
        "variants": [],
    }


def station_detailed(station: dict[str, Any]) -> dict[str, Any]:
    """Cut a SpaceStationDetailedEndpoint record down to the SpaceStationDetailed shape."""
    return {key: station[key] for key in STATION_DETAILED_KEYS}


def astronaut_type(agency: dict[str, Any] | None) -> dict[str, Any]:
    """Derive an `AstronautType` from the astronaut's agency type."""
    if agency is None:
        return ASTRONAUT_TYPE_UNKNOWN
    return ASTRONAUT_TYPE_BY_AGENCY_TYPE.get(agency["type"].get("name"), ASTRONAUT_TYPE_UNKNOWN)


def age_on(date_of_birth: str | None, date_of_death: str | None, reference: date) -> int | None:
    """Return the age in whole years at death, or on `reference` for the living."""
    if date_of_birth is None:
        return None

    born = date.fromisoformat(date_of_birth)
    until = date.fromisoformat(date_of_death) if date_of_death else reference
    had_birthday = (until.month, until.day) >= (born.month, born.day)
    return until.year - born.year - (0 if had_birthday else 1)


def social_media_links(astronaut_id: int, handle: str) -> list[dict[str, Any]]:
    """Invent zero, one or two social media links, chosen by the astronaut id."""
    links = []
    if astronaut_id % 3 == 0:
        links.append({"id": astronaut_id * 10 + 1, "social_media": TWITTER,
                      "url": f"https://twitter.com/{handle}"})
    if astronaut_id % 5 == 0:
        links.append({"id": astronaut_id * 10 + 2, "social_media": INSTAGRAM,
                      "url": f"https://www.instagram.com/{handle}/"})
    return links


def eva_time(astronaut_id: int) -> str:
    """Invent a total spacewalk time; about a third of astronauts never walked in space."""
    if astronaut_id % 3 == 1:
        return "PT0S"
    return format_duration(timedelta(minutes=(astronaut_id * 137) % (60 * 60) + 300))


def astronaut_detailed(
    *,
    astronaut_id: int,
    url: str,
    name: str,
    status: dict[str, Any],
    agency: dict[str, Any] | None,
    image_object: dict[str, Any] | None,
    in_space: bool,
    time_in_space: timedelta | None,
    age: int | None,
    date_of_birth: str | None,
    date_of_death: str | None,
    nationality: list[dict[str, Any]],
    bio: str,
    wiki: str | None,
    first_flight: str | None,
    last_flight: str | None,
) -> dict[str, Any]:
    """Build an `AstronautDetailed` object; `eva_time` and social links are invented from the id."""
    handle = "".join(character for character in name.lower() if character.isalnum())
    return {
        "id": astronaut_id,
        "url": url,
        "name": name,
        "status": status,
        "agency": agency,
        "image": image_object,
        "response_mode": "detailed",
        "type": astronaut_type(agency),
        "in_space": in_space,
        "time_in_space": format_duration(time_in_space) if time_in_space is not None else None,
        "eva_time": eva_time(astronaut_id),
        "age": age,
        "date_of_birth": date_of_birth,
        "date_of_death": date_of_death,
        "nationality": nationality,
        "bio": bio[:2048],
        "wiki": wiki,
        "last_flight": last_flight,
        "first_flight": first_flight,
        "social_media_links": social_media_links(astronaut_id, handle or f"astronaut{astronaut_id}"),
    }


def crew_member(flight_id: int, role: dict[str, Any], astronaut: dict[str, Any]) -> dict[str, Any]:
    """Build an `AstronautFlight` object: one astronaut's seat on an expedition."""
    return {"id": flight_id, "role": role, "astronaut": astronaut}


def mission_patch(patch_id: int, name: str, agency: dict[str, Any] | None,
                  *, priority: int = 10) -> dict[str, Any]:
    """Build a `MissionPatch` object whose image lives under the synthetic media base."""
    slug = "-".join(name.lower().split())
    return {
        "id": patch_id,
        "name": name,
        "priority": priority,
        "image_url": f"{SYNTHETIC_MEDIA_BASE}/mission_patch_images/{slug}.png",
        "agency": agency,
        "response_mode": "normal",
    }


def spacewalk(spacewalk_id: int, name: str, start: datetime, duration: timedelta,
              location: str | None) -> dict[str, Any]:
    """Build a `SpacewalkList` object."""
    return {
        "response_mode": "list",
        "id": spacewalk_id,
        "url": f"{SYNTHETIC_API_BASE}/spacewalks/{spacewalk_id}/",
        "name": name,
        "start": format_datetime(start),
        "end": format_datetime(start + duration),
        "duration": format_duration(duration),
        "location": location,
    }


def expedition_detailed(
    *,
    expedition_id: int,
    url: str,
    name: str,
    start: str,
    end: str | None,
    spacestation: dict[str, Any],
    crew: list[dict[str, Any]],
    mission_patches: list[dict[str, Any]] | None = None,
    spacewalks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Build an `ExpeditionDetailed` object."""
    return {
        "id": expedition_id,
        "url": url,
        "name": name,
        "start": start,
        "end": end,
        "response_mode": "detailed",
        "spacestation": spacestation,
        "mission_patches": mission_patches or [],
        "spacewalks": spacewalks or [],
        "crew": crew,
    }
