"""Conversion of validated LL2 models into the shared `storage.records` dataclasses."""

from __future__ import annotations

import logging

from bot.ll2.models import (
    AgencyModel,
    AstronautModel,
    CountryModel,
    CrewSeatModel,
    ExpeditionModel,
    ImageModel,
    MissionPatchModel,
    NamedStatus,
    SpacewalkModel,
    StationModel,
)
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


def to_expedition(model: ExpeditionModel) -> Expedition:
    """Convert one detailed LL2 expedition into an `Expedition` record."""
    return Expedition(
        id=model.id,
        name=model.name,
        start=model.start,
        end=model.end,
        url=model.url,
        station=to_station(model.spacestation),
        crew=tuple(to_crew_member(seat) for seat in model.crew),
        mission_patches=tuple(to_mission_patch(patch) for patch in model.mission_patches),
        spacewalks=tuple(to_spacewalk(spacewalk) for spacewalk in model.spacewalks),
    )


def to_station(model: StationModel) -> Station:
    """Convert an LL2 space station into a `Station` record."""
    return Station(
        id=model.id,
        name=model.name,
        status=_status_name(model.status),
        image_url=_image_url(model.image),
        thumbnail_url=_thumbnail_url(model.image),
        orbit=model.orbit,
        founded=model.founded,
        deorbited=model.deorbited,
        description=model.description,
    )


def to_crew_member(model: CrewSeatModel) -> CrewMember:
    """Convert an LL2 `AstronautFlight` (one crew seat) into a `CrewMember` record."""
    role = model.role
    return CrewMember(
        flight_id=model.id,
        astronaut=to_astronaut(model.astronaut),
        role=role.role if role is not None else None,
        role_priority=role.priority if role is not None else None,
    )


def to_astronaut(model: AstronautModel) -> Astronaut:
    """Convert an LL2 astronaut into an `Astronaut` record."""
    return Astronaut(
        id=model.id,
        name=model.name,
        agency=to_agency(model.agency) if model.agency is not None else None,
        nationalities=to_nationalities(model.nationality),
        status=_status_name(model.status),
        image_url=_image_url(model.image),
        thumbnail_url=_thumbnail_url(model.image),
        bio=model.bio,
        wiki_url=model.wiki,
    )


def to_agency(model: AgencyModel) -> Agency:
    """Convert an LL2 `AgencyMini` into an `Agency` record."""
    return Agency(id=model.id, name=model.name, abbrev=model.abbrev)


def to_nationalities(countries: list[CountryModel]) -> tuple[Nationality, ...]:
    """Convert LL2 countries into nationalities, keeping their order.

    A country without a `nationality_name` is left out, because a country name such as
    "China" is not a nationality and would mislead a search for one.
    """
    nationalities = []
    for country in countries:
        if not country.nationality_name:
            log.debug("country id=%s has no nationality name; left out", country.id)
            continue
        nationalities.append(
            Nationality(name=country.nationality_name, country_code=country.alpha_2_code)
        )
    return tuple(nationalities)


def to_mission_patch(model: MissionPatchModel) -> MissionPatch:
    """Convert an LL2 mission patch into a `MissionPatch` record."""
    return MissionPatch(
        id=model.id,
        name=model.name,
        image_url=model.image_url,
        priority=model.priority,
        agency_name=model.agency.name if model.agency is not None else None,
    )


def to_spacewalk(model: SpacewalkModel) -> Spacewalk:
    """Convert an LL2 spacewalk into a `Spacewalk` record."""
    return Spacewalk(
        id=model.id,
        name=model.name,
        start=model.start,
        end=model.end,
        duration=model.duration,
        location=model.location,
    )


def _status_name(status: NamedStatus | None) -> str | None:
    return status.name if status is not None else None


def _image_url(image: ImageModel | None) -> str | None:
    return image.image_url if image is not None else None


def _thumbnail_url(image: ImageModel | None) -> str | None:
    return image.thumbnail_url if image is not None else None
