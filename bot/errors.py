"""The central error handler for application commands.

Each failure a user can meet gets a plain ephemeral sentence. An unexpected error is logged once
with the interaction id and the command name, and the user sees a short reference code that
finds that log line.

A local error handler (on a command, a group or a cog) that sends its own reply to an error
calls `mark_handled(error)`, and then the central handler leaves that error alone.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import escape_and_truncate

log = logging.getLogger(__name__)

_HANDLED_ATTRIBUTE = "handled_locally"

# Permission flag names whose label in Discord's settings is not just the name in title case.
PERMISSION_LABELS = {
    "administrator": "Administrator",
    "create_instant_invite": "Create Invite",
    "external_emojis": "Use External Emojis",
    "external_stickers": "Use External Stickers",
    "manage_emojis": "Manage Expressions",
    "manage_emojis_and_stickers": "Manage Expressions",
    "manage_expressions": "Manage Expressions",
    "manage_guild": "Manage Server",
    "moderate_members": "Timeout Members",
    "read_messages": "View Channel",
    "send_tts_messages": "Send Text-to-Speech Messages",
    "use_application_commands": "Use Application Commands",
    "use_voice_activation": "Use Voice Activity",
    "view_guild_insights": "View Server Insights",
}

_LOWERCASE_WORDS = frozenset({"in", "to", "and", "of"})


def mark_handled(error: Exception) -> None:
    """Mark `error` as handled by a local error handler, so the central handler skips it."""
    setattr(error, _HANDLED_ATTRIBUTE, True)


def is_handled(error: Exception) -> bool:
    """Return True when a local error handler has marked `error` as handled."""
    return bool(getattr(error, _HANDLED_ATTRIBUTE, False))


def permission_label(name: str) -> str:
    """Return a permission flag name as Discord's settings show it, e.g. "Manage Server"."""
    if name in PERMISSION_LABELS:
        return PERMISSION_LABELS[name]

    words = name.replace("guild", "server").split("_")
    labelled = [word if index and word in _LOWERCASE_WORDS else word.capitalize() for index, word in enumerate(words)]
    return " ".join(labelled)


def join_words(items: list[str]) -> str:
    """Join items as an English list: "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def describe_permissions(names: list[str]) -> str:
    """Return the permissions in words, e.g. "the Embed Links and Send Messages permissions"."""
    labels = join_words([permission_label(name) for name in names])
    noun = "permission" if len(names) == 1 else "permissions"
    return f"the {labels} {noun}"


def describe_error(error: app_commands.AppCommandError, *, now: datetime) -> str | None:
    """Return the message a user sees for an expected failure, or None for an unexpected one.

    `now` is when the error happened (timezone-aware), and a cooldown is shown relative to it.
    """
    if isinstance(error, app_commands.CommandOnCooldown):
        ready_at = now + timedelta(seconds=error.retry_after)
        return f"You're using this command too often. Try again {discord.utils.format_dt(ready_at, 'R')}."

    if isinstance(error, app_commands.BotMissingPermissions):
        needed = describe_permissions(error.missing_permissions)
        return f"I need {needed} in this channel to answer. Ask a server admin to grant them, then try again."

    if isinstance(error, app_commands.MissingPermissions):
        return f"You need {describe_permissions(error.missing_permissions)} to use this command."

    if isinstance(error, app_commands.MissingRole) and isinstance(error.missing_role, str):
        return f"You need the {escape_and_truncate(error.missing_role, 100)} role to use this command."

    if isinstance(error, (app_commands.MissingRole, app_commands.MissingAnyRole)):
        return "You don't have a role that this command requires."

    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only in a server, not in direct messages."

    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."

    if isinstance(error, app_commands.TransformerError):
        return f"“{escape_and_truncate(str(error.value), 100)}” is not a valid value for that option."

    if isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
        return "This command has changed since your Discord app loaded it. Wait a minute, then try again."

    return None


def new_reference_code() -> str:
    """Return a short random code that ties a user's error message to one log line."""
    return secrets.token_hex(4).upper()


def command_name(interaction: discord.Interaction) -> str:
    """Return the full name of the interaction's command, e.g. "expedition search"."""
    command = interaction.command
    if command is not None:
        return command.qualified_name
    data = interaction.data or {}
    return str(data.get("name") or "unknown command")


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Send `message` to the user alone, as the response or, once there is one, as a followup.

    A failure to send (e.g. the interaction expired) is logged, not raised.
    """
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException as error:
        log.warning(
            "Failed to send an error message for interaction %s: %s (status %s, code %s)",
            interaction.id,
            error.text,
            error.status,
            error.code,
        )


async def report_unexpected_error(interaction: discord.Interaction, error: BaseException, *, source: str) -> str:
    """Log an unexpected error with its ids, tell the user its reference code, and return the code.

    `source` names what failed, e.g. "/expedition search" or "the search pager".
    """
    code = new_reference_code()
    log.error(
        "Unexpected error in %s (interaction %s, user %s, guild %s), reference %s",
        source,
        interaction.id,
        interaction.user.id,
        interaction.guild_id,
        code,
        exc_info=error,
    )
    await send_ephemeral(
        interaction,
        f"Something went wrong on our side. If it keeps happening, give the bot's operator the reference `{code}`.",
    )
    return code


async def on_app_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    """Send the user a message that fits the kind of failure, and log unexpected errors."""
    if is_handled(error):
        log.debug("Error in interaction %s was handled locally: %r", interaction.id, error)
        return

    message = describe_error(error, now=discord.utils.utcnow())
    if message is None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await report_unexpected_error(interaction, original, source=f"/{command_name(interaction)}")
        return

    log.info(
        "Command /%s failed for user %s in interaction %s: %s",
        command_name(interaction),
        interaction.user.id,
        interaction.id,
        type(error).__name__,
    )
    await send_ephemeral(interaction, message)


def install_error_handler(tree: app_commands.CommandTree) -> None:
    """Make `on_app_command_error` the error handler of every command in `tree`."""
    tree.error(on_app_command_error)


async def setup(bot: commands.Bot) -> None:
    """Install the error handler when this module is loaded as an extension."""
    install_error_handler(bot.tree)
