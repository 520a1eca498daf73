"""Unit tests of the `/subscription` helpers: events parsing, permission wording, choices and messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import discord
import pytest
from discord.ext import commands

from bot.commands.subscription import (
    ALL_STATIONS,
    CHOICE_NAME_LIMIT,
    CHOICE_VALUE_LIMIT,
    MESSAGE_LIMIT,
    Rejection,
    StationChoice,
    SubscriptionCog,
    added_message,
    chosen_subscription_id,
    describe_events,
    event_choices,
    list_message,
    missing_permissions,
    missing_permissions_message,
    parse_events,
    resolve_station,
    setup,
    station_choices,
)
from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from storage.subscriptions import Subscription
from tests.bot.commands.conftest import ISS, TIANGONG

CREATED_AT = datetime(2026, 7, 23, 10, 0, tzinfo=timezone.utc)


def make_subscription(**changes: object) -> Subscription:
    subscription = Subscription(
        id=1,
        guild_id=900,
        channel_id=901,
        station_id=ISS.id,
        station_name=ISS.name,
        events=EVENT_KINDS,
        mention_role_id=None,
        created_at=CREATED_AT,
        created_by=902,
        failure_count=0,
        disabled_reason=None,
        last_error=None,
    )
    return replace(subscription, **changes)


# Events


@pytest.mark.parametrize("text", [None, "", "  ", " , ,", "all", "All events", "crew change, all"])
def test_parse_events_all(text: str | None) -> None:
    assert parse_events(text) == EVENT_KINDS


def test_parse_events_labels_and_keys() -> None:
    parsed = parse_events("expedition ENDED, crew_changed,  New expedition ,ended")

    assert parsed == ("new_expedition", "crew_changed", "ended")


def test_parse_events_single_key() -> None:
    assert parse_events("patch_or_spacewalk_added") == ("patch_or_spacewalk_added",)


def test_parse_events_unknown_names_it() -> None:
    with pytest.raises(Rejection) as caught:
        parse_events("Crew change, launches @everyone")

    message = caught.value.message
    assert "launches" in message
    assert "@everyone" not in message
    assert "Crew change" in message
    assert "Patch or spacewalk added" in message


def test_describe_events() -> None:
    assert describe_events(EVENT_KINDS) == "all events"
    assert describe_events(("crew_changed", "ended")) == "Crew change and Expedition ended"


def test_event_choices_empty_offers_all_first() -> None:
    choices = event_choices("")

    assert (choices[0].name, choices[0].value) == ("All events", "all")
    assert [choice.value for choice in choices[1:]] == list(EVENT_KINDS)


def test_event_choices_filter_by_typed_text() -> None:
    choices = event_choices("crew")

    assert [(choice.name, choice.value) for choice in choices] == [("Crew change", "crew_changed")]


def test_event_choices_continue_list() -> None:
    choices = event_choices("Crew change, Dates changed, exp")

    values = [choice.value for choice in choices]
    assert values == [
        "crew_changed,dates_changed,new_expedition",
        "crew_changed,dates_changed,started",
        "crew_changed,dates_changed,ended",
    ]
    assert choices[0].name == "Crew change, Dates changed, New expedition"


def test_event_choice_values_parse_back() -> None:
    for choice in event_choices("new expedition, crew_changed, dates changed, started, ended,"):
        assert parse_events(choice.value) == EVENT_KINDS
        assert len(choice.name) <= CHOICE_NAME_LIMIT
        assert len(choice.value) <= CHOICE_VALUE_LIMIT


def test_event_choices_none_for_nonsense() -> None:
    assert event_choices("zzz") == []


# Permissions


def test_missing_embed_links_in_text_channel() -> None:
    permissions = discord.Permissions(view_channel=True, send_messages=True)

    assert missing_permissions(permissions, is_thread=False) == ["embed_links"]


def test_thread_needs_send_in_threads_only() -> None:
    permissions = discord.Permissions(view_channel=True, embed_links=True, send_messages_in_threads=True)

    assert missing_permissions(permissions, is_thread=True) == []
    assert missing_permissions(permissions, is_thread=False) == ["send_messages"]


def test_thread_without_send_in_threads() -> None:
    permissions = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)

    assert missing_permissions(permissions, is_thread=True) == ["send_messages_in_threads"]


def test_missing_permissions_named_in_words() -> None:
    names = missing_permissions(discord.Permissions.none(), is_thread=False)

    message = missing_permissions_message(123, names)

    assert "<#123>" in message
    assert "the View Channel, Send Messages and Embed Links permissions" in message
    assert "grant them" in message


def test_missing_thread_permission_named() -> None:
    message = missing_permissions_message(5, ["send_messages_in_threads"])

    assert "the Send Messages in Threads permission " in message
    assert "grant it" in message


# Stations


def test_station_choices_all_first(store: ExpeditionStore) -> None:
    choices = station_choices(store, "tiang")

    assert (choices[0].name, choices[0].value) == ("All stations", "all")
    assert (choices[1].name, choices[1].value) == (TIANGONG.name, str(TIANGONG.id))


def test_station_choices_empty_lists_stations(store: ExpeditionStore) -> None:
    values = [choice.value for choice in station_choices(store, "")]

    assert values == ["all", str(ISS.id), str(TIANGONG.id)]


@pytest.mark.parametrize("value", ["all", " All stations ", "ALL"])
def test_resolve_all_stations(store: ExpeditionStore, value: str) -> None:
    assert resolve_station(store, value) == ALL_STATIONS


def test_resolve_station_by_id_and_name(store: ExpeditionStore) -> None:
    assert resolve_station(store, str(ISS.id)).name == ISS.name
    assert resolve_station(store, "tiangong").station_id == TIANGONG.id


def test_resolve_station_rejects_guesses(store: ExpeditionStore) -> None:
    # A misspelling may be fine for reading, but a subscription must not guess its station.
    assert resolve_station(store, "Nopestation") is None
    assert resolve_station(store, "Internatonal Spase Statoin") is None
    # "station" is a word of both stations' names, so neither is certain.
    assert resolve_station(store, "station") is None


def test_resolve_station_unknown(store: ExpeditionStore) -> None:
    assert resolve_station(store, "qqqzzz") is None
    assert resolve_station(store, "999999") is None
    assert resolve_station(store, "\u200b") is None


# Answers


def test_added_message_lists_what_was_saved() -> None:
    subscription = make_subscription(events=("crew_changed",), mention_role_id=77)
    station = StationChoice(station_id=ISS.id, name=ISS.name)

    message = added_message(subscription, created=True, station=station, channel_id=901)

    assert message.startswith(f"Subscribed <#901> to **{ISS.name}**.")
    assert "Events: Crew change." in message
    assert "Mentions: <@&77>." in message
    assert "from now on" in message


def test_added_message_update() -> None:
    message = added_message(make_subscription(), created=False, station=ALL_STATIONS, channel_id=901)

    assert message.startswith("Updated the subscription of <#901> to **All stations**.")
    assert "Events: all events." in message
    assert "Mentions: no role." in message


def test_list_message_empty() -> None:
    assert "no subscriptions" in list_message([])


def test_list_message_shows_each_subscription() -> None:
    subscriptions = [
        make_subscription(id=1, station_id=None, station_name=None, mention_role_id=55),
        make_subscription(id=2, channel_id=903, station_name="Mir **bold** @everyone", events=("ended",)),
    ]

    lines = list_message(subscriptions).splitlines()

    assert lines[0] == "Subscriptions in this server (2):"
    assert lines[1] == "• **All stations** in <#901>: all events, mentions <@&55>"
    assert lines[2].startswith("• **Mir \\*\\*bold\\*\\* ")
    assert "@everyone" not in lines[2]
    assert lines[2].endswith("in <#903>: Expedition ended")


def test_list_message_failure_and_disabled_reason() -> None:
    failing = make_subscription(id=1, failure_count=1, last_error="403 Missing Permissions")
    disabled = make_subscription(id=2, failure_count=3, last_error="403", disabled_reason="403 Missing Access")

    message = list_message([failing, disabled])

    assert "Last delivery failed: 403 Missing Permissions." in message
    assert "Disabled: 403 Missing Access." in message
    assert "Last delivery failed: 403." not in message


def test_list_message_fits_discord_limit() -> None:
    subscriptions = [make_subscription(id=number, channel_id=10_000 + number) for number in range(100)]

    message = list_message(subscriptions)

    assert len(message) <= MESSAGE_LIMIT
    assert message.endswith(" more.")
    assert "(100)" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("subscription:12", 12), (" subscription:7 ", 7), ("12", None), ("subscription:", None),
     ("subscription:x1", None), ("subscription:" + "9" * 19, None)],
)
def test_chosen_subscription_id(value: str, expected: int | None) -> None:
    assert chosen_subscription_id(value) == expected


# The command group as Discord receives it


async def test_group_hidden_from_members_and_guild_only(store: ExpeditionStore) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    bot.store = store  # type: ignore[attr-defined]
    await setup(bot)

    (payload,) = [command.to_dict(bot.tree) for command in bot.tree.get_commands()]

    assert payload["name"] == "subscription"
    assert int(payload["default_member_permissions"]) == discord.Permissions(manage_channels=True).value
    assert payload["contexts"] == [0]
    assert sorted(option["name"] for option in payload["options"]) == ["add", "list", "remove"]
    assert isinstance(bot.get_cog("SubscriptionCog"), SubscriptionCog)


async def test_channel_option_types(store: ExpeditionStore) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    bot.store = store  # type: ignore[attr-defined]
    await setup(bot)

    (payload,) = [command.to_dict(bot.tree) for command in bot.tree.get_commands()]
    add = next(option for option in payload["options"] if option["name"] == "add")
    channel = next(option for option in add["options"] if option["name"] == "channel")

    assert sorted(channel["channel_types"]) == [0, 5, 10, 11, 12]
    assert channel["required"] is False
