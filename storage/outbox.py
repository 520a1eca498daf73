"""The durable outbox of announcements: one delivery row per (event, subscription), kept by a primary key.

`plan_deliveries` turns new change events into delivery rows and groups them into outbox
messages of at most 10 events (one embed each). The sender records each attempt before the
request (`mark_sending`) and the result after it (`mark_sent`, `mark_retry`, `mark_dropped`).
A message still "sending" after a crash is due again and is resent with the same nonce, which
Discord uses to de-duplicate the message create.

The functions here run inside a transaction that the caller (ExpeditionStore) opens.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.rows import format_datetime
from storage.schema import OUTBOX_NONCE_SALT_KEY

log = logging.getLogger(__name__)

OUTBOX_STATES = ("pending", "sending", "sent", "dropped")

# Discord allows 10 embeds per message, and each event is one embed.
MAX_EVENTS_PER_MESSAGE = 10

# Discord accepts a nonce of at most 25 characters.
NONCE_PREFIX = "exb"
MAX_NONCE_LENGTH = 25

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class OutboxStateError(ValueError):
    """An outbox message is in a state that does not allow the requested step (e.g. sending a sent one)."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One announcement message to send: up to 10 events for one subscription's channel."""

    id: int
    channel_id: int
    subscription_id: int
    mention_role_id: int | None
    nonce: str
    event_ids: tuple[int, ...]
    attempts: int
    state: str
    next_attempt_at: datetime


def _base36(number: int) -> str:
    digits = []
    while True:
        number, remainder = divmod(number, 36)
        digits.append(_BASE36[remainder])
        if number == 0:
            return "".join(reversed(digits))


def outbox_nonce(salt: str, message_id: int, first_event_id: int) -> str:
    """Return the nonce of an outbox message: "exb" and up to 16 base36 digits of a hash, 19 characters at most."""
    digest = hashlib.sha256(f"{salt}:{message_id}:{first_event_id}".encode("ascii")).digest()
    return NONCE_PREFIX + _base36(int.from_bytes(digest[:10], "big"))


def _nonce_salt(db: Database) -> str:
    found = list(db.query("SELECT value FROM sync_state WHERE key = ?", [OUTBOX_NONCE_SALT_KEY]))
    if not found:
        raise RuntimeError(f"sync_state has no {OUTBOX_NONCE_SALT_KEY!r}; the schema migration did not run")
    return found[0]["value"]


def _message_from_row(row: Mapping[str, Any], salt: str) -> OutboxMessage:
    event_ids = tuple(json.loads(row["event_ids"]))
    return OutboxMessage(
        id=row["id"],
        channel_id=row["channel_id"],
        subscription_id=row["subscription_id"],
        mention_role_id=row["mention_role_id"],
        nonce=outbox_nonce(salt, row["id"], event_ids[0]),
        event_ids=event_ids,
        attempts=row["attempts"],
        state=row["state"],
        next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
    )


# Planning


@dataclass(frozen=True, slots=True)
class _Target:
    subscription_id: int
    channel_id: int
    station_id: int | None
    events: frozenset[str]
    mention_role_id: int | None
    created_at: str

    def matches(self, event: Mapping[str, Any]) -> bool:
        return (
            (self.station_id is None or self.station_id == event["station_id"])
            and event["kind"] in self.events
            and self.created_at <= event["occurred_at"]
        )


