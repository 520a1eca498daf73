"""The `/expedition` command group: `search`, `show`, `station`, `crew` and `current`.

Every response and every autocomplete choice comes from the local mirror, never from LL2.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.browse_answer import (
    BrowseAnswer,
    astronaut_not_found_message,
    build_crew_answer,
    build_current_answer,
    build_station_answer,
    resolve_astronaut,
    resolve_station,
    station_not_found_message,
)
from bot.detail_embeds import build_expedition_embeds
from bot.embeds import clean_text, escape_and_truncate, truncate
from bot.search_answer import MAX_QUERY_LENGTH, build_search_answer, read_last_sync
from bot.views import DEFAULT_VIEW_TIMEOUT_SECONDS, SEARCH_NOT_YOURS, ExpeditionPager, SearchPager
from storage.browse import TimeFilter
from storage.lookups import NameMatch
from storage.records import Expedition
from storage.search import search_terms

if TYPE_CHECKING:
    from storage.database import ExpeditionStore

log = logging.getLogger(__name__)

__all__ = ["ExpeditionCog", "SearchPager", "setup"]

PAGER_TIMEOUT_SECONDS = DEFAULT_VIEW_TIMEOUT_SECONDS
NOT_YOUR_PAGER = SEARCH_NOT_YOURS
NOT_YOUR_STATION_LIST = (
    "Only the person who ran this command can turn its pages or open its expeditions. "
    "Run `/expedition station` for your own."
)
NOT_YOUR_CREW_LIST = (
    "Only the person who ran this command can turn its pages or open its expeditions. "
    "Run `/expedition crew` for your own."
)

NO_MENTIONS = discord.AllowedMentions.none()

# Discord's limits on one autocomplete choice: at most 25 of them, each name 1 to 100 characters.
CHOICE_LIMIT = 25
CHOICE_NAME_LIMIT = 100

# The maximum number of digits of an id in a choice value. A longer number is taken as a typed name.
MAX_ID_DIGITS = 18

# Custom ids of the pagers' components start with one of these.
PAGER_ID_PREFIXES = ("expedition_search:", "expedition_station:", "expedition_crew:")

# A click on a pager that no live view owns (the bot restarted since it was sent) gets this
# response after a delay far longer than a live view takes (milliseconds), and still inside
# Discord's 3-second window.
EXPIRED_PAGER_GRACE_SECONDS = 1.5
EXPIRED_PAGER = "This list has expired. Run the command again to get a fresh one."

SHOW_EXAMPLE = "Start typing a name, such as `Expedition 72` or `Shenzhou 19`, and pick one from the list."

WhenChoice = Literal["all", "on-going", "upcoming", "past"]


class ExpeditionCog(
    commands.GroupCog, group_name="expedition", group_description="Look up crewed space station expeditions"
):
    """Commands that respond from the local mirror of Launch Library 2 expeditions."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot: commands.Bot = bot

    @property
    def store(self) -> ExpeditionStore:
        """The bot's expedition mirror."""
        return self.bot.store  # type: ignore[attr-defined]

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Respond to a click on a pager that no live view owns, so the user does not see a failure."""
        custom_id = (interaction.data or {}).get("custom_id", "")
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith(PAGER_ID_PREFIXES):
            return

        await asyncio.sleep(EXPIRED_PAGER_GRACE_SECONDS)
        if interaction.response.is_done():
            return

        log.info("Click on expired pager %s in interaction %s by user %s", custom_id, interaction.id, interaction.user.id)
        try:
            await interaction.response.send_message(EXPIRED_PAGER, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning("Failed to respond to expired pager interaction %s: %s", interaction.id, error)

    @property
    def view_timeout(self) -> float:
        """Seconds a pager waits after its last use before it disables its components."""
        settings = getattr(self.bot, "settings", None)
        return float(getattr(settings, "view_timeout_seconds", DEFAULT_VIEW_TIMEOUT_SECONDS))

    @app_commands.command(name="search")
    @app_commands.describe(query="Words to find, e.g. ISS, Kononenko, NASA or Chinese. Every word has to match.")
    async def search(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, MAX_QUERY_LENGTH]
    ) -> None:
        """Search expeditions by station, crew member, agency or nationality."""
        # Discord enforces the declared maximum length, but a client can send any text, so
        # build_search_answer checks the length again. The mirror is local SQLite, so the
        # synchronous query still answers within Discord's 3-second window.
        answer = build_search_answer(self.store, query)
        log.info(
            "Search from user %s in interaction %s: %s, %d matches",
            interaction.user.id,
            interaction.id,
            answer.outcome.value,
            answer.total,
        )

        if answer.message is not None:
            await interaction.response.send_message(answer.message, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return

        pager = SearchPager(self.store, answer, author_id=interaction.user.id, timeout=self.view_timeout)
        await send_with_pager(interaction, answer.embeds, pager)

    @app_commands.command(name="show")
    @app_commands.describe(expedition="Start typing a name, e.g. Expedition 72 or Shenzhou 19, and pick one.")
    async def show(
        self, interaction: discord.Interaction, expedition: app_commands.Range[str, 1, MAX_QUERY_LENGTH]
    ) -> None:
        """Show one expedition in full: station, dates, crew, mission patches and spacewalks."""
        found = resolve_expedition(self.store, expedition)
        log.info(
            "Show from user %s in interaction %s: %r resolved to expedition %s",
            interaction.user.id,
            interaction.id,
            expedition[:MAX_QUERY_LENGTH],
            found.id if found else None,
        )

        if found is None:
            await interaction.response.send_message(
                not_found_message(expedition), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return

        embeds = build_expedition_embeds(found, synced_at=read_last_sync(self.store), now=discord.utils.utcnow())
        await interaction.response.send_message(embeds=embeds, allowed_mentions=NO_MENTIONS)

    @show.autocomplete("expedition")
    async def expedition_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the expeditions whose names fit what the user has typed so far."""
        return expedition_choices(self.store, current)

    @app_commands.command(name="station")
    @app_commands.describe(
        station="Start typing a station name, e.g. ISS or Tiangong, and pick one.",
        when="Which expeditions to list: on-going, upcoming, past, or all of them (the default).",
    )
    async def station(
        self,
        interaction: discord.Interaction,
        station: app_commands.Range[str, 1, MAX_QUERY_LENGTH],
        when: WhenChoice = "all",
    ) -> None:
        """List a station's expeditions, newest first."""
        found = resolve_station(self.store, station)
        time_filter = TimeFilter(when)
        log.info(
            "Station listing from user %s in interaction %s: %r resolved to station %s, %s",
            interaction.user.id,
            interaction.id,
            station[:MAX_QUERY_LENGTH],
            found.id if found else None,
            time_filter.value,
        )
        if found is None:
            await send_note(interaction, station_not_found_message(station))
            return

        station_id = found.id

        def load_page(offset: int) -> BrowseAnswer:
            return build_station_answer(self.store, station_id, time_filter, offset, now=discord.utils.utcnow())

        await self.send_listing(interaction, load_page, NOT_YOUR_STATION_LIST, "expedition_station")

    @station.autocomplete("station")
    async def station_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the stations whose names fit what the user has typed so far."""
        return lookup_choices(self.store.lookup_stations, current, "Station")

    @app_commands.command(name="crew")
    @app_commands.describe(astronaut="Start typing a name, e.g. Kononenko or Sunita Williams, and pick one.")
    async def crew(
        self, interaction: discord.Interaction, astronaut: app_commands.Range[str, 1, MAX_QUERY_LENGTH]
    ) -> None:
        """List the expeditions a person flew on, with their role on each."""
        found = resolve_astronaut(self.store, astronaut)
        log.info(
            "Crew listing from user %s in interaction %s: %r resolved to astronaut %s",
            interaction.user.id,
            interaction.id,
            astronaut[:MAX_QUERY_LENGTH],
            found.id if found else None,
        )
        if found is None:
            await send_note(interaction, astronaut_not_found_message(astronaut))
            return

        astronaut_id = found.id

        def load_page(offset: int) -> BrowseAnswer:
            return build_crew_answer(self.store, astronaut_id, offset, now=discord.utils.utcnow())

        await self.send_listing(interaction, load_page, NOT_YOUR_CREW_LIST, "expedition_crew")

    @crew.autocomplete("astronaut")
    async def astronaut_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Offer the people whose names fit what the user has typed so far."""
        return lookup_choices(self.store.lookup_astronauts, current, "Astronaut")

    @app_commands.command(name="current")
    async def current(self, interaction: discord.Interaction) -> None:
        """Show who is aboard each space station right now."""
        embeds = build_current_answer(self.store, now=discord.utils.utcnow())
        log.info("Current crews for user %s in interaction %s: %d embeds", interaction.user.id, interaction.id,
                 len(embeds))
        await interaction.response.send_message(embeds=embeds, allowed_mentions=NO_MENTIONS)

    async def send_listing(
        self,
        interaction: discord.Interaction,
        load_page: Callable[[int], BrowseAnswer],
        not_yours: str,
        id_prefix: str,
    ) -> None:
        """Send the first page of a listing with its pager, or the note that explains why there is nothing to list."""
        answer = load_page(0)
        if answer.message is not None:
            await send_note(interaction, answer.message)
            return

        pager = ExpeditionPager(
            self.store,
            answer,
            load_page,
            author_id=interaction.user.id,
            id_prefix=id_prefix,
            not_yours=not_yours,
            timeout=self.view_timeout,
        )
        await send_with_pager(interaction, answer.embeds, pager)


