"""LL2 faults met by the real client and sync over a filled mirror: nothing is lost, nothing changes falsely.

Each failing scenario fills the mirror with a complete sync, makes a second sync fail at the
middle page, and checks that the mirror is untouched and the error is in sync state. A third
sync, with LL2 working again and one record changed meanwhile, must complete and leave the
mirror equal to LL2's data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.jobs.sync import ERROR_KEY, OFFSET_KEY, RETRY_NOT_BEFORE_KEY, SKIPPED_KEY, run_full_sync
from bot.ll2.client import LL2Client
from storage.database import ExpeditionStore
from tests.faults.support import (
    PagingFaultLL2,
    assert_mirror_equals,
    copy_dataset,
    mirror_snapshot,
    null_every_nullable,
    with_record,
)
from tests.standins.ll2.dataset import LL2Dataset
from tests.standins.ll2.server import Fault

StartLL2 = Callable[..., Any]
MakeClient = Callable[..., LL2Client]

MIDDLE_PAGE = 100
ATTEMPTS = 2


@dataclass(frozen=True)
class PageFault:
    """A fault for the middle page, the text the sync's error must contain, and the throttle wait if any."""

    fault: Fault
    error_text: str
    retry_after_header: bool = True
    throttle_seconds: int | None = None


PAGE_FAULTS = {
    "429 with Retry-After": PageFault(Fault(kind="throttle", retry_after=120), "429", throttle_seconds=120),
    "429 without Retry-After": PageFault(
        Fault(kind="throttle", retry_after=300), "429", retry_after_header=False, throttle_seconds=300),
    "500": PageFault(Fault(kind="status", status=500, times=ATTEMPTS), "status 500"),
    "502 with an HTML body": PageFault(Fault(kind="html_502", times=ATTEMPTS), "status 502"),
    "timeout": PageFault(Fault(kind="timeout", times=ATTEMPTS), "timed out"),
    "truncated JSON": PageFault(Fault(kind="truncated_json", times=ATTEMPTS), "not JSON"),
    "missing page": PageFault(Fault(kind="status", status=404, detail="Not found."), "status 404"),
}


def renamed_late_record(dataset: LL2Dataset) -> tuple[LL2Dataset, int]:
    """Return a copy of `dataset` with a record of the last page renamed, and that record's id."""
    changed = copy_dataset(dataset)
    record = changed.expeditions[220]
    record["name"] = record["name"] + " (renamed)"
    return changed, record["id"]


@pytest.mark.parametrize("name", list(PAGE_FAULTS))
async def test_page_fault_keeps_mirror_then_recovers(
    name: str, store: ExpeditionStore, database_path: Path, dataset: LL2Dataset,
    start_ll2: StartLL2, make_client: MakeClient,
) -> None:
    scenario = PAGE_FAULTS[name]
    standin: PagingFaultLL2 = await start_ll2(dataset, send_retry_after_header=scenario.retry_after_header)
    client = make_client(standin, max_attempts=ATTEMPTS, timeout_seconds=0.3)
    assert (await run_full_sync(client, store)).complete
    filled = mirror_snapshot(database_path)
    started = datetime.now(UTC)

    standin.fault_at(MIDDLE_PAGE, scenario.fault)
    failed = await run_full_sync(client, store)

    assert failed.complete is False
    assert failed.error is not None and scenario.error_text in failed.error
    assert store.get_state(ERROR_KEY) == failed.error
    assert store.get_state(OFFSET_KEY) == str(MIDDLE_PAGE)
    assert mirror_snapshot(database_path) == filled
    assert failed.inserted == []
    assert failed.updated == []

    clock = datetime.now(UTC)
    if scenario.throttle_seconds is not None:
        retry_at = datetime.fromisoformat(store.get_state(RETRY_NOT_BEFORE_KEY) or "")
        assert started + timedelta(seconds=scenario.throttle_seconds - 1) <= retry_at
        assert retry_at <= datetime.now(UTC) + timedelta(seconds=scenario.throttle_seconds)
        clock = retry_at + timedelta(seconds=1)

    changed, changed_id = renamed_late_record(dataset)
    standin.set_dataset(changed)
    completed = await run_full_sync(client, store, clock=lambda: clock)

    assert completed.complete is True, completed.error
    assert completed.start_offset == MIDDLE_PAGE
    assert completed.inserted == []
    assert completed.updated == [changed_id]
    assert store.get_state(ERROR_KEY) is None
    assert store.get_state(OFFSET_KEY) is None
    assert_mirror_equals(store, changed)


