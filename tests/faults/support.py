"""Helpers of the fault tests: dataset edits, mirror snapshots and a stand-in LL2 with more faults."""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from storage.database import ExpeditionStore
from tests.standins.ll2.dataset import LL2Dataset
from tests.standins.ll2.server import Fault, StandInLL2, json_response

# Fields that LL2 2.3.0's OpenAPI schema marks nullable, per object of a detailed expedition.
NULLABLE_EXPEDITION_FIELDS = ("end",)
NULLABLE_STATION_FIELDS = ("image", "deorbited", "orbit", "owners")
NULLABLE_PATCH_FIELDS = ("agency",)
NULLABLE_SPACEWALK_FIELDS = ("start", "end", "duration", "location")
NULLABLE_ASTRONAUT_FIELDS = (
    "agency", "image", "time_in_space", "age", "date_of_birth", "date_of_death", "wiki",
    "last_flight", "first_flight",
)


def copy_dataset(dataset: LL2Dataset) -> LL2Dataset:
    """Return a deep copy of `dataset` that a test may edit."""
    return LL2Dataset(expeditions=copy.deepcopy(dataset.expeditions), stations=copy.deepcopy(dataset.stations))


def with_record(dataset: LL2Dataset, record: dict[str, Any]) -> LL2Dataset:
    """Return a copy of `dataset` in which `record` replaces the record with the same id."""
    edited = copy_dataset(dataset)
    edited.expeditions = [record if item["id"] == record["id"] else item for item in edited.expeditions]
    return edited


def null_every_nullable(record: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of an expedition payload with every field the schema allows to be null set to null."""
    nulled = copy.deepcopy(record)
    for name in NULLABLE_EXPEDITION_FIELDS:
        nulled[name] = None
    for name in NULLABLE_STATION_FIELDS:
        nulled["spacestation"][name] = None
    for patch in nulled["mission_patches"]:
        for name in NULLABLE_PATCH_FIELDS:
            patch[name] = None
    for spacewalk in nulled["spacewalks"]:
        for name in NULLABLE_SPACEWALK_FIELDS:
            spacewalk[name] = None
    for seat in nulled["crew"]:
        for name in NULLABLE_ASTRONAUT_FIELDS:
            seat["astronaut"][name] = None
    return nulled


def mirror_snapshot(database_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table except sync state, read through a separate connection.

    Tables that other parts of the bot add (change events, deliveries) are included, so a
    snapshot that stays equal also proves that no change event was written.
    """
    connection = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sync_state' ORDER BY name")]
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        connection.close()


def _payload_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_mirror_equals(store: ExpeditionStore, dataset: LL2Dataset) -> None:
    """Assert that the mirror contains exactly the dataset's expeditions, with their names, dates, stations and crews."""
    assert store.expedition_ids() == sorted(item["id"] for item in dataset.expeditions)
    for payload in dataset.expeditions:
        stored = store.get_expedition(payload["id"])
        assert stored is not None
        assert stored.name == payload["name"]
        assert stored.start == _payload_time(payload["start"])
        assert stored.end == _payload_time(payload["end"])
        assert stored.station.id == payload["spacestation"]["id"]
        assert stored.station.name == payload["spacestation"]["name"]
        assert sorted((member.flight_id, member.astronaut.id) for member in stored.crew) == sorted(
            (seat["id"], seat["astronaut"]["id"]) for seat in payload["crew"])


class PagingFaultLL2(StandInLL2):
    """A stand-in LL2 whose faults can wait for a given page offset, to fail in the middle of paging.

    `fault_at(offset, fault)` queues `fault` when the first request for `offset` arrives, so the
    pages before it are served normally and the fault replaces the response to that request and its retries.
    """

    def __init__(self, dataset: LL2Dataset, **options: Any) -> None:
        super().__init__(dataset, **options)
        self._faults_at: dict[int, Fault] = {}
        self.renamed_fields: dict[int, tuple[str, str]] = {}

    def rename_field(self, record_id: int, old: str, new: str) -> None:
        """Serve record `record_id` with its field `old` renamed to `new`, as a changed API would."""
        self.renamed_fields[record_id] = (old, new)

    def fault_at(self, offset: int, fault: Fault) -> None:
        """Respond to the request for page `offset` (and the next ones, per `fault.times`) with `fault`."""
        self._faults_at[offset] = fault

    async def _list_expeditions(self, request: web.Request) -> web.StreamResponse:
        offset_text = request.query.get("offset", "0")
        offset = int(offset_text) if offset_text.isdigit() else 0
        fault = self._faults_at.pop(offset, None)
        if fault is not None:
            self.inject_fault(fault)
        response = await super()._list_expeditions(request)
        if not self.renamed_fields or response.status != 200:
            return response
        return self._with_renamed_fields(response)

    def _with_renamed_fields(self, response: web.StreamResponse) -> web.StreamResponse:
        assert isinstance(response, web.Response) and isinstance(response.body, bytes)
        page = json.loads(response.body)
        for record in page["results"]:
            if record["id"] in self.renamed_fields:
                old, new = self.renamed_fields[record["id"]]
                record[new] = record.pop(old)
        return json_response(page)
