"""Command line: `python -m bot [run | sync | search TEXT [--json]]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence

import aiohttp
import discord

from bot import __version__
from bot.client import USER_AGENT, ExpeditionBot, create_ll2_client
from bot.discord_endpoints import apply_discord_endpoints
from bot.jobs.sync import run_full_sync
from bot.search_answer import build_search_answer, check_query, embeds_to_json
from bot.settings import Settings, SettingsError, load_settings
from storage.database import ExpeditionStore
from storage.records import Expedition

log = logging.getLogger("bot")

# Maximum number of lines that `search` prints per page without --json. With --json it pages like
# the slash command.
MAX_PLAIN_RESULTS = 1000


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for the three sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Expedition bot for Discord.")
    parser.add_argument("--version", action="version", version=f"expedition-bot {__version__}")
    commands = parser.add_subparsers(dest="command")

    commands.add_parser("run", help="connect to Discord and serve slash commands (the default)")
    commands.add_parser("sync", help="run one full sync from LL2 into the database, then exit")

    search = commands.add_parser("search", help="print the expeditions in the database that match TEXT")
    search.add_argument("text", help="station, crew member, agency or nationality to search for")
    search.add_argument(
        "--json", action="store_true", help="print the embed payloads the slash command would send"
    )
    search.add_argument(
        "--page", type=int, default=1,
        help=f"result page, starting at 1: five results with --json, {MAX_PLAIN_RESULTS} without",
    )
    return parser


def configure_logging(level: str) -> None:
    """Send log lines to standard error, one line per record."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
    )
    # discord.py logs each gateway event at DEBUG; keep it at INFO unless asked for more.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sub-command named in `argv` and return the process exit code."""
    arguments = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    configure_logging(settings.log_level)
    command = arguments.command or "run"
    try:
        if command == "sync":
            return asyncio.run(sync_once(settings))
        if command == "search":
            return search_database(settings, arguments.text, as_json=arguments.json, page=arguments.page)
        return asyncio.run(run_bot(settings))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


async def run_bot(settings: Settings) -> int:
    """Connect to Discord and serve until a signal or a fatal error stops the bot."""
    token = settings.require_discord_token()
    apply_discord_endpoints(settings.discord_api_base, settings.discord_gateway_url)

    bot = ExpeditionBot(settings)
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, lambda name=signal.Signals(signal_number).name: _stop(bot, name))

    log.info("Starting expedition-bot %s", __version__)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        log.error("Discord rejected the token: check DISCORD_TOKEN in .env (Developer Portal > Bot > Reset Token)")
        return 1
    log.info("Stopped")
    return 0


def _stop(bot: ExpeditionBot, signal_name: str) -> None:
    log.info("Received %s; closing", signal_name)
    asyncio.get_running_loop().create_task(bot.close())


async def sync_once(settings: Settings) -> int:
    """Run one full sync, print what it stored and the LL2 requests it spent, and return the exit code."""
    store = ExpeditionStore.open(settings.database_path, check_same_thread=False)
    try:
        async with aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}) as session:
            client = create_ll2_client(settings, session, store)
            report = await run_full_sync(client, store)
    finally:
        store.close()

    print(
        f"Stored {len(report.inserted)} new and {len(report.updated)} changed expeditions "
        f"({report.unchanged} unchanged, {report.skipped} skipped as invalid) "
        f"using {report.requests} LL2 requests."
    )
    if report.complete:
        return 0

    if report.postponed_until is not None:
        print(
            f"Sync skipped: LL2 throttled an earlier sync or the request budget "
            f"(LL2_REQUESTS_PER_HOUR) is spent. Try again after {report.postponed_until:%Y-%m-%d %H:%M} UTC."
        )
    else:
        print(f"Sync incomplete: {report.error}. The next run resumes where this one stopped.")
    return 1


def search_database(settings: Settings, text: str, *, as_json: bool, page: int) -> int:
    """Print the matches for `text` from the local database, as lines or as embed JSON."""
    rejection = check_query(text.strip())
    if rejection is not None:
        print(rejection.message, file=sys.stderr)
        return 2

    store = ExpeditionStore.open(settings.database_path)
    try:
        if as_json:
            answer = build_search_answer(store, text, page=max(page, 1) - 1)
            print(json.dumps(embeds_to_json(answer.embeds), ensure_ascii=False, indent=2))
            if answer.message:
                print(answer.message, file=sys.stderr)
            return 0

        results = store.search(text, offset=(max(page, 1) - 1) * MAX_PLAIN_RESULTS, limit=MAX_PLAIN_RESULTS)
        for expedition in results.expeditions:
            print(format_expedition_line(expedition))
        print(f"{results.total} matching expeditions", file=sys.stderr)
        if results.total == 0 and store.counts().expeditions == 0:
            print("The database is empty: run `python -m bot sync` first.", file=sys.stderr)
        return 0
    finally:
        store.close()


def format_expedition_line(expedition: Expedition) -> str:
    """Return one tab-separated line: id, name, station, start, end and crew count."""
    end = expedition.end.isoformat() if expedition.end else "-"
    return "\t".join(
        [
            str(expedition.id),
            expedition.name,
            expedition.station.name,
            expedition.start.isoformat(),
            end,
            f"{len(expedition.crew)} crew",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
