"""`/expedition status`: the bot's health, shown only to the member who runs it.

The `/expedition` group belongs to ExpeditionCog, so this extension adds its subcommand to
that group and must be loaded after `bot.commands.expedition`.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.jobs.sync import load_request_budget
from bot.status import BotStatus, build_status_embed, gather_status

log = logging.getLogger(__name__)

GROUP_COG = "ExpeditionCog"
NO_MENTIONS = discord.AllowedMentions.none()
COMMAND_NAME = "status"
COMMAND_DESCRIPTION = "Show when the mirror last synced, what it holds, and subscriptions that fail"


def read_bot_status(bot: Any, guild_id: int | None) -> BotStatus:
    """Gather the status of `bot`, an ExpeditionBot or anything with its attributes."""
    settings = bot.settings
    ll2 = getattr(bot, "ll2", None)
    # Without a running LL2 client, the spent requests that the last sync saved are the best count.
    budget = ll2.budget if ll2 is not None else load_request_budget(bot.store, settings.ll2_requests_per_hour)
    watchdog = getattr(bot, "watchdog", None)
    return gather_status(
        bot.store,
        guild_id=guild_id,
        scheduler=getattr(bot, "scheduler", None),
        budget=budget,
        sync_interval_minutes=settings.sync_interval_minutes,
        overdue=watchdog.overdue if watchdog is not None else None,
        version=__version__,
    )


def subscriptions_guild_id(interaction: discord.Interaction) -> int | None:
    """Return the guild whose failing subscriptions the status may list, or None to leave them out.

    Failure reasons name channels and Discord error codes, so only members who may manage
    subscriptions (Manage Channels) see them.
    """
    if interaction.guild_id is None or not interaction.permissions.manage_channels:
        return None
    return interaction.guild_id


async def answer_status(interaction: discord.Interaction) -> None:
    """Send the status embed as an ephemeral response, visible only to the member who ran the command."""
    status = read_bot_status(interaction.client, subscriptions_guild_id(interaction))
    log.info("status requested by user %s in guild %s", interaction.user.id, interaction.guild_id)
    await interaction.response.send_message(
        embed=build_status_embed(status), ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def setup(bot: commands.Bot) -> None:
    """Add `status` to the `/expedition` group of the already loaded ExpeditionCog."""
    cog = bot.get_cog(GROUP_COG)
    if cog is None:
        raise commands.ExtensionFailed(
            __name__, RuntimeError(f"load bot.commands.expedition before {__name__}: it owns /expedition")
        )
    # A new Command per bot: adding one object to two groups would give it two parents.
    command = app_commands.Command(name=COMMAND_NAME, description=COMMAND_DESCRIPTION, callback=answer_status)
    cog.app_command.add_command(command, override=True)
