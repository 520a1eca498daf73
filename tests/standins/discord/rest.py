"""HTTP pieces of the stand-in: exact JSON responses, request records, injected failures, rate limits."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

# Discord sends a Via header on its own 429s; discord.py treats a 429 without one as a Cloudflare ban.
DEFAULT_VIA = "1.1 google"

_TOKEN_SEGMENT = re.compile(r"^/(webhooks|interactions)/(\d+)/([^/]+)")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """Return a JSON response whose Content-Type is exactly `application/json`, as discord.py compares it."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


def no_content() -> web.Response:
    """Return 204 No Content."""
    return web.Response(status=204)


def error_response(status: int, code: int, message: str, *, errors: dict[str, Any] | None = None) -> web.Response:
    """Return a Discord error body such as `{"message": "Missing Permissions", "code": 50013}`."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response(status, body)


def redact_path(path: str) -> str:
    """Return the path with interaction and webhook tokens replaced, for logs."""
    return _TOKEN_SEGMENT.sub(r"/\1/\2/<token>", path)


@dataclass
class RecordedRequest:
    """One request the stand-in received; `path` is relative to `/api/v10`."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    has_authorization: bool
    status: int | None = None
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class InjectedFailure:
    """A canned error response for the next `times` requests matching method and path."""

    method: str
    path_pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str | None]
    times: int

    def matches(self, method: str, path: str) -> bool:
        """Whether this failure applies to the request; method "*" matches any method."""
        return self.times > 0 and self.method in ("*", method) and self.path_pattern.fullmatch(path) is not None

    def response(self) -> web.Response:
        """Return the canned response and count it as used."""
        self.times -= 1
        headers = {name: value for name, value in self.headers.items() if value is not None}
        return json_response(self.status, self.body, headers)


def build_failure(
    method: str, path_regex: str, status: int, body: dict[str, Any], headers: dict[str, str | None] | None, times: int
) -> InjectedFailure:
    """Build an injected failure; a 429 gets `Via`, `Retry-After` and Discord's rate-limit body fields."""
    all_headers: dict[str, str | None] = {}
    full_body = dict(body)
    if status == 429:
        if "retry_after" not in full_body:
            raise ValueError("a 429 body needs retry_after (seconds), which discord.py reads before retrying")
        full_body.setdefault("message", "You are being rate limited.")
        full_body.setdefault("global", False)
        all_headers["Via"] = DEFAULT_VIA
        all_headers["Retry-After"] = str(math.ceil(float(full_body["retry_after"])))
        all_headers["X-RateLimit-Scope"] = "global" if full_body["global"] else "user"
        if full_body["global"]:
            all_headers["X-RateLimit-Global"] = "true"
    all_headers.update(headers or {})
    return InjectedFailure(
        method=method.upper(), path_pattern=re.compile(path_regex), status=status, body=full_body,
        headers=all_headers, times=times,
    )


@dataclass
class RateLimit:
    """A bucket of `limit` requests per `per` seconds for each path matching `path_pattern`.

    Each distinct path counts on its own, which models Discord's per-channel, per-guild and
    per-webhook buckets since those ids are in the path.
    """

    method: str
    path_pattern: re.Pattern[str]
    limit: int
    per: float
    bucket: str
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether requests of this method and path count against the bucket."""
        return self.method in ("*", method) and self.path_pattern.fullmatch(path) is not None

    def take(self, path: str, now: float) -> tuple[bool, dict[str, str]]:
        """Count one request; return whether it is allowed and the rate-limit headers to send."""
        started, used = self.windows.get(path, (now, 0))
        if now - started >= self.per:
            started, used = now, 0

        reset_after = max(self.per - (now - started), 0.001)
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }
        if used >= self.limit:
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Scope": "user", "Via": DEFAULT_VIA,
                            "Retry-After": str(math.ceil(reset_after))})
            return False, headers

        self.windows[path] = (started, used + 1)
        headers["X-RateLimit-Remaining"] = str(self.limit - used - 1)
        return True, headers


def rate_limited_response(headers: dict[str, str]) -> web.Response:
    """Return Discord's 429 for an exhausted bucket."""
    retry_after = float(headers["X-RateLimit-Reset-After"])
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return json_response(429, body, headers)
