"""The SQLite schema of the expedition mirror, built by numbered migration steps.

`PRAGMA user_version` stores how many steps a database file has applied. Append new steps
to `MIGRATIONS` (for subscriptions, change events, deliveries...) and never edit or reorder
one that has shipped, because existing files have already applied it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence

from sqlite_utils import Database
from sqlite_utils.db import DescIndex

log = logging.getLogger(__name__)

SEARCH_TABLE = "expedition_search"

# The sync_state key of the random text mixed into outbox nonces (see storage.outbox).
OUTBOX_NONCE_SALT_KEY = "outbox_nonce_salt"

MigrationStep = Callable[[Database], None]


class SchemaVersionError(RuntimeError):
    """The database file was written by a newer version of the schema than this code supports."""


def create_mirror_tables(db: Database) -> None:
    """Create the tables of the expedition mirror, its search index and the sync state."""
    db["stations"].create(
        {
            "id": int, "name": str, "status": str, "image_url": str, "thumbnail_url": str,
            "orbit": str, "founded": str, "deorbited": str, "description": str,
            "fingerprint": str,
        },
        pk="id",
        not_null={"name", "fingerprint"},
    )

    # The agency is kept as columns because it is only ever read with its astronaut, and
    # nationalities are a JSON list of {"name", "country_code"} objects for the same reason.
    db["astronauts"].create(
        {
            "id": int, "name": str, "agency_id": int, "agency_name": str, "agency_abbrev": str,
            "nationalities": str, "status": str, "image_url": str, "thumbnail_url": str,
            "bio": str, "wiki_url": str, "fingerprint": str,
        },
        pk="id",
        not_null={"name", "nationalities", "fingerprint"},
    )

    # Patches and spacewalks are JSON lists: they are only read with their expedition and
    # nothing searches or joins on them, so a save writes one expedition row instead of many.
    db["expeditions"].create(
        {
            "id": int, "name": str, "start_at": str, "end_at": str, "station_id": int, "url": str,
            "mission_patches": str, "spacewalks": str, "fingerprint": str,
        },
        pk="id",
        foreign_keys=[("station_id", "stations", "id")],
        not_null={"name", "start_at", "station_id", "mission_patches", "spacewalks", "fingerprint"},
    )
    db["expeditions"].create_index([DescIndex("start_at"), DescIndex("id")], "idx_expeditions_start")
    db["expeditions"].create_index(["station_id"], "idx_expeditions_station")

    db["crew"].create(
        {
            "expedition_id": int, "flight_id": int, "astronaut_id": int, "role": str,
            "role_priority": int,
        },
        pk=("expedition_id", "flight_id"),
        foreign_keys=[
            ("expedition_id", "expeditions", "id"),
            ("astronaut_id", "astronauts", "id"),
        ],
        not_null={"astronaut_id"},
    )
    db["crew"].create_index(["astronaut_id"], "idx_crew_astronaut")

    db["sync_state"].create({"key": str, "value": str}, pk="key", not_null={"value"})

    # Pre-normalized text (see storage.search), so the tokenizer must not fold case again.
    db.execute(
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
        "search_text, tokenize = 'trigram case_sensitive 1')"
    )


def create_name_lookup(db: Database) -> None:
    """Create the name index that autocomplete reads (see storage.lookups), filled from the stored rows."""
    # Imported here because storage.lookups imports storage.search, which imports this module.
    from storage.lookups import create_lookup_tables

    create_lookup_tables(db.conn)


def create_announcement_tables(db: Database) -> None:
    """Create the change events, the subscriptions and the durable outbox of announcements."""
    # AUTOINCREMENT keeps ids of deleted rows from coming back: deliveries and outbox messages
    # keep referring to a removed subscription's id, and a new subscription must not inherit them.
    db.execute(
        "CREATE TABLE change_events ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, expedition_id INTEGER NOT NULL, "
        "station_id INTEGER NOT NULL, kind TEXT NOT NULL, old_values TEXT, new_values TEXT, "
        "occurred_at TEXT NOT NULL, clock_key TEXT UNIQUE, planned_at TEXT)"
    )
    db.execute("CREATE INDEX idx_change_events_unplanned ON change_events(id) WHERE planned_at IS NULL")

    # The clock events look expeditions up by end date as well as by start date.
    db["expeditions"].create_index(["end_at"], "idx_expeditions_end")

    db.execute(
        "CREATE TABLE subscriptions ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, guild_id INTEGER NOT NULL, "
        "channel_id INTEGER NOT NULL, station_id INTEGER, events TEXT NOT NULL, "
        "mention_role_id INTEGER, created_at TEXT NOT NULL, created_by INTEGER NOT NULL, "
        "failure_count INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT, last_error TEXT)"
    )
    # A NULL station id means every station; LL2 station ids are positive, so -1 stands for it
    # here because a UNIQUE index treats NULLs as distinct.
    db.execute(
        "CREATE UNIQUE INDEX idx_subscriptions_channel_station "
        "ON subscriptions(channel_id, ifnull(station_id, -1))"
    )
    db.execute("CREATE INDEX idx_subscriptions_guild ON subscriptions(guild_id)")

    db.execute(
        "CREATE TABLE outbox ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, channel_id INTEGER NOT NULL, "
        "subscription_id INTEGER NOT NULL, mention_role_id INTEGER, event_ids TEXT NOT NULL, "
        "state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'dropped')), "
        "attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, "
        "created_at TEXT NOT NULL, sent_at TEXT, discord_message_id INTEGER, last_error TEXT)"
    )
    db.execute(
        "CREATE INDEX idx_outbox_unsent ON outbox(next_attempt_at, id) "
        "WHERE state IN ('pending', 'sending')"
    )
    db.execute("CREATE INDEX idx_outbox_subscription ON outbox(subscription_id)")

    # One delivery per event and subscription, and per event and channel, so a channel with an
    # all-stations and a single-station subscription still gets one announcement of an event.
    db.execute(
        "CREATE TABLE deliveries ("
        "event_id INTEGER NOT NULL REFERENCES change_events(id), "
        "subscription_id INTEGER NOT NULL, channel_id INTEGER NOT NULL, "
        "message_id INTEGER NOT NULL REFERENCES outbox(id), "
        "PRIMARY KEY (event_id, subscription_id), UNIQUE (event_id, channel_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_deliveries_message ON deliveries(message_id)")

    # Part of every outbox nonce, so a new database file never repeats the nonces of an old one.
    db["sync_state"].insert({"key": OUTBOX_NONCE_SALT_KEY, "value": secrets.token_hex(8)}, pk="key")


MIGRATIONS: Sequence[MigrationStep] = (
    create_mirror_tables, create_name_lookup, create_announcement_tables,
)


def schema_version(db: Database) -> int:
    """Return how many migration steps the database file has applied."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, steps: Sequence[MigrationStep] = MIGRATIONS) -> int:
    """Apply the steps the file has not applied yet, each in its own transaction.

    Returns the number of steps applied. Raises SchemaVersionError when the file is newer
    than `steps`.
    """
    current = schema_version(db)
    if current > len(steps):
        raise SchemaVersionError(
            f"database schema version {current} is newer than this code's {len(steps)}; "
            "upgrade the bot or point it at another database file"
        )

    applied = 0
    for version, step in enumerate(steps[current:], start=current + 1):
        if _apply_step(db, step, version):
            applied += 1
    return applied


def _apply_step(db: Database, step: MigrationStep, version: int) -> bool:
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        # Another connection may have applied the step while this one waited for the lock.
        if schema_version(db) >= version:
            db.conn.execute("COMMIT")
            return False

        log.info("applying schema migration %d (%s)", version, step.__name__)
        step(db)

        # PRAGMA takes no bound parameters; `version` is an int computed above.
        db.conn.execute(f"PRAGMA user_version = {int(version)}")
        db.conn.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    return True
