"""Change events: what changed in the mirror, recorded for announcements.

A save records events for the expeditions whose fingerprint changed, in the same transaction
as the mirror update (see `ChangeRecorder`). The clock records "started" and "ended" when it
passes a stored start or end date (see `record_clock_events`). Nothing is recorded until a
baseline exists, so the first full sync into an empty mirror announces nothing.

The functions here run inside a transaction that the caller (ExpeditionStore) opens.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlite_utils import Database

from storage.records import Expedition
from storage.rows import crew_order, format_datetime, parse_datetime, unique_seats

log = logging.getLogger(__name__)

# The order users see the kinds in.
EVENT_KINDS = (
    "new_expedition", "crew_changed", "dates_changed", "started", "ended", "patch_or_spacewalk_added",
)
EVENT_LABELS: dict[str, str] = {
    "new_expedition": "New expedition",
    "crew_changed": "Crew change",
    "dates_changed": "Dates changed",
    "started": "Expedition started",
    "ended": "Expedition ended",
    "patch_or_spacewalk_added": "Patch or spacewalk added",
}

# sync_state keys: when the baseline was set, and up to when the clock events are recorded.
BASELINE_KEY = "events_baseline_at"
CLOCK_CHECKPOINT_KEY = "events_clock_checkpoint_at"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One recorded change of an expedition.

    `old` and `new` hold JSON-ready values of what changed, e.g. {"end": "2026-07-26T07:02:00+00:00"}.
    `occurred_at` is when the bot detected the change.
    """

    id: int
    expedition_id: int
    station_id: int
    kind: str
    old: dict | None
    new: dict | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class _StoredState:
    """The fields that change events compare, read from the stored rows before a save overwrites them."""

    start: datetime
    end: datetime | None
    crew: list[dict[str, Any]]          # astronaut_id, name, role, in crew order
    patches: list[dict[str, Any]]       # id, name
    spacewalks: list[dict[str, Any]]    # id, name


def iso(value: datetime | None) -> str | None:
    """Format a datetime as UTC ISO 8601, without fractional seconds when they are zero."""
    return None if value is None else value.astimezone(timezone.utc).isoformat()


# Baseline and state


def _get_state(db: Database, key: str) -> str | None:
    found = list(db.query("SELECT value FROM sync_state WHERE key = ?", [key]))
    return found[0]["value"] if found else None


