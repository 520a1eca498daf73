"""Tests of the stand-in LL2 server and its datasets, through real HTTP requests."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from tests.standins.ll2.dataset import LL2Dataset, generate_dataset, load_recorded_dataset
from tests.standins.ll2.schema import LL2Schema, SchemaViolation
from tests.standins.ll2.server import Fault, StandInLL2


# Fixtures.

@pytest.fixture(scope="module")
def generated() -> LL2Dataset:
    return generate_dataset()


@pytest.fixture(scope="module")
def recorded(shared_ll2_dir: Path) -> LL2Dataset:
    return load_recorded_dataset(shared_ll2_dir)


@pytest.fixture(scope="module")
def schema(shared_ll2_dir: Path) -> LL2Schema:
    return LL2Schema.from_shared_dir(shared_ll2_dir)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def server(generated: LL2Dataset) -> AsyncIterator[StandInLL2]:
    async with StandInLL2(generated) as stand_in:
        yield stand_in


async def get_json(session: aiohttp.ClientSession, url: str, **params: Any) -> tuple[int, Any]:
    async with session.get(url, params={key: str(value) for key, value in params.items()}) as response:
        return response.status, await response.json(content_type=None)


async def walk_pages(session: aiohttp.ClientSession, url: str, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` links from the first page and return every page."""
    status, page = await get_json(session, url, **params)
    assert status == 200, page
    pages = [page]
    while page["next"] is not None:
        async with session.get(page["next"]) as response:
            assert response.status == 200
            page = await response.json()
        pages.append(page)
    return pages


def ids_of(pages: list[dict[str, Any]]) -> list[int]:
    return [record["id"] for page in pages for record in page["results"]]


def expected_search(dataset: LL2Dataset, query: str) -> set[int]:
    """Compute LL2's search independently: every term in some searchable text of the expedition."""
    terms = query.replace(",", " ").lower().split()
    matches = set()
    for expedition in dataset.expeditions:
        texts = [expedition["name"].lower()]
        for member in expedition["crew"]:
            astronaut = member["astronaut"]
            texts.append(astronaut["name"].lower())
            if astronaut["agency"] is not None:
                texts += [astronaut["agency"]["name"].lower(), (astronaut["agency"].get("abbrev") or "").lower()]
            texts += [country["nationality_name"].lower() for country in astronaut["nationality"]]
        if all(any(term in text for text in texts) for term in terms):
            matches.add(expedition["id"])
    return matches


def names_by_id(dataset: LL2Dataset) -> dict[int, str]:
    return {expedition["id"]: expedition["name"] for expedition in dataset.expeditions}


# Schema validity through HTTP.

@pytest.mark.parametrize("mode", ["detailed", "normal", "list"])
async def test_generated_pages_match_schema(generated, schema, session, mode):
    async with StandInLL2(generated) as server:
        pages = await walk_pages(session, f"{server.base_url}/expeditions/", mode=mode, ordering="id", limit=100)

    for page in pages:
        schema.validate_expedition_page(page, mode)
    assert len(ids_of(pages)) == len(generated.expeditions)


@pytest.mark.parametrize("mode", ["detailed", "normal"])
async def test_recorded_pages_match_schema(recorded, schema, session, mode):
    async with StandInLL2(recorded) as server:
        pages = await walk_pages(session, f"{server.base_url}/expeditions/", mode=mode, ordering="id", limit=100)

    for page in pages:
        schema.validate_expedition_page(page, mode)
    assert len(ids_of(pages)) == len(recorded.expeditions)


async def test_station_pages_match_schema(recorded, schema, session):
    async with StandInLL2(recorded) as server:
        pages = await walk_pages(session, f"{server.base_url}/space_stations/", mode="detailed", limit=10)

    for page in pages:
        schema.validate_station_page(page)
    assert sorted(ids_of(pages)) == sorted(station["id"] for station in recorded.stations)


