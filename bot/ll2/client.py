"""Launch Library 2 (LL2) client: paged expedition reads with retries, throttling and a budget.

LL2's free tier allows 15 requests per rolling hour per IP address, so every HTTP request,
retries included, spends one unit of a `RequestBudget` sized below that. The API key, when
there is one, travels only in the `Authorization` header and never appears in a log line or
an exception message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
from pydantic import ValidationError
from yarl import URL

from bot.ll2.convert import to_expedition
from bot.ll2.models import ExpeditionModel, ExpeditionPageModel
from storage.records import Expedition

log = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600.0

# LL2 caps `limit` at 100 and pages are the unit the budget pays for, so always ask for 100.
MAX_PAGE_SIZE = 100

# Used when a 429 carries neither a Retry-After header nor a wait in its body. LL2's rate is
# per hour, and Django REST framework's throttle never asks to wait longer than the rate's period.
DEFAULT_THROTTLE_SECONDS = SECONDS_PER_HOUR

# A Retry-After beyond this is taken as a mistake and shortened to it, so that one broken
# header cannot stop the sync for longer than a day.
MAX_RETRY_AFTER_SECONDS = 24 * SECONDS_PER_HOUR

# Django REST framework's throttle message: "Request was throttled. Expected available in N seconds."
_THROTTLE_WAIT_PATTERN = re.compile(r"available in (\d+(?:\.\d+)?) second", re.IGNORECASE)

_MAX_DETAIL_LENGTH = 200


class LL2Error(Exception):
    """Base of every error the LL2 client raises."""


class LL2Throttled(LL2Error):
    """LL2 returned 429 Too Many Requests; send no request for `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(
            message or f"LL2 throttled the request (status 429); retry after {retry_after:.0f} s"
        )
        self.retry_after = retry_after


class LL2Unavailable(LL2Error):
    """LL2 timed out, refused connections, returned 5xx or sent an unreadable page on every attempt."""


class LL2BudgetExhausted(LL2Error):
    """The request budget is used up; the next unit frees up in `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(
            message or f"LL2 request budget is used up; retry after {retry_after:.0f} s"
        )
        self.retry_after = retry_after


