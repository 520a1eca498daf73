"""The `/subscription` command group: subscribe a channel to a station's expedition changes, remove and list.

Every answer goes to the invoking moderator alone (ephemeral) and mentions nobody. A rejected
request stores nothing: all checks run before the single store write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import clean_text, escape_and_truncate, truncate
from bot.errors import describe_permissions, join_words
from storage.events import EVENT_KINDS, EVENT_LABELS
from storage.lookups import NameMatch
from storage.search import search_terms

if TYPE_CHECKING:
    from storage.database import ExpeditionStore
    from storage.subscriptions import Subscription

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

ALL_STATIONS_LABEL = "All stations"
ALL_STATIONS_VALUE = "all"
ALL_EVENTS_LABEL = "All events"
ALL_EVENTS_VALUE = "all"
_ALL_WORDS = frozenset({"all", "all stations", "all events", "every station", "everything"})

# A remove choice's value names one subscription by id, e.g. "subscription:12".
SUBSCRIPTION_VALUE_PREFIX = "subscription:"

# Discord's limits: 25 autocomplete choices with names and values of at most 100 characters,
# and 2,000 characters of message content.
CHOICE_LIMIT = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
MESSAGE_LIMIT = 2000

# The maximum number of digits of an id in a choice value. A longer number is taken as a typed name.
MAX_ID_DIGITS = 18

STATION_OPTION_LIMIT = 100
EVENTS_OPTION_LIMIT = 200
STATION_NAME_LIMIT = 100
REASON_LIMIT = 200

SUBSCRIBABLE_CHANNEL_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.news_thread,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
]

# Posting an embed needs these in a text or announcement channel. In a thread, Discord requires
# Send Messages in Threads in place of Send Messages.
# NOTE: posting in a private thread also needs the bot to be a member of it (or Manage Threads),
# which this check does not cover; failed deliveries there end in the subscription being disabled.
CHANNEL_PERMISSIONS = ("view_channel", "send_messages", "embed_links")
THREAD_PERMISSIONS = ("view_channel", "send_messages_in_threads", "embed_links")

SubscribableChannel = Union[discord.TextChannel, discord.Thread]
ChannelOptionValue = Union[app_commands.AppCommandChannel, app_commands.AppCommandThread]

NOT_A_MODERATOR = "You need the Manage Channels permission to manage subscriptions."
NOTHING_BEFORE_NOW = "Only changes found from now on are announced."


class Rejection(Exception):
    """A rejected request: `message` is sent to the user, `reason` is logged, and nothing is stored."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class StationChoice:
    """The station a subscription follows: `station_id` None means every station."""

    station_id: int | None
    name: str


ALL_STATIONS = StationChoice(station_id=None, name=ALL_STATIONS_LABEL)