async def test_single_expedition_matches_schema(recorded, schema, session):
    async with StandInLL2(recorded) as server:
        status, payload = await get_json(session, f"{server.base_url}/expeditions/165/")

    assert status == 200
    schema.validate("ExpeditionDetailed", payload)


def test_schema_accepts_null_agency_and_image(generated, schema):
    astronaut = {**generated.expeditions[0]["crew"][0]["astronaut"], "agency": None, "image": None}

    assert schema.errors("AstronautDetailed", astronaut) == []


def test_schema_rejects_wrong_types(generated, schema):
    record = copy.deepcopy(generated.expeditions[0])
    record["start"] = 12345
    record["crew"][0]["astronaut"]["name"] = None

    with pytest.raises(SchemaViolation) as raised:
        schema.validate("ExpeditionDetailed", record)
    assert "start" in str(raised.value)
    assert "crew/0/astronaut/name" in str(raised.value)


def test_schema_rejects_missing_read_only_field(generated, schema):
    record = {key: value for key, value in generated.expeditions[0].items() if key != "url"}

    assert schema.errors("ExpeditionDetailed", record) != []


# Paging.

async def test_paging_returns_every_record_once(server, generated, session):
    pages = await walk_pages(session, f"{server.base_url}/expeditions/", ordering="id", limit=7)

    ids = ids_of(pages)
    assert ids == sorted(expedition["id"] for expedition in generated.expeditions)
    assert all(page["count"] == len(generated.expeditions) for page in pages)
    assert len(pages) == -(-len(generated.expeditions) // 7)


async def test_paging_ends_exactly_at_count(server, generated, session):
    pages = await walk_pages(session, f"{server.base_url}/expeditions/", ordering="id", limit=20)

    assert len(generated.expeditions) % 20 == 0
    assert len(pages) == len(generated.expeditions) // 20
    assert pages[-1]["next"] is None
    assert len(pages[-1]["results"]) == 20


async def test_paging_links_keep_other_parameters(server, session):
    status, page = await get_json(session, f"{server.base_url}/expeditions/",
                                  mode="detailed", ordering="-start", limit=5, offset=10, search="a")

    assert status == 200
    next_url = aiohttp.client.URL(page["next"])
    previous_url = aiohttp.client.URL(page["previous"])
    assert next_url.host == "127.0.0.1"
    assert dict(next_url.query) == {"limit": "5", "mode": "detailed", "offset": "15", "ordering": "-start", "search": "a"}
    assert dict(previous_url.query) == {"limit": "5", "mode": "detailed", "offset": "5", "ordering": "-start", "search": "a"}


async def test_paging_first_page_has_no_previous(server, session):
    status, first = await get_json(session, f"{server.base_url}/expeditions/", limit=5)
    status_second, second = await get_json(session, f"{server.base_url}/expeditions/", limit=5, offset=3)

    assert first["previous"] is None
    assert "offset" not in aiohttp.client.URL(second["previous"]).query


async def test_limit_defaults_to_10_and_caps_at_100(server, session):
    _, default_page = await get_json(session, f"{server.base_url}/expeditions/")
    _, capped_page = await get_json(session, f"{server.base_url}/expeditions/", limit=500)
    _, zero_page = await get_json(session, f"{server.base_url}/expeditions/", limit=0)

    assert len(default_page["results"]) == 10
    assert len(capped_page["results"]) == 100
    assert len(zero_page["results"]) == 10


async def test_without_ordering_results_are_not_in_id_order(server, session):
    pages = await walk_pages(session, f"{server.base_url}/expeditions/", limit=100)

    ids = ids_of(pages)
    assert sorted(ids) == sorted(set(ids))
    assert ids != sorted(ids)


async def test_ordering_by_end_puts_nulls_last_ascending(server, generated, session):
    pages = await walk_pages(session, f"{server.base_url}/expeditions/", ordering="end,id", limit=100)

    ends = [record["end"] for page in pages for record in page["results"]]
    null_count = sum(1 for expedition in generated.expeditions if expedition["end"] is None)
    assert null_count > 0
    assert ends[-null_count:] == [None] * null_count
    assert ends[:-null_count] == sorted(ends[:-null_count])


async def test_ordering_descending_with_tie_break(server, session):
    pages = await walk_pages(session, f"{server.base_url}/expeditions/", ordering="-start,id", limit=100)

    starts = [record["start"] for page in pages for record in page["results"]]
    assert starts == sorted(starts, reverse=True)


# Search.

async def test_search_kelly_matches_crew_names(recorded, session):
    async with StandInLL2(recorded) as server:
        ids = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/", search="Kelly", limit=100))

    with_kelly = {expedition["id"] for expedition in recorded.expeditions
                  if any("kelly" in member["astronaut"]["name"].lower() for member in expedition["crew"])}
    names = {names_by_id(recorded)[expedition_id] for expedition_id in ids}
    assert set(ids) == with_kelly
    assert len(ids) == len(set(ids))
    assert {"Expedition 25", "Expedition 26", "Expedition 43", "Expedition 46"} <= names


@pytest.mark.parametrize("query", ["Salyut 6", "Chinese", "kelly,scott", "NASA Russian", "Expedition 7"])
async def test_search_requires_every_term(recorded, session, query):
    async with StandInLL2(recorded) as server:
        ids = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/", search=query, limit=100))

    assert set(ids) == expected_search(recorded, query)
    assert ids


async def test_search_salyut_6_finds_its_expeditions(recorded, session):
    async with StandInLL2(recorded) as server:
        ids = server.search_ids("Salyut 6")

    names = {names_by_id(recorded)[expedition_id] for expedition_id in ids}
    assert {"Salyut 6 EO-1", "Salyut 6 EP-8", "Salyut 6 EO-6"} <= names


async def test_search_chinese_finds_chinese_crews(recorded, session):
    async with StandInLL2(recorded) as server:
        ids = server.search_ids("chinese")

    names = {names_by_id(recorded)[expedition_id] for expedition_id in ids}
    assert {"Shenzhou 23", "Shenzhou 11", "Shenzhou 18"} <= names


async def test_search_ignores_station_name(recorded, session):
    async with StandInLL2(recorded) as server:
        ids = server.search_ids("Tiangong")

    assert set(ids) == expected_search(recorded, "Tiangong")
    assert 167 not in ids


@pytest.mark.parametrize("query", ["José", "jérôme", "@everyone", "*Starlight*", "", "   ,  "])
async def test_search_ids_match_http_results(server, generated, session, query):
    ids = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/", search=query, limit=100))

    assert ids == server.search_ids(query)
    assert set(ids) == expected_search(generated, query)


async def test_search_with_nul_and_quotes_does_not_fail(server, session):
    status, page = await get_json(session, f"{server.base_url}/expeditions/", search="\"*:() ' OR 1=1 --\x00")

    assert status == 200
    assert page["count"] == 0


# Filters and modes.

async def test_filter_by_station(recorded, session):
    async with StandInLL2(recorded) as server:
        ids = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/", space_station=14, limit=100))

    expected = {expedition["id"] for expedition in recorded.expeditions if expedition["spacestation"]["id"] == 14}
    assert set(ids) == expected
    assert len(expected) >= 16


async def test_filter_by_astronaut_and_agency(server, generated, session):
    astronaut = generated.expeditions[0]["crew"][0]["astronaut"]
    agency_id = next(member["astronaut"]["agency"]["id"] for expedition in generated.expeditions
                     for member in expedition["crew"] if member["astronaut"]["agency"])

    by_astronaut = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/",
                                           crew__astronaut=astronaut["id"], limit=100))
    by_agency = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/",
                                        crew__astronaut__agency=agency_id, limit=100))

    assert set(by_astronaut) == {expedition["id"] for expedition in generated.expeditions
                                 if any(m["astronaut"]["id"] == astronaut["id"] for m in expedition["crew"])}
    assert set(by_agency) == {expedition["id"] for expedition in generated.expeditions
                              if any(m["astronaut"]["agency"] and m["astronaut"]["agency"]["id"] == agency_id
                                     for m in expedition["crew"])}


