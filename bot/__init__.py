"""Expedition bot: a Discord bot that answers questions about crewed space station expeditions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("expedition-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
