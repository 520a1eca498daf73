"""Discord API v10 JSON objects built from the stand-in's guild layout."""

from __future__ import annotations

import itertools
import logging
import time
from datetime import datetime, timezone
from typing import Any

from tests.standins.discord.models import (
    THREAD_TYPES,
    Channel,
    Guild,
    Member,
    Role,
    User,
    channel_permissions,
)

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000
JOINED_AT = "2024-01-01T00:00:00.000000+00:00"


class SnowflakeFactory:
    """Unique, increasing snowflakes that carry the current time, as Discord's ids do."""

    def __init__(self) -> None:
        self._last = 0
        self._increment = itertools.count()

    def __call__(self) -> int:
        elapsed_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (elapsed_ms << 22) | (next(self._increment) & 0xFFF)
        self._last = max(candidate, self._last + 1)
        return self._last


def iso_now() -> str:
    """Return the current time as Discord writes timestamps."""
    return datetime.now(timezone.utc).isoformat()


def user_object(user: User) -> dict[str, Any]:
    """Return a user object."""
    return {
        "id": str(user.id),
        "username": user.username,
        "global_name": user.global_name,
        "discriminator": "0",
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
        "flags": 0,
    }


def role_object(role: Role) -> dict[str, Any]:
    """Return a role object."""
    return {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": role.managed,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def member_object(member: Member, *, permissions: int | None = None) -> dict[str, Any]:
    """Return a guild member object; interactions add the member's channel `permissions`."""
    payload: dict[str, Any] = {
        "user": user_object(member.user),
        "roles": [str(role_id) for role_id in member.role_ids],
        "nick": None,
        "avatar": None,
        "joined_at": JOINED_AT,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        payload["permissions"] = str(permissions)
    return payload


def overwrite_objects(channel: Channel) -> list[dict[str, Any]]:
    """Return the channel's permission overwrites as Discord sends them."""
    return [
        {"id": str(item.id), "type": item.type, "allow": str(item.allow), "deny": str(item.deny)}
        for item in channel.overwrites
    ]


def channel_object(guild: Guild, channel: Channel) -> dict[str, Any]:
    """Return a guild channel or thread object."""
    payload: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(guild.id),
        "name": channel.name,
        "position": channel.position,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }
    if channel.type in THREAD_TYPES:
        payload.update(_thread_fields(guild))
    else:
        payload["topic"] = channel.topic
        payload["permission_overwrites"] = overwrite_objects(channel)
    return payload


def _thread_fields(guild: Guild) -> dict[str, Any]:
    return {
        "owner_id": str(guild.owner_id),
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 10080,
            "archive_timestamp": JOINED_AT,
            "locked": False,
            "create_timestamp": JOINED_AT,
        },
    }


def interaction_channel_object(guild: Guild, channel: Channel, member: Member) -> dict[str, Any]:
    """Return a channel as interactions carry it: with the invoking member's `permissions`."""
    payload = channel_object(guild, channel)
    payload["permissions"] = str(channel_permissions(guild, member, channel))
    return payload


def guild_create_object(guild: Guild, bot_member: Member) -> dict[str, Any]:
    """Return the GUILD_CREATE payload: the guild with roles, channels, threads and members."""
    channels = [channel for channel in guild.channels if channel.type not in THREAD_TYPES]
    threads = [channel for channel in guild.channels if channel.type in THREAD_TYPES]
    members = [*guild.members, bot_member]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        "large": False,
        "member_count": len(members),
        "joined_at": JOINED_AT,
        "features": [],
        "preferred_locale": "en-US",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "system_channel_id": None,
        "roles": [role_object(role) for role in guild.roles],
        "emojis": [],
        "stickers": [],
        "channels": [channel_object(guild, channel) for channel in channels],
        "threads": [channel_object(guild, channel) for channel in threads],
        "members": [member_object(member) for member in members],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def message_object(
    *,
    message_id: int,
    channel_id: int,
    guild_id: int | None,
    author: User,
    body: dict[str, Any],
    message_type: int = 0,
) -> dict[str, Any]:
    """Return a message object created from a create-message request body."""
    payload: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": message_type,
        "content": body.get("content") or "",
        "author": user_object(author),
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": bool(body.get("tts", False)),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": list(body.get("embeds") or []),
        "components": list(body.get("components") or []),
        "pinned": False,
        "flags": int(body.get("flags") or 0),
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    if body.get("nonce") is not None:
        payload["nonce"] = body["nonce"]
    return payload


def apply_message_edit(message: dict[str, Any], body: dict[str, Any]) -> None:
    """Apply an edit-message request body to a stored message object, in place."""
    for key in ("content", "embeds", "components"):
        if key in body:
            default: Any = "" if key == "content" else []
            message[key] = body[key] if body[key] is not None else default
    if "flags" in body and body["flags"] is not None:
        # Only Suppress Embeds (4) can be changed by an edit; other flags stay as created.
        message["flags"] = (message["flags"] & ~4) | (int(body["flags"]) & 4)
    message["edited_timestamp"] = iso_now()