class ChannelOption(app_commands.Transformer):
    """A channel option that leaves the channel unresolved, so the command can name why it is not usable.

    discord.py's own channel transformers turn a channel missing from this server's cache into a
    generic "invalid value" error.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return SUBSCRIBABLE_CHANNEL_TYPES

    async def transform(self, interaction: discord.Interaction, value: ChannelOptionValue, /) -> ChannelOptionValue:
        return value


# Events


def _event_key(text: str) -> str:
    """Normalize an event label or key for comparison: "Crew_Changed " becomes "crew changed"."""
    return " ".join(text.replace("_", " ").replace("-", " ").casefold().split())


def _event_names() -> dict[str, str]:
    names = {_event_key(kind): kind for kind in EVENT_KINDS}
    names.update({_event_key(EVENT_LABELS[kind]): kind for kind in EVENT_KINDS})
    return names


def valid_events_text() -> str:
    """Return the event labels as an English list, for help and error messages."""
    return join_words([EVENT_LABELS[kind] for kind in EVENT_KINDS])


def parse_events(text: str | None) -> tuple[str, ...]:
    """Return the event kinds that a comma-separated list of labels or keys names, in `EVENT_KINDS` order.

    No text, or "all", means every kind. Raises Rejection naming the first unknown entry.
    """
    items = [item.strip() for item in (text or "").split(",")]
    items = [item for item in items if item]
    if not items:
        return EVENT_KINDS

    names = _event_names()
    chosen: set[str] = set()
    for item in items:
        key = _event_key(item)
        if key in _ALL_WORDS:
            return EVENT_KINDS
        if key not in names:
            quoted = escape_and_truncate(item, 60)
            raise Rejection(
                f"“{quoted}” is not an event I know. Use one or more of {valid_events_text()}, "
                "separated by commas, or leave the option empty for all of them.",
                reason="unknown event",
            )
        chosen.add(names[key])

    return tuple(kind for kind in EVENT_KINDS if kind in chosen)


def describe_events(kinds: tuple[str, ...]) -> str:
    """Return the event kinds in words, "all events" when every kind is chosen."""
    if set(kinds) >= set(EVENT_KINDS):
        return "all events"
    return join_words([EVENT_LABELS[kind] for kind in kinds if kind in EVENT_LABELS])


def event_choices(current: str) -> list[app_commands.Choice[str]]:
    """Return autocomplete choices that complete the last comma-separated entry of `current`.

    Entries typed before the last comma are kept: each choice is the whole list so far plus one
    more kind. Values use the kind keys, which stay well under Discord's 100 characters.
    """
    *done, partial = current[:EVENTS_OPTION_LIMIT].split(",")
    names = _event_names()
    done_kinds = [names[_event_key(item)] for item in done if _event_key(item) in names]
    typed = _event_key(partial)

    choices: list[app_commands.Choice[str]] = []
    if not done_kinds and ALL_EVENTS_LABEL.casefold().startswith(typed):
        choices.append(app_commands.Choice(name=ALL_EVENTS_LABEL, value=ALL_EVENTS_VALUE))

    for kind in EVENT_KINDS:
        if kind in done_kinds or (typed not in _event_key(EVENT_LABELS[kind]) and typed not in _event_key(kind)):
            continue
        kinds = [*done_kinds, kind]
        name = ", ".join(EVENT_LABELS[item] for item in kinds)
        choices.append(app_commands.Choice(name=truncate(name, CHOICE_NAME_LIMIT), value=",".join(kinds)))
    return choices[:CHOICE_LIMIT]


# Stations


def station_choices(store: ExpeditionStore, current: str) -> list[app_commands.Choice[str]]:
    """Return "All stations" and then the stations whose names fit `current`, the station id as each value."""
    choices = [app_commands.Choice(name=ALL_STATIONS_LABEL, value=ALL_STATIONS_VALUE)]
    for match in store.lookup_stations(current[:STATION_OPTION_LIMIT], limit=CHOICE_LIMIT - 1):
        name = truncate(clean_text(match.name), CHOICE_NAME_LIMIT) or f"Station #{match.id}"
        choices.append(app_commands.Choice(name=name, value=str(match.id)))
    return choices


# Tiers of storage.lookups.NameMatch: 2 and 3 match words inside a name, 4 is a close spelling.
WORD_MATCH_TIER = 2
SPELLING_GUESS_TIER = 4


def resolve_station(store: ExpeditionStore, value: str) -> StationChoice | None:
    """Return the station a `station` option names: "all", a chosen id, or the best match for a typed name."""
    text = value.strip()
    if _event_key(text) in _ALL_WORDS:
        return ALL_STATIONS

    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        station = store.get_station(int(text))
        if station is not None:
            return StationChoice(station_id=station.id, name=station.name)

    # Without searchable words a lookup lists stations alphabetically, which the user did not ask for.
    matches = store.lookup_stations(text, limit=2) if search_terms(text) else []
    if not matches or not is_confident_match(matches):
        return None
    return StationChoice(station_id=matches[0].id, name=matches[0].name)


def is_confident_match(matches: list[NameMatch]) -> bool:
    """Return whether the best of `matches` is certain enough to save a subscription for it.

    A spelling guess is not, and neither is a word that two stations share ("station"):
    the user then has to pick from the list.
    """
    best = matches[0]
    if best.tier >= SPELLING_GUESS_TIER:
        return False
    shares_tier = len(matches) > 1 and matches[1].tier == best.tier
    return best.tier < WORD_MATCH_TIER or not shares_tier


def station_not_found(value: str) -> Rejection:
    quoted = escape_and_truncate(value, 60)
    return Rejection(
        f"I can't find a station called “{quoted}”. Pick one from the list, or {ALL_STATIONS_LABEL}.",
        reason="unknown station",
    )


def subscription_station_name(subscription: Subscription) -> str:
    """Return the station of a subscription as users see it."""
    if subscription.station_id is None:
        return ALL_STATIONS_LABEL
    return subscription.station_name or f"Station #{subscription.station_id}"


# Channels and permissions


def missing_permissions(permissions: discord.Permissions, *, is_thread: bool) -> list[str]:
    """Return the permission names, from those posting an announcement needs, that `permissions` lacks."""
    needed = THREAD_PERMISSIONS if is_thread else CHANNEL_PERMISSIONS
    return [name for name in needed if not getattr(permissions, name)]


def missing_permissions_message(channel_id: int, names: list[str]) -> str:
    """Return the rejection for a channel where the bot lacks `names`, naming each one in words."""
    pronoun = "it" if len(names) == 1 else "them"
    return (
        f"I can't post announcements in <#{channel_id}>: I'm missing {describe_permissions(names)} there. "
        f"Ask a server admin to grant {pronoun}, then try again."
    )


def resolve_channel(interaction: discord.Interaction, option: ChannelOptionValue | None) -> SubscribableChannel:
    """Return the channel to subscribe: the option's channel or else the current one, from this server's cache.

    Raises Rejection for a channel in another server, one the bot cannot see, or a kind of channel
    that cannot hold announcements.
    """
    guild = interaction.guild
    assert guild is not None  # the group is guild-only

    if option is None:
        channel = interaction.channel
    else:
        channel = guild.get_channel_or_thread(option.id)
        if channel is None:
            raise _channel_outside_guild(interaction, option.id)

    if not isinstance(channel, (discord.TextChannel, discord.Thread)):
        raise Rejection(
            "Announcements can go to a text channel, an announcement channel or a thread. "
            "Run the command there, or pick one with the `channel` option.",
            reason="unsupported channel type",
        )
    return channel


def _channel_outside_guild(interaction: discord.Interaction, channel_id: int) -> Rejection:
    elsewhere = interaction.client.get_channel(channel_id)
    if elsewhere is not None and getattr(elsewhere, "guild", None) is not None:
        return Rejection(
            "That channel is in another server. Pick a channel in this server.", reason="channel in another server"
        )
    return Rejection(
        "I can't find that channel in this server. Pick a text channel, announcement channel or thread "
        "that I can see.",
        reason="channel not found",
    )


def bot_permissions_in(interaction: discord.Interaction, channel: SubscribableChannel) -> discord.Permissions:
    """Return the bot's permissions in `channel`.

    For the current channel Discord sends them with the interaction. For another channel they
    are computed from the guild cache, which gateway events keep current.
    """
    if channel.id == interaction.channel_id:
        return interaction.app_permissions

    me = channel.guild.me
    try:
        if me is None:
            raise discord.ClientException("the bot's own member is not cached")
        return channel.permissions_for(me)
    except discord.ClientException as error:
        log.warning("Cannot compute the bot's permissions in channel %s: %s", channel.id, error)
        raise Rejection(
            f"I can't check my permissions in <#{channel.id}> yet. Try again in a minute.",
            reason="permissions unknown",
        ) from error


def check_bot_can_post(interaction: discord.Interaction, channel: SubscribableChannel) -> None:
    """Raise Rejection naming every permission the bot lacks to post announcements in `channel`."""
    permissions = bot_permissions_in(interaction, channel)
    missing = missing_permissions(permissions, is_thread=isinstance(channel, discord.Thread))
    if missing:
        raise Rejection(missing_permissions_message(channel.id, missing), reason="bot lacks " + ",".join(missing))


def check_member_can_manage(interaction: discord.Interaction) -> None:
    """Raise Rejection unless the member has Manage Channels here.

    Server admins can open the command to roles without it, so the callback checks again.
    """
    if not interaction.permissions.manage_channels:
        raise Rejection(NOT_A_MODERATOR, reason="member lacks manage_channels")


def check_member_can_manage_channel(interaction: discord.Interaction, option: ChannelOptionValue | None) -> None:
    """Raise Rejection unless the member has Manage Channels in the chosen channel too.

    Discord sends the member's permissions in a chosen channel with the option.
    """
    if option is None or option.id == interaction.channel_id or option.permissions.manage_channels:
        return
    raise Rejection(
        f"You need the Manage Channels permission in <#{option.id}> to manage its subscriptions.",
        reason="member lacks manage_channels in the chosen channel",
    )


def check_mention_role(interaction: discord.Interaction, role: discord.Role | None) -> None:
    """Raise Rejection for a role that announcements should not mention."""
    if role is None:
        return

    guild = interaction.guild
    if role.is_default():
        raise Rejection(
            "Announcements can't mention @everyone. Pick a role that people can join to be notified, "
            "or leave the option empty.",
            reason="everyone role",
        )
    if guild is None or guild.get_role(role.id) is None:
        raise Rejection("That role is not in this server. Pick one of this server's roles.", reason="foreign role")
    if role.managed:
        raise Rejection(
            f"<@&{role.id}> is managed by a bot or an integration, so it can't be given to members. "
            "Pick another role, or leave the option empty.",
            reason="managed role",
        )


# Answers


def added_message(
    subscription: Subscription, *, created: bool, station: StationChoice, channel_id: int
) -> str:
    """Return the confirmation of a saved subscription: station, channel, events and role."""
    station_name = escape_and_truncate(station.name, STATION_NAME_LIMIT)
    heading = (
        f"Subscribed <#{channel_id}> to **{station_name}**."
        if created
        else f"Updated the subscription of <#{channel_id}> to **{station_name}**."
    )
    role = f"<@&{subscription.mention_role_id}>" if subscription.mention_role_id else "no role"
    return (
        f"{heading}\n"
        f"Events: {describe_events(subscription.events)}.\n"
        f"Mentions: {role}.\n"
        f"{NOTHING_BEFORE_NOW}"
    )


def subscription_line(subscription: Subscription) -> str:
    """Return one subscription as a list entry, with its failure or the reason it is disabled."""
    station = escape_and_truncate(subscription_station_name(subscription), STATION_NAME_LIMIT)
    role = f", mentions <@&{subscription.mention_role_id}>" if subscription.mention_role_id else ""
    line = f"• **{station}** in <#{subscription.channel_id}>: {describe_events(subscription.events)}{role}"

    if subscription.disabled_reason:
        reason = escape_and_truncate(subscription.disabled_reason, REASON_LIMIT)
        line += f"\n  Disabled: {reason}. Fix it, then run `/subscription add` again to turn it back on."
    elif subscription.failure_count and subscription.last_error:
        reason = escape_and_truncate(subscription.last_error, REASON_LIMIT)
        line += f"\n  Last delivery failed: {reason}."
    return line


def list_message(subscriptions: list[Subscription]) -> str:
    """Return this server's subscriptions as one message of at most 2,000 characters."""
    if not subscriptions:
        return "This server has no subscriptions. Add one with `/subscription add`."

    lines = [f"Subscriptions in this server ({len(subscriptions)}):"]
    length = len(lines[0])
    for shown, subscription in enumerate(subscriptions):
        line = subscription_line(subscription)
        rest = f"…and {len(subscriptions) - shown} more."
        # Room is kept for the "and N more" line in case a later entry does not fit.
        if length + 1 + len(line) + 1 + len(rest) > MESSAGE_LIMIT:
            lines.append(rest)
            break
        lines.append(line)
        length += 1 + len(line)
    return "\n".join(lines)