async def send_note(interaction: discord.Interaction, message: str) -> None:
    """Answer with a note that only the user sees."""
    await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def send_with_pager(
    interaction: discord.Interaction, embeds: Sequence[discord.Embed], pager: ExpeditionPager
) -> None:
    """Send a listing's first page with its pager, which edits this response when it times out."""
    pager.latest_interaction = interaction
    await interaction.response.send_message(embeds=list(embeds), view=pager, allowed_mentions=NO_MENTIONS)


def lookup_choices(
    lookup: Callable[..., list[NameMatch]], current: str, fallback: str
) -> list[app_commands.Choice[str]]:
    """Return up to 25 autocomplete choices from a name lookup, the record id as each value."""
    choices = []
    for match in lookup(current, limit=CHOICE_LIMIT):
        # Choice names are plain text in Discord's picker, so only control characters are removed.
        name = truncate(clean_text(match.name), CHOICE_NAME_LIMIT) or f"{fallback} #{match.id}"
        choices.append(app_commands.Choice(name=name, value=str(match.id)))
    return choices


def expedition_choices(store: ExpeditionStore, current: str) -> list[app_commands.Choice[str]]:
    """Return up to 25 autocomplete choices for `current`, the expedition id as each value."""
    return lookup_choices(store.lookup_expeditions, current, "Expedition")


def resolve_expedition(store: ExpeditionStore, value: str) -> Expedition | None:
    """Return the expedition a `show` option names: a chosen id, or else the best match for a typed name."""
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        found = store.get_expedition(int(text))
        if found is not None:
            return found

    # Without searchable words a lookup lists the newest expeditions, which the user did not ask for.
    matches = store.lookup_expeditions(text, limit=1) if search_terms(text) else []
    if not matches:
        return None
    return store.get_expedition(matches[0].id)


def not_found_message(value: str) -> str:
    """Return the note for a `show` option that names no stored expedition."""
    quoted = escape_and_truncate(value, 60)
    if not quoted:
        return f"Tell me which expedition to show. {SHOW_EXAMPLE}"
    return f"I can't find an expedition called “{quoted}” in the mirror of Launch Library 2. {SHOW_EXAMPLE}"


async def setup(bot: commands.Bot) -> None:
    """Add the expedition commands to `bot`, which must have a `store` attribute."""
    await bot.add_cog(ExpeditionCog(bot))
