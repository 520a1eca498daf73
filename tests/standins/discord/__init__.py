"""Stand-in Discord: REST API v10 and gateway for the unmodified discord.py stack."""

from tests.standins.discord.interactions import InteractionNotAnswered, InteractionReply, OptionValue
from tests.standins.discord.models import (
    Channel,
    Guild,
    Member,
    Overwrite,
    Role,
    User,
    build_guild,
    channel_permissions,
)
from tests.standins.discord.rest import RecordedRequest
from tests.standins.discord.server import StandInDiscord

__all__ = [
    "Channel",
    "Guild",
    "InteractionNotAnswered",
    "InteractionReply",
    "Member",
    "OptionValue",
    "Overwrite",
    "RecordedRequest",
    "Role",
    "StandInDiscord",
    "User",
    "build_guild",
    "channel_permissions",
]
