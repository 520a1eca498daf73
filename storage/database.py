"""The expedition mirror: one SQLite file in WAL mode, read and written through sqlite-utils.

One ExpeditionStore wraps one connection, and a lock serializes its methods, so a store
opened with `check_same_thread=False` may be shared between threads. WAL lets several stores
(connections) on the same file read while another one writes. Each read method works on one
snapshot, so it never reads half of a save.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage import browse, events, outbox, rows, subscriptions
from storage.events import ChangeEvent, ChangeRecorder
from storage.lookups import (
    NameKind,
    NameMatch,
    StationFacts,
    lookup_names,
    rank_station_matches,
    refresh_all_kinds,
)
from storage.outbox import OutboxMessage
from storage.records import Astronaut, CrewMember, Expedition, SearchPage, Station
from storage.schema import SEARCH_TABLE, migrate
from storage.search import find_ids, find_page, search_document, search_terms, station_acronym
from storage.subscriptions import DEFAULT_DISABLE_AFTER, Subscription

log = logging.getLogger(__name__)

# Stations are few, so a station lookup ranks all name matches before cutting to the limit.
MAX_STATION_CANDIDATES = 200

# How long a statement waits for another connection's write lock before failing.
BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class SaveReport:
    """Result of one save_expeditions call: the inserted and updated ids, the unchanged count and the new change event ids."""

    inserted: tuple[int, ...]
    updated: tuple[int, ...]
    unchanged: int
    events: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """Row counts of the mirror."""

    expeditions: int
    stations: int
    astronauts: int
    crew_seats: int


def _json_ids(ids: Iterable[int]) -> str:
    """Encode ids as one JSON parameter, read in SQL with json_each()."""
    return json.dumps(sorted(set(ids)))


class ExpeditionStore:
    """The local mirror of LL2 expeditions, with their stations, crew and search index."""

    def __init__(self, db: Database, path: Path) -> None:
        """Wrap an open, migrated database; use `ExpeditionStore.open` to get one."""
        self._db = db
        self._path = path
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def open(cls, path: str | Path, *, check_same_thread: bool = True) -> ExpeditionStore:
        """Open (or create) the database file at `path` and bring its schema up to date.

        `check_same_thread=False` lets another thread, such as a worker thread of the sync
        job, use the store.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)

        connection = sqlite3.connect(path, check_same_thread=check_same_thread)
        try:
            db = Database(connection, execute_plugins=False)
            _configure(db, path)
            applied = migrate(db)
        except BaseException:
            connection.close()
            raise

        log.info("opened expedition store %s (%d schema migrations applied)", path, applied)
        return cls(db, path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def db(self) -> Database:
        """The sqlite-utils database, for code in `storage` that adds its own tables."""
        return self._db

    def close(self) -> None:
        """Close the connection; calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._db.close()
            self._closed = True
        log.info("closed expedition store %s", self._path)

    # Transactions

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies. A deferred
        # transaction that read first could get SQLITE_BUSY when it starts writing.
        connection = self._db.conn
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def _read_transaction(self) -> Iterator[None]:
        # One snapshot for several statements: in WAL mode a writer's commit between two
        # statements stays invisible until the transaction ends.
        connection = self._db.conn
        if connection.in_transaction:
            yield
            return

        connection.execute("BEGIN")
        try:
            yield
        finally:
            if connection.in_transaction:
                connection.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return list(self._db.query(sql, list(params)))

    # Sync state

    def get_state(self, key: str) -> str | None:
        """Return the sync state value stored under `key`, or None."""
        with self._lock:
            found = self._query("SELECT value FROM sync_state WHERE key = ?", [key])
        return found[0]["value"] if found else None

    def set_state(self, key: str, value: str | None) -> None:
        """Store `value` under `key`; None deletes the key. An unchanged value is not written."""
        with self._lock, self._write_transaction():
            found = self._query("SELECT value FROM sync_state WHERE key = ?", [key])
            current = found[0]["value"] if found else None
            if current == value:
                return

            if value is None:
                self._db["sync_state"].delete(key)
            else:
                self._db["sync_state"].upsert({"key": key, "value": value}, pk="key")

    # Saving

    def save_expeditions(
        self, expeditions: Iterable[Expedition], *, now: datetime | None = None
    ) -> SaveReport:
        """Insert new expeditions and update changed ones, in one transaction.

        Stations and astronauts are written only when their own content changed, and an
        expedition only when its fingerprint changed, so saving the same records again
        writes nothing. A record missing from `expeditions` is left as it is. Once a baseline
        exists, the change events of the inserted and updated expeditions are recorded in the
        same transaction, with `now` (default: the current time) as their detection time.
        """
        batch = _unique_by_id(expeditions)
        if not batch:
            return SaveReport(inserted=(), updated=(), unchanged=0)

        with self._lock, self._write_transaction():
            recorder = ChangeRecorder(self._db, now or datetime.now(timezone.utc))
            changed_stations = self._save_stations(expedition.station for expedition in batch)
            changed_astronauts = self._save_astronauts(
                member.astronaut for expedition in batch for member in expedition.crew
            )
            inserted, updated = self._save_expedition_rows(batch, recorder)
            event_ids = recorder.record(batch, inserted, updated)

            affected = set(inserted) | set(updated)
            affected |= self._expedition_ids_of_stations(changed_stations)
            affected |= self._expedition_ids_of_astronauts(changed_astronauts)
            self._refresh_search_documents(affected)
            refresh_all_kinds(self._db.conn, {
                NameKind.EXPEDITION: affected,
                NameKind.STATION: changed_stations,
                NameKind.ASTRONAUT: changed_astronauts,
            })

        report = SaveReport(
            inserted=tuple(inserted),
            updated=tuple(updated),
            unchanged=len(batch) - len(inserted) - len(updated),
            events=tuple(event_ids),
        )
        log.info("saved %d expeditions: %d inserted, %d updated, %d unchanged, %d change events",
                 len(batch), len(report.inserted), len(report.updated), report.unchanged,
                 len(report.events))
        return report

    def _stored_fingerprints(self, table: str, ids: Iterable[int]) -> dict[int, str]:
        # `table` is one of the fixed table names below, never user input.
        found = self._query(
            f"SELECT id, fingerprint FROM {table} WHERE id IN (SELECT value FROM json_each(?))",
            [_json_ids(ids)],
        )
        return {row["id"]: row["fingerprint"] for row in found}

    def _changed_rows(self, table: str, new_rows: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        stored = self._stored_fingerprints(table, new_rows)
        return [row for row_id, row in new_rows.items() if stored.get(row_id) != row["fingerprint"]]

    def _save_stations(self, stations: Iterable[Station]) -> set[int]:
        # A page repeats a few stations many times, so each row is built once (the last copy wins).
        unique = {station.id: station for station in stations}
        new_rows = {station_id: rows.station_row(station) for station_id, station in unique.items()}
        changed = self._changed_rows("stations", new_rows)
        if changed:
            self._db["stations"].upsert_all(changed, pk="id")
        return {row["id"] for row in changed}

    def _save_astronauts(self, astronauts: Iterable[Astronaut]) -> set[int]:
        # Crews repeat astronauts across expeditions, so each row is built once (the last copy wins).
        unique = {astronaut.id: astronaut for astronaut in astronauts}
        new_rows = {astronaut_id: rows.astronaut_row(astronaut) for astronaut_id, astronaut in unique.items()}
        changed = self._changed_rows("astronauts", new_rows)
        if changed:
            self._db["astronauts"].upsert_all(changed, pk="id")
        return {row["id"] for row in changed}

    def _save_expedition_rows(
        self, batch: list[Expedition], recorder: ChangeRecorder
    ) -> tuple[list[int], list[int]]:
        stored = self._stored_fingerprints("expeditions", (expedition.id for expedition in batch))

        inserted: list[int] = []
        updated: list[int] = []
        expedition_rows: list[dict[str, Any]] = []
        crew_rows: list[dict[str, Any]] = []
        for expedition in batch:
            row = rows.expedition_row(expedition)
            if stored.get(expedition.id) == row["fingerprint"]:
                continue

            (updated if expedition.id in stored else inserted).append(expedition.id)
            expedition_rows.append(row)
            crew_rows.extend(rows.crew_rows(expedition))

        if not expedition_rows:
            return inserted, updated

        recorder.remember(updated)
        self._db["expeditions"].upsert_all(expedition_rows, pk="id")

        # Replacing every seat of a changed expedition also drops seats no longer listed.
        if updated:
            self._db["crew"].delete_where(
                "expedition_id IN (SELECT value FROM json_each(?))", [_json_ids(updated)]
            )
        if crew_rows:
            self._db["crew"].insert_all(crew_rows, pk=("expedition_id", "flight_id"))
        return inserted, updated

    def _expedition_ids_of_stations(self, station_ids: set[int]) -> set[int]:
        if not station_ids:
            return set()
        found = self._query(
            "SELECT id FROM expeditions WHERE station_id IN (SELECT value FROM json_each(?))",
            [_json_ids(station_ids)],
        )
        return {row["id"] for row in found}

    def _expedition_ids_of_astronauts(self, astronaut_ids: set[int]) -> set[int]:
        if not astronaut_ids:
            return set()
        found = self._query(
            "SELECT DISTINCT expedition_id FROM crew "
            "WHERE astronaut_id IN (SELECT value FROM json_each(?))",
            [_json_ids(astronaut_ids)],
        )
        return {row["expedition_id"] for row in found}

    def _refresh_search_documents(self, expedition_ids: set[int]) -> None:
        """Rebuild the search documents of `expedition_ids` from the stored rows.

        Only documents whose text changed are written.
        """
        if not expedition_ids:
            return

        documents = self._build_search_documents(expedition_ids)
        existing = {
            row["id"]: row["search_text"]
            for row in self._query(
                f"SELECT rowid AS id, search_text FROM {SEARCH_TABLE} "
                "WHERE rowid IN (SELECT value FROM json_each(?))",
                [_json_ids(expedition_ids)],
            )
        }

        inserts = [(expedition_id, text) for expedition_id, text in documents.items()
                   if expedition_id not in existing]
        updates = [(text, expedition_id) for expedition_id, text in documents.items()
                   if expedition_id in existing and existing[expedition_id] != text]

        connection = self._db.conn
        connection.executemany(
            f"INSERT INTO {SEARCH_TABLE} (rowid, search_text) VALUES (?, ?)", inserts
        )
        connection.executemany(f"UPDATE {SEARCH_TABLE} SET search_text = ? WHERE rowid = ?", updates)

    def _build_search_documents(self, expedition_ids: set[int]) -> dict[int, str]:
        ids_param = [_json_ids(expedition_ids)]
        heads = self._query(
            "SELECT e.id, e.name, s.name AS station_name FROM expeditions e "
            "JOIN stations s ON s.id = e.station_id "
            "WHERE e.id IN (SELECT value FROM json_each(?))",
            ids_param,
        )
        seats = self._query(
            "SELECT c.expedition_id, a.name, a.agency_name, a.agency_abbrev, a.nationalities "
            "FROM crew c JOIN astronauts a ON a.id = c.astronaut_id "
            "WHERE c.expedition_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY c.expedition_id, c.flight_id",
            ids_param,
        )

        crew_fields: dict[int, list[str | None]] = defaultdict(list)
        for seat in seats:
            nationalities = [item["name"] for item in json.loads(seat["nationalities"])]
            crew_fields[seat["expedition_id"]].extend(
                [seat["name"], seat["agency_name"], seat["agency_abbrev"], *nationalities]
            )

        return {
            head["id"]: search_document(
                [
                    head["name"],
                    head["station_name"],
                    station_acronym(head["station_name"]),
                    *crew_fields[head["id"]],
                ]
            )
            for head in heads
        }

    # Reading

    def get_expedition(self, expedition_id: int) -> Expedition | None:
        """Return the stored expedition, or None when the mirror has no such id."""
        with self._lock, self._read_transaction():
            found = self._load_expeditions([expedition_id])
        return found[0] if found else None

    def expedition_ids(self) -> list[int]:
        """Return every stored expedition id, ascending."""
        with self._lock:
            return [row["id"] for row in self._query("SELECT id FROM expeditions ORDER BY id")]

    def counts(self) -> StoreCounts:
        """Return how many expeditions, stations, astronauts and crew seats are stored."""
        with self._lock:
            row = self._query(
                "SELECT (SELECT count(*) FROM expeditions) AS expeditions, "
                "(SELECT count(*) FROM stations) AS stations, "
                "(SELECT count(*) FROM astronauts) AS astronauts, "
                "(SELECT count(*) FROM crew) AS crew_seats"
            )[0]
        return StoreCounts(**row)

    def _load_expeditions(self, expedition_ids: list[int]) -> list[Expedition]:
        """Rebuild the expeditions with `expedition_ids`, in that order, skipping unknown ids."""
        if not expedition_ids:
            return []

        ids_param = [_json_ids(expedition_ids)]
        expedition_rows = {
            row["id"]: row
            for row in self._query(
                "SELECT * FROM expeditions WHERE id IN (SELECT value FROM json_each(?))", ids_param
            )
        }
        stations = {
            row["id"]: rows.station_from_row(row)
            for row in self._query(
                "SELECT * FROM stations WHERE id IN (SELECT station_id FROM expeditions "
                "WHERE id IN (SELECT value FROM json_each(?)))",
                ids_param,
            )
        }
        crew = self._load_crew(ids_param)

        return [
            rows.expedition_from_rows(row, stations[row["station_id"]], crew[row["id"]])
            for row in (expedition_rows.get(expedition_id) for expedition_id in expedition_ids)
            if row is not None
        ]

    def _load_crew(self, ids_param: list[str]) -> dict[int, list[CrewMember]]:
        seats = self._query(
            "SELECT c.expedition_id, c.flight_id, c.role, c.role_priority, a.* "
            "FROM crew c JOIN astronauts a ON a.id = c.astronaut_id "
            "WHERE c.expedition_id IN (SELECT value FROM json_each(?))",
            ids_param,
        )

        crew: dict[int, list[CrewMember]] = defaultdict(list)
        for seat in seats:
            member = CrewMember(
                flight_id=seat["flight_id"],
                astronaut=rows.astronaut_from_row(seat),
                role=seat["role"],
                role_priority=seat["role_priority"],
            )
            crew[seat["expedition_id"]].append(member)
        return crew

    # Searching

    def search(self, query: str, *, offset: int = 0, limit: int = 10) -> SearchPage:
        """Return one page of the expeditions matching `query`, newest first.

        A query without searchable terms (see `search_terms`) matches nothing. Raises
        ValueError for a negative offset or a limit below 1.
        """
        if offset < 0 or limit < 1:
            raise ValueError(f"invalid page: offset {offset} must be >= 0 and limit {limit} >= 1")

        terms = search_terms(query)
        if not terms:
            return SearchPage(total=0, offset=offset)

        with self._lock, self._read_transaction():
            total, page_ids = find_page(self._db.conn, terms, offset=offset, limit=limit)
            expeditions = self._load_expeditions(page_ids)
        return SearchPage(total=total, offset=offset, expeditions=tuple(expeditions))

    def search_ids(self, query: str) -> list[int]:
        """Return the id of every expedition matching `query`, newest first."""
        terms = search_terms(query)
        if not terms:
            return []

        with self._lock, self._read_transaction():
            return find_ids(self._db.conn, terms)

    # Lookups for autocomplete

    def lookup_expeditions(self, query: str, *, limit: int = 25) -> list[NameMatch]:
        """Return up to `limit` expeditions whose name fits `query`, best first (see storage.lookups)."""
        return self._lookup(NameKind.EXPEDITION, query, limit)

    def lookup_stations(self, query: str, *, limit: int = 25) -> list[NameMatch]:
        """Return up to `limit` stations whose name or initials fit `query`, best first.

        Within one match tier, active stations come first (see `rank_station_matches`).
        """
        if limit < 1:
            return []

        with self._lock, self._read_transaction():
            matches = lookup_names(self._db.conn, NameKind.STATION, query, limit=MAX_STATION_CANDIDATES)
            facts = [
                StationFacts(id=row["id"], name=row["name"], active=(row["status"] or "").casefold() == "active")
                for row in self._query("SELECT id, name, status FROM stations")
            ]
        return rank_station_matches(matches, facts, query)[:limit]

    def lookup_astronauts(self, query: str, *, limit: int = 25) -> list[NameMatch]:
        """Return up to `limit` astronauts whose name fits `query`, best first."""
        return self._lookup(NameKind.ASTRONAUT, query, limit)

    def _lookup(self, kind: NameKind, query: str, limit: int) -> list[NameMatch]:
        with self._lock, self._read_transaction():
            return lookup_names(self._db.conn, kind, query, limit=limit)

    # Browsing (see storage.browse)

    def get_station(self, station_id: int) -> Station | None:
        """Return the stored station, or None when the mirror has no such id."""
        with self._lock:
            found = self._query("SELECT * FROM stations WHERE id = ?", [station_id])
        return rows.station_from_row(found[0]) if found else None

    def get_astronaut(self, astronaut_id: int) -> Astronaut | None:
        """Return the stored astronaut, or None when the mirror has no such id."""
        with self._lock:
            found = self._query("SELECT * FROM astronauts WHERE id = ?", [astronaut_id])
        return rows.astronaut_from_row(found[0]) if found else None

    def station_expeditions(
        self, station_id: int, *, when: browse.TimeFilter, now: datetime, offset: int = 0, limit: int = 10
    ) -> SearchPage:
        """Return one page of the station's expeditions that fit `when` at `now`, newest first."""
        with self._lock, self._read_transaction():
            total, ids = browse.station_expedition_ids(
                self._db.conn, station_id, when=when, now=now, offset=offset, limit=limit
            )
            expeditions = self._load_expeditions(ids)
        return SearchPage(total=total, offset=offset, expeditions=tuple(expeditions))

    def astronaut_expeditions(self, astronaut_id: int, *, offset: int = 0, limit: int = 10) -> SearchPage:
        """Return one page of the expeditions the astronaut has a crew seat on, newest first."""
        with self._lock, self._read_transaction():
            total, ids = browse.astronaut_expedition_ids(self._db.conn, astronaut_id, offset=offset, limit=limit)
            expeditions = self._load_expeditions(ids)
        return SearchPage(total=total, offset=offset, expeditions=tuple(expeditions))

    def ongoing_expeditions(self, now: datetime) -> list[Expedition]:
        """Return every expedition on-going at `now`, grouped by station name, newest first in each."""
        with self._lock, self._read_transaction():
            return self._load_expeditions(browse.ongoing_expedition_ids(self._db.conn, now))


    # Change events (see storage.events)

    def has_baseline(self) -> bool:
        """Return True once a baseline exists, that is once saves and the clock record change events."""
        with self._lock:
            return events.has_baseline(self._db)

    def mark_baseline(self, now: datetime) -> None:
        """Start recording change events from `now` on; does nothing when a baseline already exists."""
        with self._lock, self._write_transaction():
            events.mark_baseline(self._db, now)

    def record_clock_events(self, now: datetime) -> list[int]:
        """Record "started" and "ended" for the dates passed since the last call; return the new event ids."""
        with self._lock, self._write_transaction():
            return events.record_clock_events(self._db, now)

    def get_event(self, event_id: int) -> ChangeEvent | None:
        """Return the change event with `event_id`, or None."""
        with self._lock:
            return events.get_event(self._db, event_id)

    def recent_events(self, limit: int = 50) -> list[ChangeEvent]:
        """Return the `limit` most recent change events, newest first."""
        with self._lock:
            return events.recent_events(self._db, limit)

    # Subscriptions (see storage.subscriptions)

    def add_subscription(
        self,
        *,
        guild_id: int,
        channel_id: int,
        station_id: int | None,
        events: Iterable[str],
        mention_role_id: int | None,
        created_by: int,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Create or update the channel's subscription to a station (None: all); True when created."""
        with self._lock, self._write_transaction():
            return subscriptions.add_subscription(
                self._db, guild_id=guild_id, channel_id=channel_id, station_id=station_id,
                events=events, mention_role_id=mention_role_id, created_by=created_by, now=now,
            )

    def remove_subscription(self, *, guild_id: int, channel_id: int, station_id: int | None) -> bool:
        """Delete the channel's subscription to a station and drop its unsent messages; False when none existed."""
        with self._lock, self._write_transaction():
            removed = subscriptions.remove_subscription(
                self._db, guild_id=guild_id, channel_id=channel_id, station_id=station_id
            )
            outbox.drop_unsent_messages(self._db, removed, "subscription removed")
        return bool(removed)

    def list_subscriptions(self, guild_id: int) -> list[Subscription]:
        """Return the server's subscriptions, ordered by channel and station."""
        with self._lock:
            return subscriptions.list_subscriptions(self._db, guild_id)

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        """Return the subscription with `subscription_id`, or None."""
        with self._lock:
            return subscriptions.get_subscription(self._db, subscription_id)

    def remove_channel_subscriptions(self, channel_id: int) -> int:
        """Delete every subscription of a channel that no longer exists and drop its unsent messages."""
        with self._lock, self._write_transaction():
            removed = subscriptions.remove_channel_subscriptions(self._db, channel_id)
            outbox.drop_unsent_messages(self._db, removed, "channel removed")
        return len(removed)

    def record_delivery_failure(
        self, subscription_id: int, reason: str, *, disable_after: int = DEFAULT_DISABLE_AFTER
    ) -> Subscription:
        """Count a failed delivery; once disabled, the subscription's unsent messages are dropped.

        Raises LookupError when the subscription does not exist.
        """
        with self._lock, self._write_transaction():
            subscription = subscriptions.record_delivery_failure(
                self._db, subscription_id, reason, disable_after=disable_after
            )
            if subscription.disabled_reason is not None:
                outbox.drop_unsent_messages(self._db, [subscription_id], subscription.disabled_reason)
        return subscription

    def reset_delivery_failures(self, subscription_id: int) -> None:
        """Clear the subscription's failure count after a successful delivery."""
        with self._lock, self._write_transaction():
            subscriptions.reset_delivery_failures(self._db, subscription_id)

    # Outbox (see storage.outbox)

    def plan_deliveries(self, now: datetime) -> int:
        """Turn unplanned change events into outbox deliveries; return the number of new deliveries."""
        with self._lock, self._write_transaction():
            return outbox.plan_deliveries(self._db, now)

    def due_messages(self, now: datetime, limit: int = 500) -> list[OutboxMessage]:
        """Return the pending and interrupted outbox messages due at `now`, oldest first."""
        with self._lock:
            return outbox.due_messages(self._db, now, limit)

    def get_outbox_message(self, message_id: int) -> OutboxMessage | None:
        """Return the outbox message with `message_id`, or None."""
        with self._lock:
            return outbox.get_message(self._db, message_id)

    def mark_sending(self, message_id: int) -> None:
        """Record a send attempt before its request; raises OutboxStateError for a sent or dropped message."""
        with self._lock, self._write_transaction():
            outbox.mark_sending(self._db, message_id)

    def mark_sent(self, message_id: int, discord_message_id: int, now: datetime) -> None:
        """Record that the message was delivered as Discord message `discord_message_id`."""
        with self._lock, self._write_transaction():
            outbox.mark_sent(self._db, message_id, discord_message_id, now)

    def mark_retry(self, message_id: int, reason: str, retry_at: datetime) -> None:
        """Put an unsent message back to pending until `retry_at`."""
        with self._lock, self._write_transaction():
            outbox.mark_retry(self._db, message_id, reason, retry_at)

    def mark_dropped(self, message_id: int, reason: str) -> None:
        """Give up on an unsent message, e.g. when its channel is gone or its subscription disabled."""
        with self._lock, self._write_transaction():
            outbox.mark_dropped(self._db, message_id, reason)

    def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox messages per state."""
        with self._lock:
            return outbox.outbox_counts(self._db)


def _configure(db: Database, path: Path) -> None:
    """Set the connection's pragmas: busy timeout, WAL, foreign keys."""
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.enable_wal()
    if db.journal_mode != "wal":
        log.warning("could not switch %s to WAL mode (journal mode is %s); readers will wait "
                    "for writers", path, db.journal_mode)

    # With WAL, NORMAL can lose the last commits on power loss but never corrupts the file;
    # the next sync fetches anything lost again.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")


def _unique_by_id(expeditions: Iterable[Expedition]) -> list[Expedition]:
    """Return the expeditions keyed by id, the last one winning, in first-seen order."""
    by_id: dict[int, Expedition] = {}
    for expedition in expeditions:
        if expedition.id in by_id:
            log.warning("expedition %d appears twice in one save; keeping the last one", expedition.id)
        by_id[expedition.id] = expedition
    return list(by_id.values())
