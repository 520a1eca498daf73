"""Search semantics, compared with a brute-force reference over the saved records."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import search
from storage.database import ExpeditionStore
from storage.records import Agency, Astronaut, CrewMember, Expedition, Nationality, Station
from storage.search import essential_terms, fts_phrase, search_terms
from tests.storage.conftest import RecordFactory
from tests.storage.reference import reference_ids, searchable_fields

ODD_QUERIES = [
    "",
    " ",
    "\t\n ,, ,",
    "x" * 500,
    "é" * 250 + " " + "ab " * 80,
    '"*:()',
    '"',
    "'",
    "NEAR",
    "NEAR(a b)",
    "AND OR NOT",
    "' OR 1=1 --",
    "'; DROP TABLE expeditions; --",
    "%",
    "_",
    "%%",
    "a%b",
    "\\",
    "🚀",
    "🚀🚀🚀",
    "\u0301",
    "e\u0301",
    "\u0301\u0301\u0301",
    "\x00",
    "ab\x00c",
    "\ud800",
    "\udfff\ud800abc",
    "{}[]^$.|?*+",
    "col:value",
    "-x",
    "ﬁ",
    "\u200b",
    "*",
]

# Text with the characters that stress the matching: accents, combining marks, ligatures,
# case pairs with odd folding, emoji, quotes and SQL or FTS5 syntax.
ODD_ALPHABET = st.sampled_from(list(
    "aAeEéÉèoOöÖøØsSßẞiIİıfﬁkK\u212a \u00a0,\"'*:()%_-\\\u0301\u0308\u0327🚀漢字Σσς\x00"
)) | st.characters(codec="utf-8", exclude_categories=["Cs"])


@pytest.fixture(scope="module")
def catalogue() -> list[Expedition]:
    return RecordFactory(seed=11).expeditions(300)


@pytest.fixture(scope="module")
def catalogue_store(catalogue: list[Expedition], tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[ExpeditionStore]:
    opened = ExpeditionStore.open(tmp_path_factory.mktemp("catalogue") / "mirror.sqlite")
    opened.save_expeditions(catalogue)
    yield opened
    opened.close()


def substring_query(data: st.DataObject, expeditions: list[Expedition]) -> str:
    """Draw a query made of slices of real field values, so that it often matches."""
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        expedition = expeditions[data.draw(st.integers(0, len(expeditions) - 1))]
        fields = searchable_fields(expedition)
        field = fields[data.draw(st.integers(0, len(fields) - 1))]
        start = data.draw(st.integers(0, max(len(field) - 1, 0)))
        end = data.draw(st.integers(start, len(field)))
        part = field[start:end]
        if data.draw(st.booleans()):
            part = part.upper()
        parts.append(part)
    separator = data.draw(st.sampled_from([" ", ",", ", ", "\u00a0"]))
    return separator.join(parts)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_catalogue_search_equals_reference(
    catalogue: list[Expedition], catalogue_store: ExpeditionStore, data: st.DataObject
) -> None:
    if data.draw(st.booleans()):
        query = substring_query(data, catalogue)
    else:
        query = data.draw(st.text(ODD_ALPHABET, max_size=12))

    assert catalogue_store.search_ids(query) == reference_ids(catalogue, query)


odd_text = st.text(ODD_ALPHABET, min_size=1, max_size=16)


@st.composite
def odd_expeditions(draw: st.DrawFn) -> list[Expedition]:
    """Draw a few expeditions whose searchable fields are odd Unicode text."""
    count = draw(st.integers(1, 6))
    start = datetime(2000, 1, 1, tzinfo=timezone.utc)
    stations = [Station(id=number, name=draw(odd_text)) for number in (1, 2)]

    expeditions = []
    next_astronaut = 1
    for number in range(1, count + 1):
        crew = []
        for flight in range(draw(st.integers(0, 3))):
            agency = draw(st.none() | st.builds(Agency, st.integers(1, 5), odd_text, st.none() | odd_text))
            nationalities = tuple(Nationality(name) for name in draw(st.lists(odd_text, max_size=2)))
            astronaut = Astronaut(next_astronaut, draw(odd_text), agency, nationalities)
            next_astronaut += 1
            crew.append(CrewMember(number * 10 + flight, astronaut))
        expeditions.append(Expedition(
            id=number,
            name=draw(odd_text),
            start=start + timedelta(days=draw(st.integers(0, 3))),
            station=draw(st.sampled_from(stations)),
            crew=tuple(crew),
        ))
    return expeditions


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expeditions=odd_expeditions(), data=st.data())
def test_odd_unicode_search_equals_reference(expeditions: list[Expedition], data: st.DataObject) -> None:
    queries = [data.draw(st.text(ODD_ALPHABET, max_size=8)) for _ in range(3)]
    queries.append(substring_query(data, expeditions))

    with tempfile.TemporaryDirectory() as folder:
        store = ExpeditionStore.open(Path(folder) / "mirror.sqlite")
        try:
            store.save_expeditions(expeditions)
            for query in queries:
                assert store.search_ids(query) == reference_ids(expeditions, query), query
        finally:
            store.close()


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["scan", "index"])
@pytest.mark.parametrize("query", ["exp 1", "expedition 2 a", "leo 7", "nasa, ru", "x é", "ion 3 4"])
def test_both_plans_equal_reference(
    catalogue: list[Expedition], catalogue_store: ExpeditionStore, monkeypatch: pytest.MonkeyPatch,
    share: float, query: str,
) -> None:
    # The share decides whether a query with short terms walks the index or scans.
    monkeypatch.setattr(search, "SCAN_SHARE", share)

    assert catalogue_store.search_ids(query) == reference_ids(catalogue, query)


def test_many_terms_equal_reference(catalogue: list[Expedition], catalogue_store: ExpeditionStore) -> None:
    # More distinct terms than the SQL caps, so some are checked in Python.
    query = " ".join(["e", "x", "p"] + [f"{chr(0x4E00 + number)}" for number in range(100)]
                     + [catalogue[0].name])
    single_letters = " ".join(sorted(set("expedition")))

    assert catalogue_store.search_ids(query) == reference_ids(catalogue, query)
    assert catalogue_store.search_ids(single_letters) == reference_ids(catalogue, single_letters)


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_query_matches_reference(
    catalogue: list[Expedition], catalogue_store: ExpeditionStore, query: str
) -> None:
    page = catalogue_store.search(query, offset=0, limit=5)

    expected = reference_ids(catalogue, query)
    assert page.total == len(expected)
    assert [expedition.id for expedition in page.expeditions] == expected[:5]


def test_odd_query_leaves_tables_intact(catalogue_store: ExpeditionStore) -> None:
    before = catalogue_store.counts()

    for query in ODD_QUERIES:
        catalogue_store.search(query)

    assert catalogue_store.counts() == before


def test_search_pages(catalogue: list[Expedition], catalogue_store: ExpeditionStore) -> None:
    expected = reference_ids(catalogue, "expedition")

    first = catalogue_store.search("expedition", offset=0, limit=7)
    later = catalogue_store.search("expedition", offset=280, limit=7)
    beyond = catalogue_store.search("expedition", offset=400, limit=7)

    assert first.total == len(expected)
    assert [e.id for e in first.expeditions] == expected[:7]
    assert later.offset == 280
    assert [e.id for e in later.expeditions] == expected[280:287]
    assert beyond.total == len(expected)
    assert beyond.expeditions == ()


def test_search_returns_full_records(catalogue_store: ExpeditionStore) -> None:
    page = catalogue_store.search("expedition 12", limit=3)

    for expedition in page.expeditions:
        assert catalogue_store.get_expedition(expedition.id) == expedition


@pytest.mark.parametrize("offset, limit", [(-1, 5), (0, 0), (0, -3)])
def test_invalid_page_rejected(catalogue_store: ExpeditionStore, offset: int, limit: int) -> None:
    with pytest.raises(ValueError, match="invalid page"):
        catalogue_store.search("expedition", offset=offset, limit=limit)


def test_search_newest_first(store: ExpeditionStore, factory: RecordFactory) -> None:
    same_start = datetime(2010, 5, 5, tzinfo=timezone.utc)
    old = factory.expedition(expedition_id=1, start=datetime(1990, 1, 1, tzinfo=timezone.utc))
    tied_low = factory.expedition(expedition_id=2, start=same_start)
    tied_high = factory.expedition(expedition_id=3, start=same_start)
    newest = factory.expedition(expedition_id=4, start=same_start + timedelta(microseconds=1))
    store.save_expeditions([old, tied_high, newest, tied_low])

    assert store.search_ids("expedition") == [4, 3, 2, 1]


def test_search_is_accent_and_case_insensitive(store: ExpeditionStore, factory: RecordFactory) -> None:
    astronaut = factory.astronaut(name="Jean-Loup Chrétien", nationalities=(Nationality("French"),))
    expedition = factory.expedition(crew=(factory.seat(astronaut),))
    store.save_expeditions([expedition])

    for query in ["chretien", "CHRÉTIEN", "chre\u0301tien", "Jean-Loup", "french", "jean,chr"]:
        assert store.search_ids(query) == [expedition.id], query


def test_search_covers_every_field(store: ExpeditionStore) -> None:
    astronaut = Astronaut(1, "Yang Liwei", Agency(17, "China National Space Administration", "CNSA"),
                          (Nationality("Chinese", "CN"),))
    expedition = Expedition(1, "Shenzhou 5", datetime(2003, 10, 15, tzinfo=timezone.utc),
                            Station(18, "Tiangong"), crew=(CrewMember(1, astronaut),))
    store.save_expeditions([expedition])

    for query in ["shenzhou", "liwei", "national space", "cnsa", "chinese", "tiangong"]:
        assert store.search_ids(query) == [1], query


def test_country_code_not_searched(store: ExpeditionStore) -> None:
    astronaut = Astronaut(1, "Talgat Musabayev", None, (Nationality("Kazakh", "KZ"),))
    expedition = Expedition(1, "Mir EO-16", datetime(1994, 7, 1, tzinfo=timezone.utc),
                            Station(6, "Mir"), crew=(CrewMember(1, astronaut),))
    store.save_expeditions([expedition])

    assert store.search_ids("kazakh") == [1]
    assert store.search_ids("KZ") == []


def test_terms_do_not_span_fields(store: ExpeditionStore) -> None:
    astronaut = Astronaut(1, "Anna Kikina", None, (Nationality("Russian"),))
    expedition = Expedition(1, "Expedition 68", datetime(2022, 9, 21, tzinfo=timezone.utc),
                            Station(4, "ISS"), crew=(CrewMember(1, astronaut),))
    store.save_expeditions([expedition])

    assert store.search_ids("kikinarussian") == []
    assert store.search_ids("68iss") == []
    assert store.search_ids("kikina russian") == [1]


def test_like_wildcards_match_literally(store: ExpeditionStore, factory: RecordFactory) -> None:
    plain = factory.expedition(name="Expedition ab")
    literal = factory.expedition(name="Expedition a%b a_b")
    store.save_expeditions([plain, literal])

    assert store.search_ids("a%b") == [literal.id]
    assert store.search_ids("a_b") == [literal.id]
    assert store.search_ids("%") == [literal.id]


def test_quote_in_term_matches_literally(store: ExpeditionStore, factory: RecordFactory) -> None:
    quoted = factory.expedition(name='Mission Pro"xima AND NEAR(x)')
    other = factory.expedition(name="Mission Proxima")
    store.save_expeditions([quoted, other])

    assert store.search_ids('pro"xima') == [quoted.id]
    assert store.search_ids("near(x)") == [quoted.id]
    assert sorted(store.search_ids("proxima")) == [other.id]


def test_wrapping_quotes_are_ignored(store: ExpeditionStore, factory: RecordFactory) -> None:
    wanted = factory.expedition(name="Mission Proxima")
    store.save_expeditions([wanted])

    assert store.search_ids('"proxima"') == [wanted.id]
    assert store.search_ids("*proxima*") == [wanted.id]
    assert store.search_ids("“Proxima”") == [wanted.id]


def test_station_acronym_matches(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(name="Expedition 74")
    iss = dataclasses.replace(expedition, station=dataclasses.replace(expedition.station, name="International Space Station"))
    store.save_expeditions([iss])

    assert store.search_ids("ISS") == [iss.id]
    assert store.search_ids("iss 74") == [iss.id]


def test_invisible_characters_are_ignored(store: ExpeditionStore, factory: RecordFactory) -> None:
    wanted = factory.expedition(name="Kelly Mission")
    store.save_expeditions([wanted])

    assert store.search_ids("Kel\u200bly") == [wanted.id]
    assert store.search_ids("\u202eKelly") == [wanted.id]
    assert search_terms("\u200b\u200d\ufeff") == []


def test_search_terms_split_and_fold() -> None:
    assert search_terms("  Chrétien,  NASA\tÉSA ,,") == ["chretien", "nasa", "esa"]
    assert search_terms("ﬁ Straße") == ["fi", "strasse"]
    assert search_terms("İstanbul") == ["istanbul"]
    assert search_terms("nasa nasa NASA") == ["nasa"]


@pytest.mark.parametrize("query", ["", "   ", ",,,", "\u0301", "\x00", "\ud800", " \u0308 , "])
def test_search_terms_empty_when_nothing_searchable(query: str) -> None:
    assert search_terms(query) == []


def test_essential_terms_drop_implied() -> None:
    assert essential_terms(["eon", "leonov", "a", "xa", "leonov"]) == ["leonov", "xa"]


def test_fts_phrase_doubles_quotes() -> None:
    assert fts_phrase('a"b""c') == '"a""b""""c"'


def test_empty_query_matches_nothing(catalogue_store: ExpeditionStore) -> None:
    page = catalogue_store.search("  ,  ")

    assert page.total == 0
    assert page.expeditions == ()


def test_updated_record_found_by_new_name(store: ExpeditionStore, factory: RecordFactory) -> None:
    expedition = factory.expedition(name="Soyuz T-15")
    store.save_expeditions([expedition])

    store.save_expeditions([dataclasses.replace(expedition, name="Mir EO-1")])

    assert store.search_ids("eo-1") == [expedition.id]
    assert store.search_ids("soyuz") == []
