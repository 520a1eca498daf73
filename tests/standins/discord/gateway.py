"""The stand-in's gateway: HELLO, heartbeats, IDENTIFY, RESUME and event dispatch over a websocket.

Events go out as JSON text frames. discord.py requests `compress=zlib-stream` but only decompresses
binary frames, so text frames reach it unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
RESUME = 6
RECONNECT = 7
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

GUILD_MESSAGES_INTENT = 1 << 9
AUTHENTICATION_FAILED = 4004

# Events kept per session for replay on RESUME; Discord's own buffer size is not documented.
REPLAY_BUFFER = 1000


@dataclass
class GatewaySession:
    """One identified session: its sequence counter, the events sent, and the socket it is on now."""

    session_id: str
    intents: int
    shard: list[int] | None
    sequence: int = 0
    events: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: web.WebSocketResponse | None = None


class Gateway:
    """Websocket endpoint that speaks enough of Discord's gateway protocol for discord.py."""

    def __init__(
        self,
        *,
        check_token: Callable[[str], bool],
        ready_payload: Callable[[GatewaySession], dict[str, Any]],
        guild_payloads: Callable[[], list[dict[str, Any]]],
        heartbeat_interval: float,
    ) -> None:
        self._check_token = check_token
        self._ready_payload = ready_payload
        self._guild_payloads = guild_payloads
        self._heartbeat_interval = heartbeat_interval
        self._sessions: dict[str, GatewaySession] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self.current: GatewaySession | None = None
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.close_codes: list[int] = []
        self.connection_paths: list[str] = []

    @property
    def connected(self) -> bool:
        """Whether a session is identified and has a live socket."""
        return self.current is not None and self.current.socket is not None

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one websocket connection until either side closes it."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.add(socket)
        self.connection_paths.append(request.path)
        log.info("gateway connection opened on %s", request.path)

        try:
            await self._send(socket, {"op": HELLO, "d": {"heartbeat_interval": int(self._heartbeat_interval * 1000)}})
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue
                await self._receive(socket, json.loads(message.data))
        finally:
            self._sockets.discard(socket)
            self._detach(socket)
            log.info("gateway connection closed with code %s", socket.close_code)
        return socket

    async def _receive(self, socket: web.WebSocketResponse, message: dict[str, Any]) -> None:
        op = message.get("op")
        data = message.get("d")
        if op == HEARTBEAT:
            self.heartbeat_count += 1
            await self._send(socket, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(socket, data or {})
        elif op == RESUME:
            await self._resume(socket, data or {})
        else:
            log.debug("gateway ignored op %s", op)

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if not self._check_token(str(data.get("token", ""))):
            log.warning("gateway IDENTIFY rejected: invalid token")
            await socket.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return

        session = GatewaySession(
            session_id=secrets.token_hex(16), intents=int(data.get("intents") or 0), shard=data.get("shard")
        )
        session.socket = socket
        self._sessions[session.session_id] = session
        self.current = session
        log.info("gateway session %s identified", session.session_id)

        await self.dispatch("READY", self._ready_payload(session))
        for guild in self._guild_payloads():
            await self.dispatch("GUILD_CREATE", guild)
        await self._mark_changed(identify=True)

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or not self._check_token(str(data.get("token", ""))):
            log.info("gateway RESUME of unknown session %s: sending INVALID_SESSION", data.get("session_id"))
            await self._send(socket, {"op": INVALID_SESSION, "d": False})
            return

        session.socket = socket
        self.current = session
        last_seen = int(data.get("seq") or 0)
        missed = [text for sequence, text in session.events if sequence > last_seen]
        log.info("gateway session %s resumed; replaying %d events", session.session_id, len(missed))

        for text in missed:
            await self._send_text(socket, text)
        await self.dispatch("RESUMED", {})
        await self._mark_changed(identify=False)

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int | None = None) -> None:
        """Send a dispatch event to the current session, or buffer it for a RESUME while disconnected."""
        session = self.current
        if session is None:
            raise RuntimeError(f"cannot dispatch {event}: no bot has identified on the gateway yet")
        if intent is not None and not session.intents & intent:
            return

        session.sequence += 1
        text = json.dumps({"op": DISPATCH, "t": event, "s": session.sequence, "d": data})
        session.events.append((session.sequence, text))
        if session.socket is not None and not session.socket.closed:
            await self._send_text(session.socket, text)

    async def drop(self, code: int = 4000) -> None:
        """Close every gateway connection with this close code, as a Discord-side disconnect does."""
        sockets = list(self._sockets)
        log.info("closing %d gateway connections with code %d", len(sockets), code)
        for socket in sockets:
            self.close_codes.append(code)
            self._detach(socket)
            await socket.close(code=code, message=b"closed by the stand-in")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, which makes discord.py reconnect and RESUME."""
        if self.current is None or self.current.socket is None:
            raise RuntimeError("no gateway connection to send RECONNECT to")
        await self._send(self.current.socket, {"op": RECONNECT, "d": None})

    async def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until `predicate()` is true after a session identified or resumed."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(f"gateway: no {what} within {timeout} s") from None

    async def close_all(self) -> None:
        """Close every connection with 1001 (going away)."""
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"stand-in stopping")

    def _detach(self, socket: web.WebSocketResponse) -> None:
        for session in self._sessions.values():
            if session.socket is socket:
                session.socket = None

    async def _mark_changed(self, *, identify: bool) -> None:
        if identify:
            self.identify_count += 1
        else:
            self.resume_count += 1
        async with self._changed:
            self._changed.notify_all()

    async def _send(self, socket: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        await self._send_text(socket, json.dumps(payload))

    async def _send_text(self, socket: web.WebSocketResponse, text: str) -> None:
        async with self._send_lock:
            try:
                await socket.send_str(text)
            except ConnectionError as error:
                log.warning("gateway send failed, the connection is gone: %s", error)
