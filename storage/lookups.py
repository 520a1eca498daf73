"""Name lookups for autocomplete: expedition, station and astronaut names that fit a few typed letters.

Every name is indexed once, normalized with `normalize_text`, in an FTS5 trigram table whose
rowid encodes the kind of name and the record id. A lookup gathers a bounded set of
candidates in SQL, then ranks them in Python:

1. exact name, 2. name starting with the query, 3. every query word starting a word of the
name, 4. every query word inside the name, 5. close spellings (edit distance), so that
"Kely" still finds "Kelly" and "Expediton 74" finds "Expedition 74".

Candidates come from two bounded queries: names containing every query word, and, when those
are too few, names sharing the rarest trigrams of the query. The rarity comes from an fts5vocab
table, so a trigram that most names contain ("exp") never makes SQLite rank the whole index.
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from storage.search import normalize_text, search_terms, station_acronym

log = logging.getLogger(__name__)

LOOKUP_TABLE = "name_lookup"
LOOKUP_VOCAB_TABLE = "name_lookup_vocab"

MAX_CHOICES = 25

# Typed text beyond these sizes adds nothing to a lookup, and would only make it slower.
MAX_QUERY_CHARACTERS = 200
MAX_NORMALIZED_QUERY = 100
MAX_QUERY_TERMS = 8

# Candidates read from SQL per stage, so the Python ranking scores at most twice this many.
CANDIDATE_LIMIT = 100

# Matches of the substring stage that SQL ranks, taken in id order. Below this many names of a
# kind (LL2 has about 200 expeditions and 900 astronauts) every match is ranked.
# NOTE: above it a name that starts with the query can be missed when thousands of names
# contain it, e.g. "a" among 10,000 astronauts; over 69 sample lookups of 100,000 expeditions
# no list changed.
SUBSTRING_SCAN_LIMIT = 2000

# The fuzzy stage ORs together the rarest trigrams of the query, stopping once the names they
# appear in add up to this many, so its ranking work in SQLite stays bounded.
# NOTE: a misspelled query made only of trigrams that most names contain gets no fuzzy
# candidates on a large mirror. Over 100,000 expeditions, 5,000 instead of 20,000 halved the
# time of expedition lookups (see docs/benchmarks.md). Only the fuzzy tail of 5 of 64 sample
# lists changed.
FUZZY_POSTINGS_BUDGET = 5_000
MAX_FUZZY_TRIGRAMS = 24

# Edit-distance inputs are cut to these sizes to bound the work per candidate.
FUZZY_TERMS = 4
FUZZY_WORDS = 8
FUZZY_WORD_LENGTH = 20

# A candidate from the fuzzy stage needs at least this mean similarity per query word, and
# every word at least the second figure.
MIN_SIMILARITY = 0.6
MIN_TERM_SIMILARITY = 0.5

# The rowid of an indexed name is `kind.value << ID_BITS | id`. LL2 ids are far below 2**40.
ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1


class NameKind(enum.Enum):
    """The kinds of names indexed for lookups, with the table each one comes from."""

    EXPEDITION = 1
    STATION = 2
    ASTRONAUT = 3

    @property
    def table(self) -> str:
        return {NameKind.EXPEDITION: "expeditions", NameKind.STATION: "stations",
                NameKind.ASTRONAUT: "astronauts"}[self]

    @property
    def rowid_range(self) -> tuple[int, int]:
        low = self.value << ID_BITS
        return low, low | ID_MASK


@dataclass(frozen=True, slots=True)
class NameMatch:
    """One lookup result: the record id, its name as LL2 gives it, and how it matched.

    `tier` is 0 for an exact name, 1 for a name starting with the query, 2 when every word
    starts a word of the name, 3 when every word is inside the name, 4 for a close spelling.
    """

    id: int
    name: str
    tier: int
    similarity: float


def lookup_rowid(kind: NameKind, record_id: int) -> int:
    """Return the rowid under which the name of `kind` with `record_id` is indexed."""
    if not 0 <= record_id <= ID_MASK:
        raise ValueError(f"id {record_id} is outside the range a lookup rowid can hold")
    return kind.value << ID_BITS | record_id


def lookup_text(name: str) -> str:
    """Normalize a name for the lookup index: `normalize_text`, with whitespace folded to single spaces."""
    return " ".join(normalize_text(name).split())


# Index maintenance


def create_lookup_tables(connection: sqlite3.Connection) -> None:
    """Create the lookup index and its vocabulary, and index every name already stored."""
    connection.execute(
        f"CREATE VIRTUAL TABLE {LOOKUP_TABLE} USING fts5("
        "normalized, tokenize = 'trigram case_sensitive 1')"
    )
    connection.execute(f"CREATE VIRTUAL TABLE {LOOKUP_VOCAB_TABLE} USING fts5vocab({LOOKUP_TABLE}, 'row')")
    for kind in NameKind:
        ids = [row[0] for row in connection.execute(f"SELECT id FROM {kind.table}")]
        refresh_names(connection, kind, ids)


def refresh_names(connection: sqlite3.Connection, kind: NameKind, record_ids: Iterable[int]) -> int:
    """Re-index the names of `kind` with `record_ids` from their table; return how many changed.

    Run it inside the transaction that wrote the records. A name whose normalized text is
    unchanged is not written.
    """
    ids_json = json.dumps(sorted(set(record_ids)))
    if ids_json == "[]":
        return 0

    names = {
        row[0]: lookup_text(row[1])
        for row in connection.execute(
            f"SELECT id, name FROM {kind.table} WHERE id IN (SELECT value FROM json_each(?))", [ids_json]
        )
    }
    rowids = {record_id: lookup_rowid(kind, record_id) for record_id in names}
    stored = dict(connection.execute(
        f"SELECT rowid, normalized FROM {LOOKUP_TABLE} WHERE rowid IN (SELECT value FROM json_each(?))",
        [json.dumps(sorted(rowids.values()))],
    ).fetchall())

    changed = [(rowids[record_id], text) for record_id, text in names.items()
               if stored.get(rowids[record_id]) != text]
    connection.executemany(f"DELETE FROM {LOOKUP_TABLE} WHERE rowid = ?",
                           [(rowid,) for rowid, _ in changed if rowid in stored])
    connection.executemany(f"INSERT INTO {LOOKUP_TABLE} (rowid, normalized) VALUES (?, ?)", changed)
    return len(changed)


# Lookups


def lookup_names(
    connection: sqlite3.Connection, kind: NameKind, query: str, *, limit: int = MAX_CHOICES
) -> list[NameMatch]:
    """Return up to `limit` names of `kind` that fit `query`, best first.

    An empty query (or one with nothing but spaces, commas and marks) returns the first names
    in the default order: newest expeditions first, other names alphabetically.
    """
    if limit < 1:
        return []

    terms = search_terms(query[:MAX_QUERY_CHARACTERS])[:MAX_QUERY_TERMS]
    text = " ".join(terms)[:MAX_NORMALIZED_QUERY].strip()
    if not text:
        return _default_names(connection, kind, limit)

    terms = text.split()
    candidates = _substring_candidates(connection, kind, text, terms)
    if len(candidates) < limit:
        candidates.update(_trigram_candidates(connection, kind, text))

    ranked = sorted(
        (key, rowid) for rowid, normalized in candidates.items()
        if (key := rank_key(text, terms, normalized)) is not None
    )
    chosen = [(rowid & ID_MASK, key) for key, rowid in ranked[:limit]]
    names = _names_by_id(connection, kind, [record_id for record_id, _ in chosen])
    return [
        NameMatch(id=record_id, name=names[record_id], tier=key[0], similarity=-key[1])
        for record_id, key in chosen if record_id in names
    ]


def _default_names(connection: sqlite3.Connection, kind: NameKind, limit: int) -> list[NameMatch]:
    order = "start_at DESC, id DESC" if kind is NameKind.EXPEDITION else "name, id"
    rows = connection.execute(f"SELECT id, name FROM {kind.table} ORDER BY {order} LIMIT ?", [limit])
    return [NameMatch(id=row[0], name=row[1], tier=1, similarity=1.0) for row in rows]


def _substring_candidates(
    connection: sqlite3.Connection, kind: NameKind, text: str, terms: list[str]
) -> dict[int, str]:
    """Return names containing every term, those starting with `text` first, then the shortest."""
    low, high = kind.rowid_range
    long_terms = [term for term in terms if len(term) >= 3]
    conditions = ["rowid BETWEEN ? AND ?"]
    params: list[object] = [low, high]
    if long_terms:
        conditions.append(f"{LOOKUP_TABLE} MATCH ?")
        params.append(" AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms))
    for term in terms:
        if term not in long_terms:
            conditions.append("instr(normalized, ?) > 0")
            params.append(term)

    # Reading and sorting every match cost 50-100 ms when a prefix such as "aurora exp" fits
    # 16,000 of 100,000 names, so only the first SUBSTRING_SCAN_LIMIT matches in rowid (id)
    # order are ranked.
    sql = (
        f"SELECT rowid, normalized FROM (SELECT rowid, normalized FROM {LOOKUP_TABLE} "
        f"WHERE {' AND '.join(conditions)} LIMIT ?) "
        "ORDER BY substr(normalized, 1, ?) = ? DESC, length(normalized), normalized LIMIT ?"
    )
    rows = connection.execute(sql, [*params, SUBSTRING_SCAN_LIMIT, len(text), text, CANDIDATE_LIMIT])
    return dict(rows.fetchall())


def query_trigrams(text: str) -> list[str]:
    """Return the distinct three-character windows of `text` that hold a letter or digit."""
    windows = (text[index:index + 3] for index in range(len(text) - 2))
    seen: dict[str, None] = {}
    for window in windows:
        if any(character.isalnum() for character in window):
            seen.setdefault(window)
    return list(seen)


def _trigram_candidates(connection: sqlite3.Connection, kind: NameKind, text: str) -> dict[int, str]:
    """Return names sharing the rarest trigrams of `text`, ranked by FTS5's bm25."""
    trigrams = query_trigrams(text)
    if not trigrams:
        return {}

    counts = connection.execute(
        f"SELECT term, doc FROM {LOOKUP_VOCAB_TABLE} WHERE term IN (SELECT value FROM json_each(?))",
        [json.dumps(trigrams)],
    ).fetchall()

    chosen: list[str] = []
    postings = 0
    for term, documents in sorted(counts, key=lambda item: (item[1], item[0])):
        if postings + documents > FUZZY_POSTINGS_BUDGET or len(chosen) == MAX_FUZZY_TRIGRAMS:
            break
        chosen.append(term)
        postings += documents
    if not chosen:
        return {}

    low, high = kind.rowid_range
    match = " OR ".join('"' + term.replace('"', '""') + '"' for term in chosen)
    rows = connection.execute(
        f"SELECT rowid, normalized FROM {LOOKUP_TABLE} WHERE {LOOKUP_TABLE} MATCH ? "
        "AND rowid BETWEEN ? AND ? ORDER BY rank LIMIT ?",
        [match, low, high, CANDIDATE_LIMIT],
    )
    return dict(rows.fetchall())


