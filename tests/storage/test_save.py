"""Change detection: what save_expeditions writes, reports and leaves alone."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path

from storage.database import ExpeditionStore, SaveReport
from tests.storage.conftest import RecordFactory


def data_version(connection: sqlite3.Connection) -> int:
    # Changes when another connection commits a change to the file.
    return connection.execute("PRAGMA data_version").fetchone()[0]


def test_first_save_reports_inserted(store: ExpeditionStore, factory: RecordFactory) -> None:
    batch = factory.expeditions(5)

    report = store.save_expeditions(batch)

    assert report == SaveReport(inserted=tuple(e.id for e in batch), updated=(), unchanged=0)


def test_second_save_writes_nothing(
    store: ExpeditionStore, factory: RecordFactory, database_path: Path
) -> None:
    batch = factory.expeditions(20)
    store.save_expeditions(batch)
    changes_before = store.db.conn.total_changes
    observer = sqlite3.connect(database_path)
    version_before = data_version(observer)

    report = store.save_expeditions(batch)

    assert report == SaveReport(inserted=(), updated=(), unchanged=20)
    assert store.db.conn.total_changes == changes_before
    assert data_version(observer) == version_before
    observer.close()


def test_reordered_crew_is_unchanged(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(crew_size=4)
    store.save_expeditions([expedition])
    reordered = dataclasses.replace(expedition, crew=tuple(reversed(expedition.crew)),
                                    mission_patches=tuple(reversed(expedition.mission_patches)))

    report = store.save_expeditions([reordered])

    assert report.unchanged == 1


def test_end_date_change_is_updated(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(end=None)
    other = factory.expedition()
    store.save_expeditions([expedition, other])
    ended = dataclasses.replace(expedition, end=expedition.start + timedelta(days=187))

    report = store.save_expeditions([ended, other])

    assert report == SaveReport(inserted=(), updated=(expedition.id,), unchanged=1)
    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert stored.end == ended.end


def test_crew_change_replaces_seats(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(crew_size=3)
    store.save_expeditions([expedition])
    leaving = expedition.crew[0]
    arriving = factory.seat()
    changed = dataclasses.replace(expedition, crew=(*expedition.crew[1:], arriving))

    report = store.save_expeditions([changed])

    assert report.updated == (expedition.id,)
    stored = store.get_expedition(expedition.id)
    assert stored is not None
    flight_ids = {member.flight_id for member in stored.crew}
    assert leaving.flight_id not in flight_ids
    assert arriving.flight_id in flight_ids
    assert len(stored.crew) == 3
    assert store.counts().crew_seats == 3
    assert store.search_ids(leaving.astronaut.name) == []
    assert store.search_ids(arriving.astronaut.name) == [expedition.id]


def test_role_change_is_updated(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(crew_size=2)
    store.save_expeditions([expedition])
    promoted = dataclasses.replace(expedition.crew[0], role="Commander", role_priority=0)
    changed = dataclasses.replace(expedition, crew=(promoted, expedition.crew[1]))

    report = store.save_expeditions([changed])

    assert report.updated == (expedition.id,)
    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert stored.crew[0] == promoted


def test_spacewalk_duration_not_a_change(
    store: ExpeditionStore, factory: RecordFactory
) -> None:
    expedition = factory.expedition()
    walk = factory.spacewalk(expedition.start)
    expedition = dataclasses.replace(expedition, spacewalks=(walk,))
    store.save_expeditions([expedition])
    ticking = dataclasses.replace(expedition, spacewalks=(dataclasses.replace(walk, duration="PT7H"),))

    report = store.save_expeditions([ticking])

    assert report.unchanged == 1


def test_renamed_astronaut_updates_search_only(store: ExpeditionStore, factory: RecordFactory) -> None:
    astronaut = factory.astronaut(name="Sergei Krikalev")
    first = factory.expedition(crew=(factory.seat(astronaut),))
    second = factory.expedition(crew=(factory.seat(astronaut), factory.seat()))
    store.save_expeditions([first, second])
    renamed = dataclasses.replace(astronaut, name="Sergueï Krikalyov")

    report = store.save_expeditions([
        dataclasses.replace(first, crew=(dataclasses.replace(first.crew[0], astronaut=renamed),)),
    ])

    assert report == SaveReport(inserted=(), updated=(), unchanged=1)
    assert sorted(store.search_ids("krikalyov")) == sorted([first.id, second.id])
    assert store.search_ids("krikalev") == []
    stored = store.get_expedition(second.id)
    assert stored is not None
    assert renamed in [member.astronaut for member in stored.crew]


def test_renamed_station_updates_search(store: ExpeditionStore, factory: RecordFactory) -> None:
    station = factory.station(station_id=18, name="Tiangong")
    expedition = factory.expedition(station=station)
    store.save_expeditions([expedition])
    renamed = dataclasses.replace(station, name="Tiangong Space Station")

    report = store.save_expeditions([dataclasses.replace(expedition, station=renamed)])

    assert report.unchanged == 1
    assert store.search_ids("space station") == [expedition.id]
    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert stored.station == renamed


def test_duplicate_id_in_batch_keeps_last(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition()
    later = dataclasses.replace(expedition, name="Renamed expedition")

    report = store.save_expeditions([expedition, later])

    assert report == SaveReport(inserted=(expedition.id,), updated=(), unchanged=0)
    stored = store.get_expedition(expedition.id)
    assert stored is not None
    assert stored.name == "Renamed expedition"


def test_missing_record_is_kept(store: ExpeditionStore, factory: RecordFactory) -> None:
    batch = factory.expeditions(3)
    store.save_expeditions(batch)

    report = store.save_expeditions(batch[:1])

    assert report.unchanged == 1
    assert store.expedition_ids() == sorted(e.id for e in batch)


def test_empty_batch_reports_nothing(store: ExpeditionStore) -> None:
    assert store.save_expeditions([]) == SaveReport(inserted=(), updated=(), unchanged=0)
