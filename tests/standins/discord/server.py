"""StandInDiscord: a REST API and gateway on 127.0.0.1 that the unmodified discord.py stack logs in to.

Point discord.py at it with `discord.http.Route.BASE = standin.api_base` and
`discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.standins.discord import interactions as ix
from tests.standins.discord.driver import InteractionDriver
from tests.standins.discord.gateway import Gateway, GatewaySession
from tests.standins.discord.handlers import RestCall, RestHandlers
from tests.standins.discord.models import (
    MEMBER_OVERWRITE,
    Channel,
    Guild,
    Member,
    Overwrite,
    User,
    build_guild,
    channel_permissions,
)
from tests.standins.discord.payloads import SnowflakeFactory, channel_object, guild_create_object, user_object
from tests.standins.discord.rest import (
    InjectedFailure,
    RateLimit,
    RecordedRequest,
    build_failure,
    error_response,
    rate_limited_response,
    redact_path,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"

Handler = Callable[[RestCall], Awaitable[web.Response]]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    needs_token: bool


class StandInDiscord(InteractionDriver, RestHandlers):
    """A stand-in Discord API v10 with a gateway, serving configured guilds to one bot.

    Every REST request is kept in `requests`; command syncs in `command_syncs`; messages posted to
    channels in `channel_messages` (kept current through edits). Interactions are started with
    `slash_command`, `autocomplete` and `click`, which return the bot's response.
    """

    def __init__(
        self,
        *,
        token: str = "stand-in-token",
        guilds: list[Guild] | None = None,
        callback_deadline: float = 3.0,
        heartbeat_interval: float = 41.25,
    ) -> None:
        self._token = token
        self._ids = SnowflakeFactory()
        self.guilds: list[Guild] = guilds if guilds is not None else [build_guild()]
        self.callback_deadline = callback_deadline
        self.application_id = self._ids()
        self.bot_user_id = self.application_id
        self.bot_user = User(id=self.bot_user_id, username="Expedition Bot", bot=True)

        self.requests: list[RecordedRequest] = []
        self.command_syncs: list[dict[str, Any]] = []
        self.channel_messages: dict[int, list[dict[str, Any]]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.interactions: dict[int, ix.PendingInteraction] = {}

        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._tokens: dict[str, ix.PendingInteraction] = {}
        self._failures: list[InjectedFailure] = []
        self._rate_limits: list[RateLimit] = []
        self._routes = self._build_routes()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._gateway = Gateway(
            check_token=self._token_matches,
            ready_payload=self._ready_payload,
            guild_payloads=self._guild_payloads,
            heartbeat_interval=heartbeat_interval,
        )

    # Lifecycle and addresses.

    async def start(self) -> None:
        """Start listening on 127.0.0.1 on a free port."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway.handle)
        app.router.add_get("/gateway/resume", self._gateway.handle)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_rest)

        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        log.info("stand-in Discord listening on 127.0.0.1:%d", self._port)

    async def stop(self) -> None:
        """Close gateway connections and stop the server."""
        if self._runner is None:
            return
        await self._gateway.close_all()
        await self._runner.cleanup()
        self._runner = None
        log.info("stand-in Discord on port %d stopped", self._port)

    async def __aenter__(self) -> StandInDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """REST base URL, the value for discord.http.Route.BASE."""
        return f"http://127.0.0.1:{self._port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Gateway URL, the value for DiscordWebSocket.DEFAULT_GATEWAY."""
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """URL sent in READY as `resume_gateway_url`; a RESUME arriving there proves discord.py used it."""
        return f"ws://127.0.0.1:{self._port}/gateway/resume"

    # Guild layout.

    def guild(self, guild_id: int | None = None) -> Guild:
        """Return the guild with this id, or the first guild."""
        if guild_id is None:
            return self.guilds[0]
        for guild in self.guilds:
            if guild.id == guild_id:
                return guild
        raise KeyError(f"no guild {guild_id} is configured")

    def find_channel(self, channel_id: int) -> tuple[Guild, Channel] | None:
        """Return the guild and channel with this id, or None when no guild has it."""
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.id == channel_id:
                    return guild, channel
        return None

    def bot_member(self, guild: Guild) -> Member:
        """Return the bot as a member of the guild, with the guild's bot roles."""
        return Member(user=self.bot_user, role_ids=list(guild.bot_role_ids))

    def bot_permissions(self, channel_id: int) -> int:
        """Return the bot's permissions in a channel, computed as Discord does."""
        found = self.find_channel(channel_id)
        if found is None:
            raise KeyError(f"no channel {channel_id} is configured")
        guild, channel = found
        return channel_permissions(guild, self.bot_member(guild), channel)

    async def set_bot_overwrite(self, channel_id: int, *, allow: int = 0, deny: int = 0, notify: bool = True) -> None:
        """Set a member overwrite for the bot on a channel, e.g. `deny=EMBED_LINKS`.

        With `notify` the bot gets CHANNEL_UPDATE, so its own permission checks see the change too.
        A thread takes its parent's overwrites, so pass the parent channel to change a thread.
        """
        found = self.find_channel(channel_id)
        if found is None:
            raise KeyError(f"no channel {channel_id} is configured")
        guild, channel = found

        channel.overwrites = [item for item in channel.overwrites if item.id != self.bot_user_id]
        channel.overwrites.append(Overwrite(id=self.bot_user_id, type=MEMBER_OVERWRITE, allow=allow, deny=deny))
        if notify and self._gateway.current is not None:
            await self._gateway.dispatch("CHANNEL_UPDATE", channel_object(guild, channel))

    async def remove_channel(self, channel_id: int, *, notify: bool = False) -> None:
        """Delete a channel; REST calls on it then get 404 10003. With `notify` the bot gets CHANNEL_DELETE."""
        found = self.find_channel(channel_id)
        if found is None:
            raise KeyError(f"no channel {channel_id} is configured")
        guild, channel = found

        guild.channels.remove(channel)
        if notify and self._gateway.current is not None:
            await self._gateway.dispatch("CHANNEL_DELETE", channel_object(guild, channel))

    # Test controls.

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: dict[str, Any],
        *,
        headers: dict[str, str | None] | None = None,
        times: int = 1,
    ) -> None:
        """Respond with an error to the next `times` requests whose method and path (after /api/v10, full match) fit.

        A 429 needs `retry_after` in the body and gets a `Via` header, `Retry-After` and
        `"global": false` unless given. Pass `headers={"Via": None}` to drop Via, which discord.py
        reads as a Cloudflare ban and raises at once. Method "*" matches every method.
        """
        self._failures.append(build_failure(method, path_regex, status, body, headers, times))

    def set_rate_limit(
        self, method: str, path_regex: str, *, limit: int, per: float, bucket: str | None = None
    ) -> None:
        """Give matching routes a bucket of `limit` requests per `per` seconds, with X-RateLimit headers."""
        name = bucket or secrets.token_hex(8)
        pattern = re.compile(path_regex)
        limit_model = RateLimit(method=method.upper(), path_pattern=pattern, limit=limit, per=per, bucket=name)
        self._rate_limits.append(limit_model)

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Return the recorded requests with this method whose path fully matches the regex."""
        pattern = re.compile(path_regex)
        return [item for item in self.requests if item.method == method.upper() and pattern.fullmatch(item.path)]

    async def wait_for_identify(self, timeout: float = 10, *, count: int = 1) -> None:
        """Wait until the bot has identified `count` times (READY and GUILD_CREATE are sent by then)."""
        await self._gateway.wait_for(
            lambda: self._gateway.identify_count >= count, timeout, f"IDENTIFY number {count}"
        )

    async def wait_for_resume(self, timeout: float = 10, *, count: int = 1) -> None:
        """Wait until the bot has resumed a session `count` times."""
        await self._gateway.wait_for(lambda: self._gateway.resume_count >= count, timeout, f"RESUME number {count}")

    @property
    def identify_count(self) -> int:
        """How many IDENTIFY payloads were accepted."""
        return self._gateway.identify_count

    @property
    def resume_count(self) -> int:
        """How many RESUME payloads were accepted."""
        return self._gateway.resume_count

    @property
    def gateway_paths(self) -> list[str]:
        """Path of each gateway connection, in order: "/gateway", or "/gateway/resume" after READY's resume URL."""
        return list(self._gateway.connection_paths)

    @property
    def heartbeat_count(self) -> int:
        """How many heartbeats the bot sent."""
        return self._gateway.heartbeat_count

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the gateway connection with this close code; discord.py resumes after most codes."""
        await self._gateway.drop(code)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT over the gateway."""
        await self._gateway.request_reconnect()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send any gateway dispatch event to the bot."""
        await self._gateway.dispatch(event, data)

    # Gateway payloads.

    def _token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token.encode())

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        user = {**user_object(self.bot_user), "verified": True, "mfa_enabled": False, "email": None}
        ready: dict[str, Any] = {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in self.guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        return ready

    def _guild_payloads(self) -> list[dict[str, Any]]:
        return [guild_create_object(guild, self.bot_member(guild)) for guild in self.guilds]

    # REST dispatch.

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", r"/users/@me", self._get_current_user, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", self._get_gateway, True),
            ("GET", r"/applications/(?P<app>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app>\d+)/commands", self._put_commands, True),
            ("GET", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", self._put_commands, True),
            ("GET", r"/guilds/(?P<guild>\d+)/channels", self._get_guild_channels, True),
            ("GET", r"/channels/(?P<channel>\d+)", self._get_channel, True),
            ("POST", r"/channels/(?P<channel>\d+)/messages", self._post_message, True),
            ("GET", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)", self._get_message, True),
            ("PATCH", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)", self._patch_message, True),
            ("DELETE", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)", self._delete_message, True),
            ("POST", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)/crosspost", self._crosspost, True),
            ("POST", r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback", self._post_callback, False),
            ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", self._post_followup, False),
            ("GET", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<message>@original|\d+)",
             self._get_webhook_message, False),
            ("PATCH", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<message>@original|\d+)",
             self._patch_webhook_message, False),
            ("DELETE", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<message>@original|\d+)",
             self._delete_webhook_message, False),
        ]
        return [
            _Route(method, re.compile(pattern), handler, needs_token)
            for method, pattern, handler, needs_token in table
        ]

    def _route_for(self, method: str, path: str) -> tuple[_Route | None, re.Match[str] | None, bool]:
        """Return the matching route and match, and whether the path needs the bot token."""
        path_known = False
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_known = True
            if route.method == method:
                return route, match, route.needs_token
        # Token-free paths stay token-free even for a method they do not serve.
        needs_token = not (path_known and re.match(r"/(interactions|webhooks)/\d+/", path))
        return None, None, needs_token

    async def _handle_rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, body_error = await self._read_body(request)
        record = RecordedRequest(
            method=request.method, path=path, query=dict(request.query), json=body,
            has_authorization="Authorization" in request.headers,
        )
        self.requests.append(record)

        response = body_error or await self._answer(request, record, body)
        record.status = response.status
        level = logging.INFO if response.status >= 400 else logging.DEBUG
        log.log(level, "%s %s -> %d", request.method, redact_path(path), response.status)
        return response

    async def _answer(self, request: web.Request, record: RecordedRequest, body: Any) -> web.Response:
        route, match, needs_token = self._route_for(record.method, record.path)
        if needs_token and not self._authorized(request):
            log.info("%s %s rejected: missing or invalid bot token", record.method, redact_path(record.path))
            return error_response(401, 0, "401: Unauthorized")

        for failure in self._failures:
            if failure.matches(record.method, record.path):
                log.info("injecting %d on %s %s", failure.status, record.method, redact_path(record.path))
                return failure.response()

        limit_headers: dict[str, str] = {}
        for limit in self._rate_limits:
            if limit.matches(record.method, record.path):
                allowed, limit_headers = limit.take(record.path, asyncio.get_running_loop().time())
                if not allowed:
                    return rate_limited_response(limit_headers)

        if route is None or match is None:
            log.warning("no stand-in route for %s %s", record.method, redact_path(record.path))
            return error_response(404, 0, "404: Not Found")

        response = await route.handler(RestCall(request=request, match=match, body=body))
        response.headers.update(limit_headers)
        return response

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return hmac.compare_digest(header.encode(), f"Bot {self._token}".encode())

    async def _read_body(self, request: web.Request) -> tuple[Any, web.Response | None]:
        if not request.can_read_body:
            return None, None
        try:
            if request.content_type == "multipart/form-data":
                form = await request.post()
                raw = form.get("payload_json")
                return (json.loads(str(raw)) if raw is not None else None), None
            text = await request.text()
            return (json.loads(text) if text else None), None
        except (json.JSONDecodeError, ValueError) as error:
            log.warning("invalid JSON body on %s %s: %s", request.method, redact_path(request.path), error)
            return None, error_response(400, 50109, "The request body contains invalid JSON.")