def _names_by_id(connection: sqlite3.Connection, kind: NameKind, record_ids: list[int]) -> dict[int, str]:
    if not record_ids:
        return {}
    rows = connection.execute(
        f"SELECT id, name FROM {kind.table} WHERE id IN (SELECT value FROM json_each(?))",
        [json.dumps(record_ids)],
    )
    return dict(rows.fetchall())


# Ranking


def rank_key(text: str, terms: list[str], normalized: str) -> tuple[int, float, int, str] | None:
    """Return the sort key of one candidate name for the query, or None when it does not fit.

    `text` is the normalized query, `terms` its words, `normalized` the candidate's lookup text.
    """
    words = normalized.split()
    if normalized == text:
        tier = 0
    elif normalized.startswith(text):
        tier = 1
    elif all(any(word.startswith(term) for word in words) for term in terms):
        tier = 2
    elif all(term in normalized for term in terms):
        tier = 3
    else:
        similarity = word_similarity(terms, words)
        if similarity < MIN_SIMILARITY:
            return None
        return (4, -similarity, len(normalized), normalized)
    return (tier, -1.0, len(normalized), normalized)


def word_similarity(terms: list[str], words: list[str]) -> float:
    """Return the mean, over the query terms, of each term's best similarity to a word of the name.

    A term may also match the start of a longer word, since the user may still be typing it.
    Any term with no word at least half similar makes the result 0, so one exact word cannot
    carry a word that fits nothing.
    """
    terms = [term[:FUZZY_WORD_LENGTH] for term in terms[:FUZZY_TERMS]]
    words = [word[:FUZZY_WORD_LENGTH] for word in words[:FUZZY_WORDS]]
    if not terms or not words:
        return 0.0

    best = [
        max(max(similarity(term, word), similarity(term, word[:len(term)])) for word in words)
        for term in terms
    ]
    if min(best) < MIN_TERM_SIMILARITY:
        return 0.0
    return sum(best) / len(best)


