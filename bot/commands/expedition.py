"""The `/expedition` command group: `search` with the pager that turns its result pages, and `show`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.detail_embeds import build_expedition_embeds
from bot.embeds import clean_text, escape_and_truncate, truncate
from bot.errors import report_unexpected_error
from bot.search_answer import (
    MAX_QUERY_LENGTH,
    SearchAnswer,
    SearchStore,
    build_search_answer,
    read_last_sync,
)
from storage.records import Expedition
from storage.search import search_terms

if TYPE_CHECKING:
    from storage.database import ExpeditionStore

log = logging.getLogger(__name__)

PAGER_TIMEOUT_SECONDS = 180.0
NOT_YOUR_PAGER = "Only the person who ran this search can turn its pages. Run `/expedition search` for your own."

NO_MENTIONS = discord.AllowedMentions.none()

# Discord's limits on one autocomplete choice: at most 25 of them, each name 1 to 100 characters.
CHOICE_LIMIT = 25
CHOICE_NAME_LIMIT = 100

# The maximum number of digits of an id in a choice value. A longer number is taken as a typed name.
MAX_ID_DIGITS = 18

SHOW_EXAMPLE = "Start typing a name, such as `Expedition 72` or `Shenzhou 19`, and pick one from the list."


class SearchPager(discord.ui.View):
    """Previous and Next buttons around a page counter, for one search result message.

    Each click searches the mirror again, so a page always shows the current data.
    """

    def __init__(
        self,
        store: SearchStore,
        answer: SearchAnswer,
        *,
        author_id: int,
        timeout: float | None = PAGER_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(timeout=timeout)
        self.store: SearchStore = store
        self.answer: SearchAnswer = answer
        self.author_id: int = author_id

        # The interaction whose token edits the message on timeout. A component interaction's
        # token stays valid for 15 minutes, longer than the pager waits after the last click.
        self.latest_interaction: discord.Interaction | None = None
        self.update_buttons()

    def update_buttons(self) -> None:
        """Set the counter label and enable only the buttons that lead to an existing page."""
        self.page_counter.label = f"{self.answer.page_number}/{self.answer.page_count}"
        self.previous_page.disabled = not self.answer.has_previous
        self.next_page.disabled = not self.answer.has_next

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Let only the user who ran the search turn its pages."""
        if interaction.user.id == self.author_id:
            return True

        await interaction.response.send_message(NOT_YOUR_PAGER, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return False

    @discord.ui.button(label="◀ Prev", style=discord.ButtonStyle.secondary, custom_id="expedition_search:previous")
    async def previous_page(self, interaction: discord.Interaction, button: discord.ui.Button[SearchPager]) -> None:
        """Show the page before the current one."""
        await self.show_page(interaction, self.answer.previous_offset)

    @discord.ui.button(
        label="1/1", style=discord.ButtonStyle.secondary, disabled=True, custom_id="expedition_search:page"
    )
    async def page_counter(self, interaction: discord.Interaction, button: discord.ui.Button[SearchPager]) -> None:
        """Do nothing: the counter is a disabled label."""

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="expedition_search:next")
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[SearchPager]) -> None:
        """Show the page after the current one."""
        await self.show_page(interaction, self.answer.next_offset)

    async def show_page(self, interaction: discord.Interaction, offset: int) -> None:
        """Search again for the page at `offset` and put it in the message."""
        self.latest_interaction = interaction

        # The mirror is local SQLite and answers in milliseconds, so querying it synchronously
        # still acknowledges the click well within Discord's 3-second window.
        answer = build_search_answer(self.store, self.answer.query, offset, page_size=self.answer.page_size)

        if answer.message is not None:
            # The mirror changed since the search and nothing matches any more.
            self.stop()
            await interaction.response.edit_message(
                content=answer.message, embeds=[], view=None, allowed_mentions=NO_MENTIONS
            )
            return

        self.answer = answer
        self.update_buttons()
        await interaction.response.edit_message(embeds=list(answer.embeds), view=self, allowed_mentions=NO_MENTIONS)

    async def on_timeout(self) -> None:
        """Disable the buttons so that nothing dead stays clickable."""
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True

        if self.latest_interaction is None:
            return

        try:
            await self.latest_interaction.edit_original_response(view=self, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning(
                "Failed to disable the search pager of interaction %s: %s (status %s, code %s)",
                self.latest_interaction.id,
                error.text,
                error.status,
                error.code,
            )

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        """Log a failed click with its ids and give the user a reference code."""
        await report_unexpected_error(interaction, error, source=f"the search pager ({item.custom_id})")


class ExpeditionCog(
    commands.GroupCog, group_name="expedition", group_description="Look up crewed space station expeditions"
):
    """Commands that answer from the local mirror of Launch Library 2 expeditions."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot: commands.Bot = bot

    @property
    def store(self) -> ExpeditionStore:
        """The bot's expedition mirror."""
        return self.bot.store  # type: ignore[attr-defined]

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

        if answer.page_count == 1:
            await interaction.response.send_message(embeds=list(answer.embeds), allowed_mentions=NO_MENTIONS)
            return

        pager = SearchPager(self.store, answer, author_id=interaction.user.id)
        pager.latest_interaction = interaction
        await interaction.response.send_message(embeds=list(answer.embeds), view=pager, allowed_mentions=NO_MENTIONS)

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


def expedition_choices(store: ExpeditionStore, current: str) -> list[app_commands.Choice[str]]:
    """Return up to 25 autocomplete choices for `current`, the expedition id as each value."""
    choices = []
    for match in store.lookup_expeditions(current, limit=CHOICE_LIMIT):
        # Choice names are plain text in Discord's picker, so only control characters are removed.
        name = truncate(clean_text(match.name), CHOICE_NAME_LIMIT) or f"Expedition #{match.id}"
        choices.append(app_commands.Choice(name=name, value=str(match.id)))
    return choices


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
