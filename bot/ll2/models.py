"""Pydantic models of the Launch Library 2 (LL2) 2.3.0 expedition payload, detailed mode.

Only the fields the bot reads are declared, and unknown fields are ignored, so LL2 may add
fields without breaking the sync. The full structures are documented in the official OpenAPI
3.0 schema of LL2 2.3.0, under the component name given in each model's docstring.

Fields the bot cannot work without (ids, names, an expedition's start and station) are
required. Everything else is optional even where the schema marks it required, because a
missing image or role must cost one detail, not the whole expedition.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

log = logging.getLogger(__name__)


class LL2Model(BaseModel):
    """Base of every LL2 model: unknown fields ignored, instances immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _require_text_time(value: Any) -> Any:
    # LL2 sends times as ISO 8601 strings. Pydantic would read a number as a Unix timestamp,
    # which would turn a corrupt record into a plausible date instead of rejecting it.
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError(f"expected an ISO 8601 date-time string, got {type(value).__name__}")
    return value


def _as_utc(value: datetime | None) -> datetime | None:
    # LL2 sends "Z"-suffixed times. A time without an offset is taken as UTC, because every
    # time LL2 publishes is UTC and the records promise timezone-aware values.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class NamedStatus(LL2Model):
    """An id and a name: LL2's `SpaceStationStatus`, `AstronautStatus` and similar."""

    id: int | None = None
    name: str | None = None


class ImageModel(LL2Model):
    """An image with its thumbnail: LL2's `Image` component."""

    id: int | None = None
    name: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None


class CountryModel(LL2Model):
    """A country as a nationality: LL2's `Country` component (only `id` is required there)."""

    id: int
    name: str | None = None
    alpha_2_code: str | None = None
    nationality_name: str | None = None


class AgencyModel(LL2Model):
    """A space agency in its shortest form: LL2's `AgencyMini` component."""

    id: int
    name: str
    abbrev: str | None = None


class AstronautRoleModel(LL2Model):
    """A crew seat's role, e.g. "Commander": LL2's `AstronautRole` component."""

    id: int | None = None
    role: str | None = None
    priority: int | None = None


class AstronautModel(LL2Model):
    """A person on a crew: LL2's `AstronautDetailed` component."""

    id: int
    name: str
    status: NamedStatus | None = None
    agency: AgencyModel | None = None
    image: ImageModel | None = None
    nationality: list[CountryModel] = []
    bio: str | None = None
    wiki: str | None = None

    @field_validator("nationality", mode="before")
    @classmethod
    def _null_nationality_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class CrewSeatModel(LL2Model):
    """One astronaut's seat on an expedition: LL2's `AstronautFlight` component."""

    id: int
    role: AstronautRoleModel | None = None
    astronaut: AstronautModel


class StationModel(LL2Model):
    """The station an expedition lived on: LL2's `SpaceStationDetailed` component."""

    id: int
    name: str
    url: str | None = None
    image: ImageModel | None = None
    status: NamedStatus | None = None
    founded: str | None = None
    deorbited: str | None = None
    description: str | None = None
    orbit: str | None = None


class MissionPatchModel(LL2Model):
    """A mission patch image: LL2's `MissionPatch` component."""

    id: int
    name: str
    image_url: str
    priority: int | None = None
    agency: AgencyModel | None = None


class SpacewalkModel(LL2Model):
    """A spacewalk made during an expedition: LL2's `SpacewalkList` component."""

    id: int
    name: str
    start: datetime | None = None
    end: datetime | None = None
    duration: str | None = None
    location: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text_time(cls, value: Any) -> Any:
        return _require_text_time(value)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)


class ExpeditionModel(LL2Model):
    """An expedition in detailed mode: LL2's `ExpeditionDetailed` component.

    `crew` is only sent in detailed mode; a record without it is read as having no crew.
    """

    id: int
    name: str
    start: datetime
    end: datetime | None = None
    url: str | None = None
    spacestation: StationModel
    crew: list[CrewSeatModel] = []
    mission_patches: list[MissionPatchModel] = []
    spacewalks: list[SpacewalkModel] = []

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text_time(cls, value: Any) -> Any:
        return _require_text_time(value)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @field_validator("crew", "mission_patches", "spacewalks", mode="before")
    @classmethod
    def _null_list_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class ExpeditionPageModel(LL2Model):
    """One page of `GET /expeditions/`: LL2's `PaginatedPolymorphicExpeditionEndpointList`.

    `results` stays raw so that the client can validate each record on its own and skip only
    the ones that fail.
    """

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[Any]
