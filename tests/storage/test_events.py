"""Change events: what a save and the clock record, and what they leave alone."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlite_utils import Database

from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS, EVENT_LABELS
from storage.records import CrewMember, Expedition
from storage.rows import expedition_fingerprint
from storage.schema import MIGRATIONS, migrate, schema_version
from tests.storage.conftest import RecordFactory

BASELINE_AT = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)
DETECTED_AT = datetime(2026, 7, 24, 6, 30, tzinfo=timezone.utc)


def fingerprint_of(expedition: Expedition | None) -> str | None:
    # Stored records come back with crew and patches in display order, so compare fingerprints.
    return None if expedition is None else expedition_fingerprint(expedition)


def kinds(store: ExpeditionStore, event_ids: tuple[int, ...]) -> list[str]:
    return [store.get_event(event_id).kind for event_id in event_ids]  # type: ignore[union-attr]


def test_labels_cover_every_kind() -> None:
    assert set(EVENT_LABELS) == set(EVENT_KINDS)
    assert len(EVENT_KINDS) == 6


def test_no_events_before_baseline(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(end=None)
    first = store.save_expeditions([expedition, factory.expedition()], now=DETECTED_AT)
    changed = store.save_expeditions([dataclasses.replace(expedition, end=DETECTED_AT)], now=DETECTED_AT)

    assert not store.has_baseline()
    assert first.events == ()
    assert changed.updated == (expedition.id,)
    assert changed.events == ()
    assert store.recent_events() == []


def test_events_after_baseline(store: ExpeditionStore, factory: RecordFactory) -> None:
    store.save_expeditions(factory.expeditions(3), now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    added = factory.expedition(name="Expedition 75")

    report = store.save_expeditions([added], now=DETECTED_AT)

    assert store.has_baseline()
    assert len(report.events) == 1
    event = store.get_event(report.events[0])
    assert event is not None
    assert event.kind == "new_expedition"
    assert event.expedition_id == added.id
    assert event.station_id == added.station.id
    assert event.old is None
    assert event.new is not None
    assert event.new["name"] == "Expedition 75"
    assert event.occurred_at == DETECTED_AT


def test_end_date_from_none(store: ExpeditionStore, factory: RecordFactory) -> None:
    start = datetime(2025, 11, 27, 9, 28, tzinfo=timezone.utc)
    expedition = factory.expedition(name="Expedition 74", start=start, end=None)
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    ended = dataclasses.replace(expedition, end=datetime(2026, 7, 26, 7, 2, tzinfo=timezone.utc))

    report = store.save_expeditions([ended], now=DETECTED_AT)

    assert report.updated == (expedition.id,)
    assert kinds(store, report.events) == ["dates_changed"]
    event = store.get_event(report.events[0])
    assert event is not None
    assert event.old == {"start": "2025-11-27T09:28:00+00:00", "end": None}
    assert event.new == {"start": "2025-11-27T09:28:00+00:00", "end": "2026-07-26T07:02:00+00:00"}
    assert event.expedition_id == expedition.id


def test_start_date_moved(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition()
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    moved = dataclasses.replace(expedition, start=expedition.start + timedelta(hours=3))

    report = store.save_expeditions([moved], now=DETECTED_AT)

    event = store.get_event(report.events[0])
    assert event is not None
    assert event.kind == "dates_changed"
    assert event.old is not None and event.new is not None
    assert datetime.fromisoformat(event.new["start"]) - datetime.fromisoformat(event.old["start"]) == timedelta(hours=3)


def test_crew_change_lists_old_and_new(store: ExpeditionStore, factory: RecordFactory) -> None:
    commander = factory.astronaut(name="Sunita Williams")
    engineer = factory.astronaut(name="Oleg Kononenko")
    expedition = factory.expedition(crew=(
        CrewMember(flight_id=901, astronaut=commander, role="Commander", role_priority=1),
    ))
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    joined = dataclasses.replace(expedition, crew=(
        *expedition.crew,
        CrewMember(flight_id=902, astronaut=engineer, role="Flight Engineer", role_priority=2),
    ))

    report = store.save_expeditions([joined], now=DETECTED_AT)

    assert kinds(store, report.events) == ["crew_changed"]
    event = store.get_event(report.events[0])
    assert event is not None
    assert event.old == {"crew": [{"name": "Sunita Williams", "role": "Commander"}]}
    assert event.new == {"crew": [
        {"name": "Sunita Williams", "role": "Commander"},
        {"name": "Oleg Kononenko", "role": "Flight Engineer"},
    ]}


def test_role_change_is_crew_change(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(crew_size=2)
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    first, second = expedition.crew
    promoted = dataclasses.replace(
        expedition, crew=(dataclasses.replace(first, role="Mission Specialist", role_priority=7), second)
    )

    report = store.save_expeditions([promoted], now=DETECTED_AT)

    assert kinds(store, report.events) == ["crew_changed"]


def test_renumbered_seat_is_no_crew_change(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(crew_size=2)
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    first, second = expedition.crew
    renumbered = dataclasses.replace(expedition, crew=(dataclasses.replace(first, flight_id=5000), second))

    report = store.save_expeditions([renumbered], now=DETECTED_AT)

    assert report.updated == (expedition.id,)
    assert report.events == ()


def test_patch_added(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(mission_patches=(), spacewalks=())
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    patch = factory.patch()

    report = store.save_expeditions([dataclasses.replace(expedition, mission_patches=(patch,))], now=DETECTED_AT)

    assert kinds(store, report.events) == ["patch_or_spacewalk_added"]
    event = store.get_event(report.events[0])
    assert event is not None
    assert event.old == {"mission_patches": []}
    assert event.new == {"mission_patches": [patch.name]}


def test_spacewalk_added(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(spacewalks=())
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    spacewalk = factory.spacewalk(expedition.start)

    report = store.save_expeditions([dataclasses.replace(expedition, spacewalks=(spacewalk,))], now=DETECTED_AT)

    event = store.get_event(report.events[0])
    assert event is not None
    assert event.kind == "patch_or_spacewalk_added"
    assert event.old == {"spacewalks": []}
    assert event.new == {"spacewalks": [spacewalk.name]}


def test_removed_patch_or_rename_announces_nothing(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(mission_patches=(factory.patch(),))
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)

    report = store.save_expeditions(
        [dataclasses.replace(expedition, name="Expedition 74 (renamed)", mission_patches=())], now=DETECTED_AT
    )

    assert report.updated == (expedition.id,)
    assert report.events == ()
    assert store.recent_events() == []


def test_two_changes_in_one_save(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(end=None, crew_size=1)
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    changed = dataclasses.replace(expedition, end=DETECTED_AT, crew=(*expedition.crew, factory.seat()))

    report = store.save_expeditions([changed], now=DETECTED_AT)

    assert sorted(kinds(store, report.events)) == ["crew_changed", "dates_changed"]
    assert [event.id for event in store.recent_events()] == sorted(report.events, reverse=True)


def test_unchanged_save_writes_nothing(store: ExpeditionStore, factory: RecordFactory) -> None:
    batch = factory.expeditions(10)
    store.save_expeditions(batch, now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    changes_before = store.db.conn.total_changes

    report = store.save_expeditions(batch, now=DETECTED_AT)

    assert report.unchanged == 10
    assert report.events == ()
    assert store.db.conn.total_changes == changes_before
    assert store.recent_events() == []


def test_missing_record_kept_silently(store: ExpeditionStore, factory: RecordFactory) -> None:
    kept, missing = factory.expedition(), factory.expedition()
    store.save_expeditions([kept, missing], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)

    report = store.save_expeditions([kept], now=DETECTED_AT)

    assert report.events == ()
    assert fingerprint_of(store.get_expedition(missing.id)) == expedition_fingerprint(missing)
    assert store.recent_events() == []


def clock_expedition(factory: RecordFactory, start: datetime, end: datetime | None) -> Expedition:
    return factory.expedition(start=start, end=end, spacewalks=())


def test_clock_started_and_ended_once(store: ExpeditionStore, factory: RecordFactory) -> None:
    start = BASELINE_AT + timedelta(hours=1)
    end = BASELINE_AT + timedelta(days=10)
    expedition = clock_expedition(factory, start, end)
    store.save_expeditions([expedition], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)

    before_start = store.record_clock_events(BASELINE_AT + timedelta(minutes=30))
    started = store.record_clock_events(BASELINE_AT + timedelta(hours=2))
    again = store.record_clock_events(BASELINE_AT + timedelta(hours=3))
    clock_moved_back = store.record_clock_events(BASELINE_AT + timedelta(hours=2))
    ended = store.record_clock_events(BASELINE_AT + timedelta(days=11))
    after_end = store.record_clock_events(BASELINE_AT + timedelta(days=12))

    assert before_start == []
    assert len(started) == 1
    assert again == []
    assert clock_moved_back == []
    assert len(ended) == 1
    assert after_end == []
    started_event = store.get_event(started[0])
    ended_event = store.get_event(ended[0])
    assert started_event is not None and ended_event is not None
    assert (started_event.kind, started_event.expedition_id) == ("started", expedition.id)
    assert started_event.new == {"start": start.isoformat()}
    assert started_event.occurred_at == BASELINE_AT + timedelta(hours=2)
    assert (ended_event.kind, ended_event.new) == ("ended", {"end": end.isoformat()})


def test_clock_ignores_dates_before_baseline(store: ExpeditionStore, factory: RecordFactory) -> None:
    long_done = clock_expedition(factory, BASELINE_AT - timedelta(days=200), BASELINE_AT - timedelta(days=10))
    ongoing = clock_expedition(factory, BASELINE_AT - timedelta(days=5), None)
    store.save_expeditions([long_done, ongoing], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)

    assert store.record_clock_events(BASELINE_AT + timedelta(days=1)) == []


def test_clock_does_nothing_before_baseline(store: ExpeditionStore, factory: RecordFactory) -> None:
    store.save_expeditions([clock_expedition(factory, BASELINE_AT + timedelta(hours=1), None)], now=BASELINE_AT)
    changes_before = store.db.conn.total_changes

    assert store.record_clock_events(BASELINE_AT + timedelta(days=1)) == []
    assert store.db.conn.total_changes == changes_before


def test_second_baseline_keeps_checkpoint(store: ExpeditionStore, factory: RecordFactory) -> None:
    store.save_expeditions([clock_expedition(factory, BASELINE_AT + timedelta(days=1), None)], now=BASELINE_AT)
    store.mark_baseline(BASELINE_AT)
    store.mark_baseline(BASELINE_AT + timedelta(days=5))

    started = store.record_clock_events(BASELINE_AT + timedelta(days=6))

    assert kinds(store, tuple(started)) == ["started"]


def test_recent_events_newest_first(store: ExpeditionStore, factory: RecordFactory) -> None:
    store.mark_baseline(BASELINE_AT)
    reports = [store.save_expeditions([factory.expedition()], now=DETECTED_AT) for _ in range(4)]
    saved_ids = [report.events[0] for report in reports]

    recent = store.recent_events(limit=3)

    assert [event.id for event in recent] == list(reversed(saved_ids))[:3]


def test_events_survive_reopen(database_path: Path, factory: RecordFactory) -> None:
    store = ExpeditionStore.open(database_path)
    store.mark_baseline(BASELINE_AT)
    report = store.save_expeditions([factory.expedition()], now=DETECTED_AT)
    event = store.get_event(report.events[0])
    store.close()

    reopened = ExpeditionStore.open(database_path)
    assert reopened.has_baseline()
    assert reopened.get_event(report.events[0]) == event
    reopened.close()


def test_migration_from_version_2_keeps_data(database_path: Path, factory: RecordFactory) -> None:
    database_path.parent.mkdir(parents=True)
    old_db = Database(sqlite3.connect(database_path))
    migrate(old_db, MIGRATIONS[:2])
    old_store = ExpeditionStore(old_db, database_path)
    batch = factory.expeditions(6)
    old_store.save_expeditions(batch)
    old_store.set_state("last_sync_finished_at", "2026-07-23T12:00:00+00:00")
    old_store.close()

    store = ExpeditionStore.open(database_path)

    assert schema_version(store.db) == 3
    assert [fingerprint_of(store.get_expedition(e.id)) for e in batch] == [expedition_fingerprint(e) for e in batch]
    assert store.get_state("last_sync_finished_at") == "2026-07-23T12:00:00+00:00"
    assert store.search_ids(batch[0].name) != []
    assert not store.has_baseline()
    subscription, created = store.add_subscription(
        guild_id=1, channel_id=2, station_id=None, events=EVENT_KINDS, mention_role_id=None,
        created_by=3, now=BASELINE_AT,
    )
    assert created
    assert store.list_subscriptions(1) == [subscription]
    assert store.outbox_counts() == {"pending": 0, "sending": 0, "sent": 0, "dropped": 0}
    store.close()