def similarity(left: str, right: str) -> float:
    """Return 1 minus the edit distance divided by the longer length: 1.0 for equal strings."""
    longest = max(len(left), len(right))
    if longest == 0:
        return 1.0
    return 1.0 - edit_distance(left, right) / longest


def edit_distance(left: str, right: str) -> int:
    """Return the Levenshtein distance between two strings."""
    if len(left) < len(right):
        left, right = right, left

    previous = list(range(len(right) + 1))
    for row, left_character in enumerate(left, start=1):
        current = [row]
        for column, right_character in enumerate(right, start=1):
            cost = 0 if left_character == right_character else 1
            current.append(min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + cost))
        previous = current
    return previous[-1]


def refresh_all_kinds(
    connection: sqlite3.Connection, changed: Mapping[NameKind, Iterable[int]]
) -> None:
    """Re-index the changed names of each kind; log how many were written."""
    written = sum(refresh_names(connection, kind, ids) for kind, ids in changed.items())
    if written:
        log.debug("re-indexed %d names for lookups", written)


# Stations


@dataclass(frozen=True, slots=True)
class StationFacts:
    """The facts of one station that order it among stations of the same match tier."""

    id: int
    name: str
    active: bool


def rank_station_matches(
    matches: list[NameMatch], stations: Iterable[StationFacts], query: str
) -> list[NameMatch]:
    """Add stations whose initials fit `query` ("ISS") and put active stations first within a tier.

    There are only a few dozen stations, so this works on all of them in Python. A station
    named by its initials ranks like an exact name, and one whose initials start with the
    query like a name that starts with it. Within a tier an active station wins over a
    retired one, so "Tiangong" finds the Tiangong space station before Tiangong 1; otherwise
    the order of `matches` is kept. An empty query keeps the alphabetical default order.
    """
    text = lookup_text(query)
    if not text:
        return matches

    facts = {station.id: station for station in stations}
    best = {match.id: match for match in matches}
    for station in facts.values():
        initials = station_acronym(station.name)
        if initials is None:
            continue
        folded = lookup_text(initials)
        if folded == text:
            tier = 0
        elif folded.startswith(text):
            tier = 1
        else:
            continue

        if station.id not in best or best[station.id].tier > tier:
            best[station.id] = NameMatch(id=station.id, name=station.name, tier=tier, similarity=1.0)

    def is_retired(match: NameMatch) -> bool:
        return not (match.id in facts and facts[match.id].active)

    # sorted() is stable, so matches of one tier and activity keep their relevance order.
    return sorted(best.values(), key=lambda match: (match.tier, is_retired(match)))