async def test_filter_by_dates_skips_null_end(server, generated, session):
    since_2000 = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/",
                                         start__gte="2000-01-01T00:00:00Z", limit=100))
    ended_before = ids_of(await walk_pages(session, f"{server.base_url}/expeditions/",
                                           end__lt="2100-01-01T00:00:00Z", limit=100))

    assert set(since_2000) == {e["id"] for e in generated.expeditions if e["start"] >= "2000-01-01T00:00:00Z"}
    assert set(ended_before) == {e["id"] for e in generated.expeditions if e["end"] is not None}


async def test_filter_by_exact_name(server, generated, session):
    name = generated.expeditions[3]["name"]

    _, exact = await get_json(session, f"{server.base_url}/expeditions/", name=name)
    _, different_case = await get_json(session, f"{server.base_url}/expeditions/", name=name.upper())

    assert [record["id"] for record in exact["results"]] == [generated.expeditions[3]["id"]]
    assert different_case["count"] == 0


async def test_unknown_filters_are_ignored(server, generated, session):
    _, page = await get_json(session, f"{server.base_url}/expeditions/", is_active="true", end__isnull="true")

    assert page["count"] == len(generated.expeditions)


async def test_invalid_filter_value_returns_400(server, session):
    status, body = await get_json(session, f"{server.base_url}/expeditions/", space_station="iss", start__gt="soon")

    assert status == 400
    assert set(body) == {"space_station", "start__gt"}


