"""Normalized expedition records, shared by the LL2 client, the storage layer and the embeds.

These are plain frozen dataclasses with no knowledge of LL2's payload shapes or of Discord.
Datetimes are timezone-aware and in UTC. Text fields contain LL2's text unchanged, so the
code that renders them must escape markdown and mentions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Agency:
    """A space agency as LL2 names it on a crew member or a mission patch."""

    id: int
    name: str
    abbrev: str | None = None


@dataclass(frozen=True, slots=True)
class Nationality:
    """One nationality of an astronaut, e.g. name "American" with country code "US"."""

    name: str
    country_code: str | None = None


@dataclass(frozen=True, slots=True)
class Astronaut:
    """A person who flew, or is assigned to fly, on an expedition."""

    id: int
    name: str
    agency: Agency | None = None
    nationalities: tuple[Nationality, ...] = ()
    status: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    bio: str | None = None
    wiki_url: str | None = None


@dataclass(frozen=True, slots=True)
class CrewMember:
    """An astronaut's seat on one expedition; a lower role priority sorts first."""

    flight_id: int
    astronaut: Astronaut
    role: str | None = None
    role_priority: int | None = None


@dataclass(frozen=True, slots=True)
class Station:
    """A space station, with the image used as the embed thumbnail."""

    id: int
    name: str
    status: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    orbit: str | None = None
    founded: str | None = None
    deorbited: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class MissionPatch:
    """A mission patch image; LL2 gives the lowest priority number the most weight."""

    id: int
    name: str
    image_url: str
    priority: int | None = None
    agency_name: str | None = None


@dataclass(frozen=True, slots=True)
class Spacewalk:
    """A spacewalk (EVA) made during an expedition; duration is ISO 8601, e.g. "PT6H30M"."""

    id: int
    name: str
    start: datetime | None = None
    end: datetime | None = None
    duration: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Expedition:
    """One expedition in LL2's detailed shape, normalized.

    `url` is the LL2 API address of the record. `end` is None while LL2 has no end date.
    """

    id: int
    name: str
    start: datetime
    station: Station
    end: datetime | None = None
    url: str | None = None
    crew: tuple[CrewMember, ...] = ()
    mission_patches: tuple[MissionPatch, ...] = ()
    spacewalks: tuple[Spacewalk, ...] = ()

    def is_ongoing(self, now: datetime) -> bool:
        """Return True when the expedition has started and has no end, or an end after `now`."""
        return self.start <= now and (self.end is None or self.end > now)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of expedition search results and the total number of matches."""

    total: int
    offset: int
    expeditions: tuple[Expedition, ...] = field(default_factory=tuple)
