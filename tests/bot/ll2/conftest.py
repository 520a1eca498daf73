"""A scripted HTTP server on 127.0.0.1 for unit tests that need exact control of LL2's responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from bot.ll2.client import LL2Client, RequestBudget

Responder = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class SeenRequest:
    """One request the scripted server received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class ScriptedServer:
    """Serves the queued responders in order, one per request, and records every request."""

    responders: list[Responder] = field(default_factory=list)
    requests: list[SeenRequest] = field(default_factory=list)
    base_url: str = ""

    def then(self, responder: Responder) -> ScriptedServer:
        """Queue `responder` for the next unanswered request."""
        self.responders.append(responder)
        return self

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(SeenRequest(request.path, dict(request.query), dict(request.headers)))
        if not self.responders:
            return web.json_response({"detail": "no scripted response left"}, status=418)
        return await self.responders.pop(0)(request)


def json_answer(body: object, *, status: int = 200, headers: dict[str, str] | None = None) -> Responder:
    """Return a responder that sends `body` as JSON."""

    async def respond(request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status, headers=headers)

    return respond


def raw_answer(body: bytes, *, status: int = 200, content_type: str = "application/json",
               headers: dict[str, str] | None = None) -> Responder:
    """Return a responder that sends `body` unchanged."""

    async def respond(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type=content_type, headers=headers)

    return respond


def slow_answer(seconds: float) -> Responder:
    """Return a responder that waits `seconds` before responding, to trigger a client timeout."""

    async def respond(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({"count": 0, "next": None, "previous": None, "results": []})

    return respond


def dropped_connection() -> Responder:
    """Return a responder that closes the connection without responding."""

    async def respond(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.05)
        return web.Response(status=200)

    return respond


@pytest.fixture
async def scripted_server() -> AsyncIterator[ScriptedServer]:
    """Start a scripted server on 127.0.0.1 at a free port."""
    server = ScriptedServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}/2.3.0"
    yield server
    await runner.cleanup()


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """Open an aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


class RecordedSleep:
    """An injectable sleep that records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def recorded_sleep() -> RecordedSleep:
    """Return a sleep that records delays without waiting."""
    return RecordedSleep()


@pytest.fixture
def make_client(
    scripted_server: ScriptedServer, http_session: aiohttp.ClientSession, recorded_sleep: RecordedSleep
) -> Callable[..., LL2Client]:
    """Return a factory of clients pointed at the scripted server."""

    def make(
        *, api_key: str | None = None, budget: RequestBudget | None = None, **options: object
    ) -> LL2Client:
        return LL2Client(
            http_session,
            scripted_server.base_url,
            api_key=api_key,
            budget=budget or RequestBudget(1000),
            sleep=recorded_sleep,
            **options,  # type: ignore[arg-type]
        )

    return make