def _set_state(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def has_baseline(db: Database) -> bool:
    """Return True once `mark_baseline` has run on this database."""
    return _get_state(db, BASELINE_KEY) is not None


def mark_baseline(db: Database, now: datetime) -> bool:
    """Set the baseline and the clock checkpoint to `now`; return False when a baseline already exists."""
    if has_baseline(db):
        return False

    now_text = format_datetime(now)
    _set_state(db, BASELINE_KEY, now_text)
    _set_state(db, CLOCK_CHECKPOINT_KEY, now_text)
    log.info("change events baseline set at %s", now_text)
    return True


# Writing events


def _insert_event(
    db: Database,
    *,
    expedition_id: int,
    station_id: int,
    kind: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    occurred_at: str,
    clock_key: str | None = None,
) -> int | None:
    """Insert one event and return its id, or None when `clock_key` is already recorded."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO change_events "
        "(expedition_id, station_id, kind, old_values, new_values, occurred_at, clock_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            expedition_id, station_id, kind,
            None if old is None else json.dumps(old, ensure_ascii=False),
            None if new is None else json.dumps(new, ensure_ascii=False),
            occurred_at, clock_key,
        ],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None


class ChangeRecorder:
    """Records the change events of one save_expeditions transaction.

    Call `remember` with the ids of the stored expeditions the save is about to overwrite
    (the fingerprint-changed ones only), then `record` once the new rows are written.
    Without a baseline both do nothing.
    """

    def __init__(self, db: Database, now: datetime) -> None:
        self._db = db
        self._occurred_at = format_datetime(now)
        self._enabled = has_baseline(db)
        self._stored: dict[int, _StoredState] = {}

    def remember(self, expedition_ids: Iterable[int]) -> None:
        """Read the stored state of `expedition_ids` before the save overwrites it."""
        ids = sorted(set(expedition_ids))
        if self._enabled and ids:
            self._stored.update(_load_stored_states(self._db, ids))

    def record(self, batch: Iterable[Expedition], inserted: Iterable[int], updated: Iterable[int]) -> list[int]:
        """Insert the events of the inserted and updated expeditions of `batch`; return their ids."""
        if not self._enabled:
            return []

        by_id = {expedition.id: expedition for expedition in batch}
        event_ids: list[int] = []
        for expedition_id in inserted:
            event_ids.extend(self._record_new(by_id[expedition_id]))
        for expedition_id in updated:
            stored = self._stored.get(expedition_id)
            if stored is None:
                log.warning("no stored state of updated expedition %d; recording no change events", expedition_id)
                continue
            event_ids.extend(self._record_changes(stored, by_id[expedition_id]))
        return event_ids

    def _record_new(self, expedition: Expedition) -> list[int]:
        new = {"name": expedition.name, "start": iso(expedition.start), "end": iso(expedition.end)}
        return self._insert(expedition, "new_expedition", None, new)

    def _record_changes(self, stored: _StoredState, expedition: Expedition) -> list[int]:
        event_ids: list[int] = []

        new_crew = _crew_values(expedition)
        if _crew_key(stored.crew) != _crew_key(new_crew):
            event_ids += self._insert(
                expedition, "crew_changed",
                {"crew": _public_crew(stored.crew)}, {"crew": _public_crew(new_crew)},
            )

        if stored.start != expedition.start or stored.end != expedition.end:
            event_ids += self._insert(
                expedition, "dates_changed",
                {"start": iso(stored.start), "end": iso(stored.end)},
                {"start": iso(expedition.start), "end": iso(expedition.end)},
            )

        old_added, new_added = _added_patches_and_spacewalks(stored, expedition)
        if new_added:
            event_ids += self._insert(expedition, "patch_or_spacewalk_added", old_added, new_added)
        return event_ids

    def _insert(
        self, expedition: Expedition, kind: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> list[int]:
        event_id = _insert_event(
            self._db, expedition_id=expedition.id, station_id=expedition.station.id, kind=kind,
            old=old, new=new, occurred_at=self._occurred_at,
        )
        log.info("recorded change event %s: %s of expedition %d", event_id, kind, expedition.id)
        return [] if event_id is None else [event_id]


def _load_stored_states(db: Database, expedition_ids: list[int]) -> dict[int, _StoredState]:
    ids_param = [json.dumps(expedition_ids)]
    crew: dict[int, list[dict[str, Any]]] = {expedition_id: [] for expedition_id in expedition_ids}
    seats = db.query(
        "SELECT c.expedition_id, c.astronaut_id, c.role, c.role_priority, a.name "
        "FROM crew c JOIN astronauts a ON a.id = c.astronaut_id "
        "WHERE c.expedition_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY c.expedition_id, c.flight_id",
        ids_param,
    )
    for seat in seats:
        crew[seat["expedition_id"]].append(seat)

    states: dict[int, _StoredState] = {}
    rows = db.query(
        "SELECT id, start_at, end_at, mission_patches, spacewalks FROM expeditions "
        "WHERE id IN (SELECT value FROM json_each(?))",
        ids_param,
    )
    for row in rows:
        states[row["id"]] = _StoredState(
            start=datetime.fromisoformat(row["start_at"]),
            end=parse_datetime(row["end_at"]),
            crew=_sorted_crew(crew[row["id"]]),
            patches=[{"id": item["id"], "name": item["name"]} for item in json.loads(row["mission_patches"])],
            spacewalks=[{"id": item["id"], "name": item["name"]} for item in json.loads(row["spacewalks"])],
        )
    return states


def _sorted_crew(seats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def order(seat: dict[str, Any]) -> tuple[float, str, str]:
        priority = float("inf") if seat["role_priority"] is None else seat["role_priority"]
        return (priority, seat["name"].casefold(), seat["name"])

    return [
        {"astronaut_id": seat["astronaut_id"], "name": seat["name"], "role": seat["role"]}
        for seat in sorted(seats, key=order)
    ]


def _crew_values(expedition: Expedition) -> list[dict[str, Any]]:
    return [
        {"astronaut_id": member.astronaut.id, "name": member.astronaut.name, "role": member.role}
        for member in sorted(unique_seats(expedition), key=crew_order)
    ]


def _crew_key(crew: list[dict[str, Any]]) -> Counter[tuple[int, str | None]]:
    # Seats compare by astronaut and role only: a renumbered seat or a renamed astronaut is no crew change.
    return Counter((seat["astronaut_id"], seat["role"]) for seat in crew)


def _public_crew(crew: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": seat["name"], "role": seat["role"]} for seat in crew]


def _added_patches_and_spacewalks(
    stored: _StoredState, expedition: Expedition
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return the old and new names of the patches and spacewalks, for each of the two with an added id."""
    old: dict[str, list[str]] = {}
    new: dict[str, list[str]] = {}

    old_patch_ids = {item["id"] for item in stored.patches}
    if any(patch.id not in old_patch_ids for patch in expedition.mission_patches):
        old["mission_patches"] = [item["name"] for item in stored.patches]
        new["mission_patches"] = [patch.name for patch in expedition.mission_patches]

    old_spacewalk_ids = {item["id"] for item in stored.spacewalks}
    if any(spacewalk.id not in old_spacewalk_ids for spacewalk in expedition.spacewalks):
        old["spacewalks"] = [item["name"] for item in stored.spacewalks]
        new["spacewalks"] = [spacewalk.name for spacewalk in expedition.spacewalks]
    return old, new


# Clock events


def record_clock_events(db: Database, now: datetime) -> list[int]:
    """Record "started" and "ended" for the dates the clock passed since the last call; return the new ids.

    An expedition starts in this pass when checkpoint < start <= now (the same for its end).
    Each (kind, expedition, date) is recorded at most once, even when the checkpoint moves back.
    Does nothing before a baseline exists.
    """
    if not has_baseline(db):
        return []

    now_text = format_datetime(now)
    checkpoint = _get_state(db, CLOCK_CHECKPOINT_KEY) or now_text
    if checkpoint >= now_text:
        return []

    # The stored dates use format_datetime's fixed-width UTC form, so text order is time order.
    passed = list(db.query(
        "SELECT id, station_id, 'started' AS kind, start_at AS at FROM expeditions "
        "WHERE start_at > ? AND start_at <= ? "
        "UNION ALL "
        "SELECT id, station_id, 'ended' AS kind, end_at AS at FROM expeditions "
        "WHERE end_at > ? AND end_at <= ? "
        "ORDER BY at, id",
        [checkpoint, now_text, checkpoint, now_text],
    ))

    event_ids: list[int] = []
    for row in passed:
        field = "start" if row["kind"] == "started" else "end"
        event_id = _insert_event(
            db, expedition_id=row["id"], station_id=row["station_id"], kind=row["kind"],
            old=None, new={field: iso(datetime.fromisoformat(row["at"]))}, occurred_at=now_text,
            clock_key=f"{row['kind']}:{row['id']}:{row['at']}",
        )
        if event_id is not None:
            event_ids.append(event_id)
            log.info("recorded change event %d: %s of expedition %d", event_id, row["kind"], row["id"])

    _set_state(db, CLOCK_CHECKPOINT_KEY, now_text)
    return event_ids


# Reading


def _event_from_row(row: Mapping[str, Any]) -> ChangeEvent:
    return ChangeEvent(
        id=row["id"],
        expedition_id=row["expedition_id"],
        station_id=row["station_id"],
        kind=row["kind"],
        old=None if row["old_values"] is None else json.loads(row["old_values"]),
        new=None if row["new_values"] is None else json.loads(row["new_values"]),
        occurred_at=datetime.fromisoformat(row["occurred_at"]),
    )


def get_event(db: Database, event_id: int) -> ChangeEvent | None:
    """Return the event with `event_id`, or None."""
    found = list(db.query("SELECT * FROM change_events WHERE id = ?", [event_id]))
    return _event_from_row(found[0]) if found else None


def recent_events(db: Database, limit: int = 50) -> list[ChangeEvent]:
    """Return the `limit` most recent events, newest first."""
    rows = db.query("SELECT * FROM change_events ORDER BY id DESC LIMIT ?", [max(limit, 0)])
    return [_event_from_row(row) for row in rows]
