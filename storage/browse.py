"""Read queries for browsing the mirror: a station's expeditions, an astronaut's flights, who is aboard now.

Each function takes the store's open connection and returns ids (and a total), newest first
(start descending, then id descending, as search orders them). `ExpeditionStore` runs them
inside one read transaction and rebuilds the records.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from datetime import datetime

from storage.rows import format_datetime

log = logging.getLogger(__name__)

NEWEST_FIRST = "ORDER BY e.start_at DESC, e.id DESC"


class TimeFilter(enum.Enum):
    """A time window for listing a station's expeditions, relative to a moment `now`.

    On-going: started, and no end or an end after `now`. Upcoming: starting after `now`.
    Past: ended at or before `now`.
    """

    ALL = "all"
    ONGOING = "on-going"
    UPCOMING = "upcoming"
    PAST = "past"


def time_condition(when: TimeFilter, now: datetime) -> tuple[str, list[str]]:
    """Return the SQL condition on the `e` (expeditions) alias that selects `when`, and its parameters.

    Stored times are fixed-width UTC ISO 8601 text, so text comparison is time comparison.
    """
    moment = format_datetime(now)
    if when is TimeFilter.ONGOING:
        return "e.start_at <= ? AND (e.end_at IS NULL OR e.end_at > ?)", [moment, moment]
    if when is TimeFilter.UPCOMING:
        return "e.start_at > ?", [moment]
    if when is TimeFilter.PAST:
        return "e.start_at <= ? AND e.end_at IS NOT NULL AND e.end_at <= ?", [moment, moment]
    return "1", []


def station_expedition_ids(
    connection: sqlite3.Connection,
    station_id: int,
    *,
    when: TimeFilter,
    now: datetime,
    offset: int,
    limit: int,
) -> tuple[int, list[int]]:
    """Return how many expeditions of the station fit `when`, and the ids of one page of them."""
    condition, params = time_condition(when, now)
    where = f"WHERE e.station_id = ? AND {condition}"
    total = connection.execute(f"SELECT count(*) FROM expeditions e {where}", [station_id, *params]).fetchone()[0]
    rows = connection.execute(
        f"SELECT e.id FROM expeditions e {where} {NEWEST_FIRST} LIMIT ? OFFSET ?",
        [station_id, *params, limit, offset],
    )
    return total, [row[0] for row in rows]


def astronaut_expedition_ids(
    connection: sqlite3.Connection, astronaut_id: int, *, offset: int, limit: int
) -> tuple[int, list[int]]:
    """Return how many expeditions the astronaut has a crew seat on, and the ids of one page of them."""
    where = "WHERE e.id IN (SELECT expedition_id FROM crew WHERE astronaut_id = ?)"
    total = connection.execute(f"SELECT count(*) FROM expeditions e {where}", [astronaut_id]).fetchone()[0]
    rows = connection.execute(
        f"SELECT e.id FROM expeditions e {where} {NEWEST_FIRST} LIMIT ? OFFSET ?",
        [astronaut_id, limit, offset],
    )
    return total, [row[0] for row in rows]


def ongoing_expedition_ids(connection: sqlite3.Connection, now: datetime) -> list[int]:
    """Return the ids of every expedition on-going at `now`, grouped by station name, newest first in each."""
    condition, params = time_condition(TimeFilter.ONGOING, now)
    rows = connection.execute(
        "SELECT e.id FROM expeditions e JOIN stations s ON s.id = e.station_id "
        f"WHERE {condition} ORDER BY s.name, s.id, e.start_at DESC, e.id DESC",
        params,
    )
    return [row[0] for row in rows]
