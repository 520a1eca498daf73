"""Search query normalization and the SQL filter that finds matching expeditions.

The semantics follow the `search=` parameter of Launch Library 2, which is Django REST
framework's SearchFilter. The query is split on whitespace and commas into terms. An
expedition matches when every term is a substring of at least one indexed field. The fields
are the expedition name, each crew astronaut's name, agency name, agency abbreviation and
nationality names, plus the station name and its acronym ("ISS" for "International Space
Station"), which LL2 does not search. Matching here is also case- and accent-insensitive,
because both sides pass through `normalize_text`, and it ignores invisible format characters
and the quotes or asterisks that people put around a word out of habit.

Each expedition is indexed as one document: its normalized fields joined by newlines. Terms
never contain whitespace, so a term is a substring of that document exactly when it is a
substring of one of its fields.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from storage.schema import SEARCH_TABLE

log = logging.getLogger(__name__)

# The trigram tokenizer only indexes substrings of three characters or more.
MIN_FTS_TERM_LENGTH = 3

# Caps on the terms that become SQL; the rest are checked in Python on the candidate rows.
# They keep absurd queries under SQLite's bound-parameter limit and FTS5's expression depth.
MAX_FTS_TERMS = 16
MAX_SQL_TERMS = 64

FIELD_SEPARATOR = "\n"

# Characters stripped from both ends of a term: `"Kelly"` and `*Kelly*` search for kelly.
TERM_WRAPPERS = "\"'`*“”‘’«»"


@dataclass(frozen=True, slots=True)
class TermPlan:
    """The search terms grouped by their check: trigram index, SQL instr(), or Python."""

    fts_terms: tuple[str, ...]
    instr_terms: tuple[str, ...]
    python_terms: tuple[str, ...]


def normalize_text(text: str) -> str:
    """Fold `text` for matching: NFKD, case folding, combining marks, NUL and surrogates dropped."""
    decomposed = unicodedata.normalize("NFKD", text)

    # Case folding can produce characters that decompose further (e.g. a dotted capital I).
    folded = unicodedata.normalize("NFKD", decomposed.casefold())

    return "".join(character for character in folded if _is_kept(character))


def _is_kept(character: str) -> bool:
    if character == "\x00" or unicodedata.combining(character):
        return False

    # A lone surrogate cannot be encoded as UTF-8, so SQLite could never receive it. Format
    # characters (zero-width spaces and joiners, direction overrides, BOM) are invisible, so a
    # query that contains them would look like a word it does not match.
    return unicodedata.category(character) not in ("Cs", "Cf")


def search_terms(query: str) -> list[str]:
    """Split `query` into normalized terms, without duplicates, in query order.

    An empty list means the query has nothing searchable (only whitespace, commas or marks).
    """
    normalized = normalize_text(query).replace(",", " ")

    terms: list[str] = []
    for word in normalized.split():
        term = word.strip(TERM_WRAPPERS)
        if term and term not in terms:
            terms.append(term)
    return terms


def station_acronym(name: str) -> str | None:
    """Return the initials of a station name of two or more words ("ISS"), or None."""
    words = name.split()
    if len(words) < 2:
        return None

    initials = "".join(word[0] for word in words if word[0].isalpha())
    return initials if len(initials) >= 2 else None


def search_document(fields: Iterable[str | None]) -> str:
    """Build the indexed text of one expedition from its searchable fields."""
    normalized = (normalize_text(field) for field in fields if field)
    return FIELD_SEPARATOR.join(text for text in normalized if text)


def document_matches(document: str, terms: Iterable[str]) -> bool:
    """Return True when every term is a substring of `document`."""
    return all(term in document for term in terms)


def essential_terms(terms: Iterable[str]) -> list[str]:
    """Drop terms implied by a longer term, longest first.

    A field containing "leonov" also contains "eon", so "eon" adds nothing to the filter.
    """
    by_length = sorted(set(terms), key=lambda term: (-len(term), term))

    kept: list[str] = []
    for term in by_length:
        if not any(term in longer for longer in kept):
            kept.append(term)
    return kept


def fts_phrase(term: str) -> str:
    """Quote `term` as an FTS5 string, so that no character acts as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def plan_terms(terms: Iterable[str]) -> TermPlan:
    """Split normalized terms into those the trigram index serves and those it cannot.

    Implied terms are dropped first (see `essential_terms`). Terms beyond the SQL caps are
    left to Python, so an absurd query still runs.
    """
    ordered = essential_terms(terms)
    sql_terms = ordered[:MAX_SQL_TERMS]
    python_terms = tuple(ordered[MAX_SQL_TERMS:])
    if python_terms:
        log.info("search query has %d distinct terms; checking %d of them in Python",
                 len(ordered), len(python_terms))

    long_terms = [term for term in sql_terms if len(term) >= MIN_FTS_TERM_LENGTH]
    fts_terms = tuple(long_terms[:MAX_FTS_TERMS])
    instr_terms = tuple(term for term in sql_terms if term not in fts_terms)
    return TermPlan(fts_terms=fts_terms, instr_terms=instr_terms, python_terms=python_terms)


def fts_query(terms: Iterable[str]) -> str:
    """Build an FTS5 query that requires every term as a phrase.

    With the trigram tokenizer a phrase matches exactly the documents that contain it as a
    substring, for phrases of three characters or more.
    """
    return " AND ".join(fts_phrase(term) for term in terms)


