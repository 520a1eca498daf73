"""The online backup: a consistent copy taken while another connection writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from storage.backup import BackupError, backup_database, describe_report
from storage.database import ExpeditionStore
from tests.storage.conftest import RecordFactory

BATCH = 5


def write_batches(database_path: Path, stop: threading.Event, written: list[int]) -> None:
    """Save batches of BATCH new expeditions, one transaction each, until `stop` is set."""
    factory = RecordFactory(seed=11)
    writer = ExpeditionStore.open(database_path)
    try:
        while not stop.is_set():
            writer.save_expeditions(factory.expeditions(BATCH))
            written.append(BATCH)
    finally:
        writer.close()


def copy_rows(path: Path) -> tuple[int, int]:
    """Return the copy's expedition count and the number of crew seats whose expedition is missing."""
    connection = sqlite3.connect(path)
    try:
        expeditions = connection.execute("SELECT count(*) FROM expeditions").fetchone()[0]
        orphans = connection.execute(
            "SELECT count(*) FROM crew WHERE expedition_id NOT IN (SELECT id FROM expeditions)"
        ).fetchone()[0]
    finally:
        connection.close()
    return expeditions, orphans


def test_backup_while_another_connection_writes(store: ExpeditionStore, database_path: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    written: list[int] = []
    writer = threading.Thread(target=write_batches, args=(database_path, stop, written))
    writer.start()
    try:
        while len(written) < 3:
            stop.wait(0.01)
        reports = [backup_database(database_path, tmp_path / f"copy-{number}.sqlite3") for number in range(5)]
    finally:
        stop.set()
        writer.join()

    for report in reports:
        expeditions, orphans = copy_rows(report.path)
        assert expeditions >= 3 * BATCH
        assert expeditions % BATCH == 0, "the copy holds half of one save"
        assert orphans == 0
        assert report.counts["expeditions"] == expeditions
        assert report.size_bytes == report.path.stat().st_size


def test_copy_opens_as_a_store(store: ExpeditionStore, database_path: Path, tmp_path: Path,
                               factory: RecordFactory) -> None:
    saved = factory.expeditions(7)
    store.save_expeditions(saved)
    store.set_state("last_sync_finished_at", "2026-07-23T09:30:00+00:00")

    report = backup_database(database_path, tmp_path / "backups" / "copy.sqlite3")
    copy = ExpeditionStore.open(report.path)
    try:
        assert sorted(copy.expedition_ids()) == sorted(expedition.id for expedition in saved)
        assert copy.get_state("last_sync_finished_at") == "2026-07-23T09:30:00+00:00"
        assert copy.get_expedition(saved[0].id) == store.get_expedition(saved[0].id)
    finally:
        copy.close()
    assert report.counts["stations"] == store.counts().stations


def test_copy_is_one_file(store: ExpeditionStore, database_path: Path, tmp_path: Path,
                          factory: RecordFactory) -> None:
    store.save_expeditions(factory.expeditions(3))

    report = backup_database(database_path, tmp_path / "copy.sqlite3")

    connection = sqlite3.connect(report.path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        connection.close()
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("copy")) == ["copy.sqlite3"]


def test_existing_target_refused_without_force(store: ExpeditionStore, database_path: Path,
                                               tmp_path: Path, factory: RecordFactory) -> None:
    store.save_expeditions(factory.expeditions(3))
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"keep me")

    with pytest.raises(BackupError, match="--force"):
        backup_database(database_path, target)
    assert target.read_bytes() == b"keep me"

    report = backup_database(database_path, target, force=True)
    assert copy_rows(report.path) == (3, 0)


def test_missing_source_refused_and_not_created(tmp_path: Path) -> None:
    source = tmp_path / "absent.sqlite3"

    with pytest.raises(BackupError, match="DATABASE_PATH"):
        backup_database(source, tmp_path / "copy.sqlite3")
    assert not source.exists()
    assert not (tmp_path / "copy.sqlite3").exists()


def test_backup_onto_itself_refused(store: ExpeditionStore, database_path: Path) -> None:
    with pytest.raises(BackupError, match="database itself"):
        backup_database(database_path, database_path, force=True)


def test_report_line_names_size_and_counts(store: ExpeditionStore, database_path: Path, tmp_path: Path,
                                           factory: RecordFactory) -> None:
    store.save_expeditions(factory.expeditions(4))

    line = describe_report(backup_database(database_path, tmp_path / "copy.sqlite3"))

    assert "4 expeditions" in line
    assert f"{store.counts().astronauts} astronauts" in line
    assert "KB" in line or "bytes" in line