async def test_crew_only_in_detailed_mode(server, session):
    _, detailed = await get_json(session, f"{server.base_url}/expeditions/", mode="detailed")
    _, normal = await get_json(session, f"{server.base_url}/expeditions/", mode="normal")
    _, listed = await get_json(session, f"{server.base_url}/expeditions/", mode="list")

    assert all("crew" in record and record["response_mode"] == "detailed" for record in detailed["results"])
    assert all("crew" not in record and record["response_mode"] == "normal" for record in normal["results"])
    assert all("owners" not in record["spacestation"] for record in normal["results"])
    assert all(set(record) == {"id", "url", "name", "start", "end", "response_mode"} for record in listed["results"])


async def test_single_expedition_and_404(server, generated, session):
    status, payload = await get_json(session, f"{server.base_url}/expeditions/{generated.expeditions[5]['id']}/")
    missing_status, missing = await get_json(session, f"{server.base_url}/expeditions/999999/")

    assert status == 200
    assert payload == json.loads(json.dumps(generated.expeditions[5]))
    assert missing_status == 404
    assert missing == {"detail": "No Expedition matches the given query."}


async def test_json_content_type(server, session):
    async with session.get(f"{server.base_url}/expeditions/") as response:
        assert response.headers["Content-Type"] == "application/json"


# Throttle.

async def test_throttle_after_counted_requests(generated, session):
    async with StandInLL2(generated, throttle_after=3, throttle_retry_after=1234) as server:
        statuses = []
        for _ in range(3):
            async with session.get(f"{server.base_url}/expeditions/") as response:
                statuses.append(response.status)
        _, usage = await get_json(session, f"{server.base_url}/api-throttle/")
        async with session.get(f"{server.base_url}/expeditions/") as response:
            throttled_status = response.status
            retry_after = response.headers.get("Retry-After")
            body = await response.json()

    assert statuses == [200, 200, 200]
    assert usage["current_use"] == 3
    assert usage["your_request_limit"] == 3
    assert throttled_status == 429
    assert retry_after == "1234"
    assert body == {"detail": "Request was throttled. Expected available in 1234 seconds."}


