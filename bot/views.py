"""The pager under a listing of expeditions: Prev and Next around a page counter, and a menu to open one.

Search, station and crew listings share `ExpeditionPager`. Each click reads the mirror again,
so a page always shows the current data. Choosing an expedition in the menu sends it in full,
as `/expedition show` renders it, in an ephemeral reply, so the listing stays as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import discord

from bot.detail_embeds import build_expedition_embeds
from bot.embeds import clean_text, truncate
from bot.errors import report_unexpected_error
from bot.paging import PagedAnswer
from bot.search_answer import SearchAnswer, SearchStore, build_search_answer, read_last_sync
from storage.records import Expedition

log = logging.getLogger(__name__)

DEFAULT_VIEW_TIMEOUT_SECONDS = 180.0

NO_MENTIONS = discord.AllowedMentions.none()

# Discord's limits on a select menu option: label and description 1 to 100 characters each.
OPTION_TEXT_LIMIT = 100

REMOVED_EXPEDITION = (
    "That expedition is no longer in the mirror: a sync removed it after this list was shown. "
    "Turn the page to refresh the list."
)


class ExpeditionReader(Protocol):
    """The part of `storage.database.ExpeditionStore` that opening a listed expedition reads."""

    def get_expedition(self, expedition_id: int) -> Expedition | None: ...

    def get_state(self, key: str) -> str | None: ...


def select_option(expedition: Expedition) -> discord.SelectOption:
    """Return the menu option of one listed expedition: its name, and its station and start year."""
    # Option texts are plain text in Discord's menu, so only control characters are removed.
    label = truncate(clean_text(expedition.name), OPTION_TEXT_LIMIT) or f"Expedition #{expedition.id}"
    station = clean_text(expedition.station.name) or "Unknown station"
    description = truncate(f"{station} · {expedition.start.year}", OPTION_TEXT_LIMIT)
    return discord.SelectOption(label=label, value=str(expedition.id), description=description)


class ExpeditionPager(discord.ui.View):
    """Prev and Next buttons around a page counter, and a menu that opens a listed expedition in full.

    `load_page(offset)` builds the page at `offset` from the mirror. Only `author_id` may use the
    components; anyone else gets `not_yours`, an ephemeral note. The component custom ids are
    `{id_prefix}:previous`, `:page`, `:next` and `:open`. A single page gets the menu only.
    """

    def __init__(
        self,
        store: ExpeditionReader,
        answer: PagedAnswer,
        load_page: Callable[[int], PagedAnswer],
        *,
        author_id: int,
        id_prefix: str,
        not_yours: str,
        timeout: float | None = DEFAULT_VIEW_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = discord.utils.utcnow,
    ) -> None:
        super().__init__(timeout=timeout)
        self.store: ExpeditionReader = store
        self.answer: PagedAnswer = answer
        self.load_page: Callable[[int], PagedAnswer] = load_page
        self.author_id: int = author_id
        self.not_yours: str = not_yours
        self.clock: Callable[[], datetime] = clock

        # The interaction whose token edits the message on timeout. A component interaction's
        # token stays valid for 15 minutes, longer than the pager waits after the last click.
        # A menu choice gets a new ephemeral message as its response, so it never replaces the listing.
        self.latest_interaction: discord.Interaction | None = None

        self.previous_page.custom_id = f"{id_prefix}:previous"
        self.page_counter.custom_id = f"{id_prefix}:page"
        self.next_page.custom_id = f"{id_prefix}:next"
        self.open_expedition.custom_id = f"{id_prefix}:open"
        if answer.page_count == 1:
            for button in (self.previous_page, self.page_counter, self.next_page):
                self.remove_item(button)
        self.update_components()

    def update_components(self) -> None:
        """Set the counter label, enable only the buttons that lead to a page, and list the page in the menu."""
        self.page_counter.label = f"{self.answer.page_number}/{self.answer.page_count}"
        self.previous_page.disabled = not self.answer.has_previous
        self.next_page.disabled = not self.answer.has_next
        self.open_expedition.options = [select_option(expedition) for expedition in self.answer.expeditions]

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Let only the user who ran the command use the buttons and the menu."""
        if interaction.user.id == self.author_id:
            return True

        log.info("Rejected a click from user %s on the pager of user %s", interaction.user.id, self.author_id)
        await interaction.response.send_message(self.not_yours, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return False

    @discord.ui.button(label="◀ Prev", style=discord.ButtonStyle.secondary, custom_id="expedition_pager:previous")
    async def previous_page(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Show the page before the current one."""
        await self.show_page(interaction, self.answer.previous_offset)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True, custom_id="expedition_pager:page")
    async def page_counter(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Do nothing: the counter is a disabled label."""

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="expedition_pager:next")
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Show the page after the current one."""
        await self.show_page(interaction, self.answer.next_offset)

    @discord.ui.select(
        cls=discord.ui.Select,
        custom_id="expedition_pager:open",
        placeholder="Open an expedition in full",
        row=1,
        options=[discord.SelectOption(label="-")],
    )
    async def open_expedition(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        """Send the chosen expedition in full, to the user alone."""
        expedition_id = int(select.values[0])
        found = self.store.get_expedition(expedition_id)
        log.info("User %s opened expedition %s from a listing (found: %s)", interaction.user.id, expedition_id,
                 found is not None)

        if found is None:
            await interaction.response.send_message(REMOVED_EXPEDITION, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return

        embeds = build_expedition_embeds(found, synced_at=read_last_sync(self.store), now=self.clock())
        await interaction.response.send_message(embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def show_page(self, interaction: discord.Interaction, offset: int) -> None:
        """Read the page at `offset` from the mirror again and put it in the message."""
        self.latest_interaction = interaction

        # The mirror is local SQLite and answers in milliseconds, so querying it synchronously
        # still acknowledges the click well within Discord's 3-second window.
        answer = self.load_page(offset)

        if answer.message is not None:
            # The mirror changed since the listing was shown and nothing is left to list.
            self.stop()
            await interaction.response.edit_message(
                content=answer.message, embeds=[], view=None, allowed_mentions=NO_MENTIONS
            )
            return

        self.answer = answer
        self.update_components()
        await interaction.response.edit_message(embeds=list(answer.embeds), view=self, allowed_mentions=NO_MENTIONS)

    async def on_timeout(self) -> None:
        """Disable the buttons and the menu so that nothing dead stays clickable."""
        for item in self.children:
            if isinstance(item, (discord.ui.Button, discord.ui.Select)):
                item.disabled = True

        if self.latest_interaction is None:
            return

        try:
            await self.latest_interaction.edit_original_response(view=self, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning(
                "Failed to disable the pager of interaction %s: %s (status %s, code %s)",
                self.latest_interaction.id,
                error.text,
                error.status,
                error.code,
            )

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        """Log a failed click with its ids and give the user a reference code."""
        await report_unexpected_error(interaction, error, source=f"the pager ({item.custom_id})")


SEARCH_NOT_YOURS = (
    "Only the person who ran this search can turn its pages or open its results. "
    "Run `/expedition search` for your own."
)


class SearchPager(ExpeditionPager):
    """The pager of `/expedition search`: each page searches the mirror again for the same query."""

    def __init__(
        self,
        store: SearchStore,
        answer: SearchAnswer,
        *,
        author_id: int,
        timeout: float | None = DEFAULT_VIEW_TIMEOUT_SECONDS,
    ) -> None:
        query, page_size = answer.query, answer.page_size
        super().__init__(
            store,  # type: ignore[arg-type]
            answer,
            lambda offset: build_search_answer(store, query, offset, page_size=page_size),
            author_id=author_id,
            id_prefix="expedition_search",
            not_yours=SEARCH_NOT_YOURS,
            timeout=timeout,
        )