# Remove


def subscription_choices(
    interaction: discord.Interaction, subscriptions: list[Subscription], current: str
) -> list[app_commands.Choice[str]]:
    """Return this server's subscriptions that fit `current`, as "Station in #channel" choices."""
    guild = interaction.guild
    chosen_channel = getattr(interaction.namespace, "channel", None)
    typed = " ".join(current.casefold().split())

    choices = []
    for subscription in subscriptions:
        if chosen_channel is not None and subscription.channel_id != chosen_channel.id:
            continue
        channel = guild.get_channel_or_thread(subscription.channel_id) if guild else None
        channel_name = channel.name if channel is not None else f"channel {subscription.channel_id}"
        name = clean_text(f"{subscription_station_name(subscription)} in #{channel_name}")
        if typed and typed not in name.casefold():
            continue
        value = f"{SUBSCRIPTION_VALUE_PREFIX}{subscription.id}"
        choices.append(app_commands.Choice(name=truncate(name, CHOICE_NAME_LIMIT), value=value))
    return choices[:CHOICE_LIMIT]


def chosen_subscription_id(value: str) -> int | None:
    """Return the subscription id of a remove choice's value, or None for typed text."""
    text = value.strip()
    if not text.startswith(SUBSCRIPTION_VALUE_PREFIX):
        return None
    number = text[len(SUBSCRIPTION_VALUE_PREFIX):]
    if not (number.isascii() and number.isdigit() and len(number) <= MAX_ID_DIGITS):
        return None
    return int(number)