def index_filter(plan: TermPlan, *, table: str) -> tuple[str, list[str]]:
    """Build SQL selecting `id` from the FTS5 `table`: the index match, then instr() checks.

    `table` is a fixed identifier from the schema, never user input. The short terms use
    instr(), not LIKE, whose wildcards `%` and `_` would leak from the query.
    """
    if not plan.fts_terms:
        raise ValueError("index_filter needs at least one term of three or more characters")

    conditions = [f"{table} MATCH ?"]
    params = [fts_query(plan.fts_terms)]
    for term in plan.instr_terms:
        conditions.append("instr(search_text, ?) > 0")
        params.append(term)
    return f"SELECT rowid AS id FROM {table} WHERE " + " AND ".join(conditions), params


def scan_filter(plan: TermPlan, *, table: str, with_text: bool = False) -> tuple[str, list[str]]:
    """Build SQL that scans every document of `table` and checks each SQL term with instr().

    It selects `id`, and also `search_text` when `with_text` is set.
    """
    terms = [*plan.fts_terms, *plan.instr_terms]
    columns = "rowid AS id, search_text" if with_text else "rowid AS id"
    sql = f"SELECT {columns} FROM {table}"
    if terms:
        sql += " WHERE " + " AND ".join("instr(search_text, ?) > 0" for _ in terms)
    return sql, terms


# Above this share of all documents, reading each index candidate's text for the instr()
# checks costs more than one sequential scan of every document. Both thresholds are
# estimates from timing queries over 100,000 generated expeditions.
# NOTE: a query that pairs a 1-2 character term with a term most documents contain
# ("expedition 5") still scans every document: about 100 ms at 100,000 expeditions.
SCAN_SHARE = 0.5

# Up to this many matches, ordering them through primary key lookups is faster than walking
# the whole start-date index.
SMALL_RESULT = 2000

_ORDER = "ORDER BY start_at DESC, id DESC"


def find_page(
    connection: sqlite3.Connection, terms: list[str], *, offset: int, limit: int
) -> tuple[int, list[int]]:
    """Return the number of expeditions matching all `terms`, and the ids of one page.

    Run it inside a read transaction, so the count and the page come from one snapshot.
    """
    plan = plan_terms(terms)
    if _use_index(connection, plan):
        sql, params = index_filter(plan, table=SEARCH_TABLE)
        total = connection.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
        if total == 0 or offset >= total:
            return total, []

        index_hint = "" if total <= SMALL_RESULT else " INDEXED BY idx_expeditions_start"
        page = connection.execute(
            f"SELECT id FROM expeditions{index_hint} WHERE id IN ({sql}) {_ORDER} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return total, [row[0] for row in page]

    if plan.python_terms:
        ids = _scan_ids(connection, plan)
        return len(ids), ids[offset:offset + limit]
    return _scan_page(connection, plan, offset=offset, limit=limit)


def _scan_page(connection: sqlite3.Connection, plan: TermPlan, *, offset: int, limit: int) -> tuple[int, list[int]]:
    """Find the matches with one scan, then read only the ids of the page.

    Ordering every match would cost about as much again as the scan when most documents
    match (a term such as "li"), so with many matches the page walks the start-date index and
    stops once it is full. Few matches are ordered through primary key lookups instead.
    """
    sql, params = scan_filter(plan, table=SEARCH_TABLE)
    matched = [row[0] for row in connection.execute(sql, params)]
    total = len(matched)
    if total == 0 or offset >= total:
        return total, []

    if total <= SMALL_RESULT or not params:
        page = connection.execute(
            f"SELECT id FROM expeditions WHERE id IN (SELECT value FROM json_each(?)) {_ORDER} LIMIT ? OFFSET ?",
            [json.dumps(matched), limit, offset],
        )
    else:
        # CROSS JOIN keeps the expeditions, in index order, as the outer loop.
        checks = " AND ".join("instr(s.search_text, ?) > 0" for _ in params)
        page = connection.execute(
            f"SELECT e.id FROM expeditions e INDEXED BY idx_expeditions_start "
            f"CROSS JOIN {SEARCH_TABLE} s ON s.rowid = e.id WHERE {checks} "
            "ORDER BY e.start_at DESC, e.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    return total, [row[0] for row in page]


def find_ids(connection: sqlite3.Connection, terms: list[str]) -> list[int]:
    """Return the ids of every expedition matching all `terms`, newest first."""
    plan = plan_terms(terms)
    if _use_index(connection, plan):
        sql, params = index_filter(plan, table=SEARCH_TABLE)
        rows = connection.execute(f"SELECT id FROM expeditions WHERE id IN ({sql}) {_ORDER}", params)
        return [row[0] for row in rows]
    return _scan_ids(connection, plan)


def _use_index(connection: sqlite3.Connection, plan: TermPlan) -> bool:
    if plan.python_terms or not plan.fts_terms:
        return False
    if not plan.instr_terms:
        return True

    candidates = connection.execute(
        f"SELECT count(*) FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH ?",
        [fts_query(plan.fts_terms)],
    ).fetchone()[0]
    documents = connection.execute("SELECT count(*) FROM expeditions").fetchone()[0]
    return candidates <= documents * SCAN_SHARE


def _scan_ids(connection: sqlite3.Connection, plan: TermPlan) -> list[int]:
    """Check every document with instr(), and in Python for `plan.python_terms`."""
    if not plan.python_terms:
        sql, params = scan_filter(plan, table=SEARCH_TABLE)
        rows = connection.execute(
            f"SELECT id FROM expeditions INDEXED BY idx_expeditions_start WHERE id IN ({sql}) {_ORDER}",
            params,
        )
        return [row[0] for row in rows]

    sql, params = scan_filter(plan, table=SEARCH_TABLE, with_text=True)
    matched = [
        row[0] for row in connection.execute(sql, params)
        if document_matches(row[1], plan.python_terms)
    ]
    rows = connection.execute(
        f"SELECT id FROM expeditions WHERE id IN (SELECT value FROM json_each(?)) {_ORDER}",
        [json.dumps(matched)],
    )
    return [row[0] for row in rows]
