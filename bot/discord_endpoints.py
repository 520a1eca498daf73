"""Point discord.py at other REST and gateway endpoints, such as a rate-limit proxy or a test server."""

from __future__ import annotations

import logging

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)


def apply_discord_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Replace discord.py's REST base (version path included) and gateway URL where given.

    discord.py reads `Route.BASE` each time it builds a route, interaction callbacks and
    webhooks included, and a plain `Bot` connects to `DEFAULT_GATEWAY` without asking
    `GET /gateway/bot` first, so these two class attributes cover every connection.
    """
    if api_base:
        Route.BASE = api_base
        log.info("Discord REST requests go to %s", api_base)

    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        log.info("Discord gateway connections go to %s", gateway_url)
