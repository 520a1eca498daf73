"""A consistent copy of the database file, safe to take while the bot reads and writes it.

SQLite's online backup API copies one snapshot of every page, so a sync or a delivery
running at the same time is either wholly in the copy or not at all. The copy is written
to a temporary file beside the target and renamed into place, so the target path never
contains half a backup.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Tables counted in the report, in the order printed; a table the file does not have yet is left out.
COUNTED_TABLES = ("expeditions", "stations", "astronauts", "crew", "subscriptions", "change_events")
TABLE_LABELS = {"crew": "crew seats", "change_events": "change events"}

# How long the backup waits for a writer's lock before it gives up.
BUSY_TIMEOUT_SECONDS = 30.0


class BackupError(Exception):
    """The backup was rejected or failed. The message states the reason and the next step."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """Result of one backup: the file, its size in bytes and the row counts of its tables."""

    path: Path
    size_bytes: int
    counts: dict[str, int]


def backup_database(source: str | Path, target: str | Path, *, force: bool = False) -> BackupReport:
    """Copy the database at `source` to `target` and return what the copy contains.

    Raises BackupError when `source` is missing, when `target` exists and `force` is False,
    or when SQLite fails. The copy is a single file in rollback-journal mode, so it can be
    moved or opened on its own.
    """
    source = Path(source)
    target = Path(target)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}: check DATABASE_PATH")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose another path, or add --force to overwrite it")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself: choose another path")

    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("backup of %s to %s started", source, target)
    temporary = _temporary_path(target)
    try:
        _copy(source, temporary)
        counts = _count_rows(temporary)
        os.replace(temporary, target)
    except sqlite3.Error as error:
        log.error("backup of %s to %s failed: %s", source, target, error)
        raise BackupError(f"SQLite could not copy {source}: {error}") from error
    finally:
        temporary.unlink(missing_ok=True)

    report = BackupReport(path=target, size_bytes=target.stat().st_size, counts=counts)
    log.info("backup of %s to %s finished: %d bytes, %s", source, target, report.size_bytes, counts)
    return report


def _temporary_path(target: Path) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    return Path(name)


def _copy(source: Path, temporary: Path) -> None:
    # mode=rw: a missing source must fail here instead of being created empty.
    source_connection = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True,
                                        timeout=BUSY_TIMEOUT_SECONDS)
    try:
        copy_connection = sqlite3.connect(temporary)
        try:
            source_connection.backup(copy_connection)
            # The source is in WAL mode; a copy in rollback-journal mode is one self-contained file.
            copy_connection.execute("PRAGMA journal_mode = DELETE")
            checked = copy_connection.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy_connection.close()
    finally:
        source_connection.close()

    if checked != "ok":
        raise sqlite3.DatabaseError(f"the copy failed its integrity check: {checked}")


def _count_rows(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        # The names come from COUNTED_TABLES, never from input.
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in COUNTED_TABLES
            if table in present
        }
    finally:
        connection.close()


def describe_report(report: BackupReport) -> str:
    """Return one line for the operator: the path, the size and the row counts."""
    counts = ", ".join(f"{count} {TABLE_LABELS.get(table, table)}" for table, count in report.counts.items())
    return f"Backed up to {report.path}: {_human_size(report.size_bytes)} ({counts})."


def _human_size(size_bytes: int) -> str:
    size = float(size_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size_bytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size_bytes} bytes"