async def test_all_nullable_fields_null_mirrored(
    store: ExpeditionStore, database_path: Path, dataset: LL2Dataset,
    start_ll2: StartLL2, make_client: MakeClient,
) -> None:
    original = next(item for item in dataset.expeditions
                    if item["crew"] and item["mission_patches"] and item["spacewalks"])
    nulled = with_record(dataset, null_every_nullable(original))
    standin = await start_ll2(dataset)
    client = make_client(standin)
    await run_full_sync(client, store)

    standin.set_dataset(nulled)
    changed = await run_full_sync(client, store)
    settled = mirror_snapshot(database_path)
    again = await run_full_sync(client, store)

    assert changed.complete is True
    assert changed.skipped == 0
    assert changed.updated == [original["id"]]
    assert_mirror_equals(store, nulled)
    stored = store.get_expedition(original["id"])
    assert stored is not None
    # Stations and astronauts are shared with other records, which still carry their details.
    assert stored.end is None
    assert stored.spacewalks and all(walk.start is None and walk.location is None for walk in stored.spacewalks)
    assert again.updated == []
    assert again.inserted == []
    assert mirror_snapshot(database_path) == settled


def _add_unknown_fields(dataset: LL2Dataset) -> LL2Dataset:
    extended = copy_dataset(dataset)
    novelty = {"introduced_in": "2.4.0", "values": [1, None, {"deep": True}]}
    for record in extended.expeditions:
        record["future_field"] = novelty
        record["spacestation"]["docking_ports"] = novelty
        for seat in record["crew"]:
            seat["seat_number"] = 3
            seat["astronaut"]["favourite_food"] = "borscht"
        for patch in record["mission_patches"]:
            patch["colour_count"] = 7
    return extended


async def test_unknown_fields_change_nothing(
    store: ExpeditionStore, database_path: Path, dataset: LL2Dataset,
    start_ll2: StartLL2, make_client: MakeClient,
) -> None:
    standin = await start_ll2(dataset)
    client = make_client(standin)
    await run_full_sync(client, store)
    filled = mirror_snapshot(database_path)

    standin.set_dataset(_add_unknown_fields(dataset))
    report = await run_full_sync(client, store)

    assert report.complete is True
    assert report.skipped == 0
    assert report.inserted == []
    assert report.updated == []
    assert report.unchanged == len(dataset.expeditions)
    assert mirror_snapshot(database_path) == filled


async def test_renamed_field_keeps_mirrored_copy(
    store: ExpeditionStore, database_path: Path, dataset: LL2Dataset,
    start_ll2: StartLL2, make_client: MakeClient, caplog: pytest.LogCaptureFixture,
) -> None:
    record = dataset.expeditions[150]
    standin = await start_ll2(dataset)
    client = make_client(standin)
    await run_full_sync(client, store)
    filled = mirror_snapshot(database_path)
    caplog.set_level(logging.WARNING, logger="bot.ll2.client")

    standin.rename_field(record["id"], "spacestation", "space_station")
    skipping = await run_full_sync(client, store)

    assert skipping.complete is True
    assert skipping.skipped_ids == [record["id"]]
    skip_lines = [entry.getMessage() for entry in caplog.records if f"id={record['id']}" in entry.getMessage()]
    assert skip_lines
    assert "spacestation" in skip_lines[0]
    assert store.get_state(SKIPPED_KEY) == f"[{record['id']}]"
    assert store.get_expedition(record["id"]) is not None
    assert mirror_snapshot(database_path) == filled

    standin.renamed_fields.clear()
    repaired = await run_full_sync(client, store)

    assert repaired.skipped == 0
    assert repaired.updated == []
    assert store.get_state(SKIPPED_KEY) is None
    assert_mirror_equals(store, dataset)