def _enabled_targets(db: Database) -> list[_Target]:
    # Single-station subscriptions come first, so when one channel has both kinds the
    # announcement carries the single-station subscription's role.
    rows = db.query(
        "SELECT id, channel_id, station_id, events, mention_role_id, created_at FROM subscriptions "
        "WHERE disabled_reason IS NULL ORDER BY station_id IS NULL, id"
    )
    return [
        _Target(
            subscription_id=row["id"],
            channel_id=row["channel_id"],
            station_id=row["station_id"],
            events=frozenset(json.loads(row["events"])),
            mention_role_id=row["mention_role_id"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


def _assign_events(events: list[dict[str, Any]], targets: list[_Target]) -> dict[_Target, list[int]]:
    """Map each target to the ids of the events it receives, at most one target per (event, channel)."""
    assigned: dict[_Target, list[int]] = defaultdict(list)
    for event in events:
        served_channels: set[int] = set()
        for target in targets:
            if target.channel_id in served_channels or not target.matches(event):
                continue
            served_channels.add(target.channel_id)
            assigned[target].append(event["id"])
    return assigned


def plan_deliveries(db: Database, now: datetime) -> int:
    """Plan the deliveries of every event not planned yet; return the number of new deliveries.

    Each event goes to every enabled subscription whose station matches (or that covers all
    stations), whose events include the kind and that was created at or before the event,
    but to each channel once. The new deliveries of each subscription are grouped into
    outbox messages of at most 10 events. Events are planned once, so calling this again
    adds nothing.
    """
    events = list(db.query(
        "SELECT id, station_id, kind, occurred_at FROM change_events WHERE planned_at IS NULL ORDER BY id"
    ))
    if not events:
        return 0

    now_text = format_datetime(now)
    assigned = _assign_events(events, _enabled_targets(db))

    delivered = 0
    for target, event_ids in sorted(assigned.items(), key=lambda item: item[0].subscription_id):
        for first in range(0, len(event_ids), MAX_EVENTS_PER_MESSAGE):
            chunk = event_ids[first:first + MAX_EVENTS_PER_MESSAGE]
            delivered += _insert_message(db, target, chunk, now_text)

    db.execute(
        "UPDATE change_events SET planned_at = ? WHERE id IN (SELECT value FROM json_each(?))",
        [now_text, json.dumps([event["id"] for event in events])],
    )
    log.info("planned %d deliveries of %d change events", delivered, len(events))
    return delivered


def _insert_message(db: Database, target: _Target, event_ids: list[int], now_text: str) -> int:
    cursor = db.execute(
        "INSERT INTO outbox (channel_id, subscription_id, mention_role_id, event_ids, state, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        [target.channel_id, target.subscription_id, target.mention_role_id, json.dumps(event_ids),
         now_text, now_text],
    )
    message_id = cursor.lastrowid

    inserted = db.conn.executemany(
        "INSERT OR IGNORE INTO deliveries (event_id, subscription_id, channel_id, message_id) "
        "VALUES (?, ?, ?, ?)",
        [(event_id, target.subscription_id, target.channel_id, message_id) for event_id in event_ids],
    ).rowcount
    if inserted != len(event_ids):
        # Only possible if deliveries were written for events that were never marked planned.
        log.warning("outbox message %d: %d of its %d events were already delivered to channel %d",
                    message_id, len(event_ids) - inserted, len(event_ids), target.channel_id)
    return inserted


# Sending


def due_messages(db: Database, now: datetime, limit: int = 500) -> list[OutboxMessage]:
    """Return the pending and interrupted ("sending") messages due at `now`, oldest first."""
    rows = list(db.query(
        "SELECT * FROM outbox WHERE state IN ('pending', 'sending') AND next_attempt_at <= ? "
        "ORDER BY id LIMIT ?",
        [format_datetime(now), max(limit, 0)],
    ))
    if not rows:
        return []

    salt = _nonce_salt(db)
    return [_message_from_row(row, salt) for row in rows]


def get_message(db: Database, message_id: int) -> OutboxMessage | None:
    """Return the outbox message with `message_id`, or None."""
    found = list(db.query("SELECT * FROM outbox WHERE id = ?", [message_id]))
    return _message_from_row(found[0], _nonce_salt(db)) if found else None


def _current_state(db: Database, message_id: int) -> str:
    found = list(db.query("SELECT state FROM outbox WHERE id = ?", [message_id]))
    if not found:
        raise LookupError(f"outbox message {message_id} not found")
    return found[0]["state"]


def mark_sending(db: Database, message_id: int) -> None:
    """Record an attempt before its request: state "sending", attempts + 1.

    Raises OutboxStateError when the message was already sent or dropped, and LookupError
    for an unknown id.
    """
    cursor = db.execute(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
        "WHERE id = ? AND state IN ('pending', 'sending')",
        [message_id],
    )
    if cursor.rowcount == 0:
        state = _current_state(db, message_id)
        raise OutboxStateError(f"outbox message {message_id} is {state}; only pending or sending ones are sent")


def mark_sent(db: Database, message_id: int, discord_message_id: int, now: datetime) -> None:
    """Record a delivered message; a message already marked sent is left as it is."""
    cursor = db.execute(
        "UPDATE outbox SET state = 'sent', sent_at = ?, discord_message_id = ?, last_error = NULL "
        "WHERE id = ? AND state != 'sent'",
        [format_datetime(now), discord_message_id, message_id],
    )
    if cursor.rowcount == 0:
        _current_state(db, message_id)
        log.info("outbox message %d was already marked sent", message_id)


def mark_retry(db: Database, message_id: int, reason: str, retry_at: datetime) -> None:
    """Put an unsent message back to pending until `retry_at`; a sent or dropped one is left as it is."""
    cursor = db.execute(
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ? "
        "WHERE id = ? AND state IN ('pending', 'sending')",
        [format_datetime(retry_at), reason, message_id],
    )
    if cursor.rowcount == 0:
        state = _current_state(db, message_id)
        log.info("outbox message %d is %s; not retrying it (%s)", message_id, state, reason)


def mark_dropped(db: Database, message_id: int, reason: str) -> None:
    """Give up on an unsent message with `reason`; a sent or dropped one is left as it is."""
    cursor = db.execute(
        "UPDATE outbox SET state = 'dropped', last_error = ? WHERE id = ? AND state IN ('pending', 'sending')",
        [reason, message_id],
    )
    if cursor.rowcount == 0:
        state = _current_state(db, message_id)
        log.info("outbox message %d is %s; not dropping it (%s)", message_id, state, reason)


def drop_unsent_messages(db: Database, subscription_ids: list[int], reason: str) -> int:
    """Drop every unsent message of the subscriptions with `reason`; return how many were dropped."""
    if not subscription_ids:
        return 0

    cursor = db.execute(
        "UPDATE outbox SET state = 'dropped', last_error = ? "
        "WHERE subscription_id IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'sending')",
        [reason, json.dumps(subscription_ids)],
    )
    if cursor.rowcount:
        log.info("dropped %d unsent outbox messages of subscriptions %s: %s",
                 cursor.rowcount, subscription_ids, reason)
    return cursor.rowcount


def outbox_counts(db: Database) -> dict[str, int]:
    """Return the number of outbox messages in each state, every state included."""
    counts = {state: 0 for state in OUTBOX_STATES}
    for row in db.query("SELECT state, count(*) AS number FROM outbox GROUP BY state"):
        counts[row["state"]] = row["number"]
    return counts
