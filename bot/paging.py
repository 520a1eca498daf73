"""Page arithmetic and the shape of one page of a listing, shared by search, station and crew listings."""

from __future__ import annotations

import logging
from typing import Protocol

import discord

from bot.embeds import page_count, page_number
from storage.records import Expedition

log = logging.getLogger(__name__)


class PagePosition:
    """Page number, page count and neighbour offsets, for a class with `offset`, `total` and `page_size`."""

    offset: int
    total: int
    page_size: int

    @property
    def page_number(self) -> int:
        """The 1-based number of the page shown."""
        return page_number(self.offset, self.page_size)

    @property
    def page_count(self) -> int:
        """The number of pages that all results fill."""
        return page_count(self.total, self.page_size)

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page_number > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page_number < self.page_count

    @property
    def previous_offset(self) -> int:
        """The offset of the previous page (0 on the first page)."""
        return max(0, self.offset - self.page_size)

    @property
    def next_offset(self) -> int:
        """The offset of the next page (this page's offset on the last page)."""
        return self.offset + self.page_size if self.has_next else self.offset


class PagedAnswer(Protocol):
    """One page of a listing as a pager shows it.

    `message` is set instead of `embeds` when there is nothing to list, e.g. because a sync
    removed every result since the listing was first shown.
    """

    embeds: tuple[discord.Embed, ...]
    message: str | None
    expeditions: tuple[Expedition, ...]
    offset: int
    total: int
    page_size: int

    @property
    def page_number(self) -> int: ...

    @property
    def page_count(self) -> int: ...

    @property
    def has_previous(self) -> bool: ...

    @property
    def has_next(self) -> bool: ...

    @property
    def previous_offset(self) -> int: ...

    @property
    def next_offset(self) -> int: ...
