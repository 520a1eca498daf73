"""Station subscriptions: add, update, remove, list, and failure counting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from storage.subscriptions import ALL_STATIONS
from tests.storage.conftest import RecordFactory

GUILD = 1001
OTHER_GUILD = 1002
CHANNEL = 2001
OTHER_CHANNEL = 2002
MODERATOR = 3001
ISS = 4
TIANGONG = 18
CREATED_AT = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)


def add(store: ExpeditionStore, *, channel_id: int = CHANNEL, station_id: int | None = ISS,
        events: tuple[str, ...] = EVENT_KINDS, role: int | None = None, guild_id: int = GUILD,
        now: datetime = CREATED_AT):
    return store.add_subscription(
        guild_id=guild_id, channel_id=channel_id, station_id=station_id, events=events,
        mention_role_id=role, created_by=MODERATOR, now=now,
    )


@pytest.fixture
def mirrored(store: ExpeditionStore, factory: RecordFactory) -> ExpeditionStore:
    store.save_expeditions([
        factory.expedition(station=factory.station(ISS, "International Space Station")),
        factory.expedition(station=factory.station(TIANGONG, "Tiangong space station")),
    ])
    return store


def test_add_creates_subscription(mirrored: ExpeditionStore) -> None:
    subscription, created = add(mirrored, events=("ended", "crew_changed"), role=555)

    assert created
    assert subscription.guild_id == GUILD
    assert subscription.channel_id == CHANNEL
    assert subscription.station_id == ISS
    assert subscription.station_name == "International Space Station"
    assert subscription.events == ("crew_changed", "ended")
    assert subscription.mention_role_id == 555
    assert subscription.created_at == CREATED_AT
    assert subscription.created_by == MODERATOR
    assert subscription.failure_count == 0
    assert subscription.disabled_reason is None
    assert subscription.last_error is None
    assert mirrored.get_subscription(subscription.id) == subscription


def test_all_stations_has_no_station(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored, station_id=ALL_STATIONS)

    assert subscription.station_id is None
    assert subscription.station_name is None


def test_add_again_updates(mirrored: ExpeditionStore) -> None:
    first, _ = add(mirrored, events=("ended",), role=None)

    second, created = add(mirrored, events=("started", "ended"), role=777, now=CREATED_AT + timedelta(days=1))

    assert not created
    assert second.id == first.id
    assert second.events == ("started", "ended")
    assert second.mention_role_id == 777
    assert second.created_at == CREATED_AT
    assert mirrored.list_subscriptions(GUILD) == [second]


def test_one_per_channel_and_station(mirrored: ExpeditionStore) -> None:
    iss, _ = add(mirrored, station_id=ISS)
    every, _ = add(mirrored, station_id=ALL_STATIONS)
    every_again, created = add(mirrored, station_id=ALL_STATIONS)
    elsewhere, _ = add(mirrored, channel_id=OTHER_CHANNEL, station_id=ISS)

    assert not created
    assert every_again.id == every.id
    assert len({iss.id, every.id, elsewhere.id}) == 3
    assert len(mirrored.list_subscriptions(GUILD)) == 3


@pytest.mark.parametrize("events", [("launched",), (), ("ended", "Ended")])
def test_invalid_events_rejected(mirrored: ExpeditionStore, events: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="event kind"):
        add(mirrored, events=events)

    assert mirrored.list_subscriptions(GUILD) == []


def test_remove_subscription(mirrored: ExpeditionStore) -> None:
    add(mirrored, station_id=ISS)
    kept, _ = add(mirrored, station_id=ALL_STATIONS)

    assert mirrored.remove_subscription(guild_id=GUILD, channel_id=CHANNEL, station_id=ISS)
    assert not mirrored.remove_subscription(guild_id=GUILD, channel_id=CHANNEL, station_id=ISS)
    assert mirrored.list_subscriptions(GUILD) == [kept]


def test_remove_needs_same_guild(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored)

    assert not mirrored.remove_subscription(guild_id=OTHER_GUILD, channel_id=CHANNEL, station_id=ISS)
    assert mirrored.get_subscription(subscription.id) == subscription


def test_list_only_own_guild_in_order(mirrored: ExpeditionStore) -> None:
    tiangong, _ = add(mirrored, station_id=TIANGONG)
    iss, _ = add(mirrored, station_id=ISS)
    every, _ = add(mirrored, station_id=ALL_STATIONS)
    other_channel, _ = add(mirrored, channel_id=OTHER_CHANNEL)
    add(mirrored, guild_id=OTHER_GUILD, channel_id=9999)

    listed = [subscription.id for subscription in mirrored.list_subscriptions(GUILD)]

    assert listed == [every.id, iss.id, tiangong.id, other_channel.id]
    assert mirrored.list_subscriptions(5) == []


def test_disabled_after_three_failures(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored)

    first = mirrored.record_delivery_failure(subscription.id, "403 Missing Access")
    second = mirrored.record_delivery_failure(subscription.id, "403 Missing Permissions")
    third = mirrored.record_delivery_failure(subscription.id, "403 Missing Access")

    assert (first.failure_count, first.disabled_reason) == (1, None)
    assert (second.failure_count, second.disabled_reason) == (2, None)
    assert second.last_error == "403 Missing Permissions"
    assert third.failure_count == 3
    assert third.disabled_reason == "403 Missing Access"
    assert mirrored.get_subscription(subscription.id) == third


def test_disable_after_is_configurable(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored)

    failed = mirrored.record_delivery_failure(subscription.id, "403 Missing Access", disable_after=1)

    assert failed.disabled_reason == "403 Missing Access"


def test_add_again_reenables(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored)
    for _ in range(3):
        mirrored.record_delivery_failure(subscription.id, "403 Missing Access")

    again, created = add(mirrored)

    assert not created
    assert again.disabled_reason is None
    assert again.failure_count == 0
    assert again.last_error is None


def test_reset_failures(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored)
    mirrored.record_delivery_failure(subscription.id, "503 Service Unavailable")

    mirrored.reset_delivery_failures(subscription.id)

    reset = mirrored.get_subscription(subscription.id)
    assert reset is not None
    assert reset.failure_count == 0
    assert reset.last_error is None


def test_reset_without_failures_writes_nothing(mirrored: ExpeditionStore) -> None:
    subscription, _ = add(mirrored)
    changes_before = mirrored.db.conn.total_changes

    mirrored.reset_delivery_failures(subscription.id)

    assert mirrored.db.conn.total_changes == changes_before


def test_failure_of_unknown_subscription(mirrored: ExpeditionStore) -> None:
    with pytest.raises(LookupError, match="not found"):
        mirrored.record_delivery_failure(424242, "403 Missing Access")


def test_channel_removal(mirrored: ExpeditionStore) -> None:
    add(mirrored, station_id=ISS)
    add(mirrored, station_id=ALL_STATIONS)
    other, _ = add(mirrored, channel_id=OTHER_CHANNEL)

    removed = mirrored.remove_channel_subscriptions(CHANNEL)

    assert removed == 2
    assert mirrored.list_subscriptions(GUILD) == [other]
    assert mirrored.remove_channel_subscriptions(CHANNEL) == 0


def test_subscriptions_survive_reopen(database_path: Path) -> None:
    store = ExpeditionStore.open(database_path)
    subscription, _ = add(store, station_id=ALL_STATIONS)
    store.close()

    reopened = ExpeditionStore.open(database_path)
    assert reopened.get_subscription(subscription.id) == subscription
    reopened.close()
