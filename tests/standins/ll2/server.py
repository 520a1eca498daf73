"""A stand-in for the Launch Library 2 (LL2) 2.3.0 API, served by aiohttp on 127.0.0.1.

It serves an `LL2Dataset` with LL2's paging, filters, search, ordering and response modes,
throttles like the free tier, records every request and returns injected faults on demand. The behaviour follows LL2's documented endpoints, which run on Django REST
framework: `LimitOffsetPagination`, `SearchFilter` and `OrderingFilter`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from aiohttp import web
from multidict import CIMultiDict

from .dataset import LL2Dataset, to_mode

log = logging.getLogger(__name__)

API_PREFIX = "/2.3.0"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
FREE_TIER_REQUESTS_PER_HOUR = 15

MODES = ("list", "normal", "detailed")
# LL2 documents ordering by id, start and end; name is accepted as well. Unknown fields are
# dropped, as DRF's OrderingFilter does.
ORDERING_FIELDS = ("id", "name", "start", "end")
INT_FILTERS = {
    "space_station": "station_id",
    "crew__astronaut": "astronaut_ids",
    "crew__astronaut__agency": "agency_ids",
}
DATE_FILTERS = ("start__gt", "start__gte", "start__lt", "start__lte",
                "end__gt", "end__gte", "end__lt", "end__lte")

# Parameters that do not change which records match or their order.
PAGING_PARAMETERS = frozenset({"limit", "offset", "mode", "format"})
MAX_CACHED_QUERIES = 64

FAULT_KINDS = ("status", "html_502", "timeout", "truncated_json", "malformed_record", "throttle")

NOT_FOUND_DETAIL = "No Expedition matches the given query."
HTML_502_BODY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    """A response to send instead of the normal one, for the next `times` counted requests.

    kind: "status" (`status` with a JSON `{"detail": ...}` body, or an HTML page when
    `html` is set), "html_502" (a proxy's HTML 502 page), "timeout" (respond only after
    `delay` seconds, or when the server stops), "truncated_json" (the normal body cut in
    half), "malformed_record" (record `record_index` of the page gets `field` = `value`),
    "throttle" (a 429 as if the budget were spent; `retry_after` overrides the server's).
    A request that gets a fault does not count toward the server's `throttle_after`.
    """

    kind: str
    status: int = 503
    times: int = 1
    html: bool = False
    detail: str = "Service temporarily unavailable, try again later."
    delay: float = 3600.0
    record_index: int = 0
    field: str = "start"
    value: Any = 12345
    retry_after: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError(f"times must be at least 1, got {self.times}")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received; `query` keeps the last value of each parameter."""

    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    query_string: str = ""


class InvalidFilter(ValueError):
    """A filter value LL2 would reject with HTTP 400; `errors` is the response body."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors


@dataclass
class IndexedExpedition:
    """An expedition with the values that filters, search and ordering read, computed once."""

    payload: dict[str, Any]
    station_id: int
    start: datetime
    end: datetime | None
    astronaut_ids: frozenset[int]
    agency_ids: frozenset[int]
    haystack: str = field(repr=False, default="")


def search_terms(query: str) -> list[str]:
    """Split a `search=` value as DRF's SearchFilter does: NUL removed, commas and whitespace separate.

    NOTE: DRF 3.15 and later also keep a double-quoted phrase together as one term. Which
    DRF version LL2 runs is not known, so quotes are treated as ordinary characters.
    """
    return query.replace("\x00", "").replace(",", " ").split()


def searchable_texts(expedition: dict[str, Any]) -> list[str]:
    """Return the texts LL2's search reads: expedition name and crew names, agencies, nationalities."""
    texts = [expedition["name"]]
    for member in expedition.get("crew", []):
        astronaut = member["astronaut"]
        texts.append(astronaut["name"])
        agency = astronaut.get("agency")
        if agency:
            texts.append(agency.get("name") or "")
            texts.append(agency.get("abbrev") or "")
        for country in astronaut.get("nationality") or []:
            texts.append(country.get("nationality_name") or "")
    return texts


def parse_datetime(text: str) -> datetime:
    """Parse an LL2 date-time; naive values are UTC, as LL2 reads them."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def index_expedition(expedition: dict[str, Any]) -> IndexedExpedition:
    """Compute the filter, search and ordering values of one detailed payload."""
    crew = expedition.get("crew", [])
    return IndexedExpedition(
        payload=expedition,
        station_id=expedition["spacestation"]["id"],
        start=parse_datetime(expedition["start"]),
        end=parse_datetime(expedition["end"]) if expedition["end"] else None,
        astronaut_ids=frozenset(member["astronaut"]["id"] for member in crew),
        agency_ids=frozenset(member["astronaut"]["agency"]["id"]
                             for member in crew if member["astronaut"].get("agency")),
        # Terms never contain whitespace, so a newline cannot join two texts into a match.
        haystack="\n".join(searchable_texts(expedition)).casefold(),
    )


def positive_int(text: str | None, *, strict: bool, cutoff: int | None, default: int) -> int:
    """Parse a paging parameter as DRF does: invalid or negative values (zero too when strict) give `default`."""
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        return default
    if value < 0 or (strict and value == 0):
        return default
    return min(value, cutoff) if cutoff is not None else value


def replace_query_param(url: str, key: str, value: int | None) -> str:
    """Set (or with None remove) one query parameter, keeping the others, sorted as DRF sorts them."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


class ExpeditionQuery:
    """Filtering, searching and ordering of indexed expeditions, as LL2's list endpoint does them."""

    def __init__(self, expeditions: Iterable[IndexedExpedition]) -> None:
        # Without `ordering`, LL2 returns database order, which is not id order. Station and
        # start order stands in for it, so a client that forgets `ordering=` gets noticed.
        self.default_order = sorted(expeditions, key=lambda item: (item.station_id, item.start, item.payload["id"]))
        self._results: dict[tuple[tuple[str, str], ...], list[IndexedExpedition]] = {}

    def run(self, params: dict[str, str]) -> list[IndexedExpedition]:
        """Return the expeditions matching `params`, ordered; raises InvalidFilter.

        Results are cached per query, so paging through 100,000 expeditions does not filter
        and sort them again for every page. Callers must not modify the returned list.
        """
        key = tuple(sorted((name, value) for name, value in params.items() if name not in PAGING_PARAMETERS))
        cached = self._results.get(key)
        if cached is None:
            cached = self._compute(params)
            if len(self._results) >= MAX_CACHED_QUERIES:
                self._results.pop(next(iter(self._results)))
            self._results[key] = cached
        return cached

    def _compute(self, params: dict[str, str]) -> list[IndexedExpedition]:
        selected = self.default_order
        selected = self.apply_filters(selected, params)
        terms = [term.casefold() for term in search_terms(params.get("search", ""))]
        if terms:
            selected = [item for item in selected if all(term in item.haystack for term in terms)]
        return self.apply_ordering(selected, params.get("ordering", ""))

    @staticmethod
    def apply_filters(items: list[IndexedExpedition], params: dict[str, str]) -> list[IndexedExpedition]:
        errors: dict[str, list[str]] = {}
        if "name" in params:
            items = [item for item in items if item.payload["name"] == params["name"]]

        for parameter, attribute in INT_FILTERS.items():
            if parameter not in params or params[parameter] == "":
                continue
            try:
                wanted = int(params[parameter])
            except ValueError:
                errors[parameter] = ["Enter a whole number."]
                continue
            if attribute == "station_id":
                items = [item for item in items if item.station_id == wanted]
            else:
                items = [item for item in items if wanted in getattr(item, attribute)]

        for parameter in DATE_FILTERS:
            if parameter not in params or params[parameter] == "":
                continue
            try:
                bound = parse_datetime(params[parameter])
            except ValueError:
                errors[parameter] = ["Enter a valid date/time."]
                continue
            items = filter_by_date(items, parameter, bound)

        if errors:
            raise InvalidFilter(errors)
        return items

    @staticmethod
    def apply_ordering(items: list[IndexedExpedition], ordering: str) -> list[IndexedExpedition]:
        keys = []
        for term in ordering.split(","):
            term = term.strip()
            descending = term.startswith("-")
            name = term.lstrip("-")
            if name in ORDERING_FIELDS:
                keys.append((name, descending))

        ordered = list(items)
        # Stable sorts from the last key to the first give a multi-key order. Nulls sort as
        # PostgreSQL sorts them: last when ascending, first when descending.
        for name, descending in reversed(keys):
            ordered.sort(key=lambda item, name=name: ordering_key(item, name), reverse=descending)
        return ordered


def ordering_key(item: IndexedExpedition, name: str) -> tuple[bool, Any]:
    """Return a sort key for one ordering field; a null sorts after every value."""
    if name == "id":
        return (False, item.payload["id"])
    if name == "name":
        return (False, item.payload["name"])
    if name == "start":
        return (False, item.start)
    if item.end is None:
        return (True, datetime.min.replace(tzinfo=timezone.utc))
    return (False, item.end)


def filter_by_date(items: list[IndexedExpedition], parameter: str, bound: datetime) -> list[IndexedExpedition]:
    """Apply one `start__*`/`end__*` filter; a null end matches no end filter."""
    attribute, lookup = parameter.split("__")
    compare = {
        "gt": lambda value: value > bound,
        "gte": lambda value: value >= bound,
        "lt": lambda value: value < bound,
        "lte": lambda value: value <= bound,
    }[lookup]
    return [item for item in items
            if (value := getattr(item, attribute)) is not None and compare(value)]


class StandInLL2:
    """The stand-in LL2 server. Start it, point the client at `base_url`, stop it."""

    def __init__(self, dataset: LL2Dataset, *, throttle_after: int | None = None,
                 throttle_retry_after: int = 1800, send_retry_after_header: bool = True,
                 latency: float = 0.0) -> None:
        self.throttle_after = throttle_after
        self.throttle_retry_after = throttle_retry_after
        self.send_retry_after_header = send_retry_after_header
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self.counted_requests = 0
        self._faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.set_dataset(dataset)

    # Lifecycle and controls.

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port and set `base_url`."""
        app = web.Application(middlewares=[self._record_middleware])
        app.router.add_get(f"{API_PREFIX}/expeditions/", self._list_expeditions)
        app.router.add_get(API_PREFIX + "/expeditions/{expedition_id}/", self._get_expedition)
        app.router.add_get(f"{API_PREFIX}/space_stations/", self._list_stations)
        app.router.add_get(f"{API_PREFIX}/api-throttle/", self._api_throttle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}{API_PREFIX}"
        log.info("stand-in LL2 started at %s with %d expeditions", self.base_url, len(self.dataset.expeditions))

    async def stop(self) -> None:
        """Release hanging requests and stop listening."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            log.info("stand-in LL2 stopped after %d requests", len(self.requests))

    async def __aenter__(self) -> StandInLL2:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def set_dataset(self, dataset: LL2Dataset) -> None:
        """Serve `dataset` from the next request on."""
        self.dataset = dataset
        collector_was_enabled = gc.isenabled()
        # Indexing allocates many small objects; the cyclic collector would rescan them repeatedly.
        gc.disable()
        try:
            indexed = [index_expedition(expedition) for expedition in dataset.expeditions]
            self._by_id = {item.payload["id"]: item for item in indexed}
            self._query = ExpeditionQuery(indexed)
        finally:
            if collector_was_enabled:
                gc.enable()

    def inject_fault(self, fault: Fault) -> None:
        """Queue a copy of `fault`. Queued faults replace the responses to the next counted requests, in order."""
        self._faults.append(dataclasses.replace(fault))

    def pending_faults(self) -> list[Fault]:
        """Return the faults not yet used up."""
        return list(self._faults)

    def reset_throttle(self) -> None:
        """Forget the counted requests, as if the throttle window had passed."""
        self.counted_requests = 0

    def search_ids(self, term: str) -> list[int]:
        """Return the ids that `GET /expeditions/?search=term` lists over all pages, in order."""
        return [item.payload["id"] for item in self._query.run({"search": term})]

    # Request handling shared by the endpoints.

    @web.middleware
    async def _record_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(RecordedRequest(
            method=request.method,
            path=request.path,
            query={key: value for key, value in request.query.items()},
            headers=CIMultiDict(request.headers),
            query_string=request.query_string,
        ))
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return await handler(request)

    async def _counted(self, request: web.Request, build: Any) -> web.StreamResponse:
        """Respond on a throttled endpoint: a queued fault first, then the throttle, then `build()`."""
        fault = self._next_fault()
        if fault is not None:
            return await self._fault_response(request, fault, build)

        if self.throttle_after is not None and self.counted_requests >= self.throttle_after:
            log.info("throttling %s after %d requests", request.path_qs, self.counted_requests)
            return self._throttled(self.throttle_retry_after)
        self.counted_requests += 1
        return build()

    def _next_fault(self) -> Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times == 0:
            self._faults.pop(0)
        return fault

    async def _fault_response(self, request: web.Request, fault: Fault, build: Any) -> web.StreamResponse:
        log.info("responding with injected fault %s to %s", fault.kind, request.path_qs)
        if fault.kind == "status":
            if fault.html:
                return html_response(fault.status, f"<html><body><h1>{fault.status}</h1><p>{fault.detail}</p></body></html>")
            return json_response({"detail": fault.detail}, status=fault.status)
        if fault.kind == "html_502":
            return html_response(502, HTML_502_BODY)
        if fault.kind == "throttle":
            return self._throttled(fault.retry_after if fault.retry_after is not None else self.throttle_retry_after)
        if fault.kind == "timeout":
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=fault.delay)
            except asyncio.TimeoutError:
                pass
            return build()
        if fault.kind == "truncated_json":
            body = build().body
            return web.Response(body=body[: len(body) // 2], status=200,
                                headers={"Content-Type": "application/json"})
        return build(malformed=fault)

    def _throttled(self, retry_after: int) -> web.Response:
        headers = {"Retry-After": str(retry_after)} if self.send_retry_after_header else {}
        return json_response({"detail": f"Request was throttled. Expected available in {retry_after} seconds."},
                             status=429, headers=headers)

    # Endpoints.

    async def _list_expeditions(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        mode = params.get("mode", "normal")
        mode = mode if mode in MODES else "normal"

        # Built only once the throttle has let the request through: DRF throttles first,
        # so a request with an invalid filter still counts.
        def build(malformed: Fault | None = None) -> web.Response:
            try:
                matches = self._query.run(params)
            except InvalidFilter as error:
                return json_response(error.errors, status=400)
            page = paginate(str(request.url), params, matches)
            page["results"] = [to_mode(item.payload, mode) for item in page["results"]]
            if malformed is not None and page["results"]:
                page["results"] = break_record(page["results"], malformed)
            return json_response(page)

        return await self._counted(request, build)

    async def _get_expedition(self, request: web.Request) -> web.StreamResponse:
        try:
            item = self._by_id.get(int(request.match_info["expedition_id"]))
        except ValueError:
            item = None

        def build(malformed: Fault | None = None) -> web.Response:
            if item is None:
                return json_response({"detail": NOT_FOUND_DETAIL}, status=404)
            if malformed is not None:
                return json_response(break_record([item.payload], malformed)[0])
            return json_response(item.payload)

        return await self._counted(request, build)

    async def _list_stations(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        stations = sorted(self.dataset.stations, key=lambda station: station["id"])

        def build(malformed: Fault | None = None) -> web.Response:
            page = paginate(str(request.url), params, stations)
            if malformed is not None and page["results"]:
                page["results"] = break_record(page["results"], malformed)
            return json_response(page)

        return await self._counted(request, build)

    async def _api_throttle(self, request: web.Request) -> web.StreamResponse:
        limit = self.throttle_after if self.throttle_after is not None else FREE_TIER_REQUESTS_PER_HOUR
        throttled = self.throttle_after is not None and self.counted_requests >= self.throttle_after
        return json_response({
            "your_request_limit": limit,
            "limit_frequency_secs": 3600,
            "current_use": self.counted_requests,
            "next_use_secs": self.throttle_retry_after if throttled else 0,
            "ident": request.remote or "127.0.0.1",
        })

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return json_response({"detail": "Not found."}, status=404)


def paginate(url: str, params: dict[str, str], records: list[Any]) -> dict[str, Any]:
    """Cut one page out of `records` with DRF's LimitOffsetPagination rules and links."""
    limit = positive_int(params.get("limit"), strict=True, cutoff=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = positive_int(params.get("offset"), strict=False, cutoff=None, default=0)
    count = len(records)

    next_url = None
    if offset + limit < count:
        next_url = replace_query_param(replace_query_param(url, "limit", limit), "offset", offset + limit)

    previous_url = None
    if offset > 0:
        previous_url = replace_query_param(url, "limit", limit)
        previous_offset = offset - limit
        previous_url = replace_query_param(previous_url, "offset", previous_offset if previous_offset > 0 else None)

    return {"count": count, "next": next_url, "previous": previous_url,
            "results": records[offset: offset + limit]}


def break_record(records: list[dict[str, Any]], fault: Fault) -> list[dict[str, Any]]:
    """Return `records` with one record replaced by a copy whose `fault.field` is set to `fault.value`."""
    index = min(fault.record_index, len(records) - 1)
    broken = dict(records[index])
    broken[fault.field] = fault.value
    return records[:index] + [broken] + records[index + 1:]


def json_response(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Serialize like DRF's JSON renderer: compact, UTF-8, exact `application/json` type."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return web.Response(body=body, status=status, headers={**(headers or {}), "Content-Type": "application/json"})


def html_response(status: int, text: str) -> web.Response:
    """Return an HTML error page, as a proxy in front of LL2 would."""
    return web.Response(body=text.encode("utf-8"), status=status,
                        headers={"Content-Type": "text/html; charset=utf-8"})