async def test_throttle_without_retry_after_header(generated, session):
    async with StandInLL2(generated, throttle_after=0, send_retry_after_header=False) as server:
        async with session.get(f"{server.base_url}/expeditions/") as response:
            status = response.status
            headers = response.headers
            body = await response.json()

    assert status == 429
    assert "Retry-After" not in headers
    assert "Expected available in 1800 seconds" in body["detail"]


async def test_reset_throttle_allows_requests_again(generated, session):
    async with StandInLL2(generated, throttle_after=1) as server:
        first, _ = await get_json(session, f"{server.base_url}/expeditions/")
        second, _ = await get_json(session, f"{server.base_url}/expeditions/")
        server.reset_throttle()
        third, _ = await get_json(session, f"{server.base_url}/expeditions/")

    assert (first, second, third) == (200, 429, 200)


# Faults.

async def test_status_fault_repeats_then_clears(server, session):
    server.inject_fault(Fault(kind="status", status=503, times=2))

    statuses = []
    for _ in range(3):
        async with session.get(f"{server.base_url}/expeditions/") as response:
            statuses.append((response.status, response.headers["Content-Type"]))

    assert statuses == [(503, "application/json"), (503, "application/json"), (200, "application/json")]
    assert server.pending_faults() == []


async def test_faults_are_used_in_order(server, session):
    server.inject_fault(Fault(kind="status", status=500, html=True))
    server.inject_fault(Fault(kind="html_502"))

    async with session.get(f"{server.base_url}/expeditions/") as first:
        first_type = first.headers["Content-Type"]
        first_status = first.status
    async with session.get(f"{server.base_url}/expeditions/") as second:
        second_text = await second.text()
        second_status = second.status

    assert (first_status, second_status) == (500, 502)
    assert first_type.startswith("text/html")
    assert "502 Bad Gateway" in second_text


async def test_timeout_fault_hangs_past_client_timeout(server, session):
    server.inject_fault(Fault(kind="timeout", delay=30))

    with pytest.raises(asyncio.TimeoutError):
        async with session.get(f"{server.base_url}/expeditions/", timeout=aiohttp.ClientTimeout(total=0.3)):
            pass


async def test_truncated_json_fault(server, session):
    server.inject_fault(Fault(kind="truncated_json"))

    async with session.get(f"{server.base_url}/expeditions/") as response:
        status = response.status
        text = await response.text()

    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_malformed_record_fault_breaks_one_record(server, schema, session):
    server.inject_fault(Fault(kind="malformed_record", record_index=2))

    _, page = await get_json(session, f"{server.base_url}/expeditions/", mode="detailed", ordering="id")

    broken = [position for position, record in enumerate(page["results"])
              if schema.errors("ExpeditionDetailed", record)]
    assert broken == [2]
    assert page["results"][2]["start"] == 12345


async def test_throttle_fault_answers_429(server, session):
    server.inject_fault(Fault(kind="throttle", retry_after=42))

    async with session.get(f"{server.base_url}/expeditions/") as response:
        status = response.status
        retry_after = response.headers.get("Retry-After")

    assert status == 429
    assert retry_after == "42"


def test_fault_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")


# Request recording.

async def test_requests_are_recorded_with_headers(server, session):
    await get_json(session, f"{server.base_url}/expeditions/", mode="detailed", ordering="id", limit=100)
    async with session.get(f"{server.base_url}/expeditions/", headers={"Authorization": "Token abc"}):
        pass

    first, second = server.requests
    assert first.path == "/2.3.0/expeditions/"
    assert first.query == {"mode": "detailed", "ordering": "id", "limit": "100"}
    assert "Authorization" not in first.headers
    assert second.headers["authorization"] == "Token abc"


