"""Database faults: a writer holding the lock, a file that refuses writes, a corrupt file at start-up."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

import storage.database
from bot.jobs.sync import ERROR_KEY, run_full_sync
from bot.ll2.client import LL2Client
from storage.database import ExpeditionStore
from tests.e2e.bot_process import run_cli
from tests.faults.conftest import DISCORD_TOKEN
from tests.faults.support import assert_mirror_equals, copy_dataset, mirror_snapshot
from tests.standins.discord import StandInDiscord
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset
from tests.standins.ll2.server import StandInLL2

StartLL2 = Callable[..., Any]
MakeClient = Callable[..., LL2Client]

# Short, so that each write attempt against the held lock gives up quickly.
TEST_BUSY_TIMEOUT_MS = 200


def renamed_everywhere(dataset: LL2Dataset) -> LL2Dataset:
    """Return a copy of `dataset` in which every expedition has a new name, so a sync must write."""
    changed = copy_dataset(dataset)
    for record in changed.expeditions:
        record["name"] = record["name"] + " II"
    return changed


def open_read_only(path: Path) -> ExpeditionStore:
    """Open a store whose connection SQLite itself keeps from writing.

    Tests run as root, where file modes do not stop writes. A `mode=ro` URI makes SQLite open
    the file read-only, so every write fails with SQLITE_READONLY as on a read-only file or
    mount, for root too.
    """
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return ExpeditionStore(Database(connection), path)


async def test_locked_database_stops_sync_cleanly(
    monkeypatch: pytest.MonkeyPatch, database_path: Path, dataset: LL2Dataset,
    start_ll2: StartLL2, make_client: MakeClient, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(storage.database, "BUSY_TIMEOUT_MS", TEST_BUSY_TIMEOUT_MS)
    store = ExpeditionStore.open(database_path, check_same_thread=False)
    standin = await start_ll2(dataset)
    client = make_client(standin)
    await run_full_sync(client, store)
    filled = mirror_snapshot(database_path)
    changed = renamed_everywhere(dataset)
    standin.set_dataset(changed)
    caplog.set_level(logging.INFO, logger="bot.jobs.sync")

    other_writer = sqlite3.connect(database_path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        stopped = await run_full_sync(client, store)
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()

    assert stopped.complete is False
    assert stopped.error is not None
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "locked by another writer" in errors[0]
    assert "stop the other program" in errors[0]
    assert str(database_path) in errors[0]
    assert mirror_snapshot(database_path) == filled

    completed = await run_full_sync(client, store)
    store.close()

    assert completed.complete is True
    assert len(completed.updated) == len(dataset.expeditions)
    reopened = ExpeditionStore.open(database_path)
    assert_mirror_equals(reopened, changed)
    assert reopened.get_state(ERROR_KEY) is None
    reopened.close()


async def test_refused_write_stops_sync_cleanly(
    store: ExpeditionStore, database_path: Path, dataset: LL2Dataset,
    start_ll2: StartLL2, make_client: MakeClient, caplog: pytest.LogCaptureFixture,
) -> None:
    standin = await start_ll2(dataset)
    await run_full_sync(make_client(standin), store)
    filled = mirror_snapshot(database_path)
    changed = renamed_everywhere(dataset)
    standin.set_dataset(changed)
    caplog.set_level(logging.INFO, logger="bot.jobs.sync")

    read_only = open_read_only(database_path)
    try:
        stopped = await run_full_sync(make_client(standin), read_only)
    finally:
        read_only.close()

    assert stopped.complete is False
    assert stopped.error is not None
    assert "cannot be written" in stopped.error
    assert "make the file, its folder and the file system writable" in stopped.error
    assert any(stopped.error in record.getMessage() for record in caplog.records
               if record.levelno >= logging.ERROR)
    assert mirror_snapshot(database_path) == filled

    completed = await run_full_sync(make_client(standin), store)

    assert completed.complete is True
    assert_mirror_equals(store, changed)


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.mark.parametrize("arguments", [["search", "Kelly"], ["sync"], ["run"]])
async def test_corrupt_database_exits_with_message(tmp_path: Path, arguments: list[str]) -> None:
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    database_path.parent.mkdir()
    database_path.write_bytes(b"This was a database until a disk failed.\n" * 200)
    before = _fingerprint(database_path)
    folder_before = sorted(path.name for path in database_path.parent.iterdir())

    async with StandInLL2(generate_dataset(5, seed=1)) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        settings = {
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "LL2_BASE_URL": ll2.base_url,
            "DATABASE_PATH": str(database_path),
            "DISCORD_API_BASE": discord_standin.api_base,
            "DISCORD_GATEWAY_URL": discord_standin.gateway_url,
            "LOG_LEVEL": "WARNING",
        }
        exit_code, output, log = await run_cli(arguments, settings, tmp_path)

    lines = log.strip().splitlines()
    assert exit_code != 0
    assert len(lines) == 1, log
    assert "is not a valid SQLite database" in lines[0]
    assert "Restore it from a backup" in lines[0]
    assert "move it aside" in lines[0]
    assert str(database_path) in lines[0]
    assert output == ""
    assert ll2.requests == []
    assert _fingerprint(database_path) == before
    assert sorted(path.name for path in database_path.parent.iterdir()) == folder_before
