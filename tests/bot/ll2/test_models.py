"""Tests of the LL2 payload models and their conversion into records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from pydantic import ValidationError

from bot.ll2.convert import to_expedition, to_station
from bot.ll2.models import ExpeditionModel, ExpeditionPageModel, StationModel
from storage.records import Agency, Nationality
from tests.bot.ll2.payloads import country_payload, expedition_payload, page_payload, station_payload


def _schema_validator(shared_ll2_dir: Path, component: str) -> OAS30Validator:
    spec = json.loads((shared_ll2_dir / "schema" / "ll2-2.3.0-openapi.json").read_text())
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    return OAS30Validator(schema)


def test_payload_builder_matches_official_schema(shared_ll2_dir: Path) -> None:
    validator = _schema_validator(shared_ll2_dir, "ExpeditionDetailed")

    errors = [error.message for error in validator.iter_errors(expedition_payload(7))]

    assert errors == []


def test_expedition_converts_every_read_field() -> None:
    payload = expedition_payload(7, name="Expedition 74", end="2026-07-26T07:02:00Z")

    expedition = to_expedition(ExpeditionModel.model_validate(payload))

    assert expedition.id == 7
    assert expedition.name == "Expedition 74"
    assert expedition.url == payload["url"]
    assert expedition.start == datetime(2025, 12, 9, 1, 41, tzinfo=UTC)
    assert expedition.end == datetime(2026, 7, 26, 7, 2, tzinfo=UTC)
    assert expedition.station.id == payload["spacestation"]["id"]
    assert expedition.station.name == payload["spacestation"]["name"]
    assert expedition.station.status == "Active"
    assert expedition.station.thumbnail_url == payload["spacestation"]["image"]["thumbnail_url"]
    assert expedition.station.image_url == payload["spacestation"]["image"]["image_url"]
    assert expedition.station.orbit == "Low Earth Orbit"
    assert expedition.station.founded == "1998-11-20"


def test_crew_converts_role_agency_and_nationality() -> None:
    payload = expedition_payload(7)
    seat = payload["crew"][1]

    member = to_expedition(ExpeditionModel.model_validate(payload)).crew[1]

    assert member.flight_id == seat["id"]
    assert member.role == "Flight Engineer"
    assert member.role_priority == 2
    assert member.astronaut.id == seat["astronaut"]["id"]
    assert member.astronaut.name == seat["astronaut"]["name"]
    assert member.astronaut.agency == Agency(44, "National Aeronautics and Space Administration", "NASA")
    assert member.astronaut.nationalities == (Nationality("American", "US"),)
    assert member.astronaut.status == "Active"
    assert member.astronaut.thumbnail_url == seat["astronaut"]["image"]["thumbnail_url"]
    assert member.astronaut.bio == seat["astronaut"]["bio"]
    assert member.astronaut.wiki_url == seat["astronaut"]["wiki"]


def test_patches_and_spacewalks_convert() -> None:
    payload = expedition_payload(7)

    expedition = to_expedition(ExpeditionModel.model_validate(payload))

    patch = expedition.mission_patches[0]
    assert patch.id == payload["mission_patches"][0]["id"]
    assert patch.image_url == payload["mission_patches"][0]["image_url"]
    assert patch.priority == 10
    assert patch.agency_name == "National Aeronautics and Space Administration"
    spacewalk = expedition.spacewalks[0]
    assert spacewalk.name == payload["spacewalks"][0]["name"]
    assert spacewalk.duration == "PT6H30M"
    assert spacewalk.start == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert spacewalk.location == "International Space Station"


def test_unknown_fields_are_ignored() -> None:
    payload = expedition_payload(7, program=[{"id": 17}], brand_new_field={"nested": True})
    payload["crew"][0]["astronaut"]["favourite_colour"] = "blue"

    expedition = to_expedition(ExpeditionModel.model_validate(payload))

    assert expedition.crew[0].astronaut.name == payload["crew"][0]["astronaut"]["name"]


def test_missing_optional_details_are_tolerated() -> None:
    payload = expedition_payload(7)
    del payload["end"]
    del payload["spacewalks"]
    payload["mission_patches"] = None
    payload["spacestation"]["image"] = None
    astronaut = payload["crew"][0]["astronaut"]
    astronaut["image"] = None
    astronaut["agency"] = None
    del astronaut["status"]
    astronaut["nationality"] = [{"id": 99}]
    del payload["crew"][0]["role"]

    expedition = to_expedition(ExpeditionModel.model_validate(payload))

    assert expedition.end is None
    assert expedition.spacewalks == ()
    assert expedition.mission_patches == ()
    assert expedition.station.thumbnail_url is None
    member = expedition.crew[0]
    assert member.role is None
    assert member.role_priority is None
    assert member.astronaut.thumbnail_url is None
    assert member.astronaut.agency is None
    assert member.astronaut.status is None
    assert member.astronaut.nationalities == ()


def test_expedition_without_crew_reads_as_empty_crew() -> None:
    payload = expedition_payload(7)
    del payload["crew"]

    expedition = to_expedition(ExpeditionModel.model_validate(payload))

    assert expedition.crew == ()


@pytest.mark.parametrize("field", ["id", "name", "start", "spacestation"])
def test_required_expedition_field_missing_is_invalid(field: str) -> None:
    payload = expedition_payload(7)
    del payload[field]

    with pytest.raises(ValidationError) as raised:
        ExpeditionModel.model_validate(payload)

    assert raised.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "seven"),
        ("name", None),
        ("name", 74),
        ("start", "yesterday"),
        ("start", None),
        ("start", 12345),
        ("end", 1.5),
        ("crew", "none"),
    ],
)
def test_wrong_expedition_field_type_is_invalid(field: str, value: object) -> None:
    payload = expedition_payload(7, **{field: value})

    with pytest.raises(ValidationError):
        ExpeditionModel.model_validate(payload)


def test_spacewalk_numeric_time_is_invalid() -> None:
    payload = expedition_payload(7)
    payload["spacewalks"][0]["start"] = 1_700_000_000

    with pytest.raises(ValidationError) as raised:
        ExpeditionModel.model_validate(payload)

    assert raised.value.errors()[0]["loc"] == ("spacewalks", 0, "start")


def test_astronaut_without_name_is_invalid() -> None:
    payload = expedition_payload(7)
    del payload["crew"][1]["astronaut"]["name"]

    with pytest.raises(ValidationError) as raised:
        ExpeditionModel.model_validate(payload)

    assert raised.value.errors()[0]["loc"][:4] == ("crew", 1, "astronaut", "name")


def test_times_are_converted_to_utc() -> None:
    payload = expedition_payload(7, start="2025-12-09T03:41:00+02:00", end="2026-01-01T00:00:00")

    expedition = to_expedition(ExpeditionModel.model_validate(payload))

    assert expedition.start == datetime(2025, 12, 9, 1, 41, tzinfo=UTC)
    assert expedition.start.utcoffset() == timedelta(0)
    assert expedition.end == datetime(2026, 1, 1, tzinfo=UTC)
    assert expedition.end.utcoffset() == timedelta(0)


def test_country_without_nationality_name_is_left_out() -> None:
    payload = expedition_payload(7)
    payload["crew"][0]["astronaut"]["nationality"] = [
        {"id": 6, "name": "China", "alpha_2_code": "CN"},
        country_payload(7, "Russia", "RU", "Russian"),
    ]

    member = to_expedition(ExpeditionModel.model_validate(payload)).crew[0]

    assert member.astronaut.nationalities == (Nationality("Russian", "RU"),)


def test_page_model_keeps_raw_results() -> None:
    body = page_payload([expedition_payload(1), {"id": "broken"}], count=150, offset=0)

    page = ExpeditionPageModel.model_validate(body)

    assert page.count == 150
    assert page.next is not None
    assert page.previous is None
    assert page.results[1] == {"id": "broken"}


def test_page_model_without_results_is_invalid() -> None:
    with pytest.raises(ValidationError):
        ExpeditionPageModel.model_validate({"count": 3, "next": None})


def test_station_builder_matches_official_schema(shared_ll2_dir: Path) -> None:
    validator = _schema_validator(shared_ll2_dir, "SpaceStationDetailed")

    errors = [error.message for error in validator.iter_errors(station_payload())]

    assert errors == []


def test_recorded_stations_convert(shared_ll2_dir: Path) -> None:
    recorded = json.loads(
        (shared_ll2_dir / "recorded" / "space_stations_detailed_2026-07-23.json").read_text()
    )

    stations = [to_station(StationModel.model_validate(entry)) for entry in recorded]

    assert [station.id for station in stations] == [entry["id"] for entry in recorded]
    for station, entry in zip(stations, recorded, strict=True):
        assert station.name == entry["name"]
        assert station.thumbnail_url == entry["image"]["thumbnail_url"]
        assert station.status == entry["status"]["name"]


def test_recorded_normal_mode_expeditions_convert(shared_ll2_dir: Path) -> None:
    recorded = json.loads(
        (shared_ll2_dir / "recorded" / "expeditions_normal_lldev_offset90.json").read_text()
    )

    page = ExpeditionPageModel.model_validate(recorded)
    expeditions = [to_expedition(ExpeditionModel.model_validate(raw)) for raw in page.results]

    assert [expedition.id for expedition in expeditions] == [raw["id"] for raw in recorded["results"]]
    for expedition, raw in zip(expeditions, recorded["results"], strict=True):
        assert expedition.name == raw["name"]
        assert expedition.station.id == raw["spacestation"]["id"]
        assert expedition.crew == ()
        assert expedition.start.tzinfo is not None
