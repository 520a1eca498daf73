"""Name lookups for autocomplete, against a real store in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage.database import ExpeditionStore
from storage.lookups import MAX_CHOICES, edit_distance
from storage.records import Agency, Astronaut, CrewMember, Expedition, Nationality, Station
from storage.schema import MIGRATIONS, create_name_lookup, migrate

ISS = Station(id=4, name="International Space Station")
TIANGONG = Station(id=18, name="Tiangong space station")
MIR = Station(id=6, name="Mir")

ASTRONAUTS = [
    Astronaut(id=1, name="Scott Kelly", agency=Agency(44, "NASA", "NASA"), nationalities=(Nationality("American", "US"),)),
    Astronaut(id=2, name="Mark Kelly", agency=Agency(44, "NASA", "NASA")),
    Astronaut(id=3, name="Oleg Kononenko", agency=Agency(63, "Roscosmos", "RFSA")),
    Astronaut(id=4, name="Jérôme Chrétien"),
    Astronaut(id=5, name="Kelley Kellerman"),
]

ODD_QUERIES = ["", "   ", "x" * 6000, "\x00", "a\x00b", "🚀🛰️👩‍🚀", '"*:()', "NEAR", "' OR 1=1 --", "%_%",
               "\ud800", "e\u0301" * 50, "exp*", '"expedition', ", , ,"]


def expedition(expedition_id: int, name: str, station: Station = ISS, crew: tuple[CrewMember, ...] = ()) -> Expedition:
    return Expedition(
        id=expedition_id,
        name=name,
        start=datetime(1990, 1, 1, tzinfo=timezone.utc).replace(year=1990 + expedition_id % 40),
        station=station,
        crew=crew,
    )


def build_records() -> list[Expedition]:
    records = [expedition(number, f"Expedition {number}") for number in range(1, 80)]
    crew = tuple(CrewMember(flight_id=900 + index, astronaut=astronaut) for index, astronaut in enumerate(ASTRONAUTS))
    records += [
        expedition(200, "Shenzhou 15", TIANGONG, crew),
        expedition(201, "Mir EO-1", MIR),
        expedition(202, "Señor Ñandú Mission", MIR),
        expedition(203, "Precursor Expedition 74 Prep", ISS),
    ]
    return records


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExpeditionStore]:
    opened = ExpeditionStore.open(tmp_path_factory.mktemp("lookups") / "mirror.sqlite3")
    opened.save_expeditions(build_records())
    yield opened
    opened.close()


def names(matches: list) -> list[str]:
    return [match.name for match in matches]


def test_exact_name_first(store: ExpeditionStore) -> None:
    found = names(store.lookup_expeditions("Expedition 7"))

    assert found[0] == "Expedition 7"
    assert found[1:11] == [f"Expedition {number}" for number in range(70, 80)]


def test_prefix_before_substring(store: ExpeditionStore) -> None:
    found = names(store.lookup_expeditions("expedition 74"))

    assert found[:2] == ["Expedition 74", "Precursor Expedition 74 Prep"]


def test_any_word_matches(store: ExpeditionStore) -> None:
    assert names(store.lookup_expeditions("15")) == ["Shenzhou 15", "Expedition 15"]
    assert names(store.lookup_expeditions("EO-1")) == ["Mir EO-1"]


def test_case_and_accents_ignored(store: ExpeditionStore) -> None:
    assert names(store.lookup_expeditions("senor nandu"))[0] == "Señor Ñandú Mission"
    assert names(store.lookup_expeditions("SHENZHOU"))[0] == "Shenzhou 15"
    assert names(store.lookup_astronauts("jerome chretien")) == ["Jérôme Chrétien"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("Expediton 74", "Expedition 74"), ("Shenzou 15", "Shenzhou 15"), ("expedtion 3", "Expedition 3")],
)
def test_expedition_typo_tolerated(store: ExpeditionStore, query: str, expected: str) -> None:
    assert names(store.lookup_expeditions(query))[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("Kononenk", "Oleg Kononenko"), ("Kononeko", "Oleg Kononenko"), ("Konenenko", "Oleg Kononenko")],
)
def test_astronaut_typo_tolerated(store: ExpeditionStore, query: str, expected: str) -> None:
    assert names(store.lookup_astronauts(query))[0] == expected


def test_short_typo_finds_every_close_name(store: ExpeditionStore) -> None:
    found = names(store.lookup_astronauts("Kely"))

    assert {"Scott Kelly", "Mark Kelly"} <= set(found)
    assert "Oleg Kononenko" not in found


def test_unrelated_text_matches_nothing(store: ExpeditionStore) -> None:
    assert store.lookup_expeditions("zzzqqq") == []
    assert store.lookup_astronauts("Gagarin") == []


def test_unmatched_word_rejects_name(store: ExpeditionStore) -> None:
    assert store.lookup_expeditions("Expedition qqqqqq") == []


def test_station_lookup(store: ExpeditionStore) -> None:
    assert names(store.lookup_stations("tiangong")) == ["Tiangong space station"]
    assert names(store.lookup_stations("stat")) == ["Tiangong space station", "International Space Station"]


def test_at_most_25(store: ExpeditionStore) -> None:
    found = store.lookup_expeditions("expedition")

    assert len(found) == MAX_CHOICES
    assert len({match.id for match in found}) == MAX_CHOICES


def test_empty_query_lists_newest(store: ExpeditionStore) -> None:
    found = store.lookup_expeditions("")

    assert len(found) == MAX_CHOICES
    starts = [store.get_expedition(match.id).start for match in found]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_input_never_fails(store: ExpeditionStore, query: str) -> None:
    for lookup in (store.lookup_expeditions, store.lookup_stations, store.lookup_astronauts):
        found = lookup(query)
        assert len(found) <= MAX_CHOICES


def test_renamed_expedition_found_by_new_name(tmp_path: Path) -> None:
    renamed = ExpeditionStore.open(tmp_path / "mirror.sqlite3")
    renamed.save_expeditions([expedition(1, "Expedition 1")])
    renamed.save_expeditions([expedition(1, "Expedition One")])

    assert names(renamed.lookup_expeditions("one")) == ["Expedition One"]
    assert renamed.lookup_expeditions("expedition 1") == []
    renamed.close()


def test_names_stored_before_the_index_are_indexed(tmp_path: Path) -> None:
    path = tmp_path / "mirror.sqlite3"
    old = ExpeditionStore.open(path)
    old.save_expeditions([expedition(5, "Expedition 5")])
    old.db.conn.execute("DROP TABLE name_lookup_vocab")
    old.db.conn.execute("DROP TABLE name_lookup")
    lookup_step = MIGRATIONS.index(create_name_lookup)
    old.db.conn.execute(f"PRAGMA user_version = {lookup_step}")
    migrate(old.db, MIGRATIONS[: lookup_step + 1])

    assert names(old.lookup_expeditions("expedition 5")) == ["Expedition 5"]
    old.close()


@pytest.mark.parametrize(("left", "right", "distance"), [("kely", "kelly", 1), ("", "abc", 3), ("abc", "abc", 0),
                                                         ("kitten", "sitting", 3)])
def test_edit_distance(left: str, right: str, distance: int) -> None:
    assert edit_distance(left, right) == distance


@pytest.fixture
def tiangong_store(tmp_path: Path) -> Iterator[ExpeditionStore]:
    """Stations that share a first word, one of them active, plus the ISS."""
    retired_one = Station(id=7, name="Tiangong 1", status="De-Orbited")
    retired_two = Station(id=8, name="Tiangong 2", status="De-Orbited")
    active = Station(id=18, name="Tiangong space station", status="Active")
    iss = Station(id=4, name="International Space Station", status="Active")
    opened = ExpeditionStore.open(tmp_path / "mirror.sqlite3")
    opened.save_expeditions([
        expedition(1, "Shenzhou 9", retired_one),
        expedition(2, "Shenzhou 11", retired_two),
        expedition(3, "Shenzhou 15", active),
        expedition(4, "Expedition 74", iss),
    ])
    yield opened
    opened.close()


def test_station_found_by_initials(tiangong_store: ExpeditionStore) -> None:
    exact = tiangong_store.lookup_stations("ISS")
    prefix = tiangong_store.lookup_stations("is")

    assert exact[0].name == "International Space Station"
    assert exact[0].tier == 0
    assert prefix[0].name == "International Space Station"


def test_active_station_ranks_first(tiangong_store: ExpeditionStore) -> None:
    names = [match.name for match in tiangong_store.lookup_stations("Tiangong")]

    assert names[0] == "Tiangong space station"
    assert set(names) == {"Tiangong space station", "Tiangong 1", "Tiangong 2"}


def test_station_lookup_respects_limit(tiangong_store: ExpeditionStore) -> None:
    assert len(tiangong_store.lookup_stations("Tiangong", limit=1)) == 1
    assert tiangong_store.lookup_stations("Tiangong", limit=0) == []