@app_commands.guild_only()
@app_commands.default_permissions(manage_channels=True)
class SubscriptionCog(
    commands.GroupCog,
    group_name="subscription",
    group_description="Announce expedition changes of a station in a channel",
):
    """Commands that let moderators choose which channels get announcements, and for which stations."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot: commands.Bot = bot

    @property
    def store(self) -> ExpeditionStore:
        """The bot's expedition mirror, which also stores the subscriptions."""
        return self.bot.store  # type: ignore[attr-defined]

    @app_commands.command(name="add")
    @app_commands.describe(
        station="The station to follow, or All stations. Start typing and pick one.",
        channel="Where announcements go. Default: this channel.",
        events="Which changes to announce, separated by commas. Default: all of them.",
        mention_role="A role to mention in each announcement. Default: none.",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        station: app_commands.Range[str, 1, STATION_OPTION_LIMIT],
        channel: app_commands.Transform[ChannelOptionValue | None, ChannelOption] = None,
        events: app_commands.Range[str, 1, EVENTS_OPTION_LIMIT] | None = None,
        mention_role: discord.Role | None = None,
    ) -> None:
        """Announce a station's expedition changes in a channel, or change an existing subscription."""
        try:
            check_member_can_manage(interaction)
            target = resolve_channel(interaction, channel)
            check_member_can_manage_channel(interaction, channel)
            chosen = resolve_station(self.store, station)
            if chosen is None:
                raise station_not_found(station)
            kinds = parse_events(events)
            check_mention_role(interaction, mention_role)
            check_bot_can_post(interaction, target)
        except Rejection as rejection:
            await self.reject(interaction, rejection)
            return

        subscription, created = self.store.add_subscription(
            guild_id=target.guild.id,
            channel_id=target.id,
            station_id=chosen.station_id,
            events=kinds,
            mention_role_id=mention_role.id if mention_role else None,
            created_by=interaction.user.id,
            now=discord.utils.utcnow(),
        )
        log.info(
            "Subscription %s %s by user %s in guild %s: channel %s, station %s, events %s, role %s",
            subscription.id,
            "created" if created else "updated",
            interaction.user.id,
            target.guild.id,
            target.id,
            chosen.station_id,
            ",".join(kinds),
            subscription.mention_role_id,
        )
        message = added_message(subscription, created=created, station=chosen, channel_id=target.id)
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @add.autocomplete("station")
    async def add_station_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer All stations and the stations whose names fit what the user has typed."""
        return station_choices(self.store, current)

    @add.autocomplete("events")
    async def add_events_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the event kinds that complete the list the user is typing."""
        return event_choices(current)

    @app_commands.command(name="remove")
    @app_commands.describe(
        station="The subscription to remove. Start typing and pick one.",
        channel="The channel of the subscription. Default: this channel.",
    )
    async def remove(
        self,
        interaction: discord.Interaction,
        station: app_commands.Range[str, 1, STATION_OPTION_LIMIT],
        channel: app_commands.Transform[ChannelOptionValue | None, ChannelOption] = None,
    ) -> None:
        """Stop announcing a station's changes in a channel."""
        try:
            check_member_can_manage(interaction)
            channel_id, station_choice = self.resolve_removal(interaction, station, channel)
        except Rejection as rejection:
            await self.reject(interaction, rejection)
            return

        guild_id = interaction.guild_id
        assert guild_id is not None  # the group is guild-only
        removed = self.store.remove_subscription(
            guild_id=guild_id, channel_id=channel_id, station_id=station_choice.station_id
        )
        log.info(
            "Subscription removal by user %s in guild %s: channel %s, station %s, removed %s",
            interaction.user.id,
            guild_id,
            channel_id,
            station_choice.station_id,
            removed,
        )

        station_name = escape_and_truncate(station_choice.name, STATION_NAME_LIMIT)
        if removed:
            message = (
                f"Removed the subscription of <#{channel_id}> to **{station_name}**. "
                "Its changes are no longer announced there."
            )
        else:
            message = f"<#{channel_id}> has no subscription to **{station_name}**, so nothing changed."
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)

    def resolve_removal(
        self, interaction: discord.Interaction, value: str, option: ChannelOptionValue | None
    ) -> tuple[int, StationChoice]:
        """Return the channel id and station of the subscription that a remove request names.

        A chosen subscription names both. Typed text names a station, in the chosen or current channel.
        """
        subscription_id = chosen_subscription_id(value)
        if subscription_id is None:
            target = resolve_channel(interaction, option)
            check_member_can_manage_channel(interaction, option)
            chosen = resolve_station(self.store, value)
            if chosen is None:
                raise station_not_found(value)
            return target.id, chosen

        subscription = self.store.get_subscription(subscription_id)
        if subscription is None or subscription.guild_id != interaction.guild_id:
            raise Rejection(
                "That subscription no longer exists. Run `/subscription list` to see this server's subscriptions.",
                reason="subscription not found",
            )
        chosen = StationChoice(station_id=subscription.station_id, name=subscription_station_name(subscription))
        if option is None:
            return subscription.channel_id, chosen

        # A channel given beside a chosen subscription wins: that channel's subscription to the
        # same station is the one removed.
        target = resolve_channel(interaction, option)
        check_member_can_manage_channel(interaction, option)
        return target.id, chosen

    @remove.autocomplete("station")
    async def remove_station_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer this server's subscriptions, those of the chosen channel when one is chosen."""
        if interaction.guild_id is None:
            return []
        subscriptions = self.store.list_subscriptions(interaction.guild_id)
        return subscription_choices(interaction, subscriptions, current)

    @app_commands.command(name="list")
    async def list_subscriptions(self, interaction: discord.Interaction) -> None:
        """List this server's subscriptions, with any that are failing or turned off."""
        try:
            check_member_can_manage(interaction)
        except Rejection as rejection:
            await self.reject(interaction, rejection)
            return

        guild_id = interaction.guild_id
        assert guild_id is not None  # the group is guild-only
        subscriptions = self.store.list_subscriptions(guild_id)
        log.info("Subscription list for user %s in guild %s: %d", interaction.user.id, guild_id, len(subscriptions))
        await interaction.response.send_message(
            list_message(subscriptions), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def reject(self, interaction: discord.Interaction, rejection: Rejection) -> None:
        """Log a rejected request with its ids and tell the user why."""
        log.info(
            "Rejected /%s from user %s in guild %s, interaction %s: %s",
            interaction.command.qualified_name if interaction.command else "subscription",
            interaction.user.id,
            interaction.guild_id,
            interaction.id,
            rejection.reason,
        )
        await interaction.response.send_message(rejection.message, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: commands.Bot) -> None:
    """Add the subscription commands to `bot`, which must have a `store` attribute."""
    await bot.add_cog(SubscriptionCog(bot))
