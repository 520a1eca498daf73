"""Tests of LL2Client against a scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.ll2.client import (
    DEFAULT_THROTTLE_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    LL2BudgetExhausted,
    LL2Client,
    LL2Error,
    LL2RequestRejected,
    LL2Throttled,
    LL2Unavailable,
    RequestBudget,
)
from tests.bot.ll2.conftest import (
    RecordedSleep,
    ScriptedServer,
    dropped_connection,
    json_answer,
    raw_answer,
    slow_answer,
)
from tests.bot.ll2.payloads import expedition_payload, page_payload

MakeClient = Callable[..., LL2Client]

API_KEY = "k3y-that-must-stay-secret"


def _first_page(count: int = 3) -> dict[str, object]:
    return page_payload([expedition_payload(i) for i in range(1, count + 1)], count=count, offset=0)


async def test_page_request_sends_fixed_parameters(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(json_answer(_first_page()))

    await make_client().fetch_expedition_page(offset=200)

    request = scripted_server.requests[0]
    assert request.path == "/2.3.0/expeditions/"
    assert request.query == {"mode": "detailed", "ordering": "id", "limit": "100", "offset": "200"}


async def test_key_sent_as_token_header(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(json_answer(_first_page()))

    await make_client(api_key=API_KEY).fetch_expedition_page(offset=0)

    assert scripted_server.requests[0].headers["Authorization"] == f"Token {API_KEY}"


@pytest.mark.parametrize("api_key", [None, ""])
async def test_no_key_means_no_authorization_header(
    scripted_server: ScriptedServer, make_client: MakeClient, api_key: str | None
) -> None:
    scripted_server.then(json_answer(_first_page()))

    await make_client(api_key=api_key).fetch_expedition_page(offset=0)

    assert "Authorization" not in scripted_server.requests[0].headers


async def test_page_converts_records(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(json_answer(page_payload(
        [expedition_payload(5), expedition_payload(9)], count=250, offset=100)))

    page = await make_client().fetch_expedition_page(offset=100)

    assert page.count == 250
    assert page.offset == 100
    assert page.next_offset == 200
    assert [expedition.id for expedition in page.expeditions] == [5, 9]
    assert page.expeditions[1].crew[0].astronaut.name == "Commander Of 9"
    assert page.skipped == 0


async def test_last_page_has_no_next_offset(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(json_answer(page_payload([expedition_payload(201)], count=201, offset=200)))

    page = await make_client().fetch_expedition_page(offset=200)

    assert page.next_offset is None


async def test_next_offset_taken_from_link_not_its_host(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    body = _first_page()
    body["next"] = "https://elsewhere.invalid/2.3.0/expeditions/?limit=100&offset=100&ordering=id"
    scripted_server.then(json_answer(body))

    page = await make_client().fetch_expedition_page(offset=0)

    assert page.next_offset == 100


async def test_next_link_without_offset_advances_by_results(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    body = _first_page(3)
    body["next"] = "https://elsewhere.invalid/2.3.0/expeditions/?cursor=abc"
    scripted_server.then(json_answer(body))

    page = await make_client().fetch_expedition_page(offset=40)

    assert page.next_offset == 43


async def test_server_errors_retried_with_backoff(
    scripted_server: ScriptedServer, make_client: MakeClient, recorded_sleep: RecordedSleep
) -> None:
    scripted_server.then(json_answer({"detail": "busy"}, status=503))
    scripted_server.then(raw_answer(b"<html>Bad gateway</html>", status=502, content_type="text/html"))
    scripted_server.then(json_answer(_first_page()))
    budget = RequestBudget(10)
    client = make_client(budget=budget, backoff_seconds=1.5)

    page = await client.fetch_expedition_page(offset=0)

    assert [expedition.id for expedition in page.expeditions] == [1, 2, 3]
    assert recorded_sleep.delays == [1.5, 3.0]
    assert len(scripted_server.requests) == 3
    assert client.requests_sent == 3
    assert budget.spent_last_hour() == 3


async def test_server_errors_on_every_attempt_raise_unavailable(
    scripted_server: ScriptedServer, make_client: MakeClient, recorded_sleep: RecordedSleep
) -> None:
    for _ in range(5):
        scripted_server.then(json_answer({"detail": "down"}, status=500))

    with pytest.raises(LL2Unavailable, match="status 500"):
        await make_client(max_attempts=4).fetch_expedition_page(offset=0)

    assert len(scripted_server.requests) == 4
    assert recorded_sleep.delays == [2.0, 4.0, 8.0]


async def test_timeout_is_retried(
    scripted_server: ScriptedServer, make_client: MakeClient, recorded_sleep: RecordedSleep
) -> None:
    scripted_server.then(slow_answer(2.0))
    scripted_server.then(json_answer(_first_page()))

    page = await make_client(timeout_seconds=0.2).fetch_expedition_page(offset=0)

    assert page.count == 3
    assert len(scripted_server.requests) == 2
    assert len(recorded_sleep.delays) == 1


async def test_dropped_connection_is_retried(
    scripted_server: ScriptedServer, make_client: MakeClient, recorded_sleep: RecordedSleep
) -> None:
    scripted_server.then(dropped_connection())
    scripted_server.then(json_answer(_first_page()))

    page = await make_client().fetch_expedition_page(offset=0)

    assert page.count == 3
    assert len(scripted_server.requests) == 2


async def test_refused_connection_raises_unavailable(
    http_session: object, recorded_sleep: RecordedSleep
) -> None:
    # A port that was free a moment ago and is closed again, so every connect is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LL2Client(
        http_session,  # type: ignore[arg-type]
        f"http://127.0.0.1:{port}/2.3.0",
        api_key=None,
        budget=RequestBudget(10),
        max_attempts=2,
        sleep=recorded_sleep,
    )

    with pytest.raises(LL2Unavailable, match="connection failed"):
        await client.fetch_expedition_page(offset=0)

    assert client.requests_sent == 2


@pytest.mark.parametrize(
    "bad_body",
    [
        raw_answer(json.dumps(_first_page()).encode()[:150]),
        raw_answer(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
                   content_type="text/html"),
        json_answer({"detail": "not a page"}),
        json_answer([1, 2, 3]),
    ],
    ids=["truncated_json", "html", "object_without_results", "list"],
)
async def test_malformed_body_retried_then_unavailable(
    scripted_server: ScriptedServer,
    make_client: MakeClient,
    recorded_sleep: RecordedSleep,
    bad_body: object,
) -> None:
    for _ in range(3):
        scripted_server.then(bad_body)  # type: ignore[arg-type]

    with pytest.raises(LL2Unavailable):
        await make_client(max_attempts=3).fetch_expedition_page(offset=0)

    assert len(scripted_server.requests) == 3
    assert len(recorded_sleep.delays) == 2


async def test_malformed_body_then_good_page_succeeds(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(raw_answer(b'{"count": 3, "results": [{"id": 1,'))
    scripted_server.then(json_answer(_first_page()))

    page = await make_client().fetch_expedition_page(offset=0)

    assert [expedition.id for expedition in page.expeditions] == [1, 2, 3]


async def test_throttle_uses_retry_after_header(
    scripted_server: ScriptedServer, make_client: MakeClient, recorded_sleep: RecordedSleep
) -> None:
    scripted_server.then(json_answer(
        {"detail": "Request was throttled. Expected available in 999 seconds."},
        status=429, headers={"Retry-After": "120"}))

    with pytest.raises(LL2Throttled) as raised:
        await make_client().fetch_expedition_page(offset=0)

    assert raised.value.retry_after == 120
    assert len(scripted_server.requests) == 1
    assert recorded_sleep.delays == []


async def test_throttle_reads_wait_from_body(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(json_answer(
        {"detail": "Request was throttled. Expected available in 1234 seconds."}, status=429))

    with pytest.raises(LL2Throttled) as raised:
        await make_client().fetch_expedition_page(offset=0)

    assert raised.value.retry_after == 1234


async def test_throttle_reads_http_date_header(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    retry_at = datetime.now(UTC) + timedelta(minutes=10)
    scripted_server.then(json_answer({"detail": "slow down"}, status=429,
                                     headers={"Retry-After": format_datetime(retry_at, usegmt=True)}))

    with pytest.raises(LL2Throttled) as raised:
        await make_client().fetch_expedition_page(offset=0)

    assert 500 < raised.value.retry_after <= 600


async def test_throttle_without_wait_uses_default(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    scripted_server.then(raw_answer(b"Too many requests", status=429, content_type="text/plain"))

    with pytest.raises(LL2Throttled) as raised:
        await make_client().fetch_expedition_page(offset=0)

    assert raised.value.retry_after == DEFAULT_THROTTLE_SECONDS


@pytest.mark.parametrize("header", ["inf", "99999999999"])
async def test_throttle_wait_capped_at_a_day(
    scripted_server: ScriptedServer, make_client: MakeClient, header: str
) -> None:
    scripted_server.then(
        json_answer({"detail": "slow down"}, status=429, headers={"Retry-After": header}))

    with pytest.raises(LL2Throttled) as raised:
        await make_client().fetch_expedition_page(offset=0)

    assert raised.value.retry_after <= MAX_RETRY_AFTER_SECONDS
    assert raised.value.retry_after >= DEFAULT_THROTTLE_SECONDS


async def test_redirect_not_followed(scripted_server: ScriptedServer, make_client: MakeClient) -> None:
    scripted_server.then(raw_answer(b"", status=302, headers={"Location": "/elsewhere/"}))
    scripted_server.then(json_answer(_first_page()))

    with pytest.raises(LL2RequestRejected) as raised:
        await make_client(api_key=API_KEY).fetch_expedition_page(offset=0)

    assert raised.value.status == 302
    assert len(scripted_server.requests) == 1


async def test_client_error_not_retried(
    scripted_server: ScriptedServer, make_client: MakeClient, recorded_sleep: RecordedSleep
) -> None:
    scripted_server.then(json_answer({"detail": "Invalid token."}, status=401))

    with pytest.raises(LL2RequestRejected) as raised:
        await make_client(api_key=API_KEY).fetch_expedition_page(offset=0)

    assert raised.value.status == 401
    assert "Invalid token." in str(raised.value)
    assert len(scripted_server.requests) == 1
    assert recorded_sleep.delays == []


async def test_invalid_record_skipped_and_logged_with_id(
    scripted_server: ScriptedServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    broken = expedition_payload(2, start="not a date")
    no_id = expedition_payload(3)
    del no_id["id"]
    results = [expedition_payload(1), broken, no_id, "not an object", expedition_payload(4)]
    scripted_server.then(json_answer(page_payload(results, count=5, offset=0)))
    caplog.set_level(logging.WARNING, logger="bot.ll2.client")

    page = await make_client().fetch_expedition_page(offset=0)

    assert [expedition.id for expedition in page.expeditions] == [1, 4]
    assert page.skipped_ids == [2]
    assert page.skipped == 3
    messages = [record.getMessage() for record in caplog.records]
    assert any("id=2" in message and "start" in message for message in messages)
    assert sum("skipping LL2 expedition" in message for message in messages) == 3


async def test_budget_exhausted_sends_nothing(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    now = 5_000_000.0
    budget = RequestBudget(2, clock=lambda: now, spent=[now - 3000, now - 100])

    with pytest.raises(LL2BudgetExhausted) as raised:
        await make_client(budget=budget).fetch_expedition_page(offset=0)

    assert raised.value.retry_after == pytest.approx(600.0)
    assert scripted_server.requests == []


async def test_retries_spend_budget_until_exhausted(
    scripted_server: ScriptedServer, make_client: MakeClient
) -> None:
    for _ in range(4):
        scripted_server.then(json_answer({"detail": "down"}, status=503))

    with pytest.raises(LL2BudgetExhausted):
        await make_client(budget=RequestBudget(2), max_attempts=4).fetch_expedition_page(offset=0)

    assert len(scripted_server.requests) == 2


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (101, 0), (100, -1)])
async def test_invalid_paging_arguments_rejected(
    make_client: MakeClient, limit: int, offset: int
) -> None:
    with pytest.raises(ValueError):
        await make_client().fetch_expedition_page(offset=offset, limit=limit)


async def test_requests_logged_at_debug_with_url(
    scripted_server: ScriptedServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    scripted_server.then(json_answer({"detail": "busy"}, status=503))
    scripted_server.then(json_answer(_first_page()))
    caplog.set_level(logging.DEBUG, logger="bot.ll2.client")

    await make_client().fetch_expedition_page(offset=0)

    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(debug) == 2
    assert all(f"{scripted_server.base_url}/expeditions/?" in message for message in debug)
    assert all("ordering=id" in message and "limit=100" in message for message in debug)
    assert len(warnings) == 1
    assert "attempt 1 of 4" in warnings[0]
    assert "status 503" in warnings[0]


async def test_key_never_logged_or_raised(
    scripted_server: ScriptedServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(api_key=API_KEY, max_attempts=2)
    errors: list[LL2Error] = []

    scripted_server.then(json_answer({"detail": "busy"}, status=503)).then(json_answer(_first_page()))
    await client.fetch_expedition_page(offset=0)

    scripted_server.then(json_answer({"detail": f"Invalid token {API_KEY}."}, status=403))
    scripted_server.then(json_answer({"detail": "Expected available in 60 seconds."}, status=429))
    scripted_server.then(
        raw_answer(f"<html>{API_KEY}</html>".encode(), status=500, content_type="text/html"))
    scripted_server.then(json_answer({"detail": f"error near {API_KEY}"}, status=502))
    for _ in range(3):
        with pytest.raises(LL2Error) as raised:
            await client.fetch_expedition_page(offset=0)
        errors.append(raised.value)

    assert [type(error) for error in errors] == [LL2RequestRejected, LL2Throttled, LL2Unavailable]
    assert len(caplog.records) >= 7
    for record in caplog.records:
        assert API_KEY not in record.getMessage()
    for error in errors:
        assert API_KEY not in str(error)
        assert API_KEY not in repr(error.args)
    assert all(request.headers.get("Authorization") == f"Token {API_KEY}"
               for request in scripted_server.requests)
