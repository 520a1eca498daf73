"""Opening the file: pragmas, migrations, sync state and concurrent access."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.database import ExpeditionStore
from storage.records import Expedition
from storage.schema import MIGRATIONS, SchemaVersionError, migrate, schema_version
from tests.storage.conftest import RecordFactory


def test_open_creates_folder_and_wal_file(database_path: Path) -> None:
    store = ExpeditionStore.open(database_path)
    store.close()

    assert database_path.is_file()
    raw = sqlite3.connect(database_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_connection_pragmas(store: ExpeditionStore) -> None:
    connection = store.db.conn

    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_schema_has_tables_and_indexes(store: ExpeditionStore) -> None:
    tables = set(store.db.table_names())
    indexes = {row[0] for row in store.db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")}

    assert {"stations", "astronauts", "expeditions", "crew", "sync_state", "expedition_search"} <= tables
    assert {"idx_expeditions_start", "idx_expeditions_station", "idx_crew_astronaut"} <= indexes
    assert schema_version(store.db) == len(MIGRATIONS)


def test_foreign_keys_enforced(store: ExpeditionStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.db.conn.execute(
            "INSERT INTO crew (expedition_id, flight_id, astronaut_id) VALUES (999, 1, 999)"
        )


def test_reopen_keeps_data_without_migrating(
    database_path: Path, factory: RecordFactory
) -> None:
    expeditions = factory.expeditions(4)
    first = ExpeditionStore.open(database_path)
    first.save_expeditions(expeditions)
    first.set_state("resume_offset", "200")
    first.close()

    reopened = ExpeditionStore.open(database_path)

    assert reopened.db.conn.total_changes == 0
    assert schema_version(reopened.db) == len(MIGRATIONS)
    assert reopened.expedition_ids() == sorted(e.id for e in expeditions)
    assert reopened.get_state("resume_offset") == "200"
    assert reopened.save_expeditions(expeditions).unchanged == 4
    reopened.close()


def test_new_migration_step_applied_once(database_path: Path) -> None:
    ExpeditionStore.open(database_path).close()
    calls: list[str] = []

    def add_notes(db: Database) -> None:
        calls.append("add_notes")
        db["notes"].create({"expedition_id": int, "text": str}, pk="expedition_id")

    steps = [*MIGRATIONS, add_notes]
    for _ in range(2):
        db = Database(sqlite3.connect(database_path))
        migrate(db, steps)
        db.close()

    assert calls == ["add_notes"]
    reopened = Database(sqlite3.connect(database_path))
    assert schema_version(reopened) == len(steps)
    assert "notes" in reopened.table_names()
    reopened.close()


def test_failed_migration_rolls_back(database_path: Path) -> None:
    ExpeditionStore.open(database_path).close()

    def broken(db: Database) -> None:
        db["half_done"].create({"id": int}, pk="id")
        raise RuntimeError("step failed")

    db = Database(sqlite3.connect(database_path))
    with pytest.raises(RuntimeError, match="step failed"):
        migrate(db, [*MIGRATIONS, broken])

    assert schema_version(db) == len(MIGRATIONS)
    assert "half_done" not in db.table_names()
    db.close()


def test_newer_schema_rejected(database_path: Path) -> None:
    ExpeditionStore.open(database_path).close()
    raw = sqlite3.connect(database_path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.close()

    with pytest.raises(SchemaVersionError, match="newer"):
        ExpeditionStore.open(database_path)


def test_state_set_get_delete(store: ExpeditionStore) -> None:
    assert store.get_state("last_sync_finished_at") is None

    store.set_state("last_sync_finished_at", "2026-07-23T10:00:00+00:00")
    store.set_state("resume_offset", "")

    assert store.get_state("last_sync_finished_at") == "2026-07-23T10:00:00+00:00"
    assert store.get_state("resume_offset") == ""

    store.set_state("last_sync_finished_at", None)

    assert store.get_state("last_sync_finished_at") is None
    assert store.get_state("resume_offset") == ""


def test_same_state_value_not_written(store: ExpeditionStore) -> None:
    store.set_state("resume_offset", "100")
    changes_before = store.db.conn.total_changes

    store.set_state("resume_offset", "100")
    store.set_state("never_set", None)

    assert store.db.conn.total_changes == changes_before


def test_close_twice_is_harmless(database_path: Path) -> None:
    store = ExpeditionStore.open(database_path)
    store.close()
    store.close()

    with pytest.raises(sqlite3.ProgrammingError):
        store.expedition_ids()


def version_of(factory: RecordFactory, base: Expedition, number: int) -> Expedition:
    """Build version `number` of `base`: its name, end date and crew size all encode it."""
    return dataclasses.replace(
        base,
        name=f"Version {number}",
        end=base.start + timedelta(days=number),
        crew=tuple(factory.seat() for _ in range(number % 5 + 1)),
    )


def assert_consistent(expedition: Expedition | None, base: Expedition) -> int:
    assert expedition is not None
    number = int(expedition.name.split()[1])
    assert expedition.end == base.start + timedelta(days=number)
    assert len(expedition.crew) == number % 5 + 1
    return number


def test_reader_sees_old_version_during_write(database_path: Path, factory: RecordFactory) -> None:
    base = factory.expedition(crew_size=1)
    writer = ExpeditionStore.open(database_path, check_same_thread=False)
    writer.save_expeditions([version_of(factory, base, 1)])
    reader = ExpeditionStore.open(database_path)
    second = version_of(factory, base, 2)
    inside_write = threading.Event()
    release_write = threading.Event()
    errors: list[BaseException] = []

    def pause_before_crew(sql: str, params: object) -> None:
        # Holds the writer inside its transaction, after the expedition row was updated.
        if sql.lower().startswith("insert into \"crew\"") and not inside_write.is_set():
            inside_write.set()
            release_write.wait(timeout=30)

    def save_second() -> None:
        try:
            with writer.db.tracer(pause_before_crew):
                writer.save_expeditions([second])
        except BaseException as error:  # reported by the main thread
            errors.append(error)
            inside_write.set()

    thread = threading.Thread(target=save_second)
    thread.start()
    assert inside_write.wait(timeout=30)

    during = reader.get_expedition(base.id)
    search_during = reader.search("version")

    release_write.set()
    thread.join(timeout=30)
    after = reader.get_expedition(base.id)

    assert errors == []
    assert assert_consistent(during, base) == 1
    assert [e.name for e in search_during.expeditions] == ["Version 1"]
    assert assert_consistent(after, base) == 2
    reader.close()
    writer.close()


def test_reader_consistent_while_writer_saves(database_path: Path, factory: RecordFactory) -> None:
    base = factory.expedition(crew_size=1)
    versions = [version_of(factory, base, number) for number in range(1, 60)]
    writer = ExpeditionStore.open(database_path, check_same_thread=False)
    writer.save_expeditions(versions[:1])
    reader = ExpeditionStore.open(database_path)
    done = threading.Event()
    errors: list[BaseException] = []

    def save_versions() -> None:
        try:
            for version in versions[1:]:
                writer.save_expeditions([version])
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=save_versions)
    thread.start()
    seen = []
    while not done.is_set():
        seen.append(assert_consistent(reader.get_expedition(base.id), base))
        page = reader.search("version", limit=1)
        assert page.total == 1
        assert_consistent(page.expeditions[0], base)
    thread.join(timeout=30)

    assert errors == []
    assert seen == sorted(seen)
    assert assert_consistent(reader.get_expedition(base.id), base) == 59
    reader.close()
    writer.close()


def test_shared_store_across_threads(database_path: Path, factory: RecordFactory) -> None:
    store = ExpeditionStore.open(database_path, check_same_thread=False)
    batches = [factory.expeditions(10) for _ in range(4)]
    errors: list[BaseException] = []

    def save(batch: list[Expedition]) -> None:
        try:
            store.save_expeditions(batch)
            store.search("expedition")
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=save, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert store.counts().expeditions == 40
    store.close()
