"""The outbox: planning deliveries, grouping them into messages, and surviving a crash mid-send."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from storage.outbox import MAX_NONCE_LENGTH, OutboxStateError
from storage.records import Expedition
from tests.storage.conftest import RecordFactory

GUILD = 1001
ISS_CHANNEL = 2001
ALL_CHANNEL = 2002
TIANGONG_CHANNEL = 2003
MODERATOR = 3001
ISS = 4
TIANGONG = 18

SUBSCRIBED_AT = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)
DETECTED_AT = datetime(2026, 7, 24, 6, 30, tzinfo=timezone.utc)
PLANNED_AT = DETECTED_AT + timedelta(minutes=1)


def subscribe(store: ExpeditionStore, channel_id: int, station_id: int | None, *,
              events: tuple[str, ...] = EVENT_KINDS, role: int | None = None,
              now: datetime = SUBSCRIBED_AT) -> int:
    subscription, _ = store.add_subscription(
        guild_id=GUILD, channel_id=channel_id, station_id=station_id, events=events,
        mention_role_id=role, created_by=MODERATOR, now=now,
    )
    return subscription.id


class Mirror:
    """A baselined mirror with one on-going ISS expedition and one Tiangong expedition."""

    def __init__(self, store: ExpeditionStore, factory: RecordFactory) -> None:
        self.store = store
        self.factory = factory
        self.iss = factory.expedition(name="Expedition 74", end=None,
                                      station=factory.station(ISS, "International Space Station"))
        self.tiangong = factory.expedition(name="Shenzhou 21", end=None,
                                           station=factory.station(TIANGONG, "Tiangong space station"))
        store.save_expeditions([self.iss, self.tiangong], now=SUBSCRIBED_AT - timedelta(days=1))
        store.mark_baseline(SUBSCRIBED_AT - timedelta(days=1))

    def end(self, expedition: Expedition, *, now: datetime = DETECTED_AT) -> int:
        """Give the expedition an end date and return the id of the dates_changed event."""
        ended = dataclasses.replace(expedition, end=datetime(2026, 7, 26, 7, 2, tzinfo=timezone.utc))
        report = self.store.save_expeditions([ended], now=now)
        assert len(report.events) == 1
        return report.events[0]

    def add_iss_expeditions(self, count: int) -> list[int]:
        station = self.iss.station
        report = self.store.save_expeditions(
            [self.factory.expedition(station=station) for _ in range(count)], now=DETECTED_AT
        )
        return list(report.events)


@pytest.fixture
def mirror(store: ExpeditionStore, factory: RecordFactory) -> Mirror:
    return Mirror(store, factory)


def messages_by_channel(store: ExpeditionStore, now: datetime = PLANNED_AT) -> dict[int, list[tuple[int, ...]]]:
    grouped: dict[int, list[tuple[int, ...]]] = {}
    for message in store.due_messages(now):
        grouped.setdefault(message.channel_id, []).append(message.event_ids)
    return grouped


def test_plan_matches_station_and_all(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    subscribe(mirror.store, ALL_CHANNEL, None)
    subscribe(mirror.store, TIANGONG_CHANNEL, TIANGONG)
    event_id = mirror.end(mirror.iss)

    planned = mirror.store.plan_deliveries(PLANNED_AT)

    assert planned == 2
    assert messages_by_channel(mirror.store) == {ISS_CHANNEL: [(event_id,)], ALL_CHANNEL: [(event_id,)]}


def test_plan_matches_kind(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS, events=("crew_changed",))
    subscribe(mirror.store, ALL_CHANNEL, None, events=("dates_changed",))
    event_id = mirror.end(mirror.iss)

    mirror.store.plan_deliveries(PLANNED_AT)

    assert messages_by_channel(mirror.store) == {ALL_CHANNEL: [(event_id,)]}


def test_plan_skips_later_subscriptions(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS, now=DETECTED_AT)
    subscribe(mirror.store, ALL_CHANNEL, None, now=DETECTED_AT + timedelta(seconds=1))
    event_id = mirror.end(mirror.iss)

    mirror.store.plan_deliveries(PLANNED_AT)

    assert messages_by_channel(mirror.store) == {ISS_CHANNEL: [(event_id,)]}


def test_plan_is_idempotent(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    first = mirror.store.plan_deliveries(PLANNED_AT)
    due_before = mirror.store.due_messages(PLANNED_AT)
    changes_before = mirror.store.db.conn.total_changes

    second = mirror.store.plan_deliveries(PLANNED_AT + timedelta(minutes=1))

    assert first == 1
    assert second == 0
    assert mirror.store.db.conn.total_changes == changes_before
    assert mirror.store.due_messages(PLANNED_AT) == due_before


def test_later_events_planned_separately(mirror: Mirror) -> None:
    subscribe(mirror.store, ALL_CHANNEL, None)
    first_event = mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    second_event = mirror.end(mirror.tiangong, now=PLANNED_AT)

    planned = mirror.store.plan_deliveries(PLANNED_AT + timedelta(minutes=1))

    assert planned == 1
    assert messages_by_channel(mirror.store, PLANNED_AT + timedelta(minutes=1)) == {
        ALL_CHANNEL: [(first_event,), (second_event,)]
    }


def test_one_delivery_per_channel(mirror: Mirror) -> None:
    iss_subscription = subscribe(mirror.store, ISS_CHANNEL, ISS, role=111)
    subscribe(mirror.store, ISS_CHANNEL, None, role=222)
    event_id = mirror.end(mirror.iss)

    planned = mirror.store.plan_deliveries(PLANNED_AT)

    due = mirror.store.due_messages(PLANNED_AT)
    assert planned == 1
    assert [message.event_ids for message in due] == [(event_id,)]
    assert due[0].subscription_id == iss_subscription
    assert due[0].mention_role_id == 111


def test_disabled_subscription_gets_nothing(mirror: Mirror) -> None:
    disabled = subscribe(mirror.store, ISS_CHANNEL, ISS)
    subscribe(mirror.store, ALL_CHANNEL, None)
    for _ in range(3):
        mirror.store.record_delivery_failure(disabled, "403 Missing Access")
    event_id = mirror.end(mirror.iss)

    mirror.store.plan_deliveries(PLANNED_AT)

    assert messages_by_channel(mirror.store) == {ALL_CHANNEL: [(event_id,)]}


def test_groups_at_most_ten_events(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    subscribe(mirror.store, TIANGONG_CHANNEL, TIANGONG)
    event_ids = mirror.add_iss_expeditions(23)

    planned = mirror.store.plan_deliveries(PLANNED_AT)

    grouped = messages_by_channel(mirror.store)
    assert planned == 23
    assert list(grouped) == [ISS_CHANNEL]
    assert [len(message) for message in grouped[ISS_CHANNEL]] == [10, 10, 3]
    assert [event_id for message in grouped[ISS_CHANNEL] for event_id in message] == event_ids


def test_clock_events_are_planned(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS, events=("started",))
    upcoming = mirror.factory.expedition(station=mirror.iss.station, start=DETECTED_AT + timedelta(hours=1))
    mirror.store.save_expeditions([upcoming], now=DETECTED_AT)

    started = mirror.store.record_clock_events(DETECTED_AT + timedelta(hours=2))
    mirror.store.plan_deliveries(DETECTED_AT + timedelta(hours=2))

    assert messages_by_channel(mirror.store, DETECTED_AT + timedelta(hours=2)) == {ISS_CHANNEL: [tuple(started)]}


def test_nonce_short_stable_and_distinct(mirror: Mirror, database_path: Path) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    subscribe(mirror.store, ALL_CHANNEL, None)
    mirror.add_iss_expeditions(12)
    mirror.store.plan_deliveries(PLANNED_AT)
    nonces = {message.id: message.nonce for message in mirror.store.due_messages(PLANNED_AT)}
    mirror.store.close()

    reopened = ExpeditionStore.open(database_path)
    reopened_nonces = {message.id: message.nonce for message in reopened.due_messages(PLANNED_AT)}
    reopened.close()

    assert len(nonces) == 4
    assert reopened_nonces == nonces
    assert len(set(nonces.values())) == len(nonces)
    assert all(0 < len(nonce) <= MAX_NONCE_LENGTH for nonce in nonces.values())


def test_crash_between_sending_and_sent(mirror: Mirror, database_path: Path) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    [message] = mirror.store.due_messages(PLANNED_AT)
    mirror.store.mark_sending(message.id)
    # The process dies here: the request may or may not have reached Discord.
    mirror.store.close()

    restarted = ExpeditionStore.open(database_path)
    [interrupted] = restarted.due_messages(PLANNED_AT + timedelta(seconds=5))

    assert interrupted.id == message.id
    assert interrupted.state == "sending"
    assert interrupted.attempts == 1
    assert interrupted.nonce == message.nonce

    restarted.mark_sending(interrupted.id)
    restarted.mark_sent(interrupted.id, 987654321, PLANNED_AT + timedelta(seconds=6))

    assert restarted.due_messages(PLANNED_AT + timedelta(days=1)) == []
    assert restarted.outbox_counts() == {"pending": 0, "sending": 0, "sent": 1, "dropped": 0}
    restarted.close()


def test_sending_counts_attempts(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    [message] = mirror.store.due_messages(PLANNED_AT)

    mirror.store.mark_sending(message.id)

    [sending] = mirror.store.due_messages(PLANNED_AT)
    assert message.state == "pending"
    assert message.attempts == 0
    assert sending.state == "sending"
    assert sending.attempts == 1
    assert mirror.store.outbox_counts()["sending"] == 1


def test_retry_waits_until_due(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    [message] = mirror.store.due_messages(PLANNED_AT)
    mirror.store.mark_sending(message.id)
    retry_at = PLANNED_AT + timedelta(minutes=5)

    mirror.store.mark_retry(message.id, "503 Service Unavailable", retry_at)

    assert mirror.store.due_messages(retry_at - timedelta(seconds=1)) == []
    [retried] = mirror.store.due_messages(retry_at)
    assert retried.state == "pending"
    assert retried.next_attempt_at == retry_at
    assert retried.nonce == message.nonce


def test_dropped_is_never_sent(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    [message] = mirror.store.due_messages(PLANNED_AT)

    mirror.store.mark_dropped(message.id, "channel removed")
    mirror.store.mark_retry(message.id, "503 Service Unavailable", PLANNED_AT)

    assert mirror.store.due_messages(PLANNED_AT + timedelta(days=1)) == []
    assert mirror.store.outbox_counts()["dropped"] == 1
    with pytest.raises(OutboxStateError, match="dropped"):
        mirror.store.mark_sending(message.id)


def test_sent_is_not_resent(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    [message] = mirror.store.due_messages(PLANNED_AT)
    mirror.store.mark_sending(message.id)
    mirror.store.mark_sent(message.id, 1234, PLANNED_AT)

    mirror.store.mark_retry(message.id, "late 503", PLANNED_AT)
    mirror.store.mark_dropped(message.id, "late drop")

    assert mirror.store.outbox_counts()["sent"] == 1
    with pytest.raises(OutboxStateError, match="sent"):
        mirror.store.mark_sending(message.id)


def test_unknown_message_rejected(store: ExpeditionStore) -> None:
    with pytest.raises(LookupError, match="not found"):
        store.mark_sending(31337)


def test_removal_drops_unsent(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    subscribe(mirror.store, ALL_CHANNEL, None)
    subscribe(mirror.store, TIANGONG_CHANNEL, None)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)

    mirror.store.remove_subscription(guild_id=GUILD, channel_id=ISS_CHANNEL, station_id=ISS)
    mirror.store.remove_channel_subscriptions(ALL_CHANNEL)

    assert list(messages_by_channel(mirror.store)) == [TIANGONG_CHANNEL]
    assert mirror.store.outbox_counts() == {"pending": 1, "sending": 0, "sent": 0, "dropped": 2}


def test_disabling_drops_unsent(mirror: Mirror) -> None:
    failing = subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.end(mirror.iss)
    mirror.store.plan_deliveries(PLANNED_AT)
    [message] = mirror.store.due_messages(PLANNED_AT)
    mirror.store.mark_sending(message.id)

    for _ in range(3):
        mirror.store.record_delivery_failure(failing, "403 Missing Access")

    assert mirror.store.due_messages(PLANNED_AT + timedelta(days=1)) == []
    assert mirror.store.outbox_counts()["dropped"] == 1


def test_due_limit_oldest_first(mirror: Mirror) -> None:
    subscribe(mirror.store, ISS_CHANNEL, ISS)
    mirror.add_iss_expeditions(25)
    mirror.store.plan_deliveries(PLANNED_AT)
    every = mirror.store.due_messages(PLANNED_AT)

    first_two = mirror.store.due_messages(PLANNED_AT, limit=2)

    assert [message.id for message in first_two] == sorted(message.id for message in every)[:2]