async def test_server_listens_on_loopback_only(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/2.3.0")


# Datasets.

def test_generated_dataset_is_deterministic_per_seed():
    assert generate_dataset(60, seed=4) == generate_dataset(60, seed=4)
    assert generate_dataset(60, seed=4) != generate_dataset(60, seed=5)


def test_generated_dataset_covers_edge_cases(generated):
    astronauts = [member["astronaut"] for expedition in generated.expeditions for member in expedition["crew"]]
    text = json.dumps(generated.expeditions, ensure_ascii=False)

    assert len(generated.expeditions) == 180
    assert len({expedition["id"] for expedition in generated.expeditions}) == 180
    assert any(expedition["end"] is None for expedition in generated.expeditions)
    assert any(expedition["crew"] == [] for expedition in generated.expeditions)
    assert any(expedition["spacestation"]["image"] is None for expedition in generated.expeditions)
    assert any(astronaut["agency"] is None for astronaut in astronauts)
    assert any(astronaut["nationality"] == [] for astronaut in astronauts)
    assert any(astronaut["image"] is None for astronaut in astronauts)
    for fragment in ("José", "Jérôme", "@everyone", "**", "__", "`"):
        assert fragment in text


def test_generated_dataset_needs_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert len(generate_dataset(10, seed=1).expeditions) == 10


def test_recorded_dataset_size_and_unique_ids(recorded):
    ids = [expedition["id"] for expedition in recorded.expeditions]

    assert len(ids) >= 170
    assert len(set(ids)) == len(ids)
    assert len(recorded.stations) == 15


def test_recorded_dataset_keeps_real_expedition_74(recorded, shared_ll2_dir):
    dump = json.loads((shared_ll2_dir / "recorded" / "v2.2.0_spacestation_detailed_2026-07-15.json").read_text())
    real = next(expedition for station in dump for expedition in station["active_expeditions"]
                if expedition["id"] == 165)

    expedition = next(expedition for expedition in recorded.expeditions if expedition["id"] == 165)
    assert expedition["name"] == "Expedition 74"
    assert expedition["start"] == "2025-12-09T01:41:00Z"
    assert expedition["end"] is None
    assert [member["id"] for member in expedition["crew"]] == [member["id"] for member in real["crew"]]
    assert [member["astronaut"]["name"] for member in expedition["crew"]][0] == "Sergey Kud-Sverchkov"
    assert [member["role"]["role"] for member in expedition["crew"]][0] == "Commander"


def test_recorded_crew_uses_2_3_0_shape(recorded):
    expedition = next(expedition for expedition in recorded.expeditions if expedition["id"] == 167)
    astronauts = {member["astronaut"]["name"]: member["astronaut"] for member in expedition["crew"]}

    assert astronauts["Zhu Yangzhu"]["nationality"][0]["nationality_name"] == "Chinese"
    assert astronauts["Zhu Yangzhu"]["image"]["thumbnail_url"].startswith("https://")
    assert "profile_image" not in astronauts["Zhu Yangzhu"]


def test_recorded_keeps_real_list_records(recorded, shared_ll2_dir):
    page = json.loads((shared_ll2_dir / "recorded" / "expeditions_normal_lldev_offset90.json").read_text())
    by_id = {expedition["id"]: expedition for expedition in recorded.expeditions}

    for real in page["results"]:
        built = by_id[real["id"]]
        assert (built["name"], built["start"], built["end"]) == (real["name"], real["start"], real["end"])
        assert built["mission_patches"] == real["mission_patches"]
        assert built["crew"], f"{real['name']} has no crew"


def test_snapshots_differ_only_in_expedition_74_end(recorded, shared_ll2_dir):
    later = load_recorded_dataset(shared_ll2_dir, snapshot="2026-07-24")

    before = {expedition["id"]: expedition for expedition in recorded.expeditions}
    after = {expedition["id"]: expedition for expedition in later.expeditions}
    changes = sorted((expedition_id, key) for expedition_id in before for key in before[expedition_id]
                     if before[expedition_id][key] != after[expedition_id][key])
    assert before.keys() == after.keys()
    assert changes == [(165, "end")]
    assert after[165]["end"] == "2026-07-26T07:02:00Z"
