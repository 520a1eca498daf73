"""Guild layout of the stand-in Discord: users, roles, channels, overwrites and permission maths."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Permission bits, as documented for Discord API v10.
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES
    | READ_MESSAGE_HISTORY | USE_EXTERNAL_EMOJIS | CHANGE_NICKNAME | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
BOT_ROLE_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | SEND_MESSAGES_IN_THREADS
)
MODERATOR_PERMISSIONS = MANAGE_CHANNELS | MANAGE_GUILD | MANAGE_MESSAGES

# Discord removes these when Send Messages is denied, whatever the roles allow.
_NEEDS_SEND_MESSAGES = SEND_TTS_MESSAGES | MENTION_EVERYONE | ATTACH_FILES | EMBED_LINKS

# Channel types.
TEXT = 0
ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)

# Overwrite target types.
ROLE_OVERWRITE = 0
MEMBER_OVERWRITE = 1

DEFAULT_GUILD_ID = 1_250_000_000_000_000_000


@dataclass
class User:
    """A Discord user as the stand-in serves it."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False


@dataclass
class Overwrite:
    """A channel permission overwrite for one role (type 0) or one member (type 1)."""

    id: int
    type: int = ROLE_OVERWRITE
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    """A guild channel: text (0), announcement (5) or a thread (10, 11, 12) under `parent_id`."""

    id: int
    name: str
    type: int = TEXT
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    position: int = 0
    topic: str | None = None


@dataclass
class Role:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False


@dataclass
class Member:
    """A guild member: a user and the ids of its roles besides @everyone."""

    user: User
    role_ids: list[int] = field(default_factory=list)


@dataclass
class Guild:
    """A guild the stand-in sends in GUILD_CREATE. The bot joins it with the roles in `bot_role_ids`."""

    id: int
    name: str
    owner_id: int
    channels: list[Channel] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    bot_role_ids: list[int] = field(default_factory=list)

    def channel(self, name_or_id: str | int) -> Channel:
        """Return the channel with this name or id, or raise KeyError."""
        for channel in self.channels:
            if name_or_id in (channel.id, channel.name):
                return channel
        raise KeyError(f"guild {self.id} has no channel {name_or_id!r}")

    def role(self, name_or_id: str | int) -> Role:
        """Return the role with this name or id, or raise KeyError."""
        for role in self.roles:
            if name_or_id in (role.id, role.name):
                return role
        raise KeyError(f"guild {self.id} has no role {name_or_id!r}")

    def member(self, user_id: int) -> Member | None:
        """Return the member with this user id, or None."""
        for member in self.members:
            if member.user.id == user_id:
                return member
        return None

    @property
    def everyone_role(self) -> Role:
        """The @everyone role, whose id is the guild id."""
        return self.role(self.id)


def build_guild(guild_id: int = DEFAULT_GUILD_ID, *, name: str = "Orbital Club") -> Guild:
    """Build a guild with a text channel, an announcement channel, a thread, a bot role and two members.

    Every id is `guild_id` plus a small offset, so two guilds built from distant ids never collide.
    Names: channels "general", "launches" (announcement) and "iss-crew" (thread under general),
    roles "@everyone", "Expedition Bot", "Moderator"; users "ada" (no extra role) and "grace" (Moderator).
    """
    ada = User(id=guild_id + 21, username="ada", global_name="Ada")
    grace = User(id=guild_id + 22, username="grace", global_name="Grace")

    everyone = Role(id=guild_id, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0)
    bot_role = Role(id=guild_id + 11, name="Expedition Bot", permissions=BOT_ROLE_PERMISSIONS, position=2,
                    managed=True)
    moderator = Role(id=guild_id + 12, name="Moderator", permissions=MODERATOR_PERMISSIONS, position=1)

    general = Channel(id=guild_id + 1, name="general", type=TEXT, position=0, topic="Talk about stations")
    launches = Channel(id=guild_id + 2, name="launches", type=ANNOUNCEMENT, position=1, topic="Announcements")
    thread = Channel(id=guild_id + 3, name="iss-crew", type=PUBLIC_THREAD, parent_id=general.id)

    return Guild(
        id=guild_id,
        name=name,
        owner_id=grace.id,
        channels=[general, launches, thread],
        roles=[everyone, bot_role, moderator],
        members=[Member(user=ada), Member(user=grace, role_ids=[moderator.id])],
        bot_role_ids=[bot_role.id],
    )


def base_permissions(guild: Guild, member: Member) -> int:
    """Return the member's guild-wide permissions: @everyone and every role, all of them for an admin."""
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS

    permissions = guild.everyone_role.permissions
    for role_id in member.role_ids:
        permissions |= guild.role(role_id).permissions

    if permissions & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return permissions


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    """Return the member's permissions in a channel, with overwrites applied in Discord's order.

    A thread takes the overwrites of its parent channel. Without View Channel nothing is left, and
    without Send Messages the permissions that depend on it go too.
    """
    permissions = base_permissions(guild, member)
    if permissions == ALL_PERMISSIONS:
        return permissions

    source = guild.channel(channel.parent_id) if channel.type in THREAD_TYPES and channel.parent_id else channel
    permissions = _apply_overwrites(permissions, guild, member, source.overwrites)

    if not permissions & VIEW_CHANNEL:
        return 0
    if not permissions & SEND_MESSAGES and channel.type not in THREAD_TYPES:
        permissions &= ~_NEEDS_SEND_MESSAGES
    return permissions


def _apply_overwrites(permissions: int, guild: Guild, member: Member, overwrites: list[Overwrite]) -> int:
    for overwrite in overwrites:
        if overwrite.type == ROLE_OVERWRITE and overwrite.id == guild.id:
            permissions = (permissions & ~overwrite.deny) | overwrite.allow

    role_allow = 0
    role_deny = 0
    for overwrite in overwrites:
        if overwrite.type == ROLE_OVERWRITE and overwrite.id in member.role_ids:
            role_allow |= overwrite.allow
            role_deny |= overwrite.deny
    permissions = (permissions & ~role_deny) | role_allow

    for overwrite in overwrites:
        if overwrite.type == MEMBER_OVERWRITE and overwrite.id == member.user.id:
            permissions = (permissions & ~overwrite.deny) | overwrite.allow
    return permissions