class LL2RequestRejected(LL2Error):
    """LL2 returned a 4xx other than 429 (e.g. 401 for an invalid key), so retrying will not help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class RequestBudget:
    """Requests allowed per rolling hour, with the send times of the ones already spent.

    `spent` takes send times saved by an earlier process (`spent_times()`), so a restart does
    not reset the count. Times are seconds since the epoch, as `clock` returns them.
    """

    def __init__(
        self,
        requests_per_hour: int,
        *,
        clock: Callable[[], float] = time.time,
        spent: Iterable[float] = (),
    ) -> None:
        if requests_per_hour < 1:
            raise ValueError(f"requests_per_hour must be at least 1, got {requests_per_hour}")
        self.requests_per_hour = requests_per_hour
        self._clock = clock

        # A saved time in the future (the system clock moved back) counts as spent now, so it
        # cannot block requests for longer than an hour.
        now = clock()
        self._spent: deque[float] = deque(sorted(min(moment, now) for moment in spent))
        self._forget_old(now)

    def try_spend(self) -> bool:
        """Spend one request and return True, or return False when none is left this hour."""
        now = self._clock()
        self._forget_old(now)
        if len(self._spent) >= self.requests_per_hour:
            return False
        self._spent.append(now)
        return True

    def spent_last_hour(self) -> int:
        """Return how many requests were spent in the last hour."""
        self._forget_old(self._clock())
        return len(self._spent)

    def seconds_until_available(self) -> float:
        """Return the seconds until one request can be spent; 0.0 when one can be now."""
        now = self._clock()
        self._forget_old(now)
        if len(self._spent) < self.requests_per_hour:
            return 0.0
        freeing = self._spent[len(self._spent) - self.requests_per_hour]
        return max(0.0, freeing + SECONDS_PER_HOUR - now)

    def spent_times(self) -> tuple[float, ...]:
        """Return the send times still inside the last hour, oldest first, for saving."""
        self._forget_old(self._clock())
        return tuple(self._spent)

    def _forget_old(self, now: float) -> None:
        while self._spent and self._spent[0] <= now - SECONDS_PER_HOUR:
            self._spent.popleft()


@dataclass(frozen=True)
class ExpeditionPage:
    """One page of expeditions, converted to records.

    `next_offset` is None on the last page. `skipped_ids` contains the ids of records that
    failed validation, and `skipped` also counts failed records that had no readable id.
    """

    count: int
    offset: int
    next_offset: int | None
    expeditions: list[Expedition] = field(default_factory=list)
    skipped_ids: list[int] = field(default_factory=list)
    skipped: int = 0


class _RetryableFailure(Exception):
    """One failed attempt that a later attempt may get past: timeout, connection, 5xx, bad body."""


class LL2Client:
    """Reads expeditions from LL2 in detailed mode, one page per call.

    `base_url` is the versioned root, e.g. "https://ll.thespacedevs.com/2.3.0". `sleep` waits
    between retries; tests pass a function that does not wait.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        api_key: str | None,
        budget: RequestBudget,
        max_attempts: int = 4,
        backoff_seconds: float = 2.0,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.budget = budget
        self.requests_sent = 0
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key or None
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._sleep = sleep

    async def fetch_expedition_page(
        self, *, offset: int, limit: int = MAX_PAGE_SIZE, ordering: str = "id"
    ) -> ExpeditionPage:
        """Fetch one page of expeditions in detailed mode, skipping records that fail validation.

        Raises LL2Throttled, LL2BudgetExhausted, LL2Unavailable or LL2RequestRejected.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        if offset < 0:
            raise ValueError(f"offset must not be negative, got {offset}")

        params = {"mode": "detailed", "ordering": ordering, "limit": str(limit), "offset": str(offset)}
        page = await self._get_page(f"{self._base_url}/expeditions/", params)
        # Validating and converting 100 detailed records takes 10-50 ms of CPU (measured by
        # benchmarks/loop_lag.py), which would delay every command response on the event loop.
        return await asyncio.to_thread(self._read_page, page, offset)

    async def _get_page(self, url: str, params: Mapping[str, str]) -> ExpeditionPageModel:
        for attempt in range(1, self._max_attempts + 1):
            self._spend_budget()
            try:
                return await self._request_page(url, params)
            except _RetryableFailure as failure:
                reason = self._redact(str(failure))
                if attempt == self._max_attempts:
                    log.error("LL2 request %s failed on all %d attempts, last: %s",
                              self._loggable_url(url, params), attempt, reason)
                    raise LL2Unavailable(
                        f"LL2 request failed on all {attempt} attempts, last: {reason}"
                    ) from None

                delay = self._backoff_seconds * 2 ** (attempt - 1)
                log.warning("LL2 request %s failed (attempt %d of %d): %s; retrying in %.1f s",
                            self._loggable_url(url, params), attempt, self._max_attempts, reason, delay)
                await self._sleep(delay)

        raise AssertionError("unreachable: the last attempt returns or raises")

    def _spend_budget(self) -> None:
        if self.budget.try_spend():
            return
        wait = self.budget.seconds_until_available()
        message = (
            f"LL2 request budget of {self.budget.requests_per_hour} per hour is used up; "
            f"the next request is possible in {wait:.0f} s"
        )
        log.warning("%s", message)
        raise LL2BudgetExhausted(wait, message)

    async def _request_page(self, url: str, params: Mapping[str, str]) -> ExpeditionPageModel:
        log.debug("GET %s", self._loggable_url(url, params))
        self.requests_sent += 1
        try:
            # Redirects are not followed, so the key is only ever sent to `base_url`'s host.
            async with self._session.get(
                url,
                params=params,
                headers=self._headers(),
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                headers = response.headers
                body = await response.read()
        except TimeoutError:
            raise _RetryableFailure(f"timed out after {self._timeout.total} s") from None
        except aiohttp.ClientError as error:
            raise _RetryableFailure(f"connection failed ({type(error).__name__}: {error})") from None

        # Parsing a page body (about 1 MB) runs in a worker thread for the same reason.
        return await asyncio.to_thread(self._check_response, status, headers, body)

    def _check_response(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> ExpeditionPageModel:
        if status == 429:
            retry_after = min(_retry_after_seconds(headers, body), MAX_RETRY_AFTER_SECONDS)
            log.warning("LL2 throttled the request (status 429); retry after %.0f s", retry_after)
            raise LL2Throttled(retry_after)
        if status >= 500:
            raise _RetryableFailure(f"status {status}")
        if not 200 <= status < 300:
            detail = self._redact(_body_detail(body))
            log.error("LL2 rejected the request with status %d: %s", status, detail)
            raise LL2RequestRejected(f"LL2 rejected the request with status {status}: {detail}",
                                     status=status)

        return _parse_page(body)

    def _read_page(self, page: ExpeditionPageModel, offset: int) -> ExpeditionPage:
        expeditions: list[Expedition] = []
        skipped_ids: list[int] = []
        skipped = 0
        for raw in page.results:
            record_id = raw.get("id") if isinstance(raw, dict) else None
            try:
                expeditions.append(to_expedition(ExpeditionModel.model_validate(raw)))
            except ValidationError as error:
                log.warning("skipping LL2 expedition id=%r at offset %d: invalid record: %s",
                            record_id, offset, _summarize(error))
                skipped += 1
                if isinstance(record_id, int) and not isinstance(record_id, bool):
                    skipped_ids.append(record_id)

        return ExpeditionPage(
            count=page.count,
            offset=offset,
            next_offset=_next_offset(page, offset),
            expeditions=expeditions,
            skipped_ids=skipped_ids,
            skipped=skipped,
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Token {self._api_key}"
        return headers

    def _loggable_url(self, url: str, params: Mapping[str, str]) -> str:
        return self._redact(str(URL(url).with_query(params)))

    def _redact(self, text: str) -> str:
        if self._api_key is None:
            return text
        return text.replace(self._api_key, "[redacted]")


def _parse_page(body: bytes) -> ExpeditionPageModel:
    try:
        payload = json.loads(body)
    except ValueError as error:
        # Truncated JSON and HTML error pages from a proxy both end up here.
        raise _RetryableFailure(f"response body is not JSON ({error.__class__.__name__})") from None
    try:
        return ExpeditionPageModel.model_validate(payload)
    except ValidationError as error:
        summary = _summarize(error)
        raise _RetryableFailure(f"response body is not an expedition page: {summary}") from None


def _next_offset(page: ExpeditionPageModel, offset: int) -> int | None:
    # Only the offset is read from LL2's absolute `next` link. The link itself is never
    # requested, so a wrong host in it cannot redirect the client.
    if page.next is None:
        return None
    linked = URL(page.next).query.get("offset")
    if linked is not None and linked.isdigit() and int(linked) > offset:
        return int(linked)
    if page.results:
        return offset + len(page.results)

    log.warning("LL2 page at offset %d has a next link but no results; treating it as the last page",
                offset)
    return None


def _retry_after_seconds(headers: Mapping[str, str], body: bytes) -> float:
    header = headers.get("Retry-After")
    if header:
        seconds = _parse_retry_after_header(header.strip())
        if seconds is not None:
            return seconds

    match = _THROTTLE_WAIT_PATTERN.search(_body_detail(body))
    if match:
        return float(match.group(1))
    return DEFAULT_THROTTLE_SECONDS


def _parse_retry_after_header(value: str) -> float | None:
    # RFC 9110 allows either delay-seconds or an HTTP date.
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until_http_date(value)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until_http_date(value: str) -> float | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _body_detail(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:_MAX_DETAIL_LENGTH].decode("utf-8", errors="replace")
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        return payload["detail"][:_MAX_DETAIL_LENGTH]
    return str(payload)[:_MAX_DETAIL_LENGTH]


def _summarize(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'record'}: {problem['msg']}"
        for problem in error.errors(include_url=False, include_input=False)[:3]
    ]
    more = error.error_count() - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
