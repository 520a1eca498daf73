"""The announcer: turn change events into outbox messages and post each one exactly once.

One pass records the clock events (expeditions that started or ended), plans the deliveries
of new events to matching subscriptions, then sends every due outbox message. The scheduler
runs a pass right after each sync and on its own short interval, for retries and clock events.

Exactly once: each message is marked "sending" in the store before its request and carries a
nonce with `enforce_nonce`, which Discord de-duplicates. A process killed between the request
and `mark_sent` resends the same nonce after the restart, and Discord returns the message it
already created instead of posting a second one.
NOTE: Discord keeps nonces for a few minutes only, so a resend after a longer outage can post twice.

Channels are sent to concurrently with a bound, the messages of one channel in order, so one
slow or failing channel never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiohttp
import discord
from discord.http import handle_message_parameters

from bot.announcement_embeds import AnnouncementItem, build_announcement_embeds
from storage.outbox import OutboxMessage, OutboxStateError

if TYPE_CHECKING:
    from storage.database import ExpeditionStore

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 10
DISABLE_AFTER = 3
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 6 * 3600.0
# A message that fails this many times for a reason other than its channel is dropped.
MAX_ATTEMPTS = 12

UNKNOWN_CHANNEL = 10003
NO_ACCESS_CODES = frozenset({50001, 50013})
# Invalid form body and payload too large.
INVALID_BODY_STATUSES = frozenset({400, 413})

SYNC_FINISHED_KEY = "last_sync_finished_at"

T = TypeVar("T")


@dataclass(frozen=True)
class OutgoingMessage:
    """The request body of one announcement: content, embeds, allowed mentions and nonce."""

    nonce: str
    embeds: list[discord.Embed]
    content: str | None = None
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)


class MessageSender(Protocol):
    """Post a message to a channel by its id and return the id of the message Discord created."""

    def __call__(self, channel_id: int, message: OutgoingMessage) -> Awaitable[int]: ...


def discord_sender(http: discord.http.HTTPClient) -> MessageSender:
    """Return a sender that posts through discord.py's HTTP client by channel id.

    It needs no channel cache, because right after start-up the cache may still be empty. Only
    a REST 404 shows that a channel is gone. `handle_message_parameters` adds `enforce_nonce: true`
    to any message that has a nonce. discord.py waits out a 429 itself and raises after
    repeated 5xx answers.
    """

    async def send(channel_id: int, message: OutgoingMessage) -> int:
        with handle_message_parameters(
            content=message.content if message.content is not None else discord.utils.MISSING,
            embeds=message.embeds,
            allowed_mentions=message.allowed_mentions,
            nonce=message.nonce,
        ) as params:
            created = await http.send_message(channel_id, params=params)
        return int(created["id"])

    return send


def mention_for(role_id: int | None) -> tuple[str | None, discord.AllowedMentions]:
    """Return the content and allowed mentions that mention `role_id`, or no one when it is None."""
    if role_id is None:
        return None, discord.AllowedMentions.none()
    allowed = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role_id)],
                                      replied_user=False)
    return f"<@&{role_id}>", allowed


@dataclass
class AnnounceReport:
    """Outcome of one announce pass."""

    clock_events: int = 0
    planned: int = 0
    due: int = 0
    sent: int = 0
    retried: int = 0
    dropped: int = 0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Announcer:
    """Runs announce passes over one store, posting through `send`.

    The store should be the announcer's own connection, opened with `check_same_thread=False`:
    its calls run in worker threads, one at a time, while a sync may be writing through
    another connection. Passes never overlap: a pass started while another runs waits for it.
    """

    def __init__(
        self,
        store: ExpeditionStore,
        send: MessageSender,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        disable_after: int = DISABLE_AFTER,
        retry_base_seconds: float = RETRY_BASE_SECONDS,
        retry_max_seconds: float = RETRY_MAX_SECONDS,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.send = send
        self.concurrency = concurrency
        self.disable_after = disable_after
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self.clock = clock
        self.pass_lock = asyncio.Lock()
        self._store_lock = asyncio.Lock()

    async def run_pass(self, *, trigger: str = "interval") -> AnnounceReport:
        """Record clock events, plan deliveries and send every due message; return the counts.

        Errors of single messages are handled and logged here. An error of the store itself is
        raised for the scheduler to log.
        """
        async with self.pass_lock:
            log.info("announce pass started (%s)", trigger)
            report = await self._run_pass()
            log.info(
                "announce pass finished (%s): %d clock events, %d deliveries planned, %d messages due, "
                "%d sent, %d to retry, %d dropped",
                trigger, report.clock_events, report.planned, report.due, report.sent, report.retried,
                report.dropped,
            )
            return report

    async def _run_pass(self) -> AnnounceReport:
        now = self.clock()
        report = AnnounceReport()
        report.clock_events = len(await self._call(self.store.record_clock_events, now))
        report.planned = await self._call(self.store.plan_deliveries, now)

        due = await self._call(self.store.due_messages, now)
        report.due = len(due)
        if not due:
            return report

        by_channel: dict[int, list[OutboxMessage]] = {}
        for message in due:
            by_channel.setdefault(message.channel_id, []).append(message)

        limit = asyncio.Semaphore(self.concurrency)
        outcomes = await asyncio.gather(
            *(self._send_channel(channel_id, messages, limit) for channel_id, messages in by_channel.items())
        )
        for channel_outcomes in outcomes:
            report.sent += channel_outcomes.count("sent")
            report.retried += channel_outcomes.count("retry")
            report.dropped += channel_outcomes.count("dropped")
        return report

    async def _call(self, function: Callable[..., T], *args: Any, **keywords: Any) -> T:
        # One store call at a time: the connection is shared by this pass's channel tasks.
        async with self._store_lock:
            return await asyncio.to_thread(function, *args, **keywords)

    async def _send_channel(
        self, channel_id: int, messages: Sequence[OutboxMessage], limit: asyncio.Semaphore
    ) -> list[str]:
        """Send one channel's messages in order. After a failure the later ones wait with it."""
        outcomes: list[str] = []
        async with limit:
            for index, message in enumerate(messages):
                try:
                    outcome, retry_at = await self._deliver(message)
                except Exception:
                    # A bug or a store error for one message must not stop the other channels.
                    log.exception("announcing outbox message %d to channel %d failed unexpectedly",
                                  message.id, channel_id)
                    outcome, retry_at = await self._retry_after_error(message, "unexpected error")

                outcomes.append(outcome)
                if outcome == "gone":
                    outcomes[-1] = "dropped"
                    outcomes.extend(await self._drop_rest(messages[index + 1:], "channel no longer exists"))
                    break
                if outcome == "retry" and retry_at is not None:
                    outcomes.extend(await self._hold_rest(messages[index + 1:], retry_at))
                    break
        return outcomes

    async def _deliver(self, message: OutboxMessage) -> tuple[str, datetime | None]:
        subscription = await self._call(self.store.get_subscription, message.subscription_id)
        if subscription is None or subscription.disabled_reason is not None:
            reason = "subscription removed" if subscription is None else "subscription disabled"
            await self._call(self.store.mark_dropped, message.id, reason)
            log.info("dropped outbox message %d for channel %d: %s (subscription %d)",
                     message.id, message.channel_id, reason, message.subscription_id)
            return "dropped", None

        outgoing = await self._call(self._build_message, message)
        if outgoing is None:
            await self._call(self.store.mark_dropped, message.id, "events no longer stored")
            log.error("dropped outbox message %d for channel %d: none of events %s is stored",
                      message.id, message.channel_id, list(message.event_ids))
            return "dropped", None

        try:
            await self._call(self.store.mark_sending, message.id)
        except OutboxStateError as error:
            # Dropped meanwhile, e.g. by a subscription removed while this pass ran.
            log.info("outbox message %d for channel %d not sent: %s", message.id, message.channel_id, error)
            return "dropped", None

        try:
            discord_id = await self.send(message.channel_id, outgoing)
        except discord.HTTPException as error:
            return await self._handle_http_error(message, error)
        except discord.RateLimited as error:
            retry_at = self.clock() + timedelta(seconds=max(error.retry_after, 1.0))
            return await self._retry(message, f"rate limited for {error.retry_after:.0f} s", retry_at)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            return await self._retry_after_error(message, f"connection error: {error!r}")

        await self._call(self.store.mark_sent, message.id, discord_id, self.clock())
        if subscription.failure_count:
            await self._call(self.store.reset_delivery_failures, subscription.id)
        log.info("announced events %s to channel %d (outbox message %d, subscription %d, message %d)",
                 list(message.event_ids), message.channel_id, message.id, subscription.id, discord_id)
        return "sent", None

    def _build_message(self, message: OutboxMessage) -> OutgoingMessage | None:
        """Load the message's events and expeditions and build what to post (runs in a thread)."""
        items: list[AnnouncementItem] = []
        for event_id in message.event_ids:
            event = self.store.get_event(event_id)
            if event is None:
                log.warning("event %d of outbox message %d is not stored; left out", event_id, message.id)
                continue
            items.append((event, self.store.get_expedition(event.expedition_id)))
        if not items:
            return None

        embeds = build_announcement_embeds(items, synced_at=self._synced_at(), now=self.clock())
        content, allowed_mentions = mention_for(message.mention_role_id)
        return OutgoingMessage(nonce=message.nonce, embeds=embeds, content=content,
                               allowed_mentions=allowed_mentions)

    def _synced_at(self) -> datetime | None:
        saved = self.store.get_state(SYNC_FINISHED_KEY)
        try:
            return datetime.fromisoformat(saved) if saved else None
        except ValueError:
            return None

    async def _handle_http_error(
        self, message: OutboxMessage, error: discord.HTTPException
    ) -> tuple[str, datetime | None]:
        status, code = error.status, error.code
        ids = f"outbox message {message.id}, channel {message.channel_id}, subscription {message.subscription_id}"

        if status == 404 and code == UNKNOWN_CHANNEL:
            removed = await self._call(self.store.remove_channel_subscriptions, message.channel_id)
            await self._call(self.store.mark_dropped, message.id, "channel no longer exists (404 10003)")
            log.warning("channel %d no longer exists: removed its subscriptions %s and dropped outbox message %d",
                        message.channel_id, removed, message.id)
            return "gone", None

        if status == 403:
            reason = f"missing access or permissions in the channel (403 {code})"
            if code not in NO_ACCESS_CODES:
                reason = f"refused by Discord (403 {code}: {error.text[:100]})"
            updated = await self._call(
                self.store.record_delivery_failure, message.subscription_id, reason, disable_after=self.disable_after
            )
            if updated.disabled_reason is not None:
                await self._call(self.store.mark_dropped, message.id, f"subscription disabled: {reason}")
                log.error("%s: %s; subscription disabled after %d failures, message dropped",
                          ids, reason, updated.failure_count)
                return "dropped", None
            log.warning("%s: %s (failure %d of %d)", ids, reason, updated.failure_count, self.disable_after)
            return await self._retry(message, reason, self._backoff(message))

        if status in INVALID_BODY_STATUSES:
            # Discord rejects the same body again, so a retry cannot help.
            reason = f"rejected by Discord ({status} {code}: {error.text[:200]})"
            await self._call(self.store.mark_dropped, message.id, reason)
            log.error("%s: %s; message dropped", ids, reason)
            return "dropped", None

        # 5xx after discord.py's own retries, a 429 it did not wait out, or an unexpected status
        # such as a 401 while the token is being replaced: try again later.
        log.warning("%s: Discord returned %d (code %s): %s", ids, status, code, error.text[:200])
        return await self._retry_after_error(message, f"Discord error {status} (code {code})")

    async def _retry_after_error(self, message: OutboxMessage, reason: str) -> tuple[str, datetime | None]:
        if message.attempts + 1 >= MAX_ATTEMPTS:
            await self._call(self.store.mark_dropped, message.id, f"gave up after {MAX_ATTEMPTS} attempts: {reason}")
            log.error("dropped outbox message %d for channel %d after %d attempts: %s",
                      message.id, message.channel_id, MAX_ATTEMPTS, reason)
            return "dropped", None
        return await self._retry(message, reason, self._backoff(message))

    async def _retry(self, message: OutboxMessage, reason: str, retry_at: datetime) -> tuple[str, datetime | None]:
        await self._call(self.store.mark_retry, message.id, reason, retry_at)
        log.warning("outbox message %d for channel %d (subscription %d) retries after %s: %s",
                    message.id, message.channel_id, message.subscription_id, retry_at.isoformat(), reason)
        return "retry", retry_at

    def _backoff(self, message: OutboxMessage) -> datetime:
        """Return when to try again: the base delay doubled per attempt already made, capped."""
        exponent = max(message.attempts, 0)
        delay = min(self.retry_base_seconds * 2 ** min(exponent, 20), self.retry_max_seconds)
        return self.clock() + timedelta(seconds=delay)

    async def _drop_rest(self, messages: Sequence[OutboxMessage], reason: str) -> list[str]:
        for message in messages:
            await self._call(self.store.mark_dropped, message.id, reason)
            log.info("dropped outbox message %d for channel %d: %s", message.id, message.channel_id, reason)
        return ["dropped"] * len(messages)

    async def _hold_rest(self, messages: Sequence[OutboxMessage], retry_at: datetime) -> list[str]:
        # Later messages of a channel wait for the failed one, so the channel reads in order.
        for message in messages:
            await self._call(self.store.mark_retry, message.id, "waiting for an earlier message", retry_at)
        return ["retry"] * len(messages)
