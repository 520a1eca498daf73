"""Station subscriptions: which channel announces which change events of which station.

There is at most one subscription per (channel, station), where a station id of None
(`ALL_STATIONS`) means every station. The functions here run inside a transaction that the
caller (ExpeditionStore) opens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.events import EVENT_KINDS
from storage.rows import format_datetime

log = logging.getLogger(__name__)

ALL_STATIONS = None

# Failed deliveries in a row after which a subscription is disabled.
DEFAULT_DISABLE_AFTER = 3

_SELECT = (
    "SELECT sub.*, st.name AS station_name FROM subscriptions sub "
    "LEFT JOIN stations st ON st.id = sub.station_id "
)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's subscription to the change events of one station, or of all stations.

    `station_name` comes from the mirror (None for all stations or a station not stored).
    `disabled_reason` is set once deliveries failed too often; a disabled subscription gets
    no new deliveries until it is added again.
    """

    id: int
    guild_id: int
    channel_id: int
    station_id: int | None
    station_name: str | None
    events: tuple[str, ...]
    mention_role_id: int | None
    created_at: datetime
    created_by: int
    failure_count: int
    disabled_reason: str | None
    last_error: str | None


def normalize_event_kinds(events: Iterable[str]) -> tuple[str, ...]:
    """Return the distinct kinds of `events` in EVENT_KINDS order; raise ValueError for an unknown or empty set."""
    chosen = set(events)
    unknown = sorted(chosen - set(EVENT_KINDS))
    if unknown:
        raise ValueError(f"unknown event kinds {unknown}; valid kinds are {list(EVENT_KINDS)}")
    if not chosen:
        raise ValueError(f"a subscription needs at least one event kind of {list(EVENT_KINDS)}")
    return tuple(kind for kind in EVENT_KINDS if kind in chosen)


def _subscription_from_row(row: Mapping[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        station_id=row["station_id"],
        station_name=row["station_name"],
        events=tuple(json.loads(row["events"])),
        mention_role_id=row["mention_role_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        created_by=row["created_by"],
        failure_count=row["failure_count"],
        disabled_reason=row["disabled_reason"],
        last_error=row["last_error"],
    )


def get_subscription(db: Database, subscription_id: int) -> Subscription | None:
    """Return the subscription with `subscription_id`, or None."""
    found = list(db.query(_SELECT + "WHERE sub.id = ?", [subscription_id]))
    return _subscription_from_row(found[0]) if found else None


def _find_id(db: Database, channel_id: int, station_id: int | None) -> int | None:
    found = list(db.query(
        "SELECT id FROM subscriptions WHERE channel_id = ? AND station_id IS ?", [channel_id, station_id]
    ))
    return found[0]["id"] if found else None


def add_subscription(
    db: Database,
    *,
    guild_id: int,
    channel_id: int,
    station_id: int | None,
    events: Iterable[str],
    mention_role_id: int | None,
    created_by: int,
    now: datetime,
) -> tuple[Subscription, bool]:
    """Create the channel's subscription to the station, or update the existing one.

    Returns the subscription and True when it was created. Updating replaces the events and
    the role, keeps `created_at`, re-enables a disabled subscription and resets its failures.
    Raises ValueError for unknown or no event kinds.
    """
    kinds = json.dumps(normalize_event_kinds(events))
    existing_id = _find_id(db, channel_id, station_id)

    if existing_id is None:
        cursor = db.execute(
            "INSERT INTO subscriptions (guild_id, channel_id, station_id, events, mention_role_id, "
            "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [guild_id, channel_id, station_id, kinds, mention_role_id, format_datetime(now), created_by],
        )
        subscription_id = cursor.lastrowid
        log.info("subscription %d created: guild %d, channel %d, station %s, by user %d",
                 subscription_id, guild_id, channel_id, station_id, created_by)
    else:
        subscription_id = existing_id
        db.execute(
            "UPDATE subscriptions SET events = ?, mention_role_id = ?, failure_count = 0, "
            "disabled_reason = NULL, last_error = NULL WHERE id = ?",
            [kinds, mention_role_id, subscription_id],
        )
        log.info("subscription %d updated: guild %d, channel %d, station %s, by user %d",
                 subscription_id, guild_id, channel_id, station_id, created_by)

    subscription = get_subscription(db, subscription_id)
    assert subscription is not None
    return subscription, existing_id is None


def remove_subscription(db: Database, *, guild_id: int, channel_id: int, station_id: int | None) -> list[int]:
    """Delete the channel's subscription to the station; return the deleted id (empty when none matched)."""
    found = [row["id"] for row in db.query(
        "SELECT id FROM subscriptions WHERE guild_id = ? AND channel_id = ? AND station_id IS ?",
        [guild_id, channel_id, station_id],
    )]
    _delete(db, found)
    for subscription_id in found:
        log.info("subscription %d removed: guild %d, channel %d, station %s",
                 subscription_id, guild_id, channel_id, station_id)
    return found


def remove_channel_subscriptions(db: Database, channel_id: int) -> list[int]:
    """Delete every subscription of the channel; return the deleted ids."""
    found = [row["id"] for row in db.query("SELECT id FROM subscriptions WHERE channel_id = ?", [channel_id])]
    _delete(db, found)
    if found:
        log.info("removed subscriptions %s of channel %d", found, channel_id)
    return found


def _delete(db: Database, subscription_ids: list[int]) -> None:
    if subscription_ids:
        db.execute(
            "DELETE FROM subscriptions WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(subscription_ids)],
        )


def list_subscriptions(db: Database, guild_id: int) -> list[Subscription]:
    """Return the server's subscriptions by channel, the all-stations one first, then by station name."""
    rows = db.query(
        _SELECT + "WHERE sub.guild_id = ? "
        "ORDER BY sub.channel_id, sub.station_id IS NOT NULL, st.name, sub.station_id, sub.id",
        [guild_id],
    )
    return [_subscription_from_row(row) for row in rows]


def record_delivery_failure(
    db: Database, subscription_id: int, reason: str, *, disable_after: int = DEFAULT_DISABLE_AFTER
) -> Subscription:
    """Count one failed delivery; disable the subscription with `reason` once it failed `disable_after` times.

    Raises LookupError when the subscription does not exist (any more).
    """
    cursor = db.execute(
        "UPDATE subscriptions SET failure_count = failure_count + 1, last_error = ?, "
        "disabled_reason = CASE WHEN failure_count + 1 >= ? THEN ifnull(disabled_reason, ?) "
        "ELSE disabled_reason END "
        "WHERE id = ?",
        [reason, disable_after, reason, subscription_id],
    )
    if cursor.rowcount == 0:
        raise LookupError(f"subscription {subscription_id} not found")

    subscription = get_subscription(db, subscription_id)
    assert subscription is not None
    if subscription.disabled_reason is not None:
        log.warning("subscription %d (channel %d) disabled after %d failed deliveries: %s",
                    subscription_id, subscription.channel_id, subscription.failure_count, reason)
    else:
        log.warning("delivery to subscription %d (channel %d) failed (%d in a row): %s",
                    subscription_id, subscription.channel_id, subscription.failure_count, reason)
    return subscription


def reset_delivery_failures(db: Database, subscription_id: int) -> None:
    """Clear the failure count and last error after a successful delivery; writes nothing when both are clear."""
    db.execute(
        "UPDATE subscriptions SET failure_count = 0, last_error = NULL "
        "WHERE id = ? AND (failure_count != 0 OR last_error IS NOT NULL)",
        [subscription_id],
    )
