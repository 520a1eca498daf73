"""Command line: `python -m bot [run | sync | search TEXT [--json] | sync-commands | backup PATH [--force]]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import discord

from bot import __version__
from bot.client import USER_AGENT, ExpeditionBot, create_ll2_client
from bot.discord_endpoints import apply_discord_endpoints
from bot.jobs.sync import run_full_sync
from bot.search_answer import build_search_answer, check_query, embeds_to_json
from bot.settings import Settings, SettingsError, load_settings
from storage.backup import BackupError, backup_database, describe_report
from storage.database import ExpeditionStore
from storage.records import Expedition

log = logging.getLogger("bot")

# Maximum number of lines that `search` prints per page without --json. With --json it pages like
# the slash command.
MAX_PLAIN_RESULTS = 1000


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for the sub-commands."""
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

    commands.add_parser(
        "sync-commands",
        help="send the slash commands to Discord now, even when unchanged (to DEV_GUILD_ID when set), then exit",
    )

    backup = commands.add_parser(
        "backup", help="copy the database to PATH, safely while the bot runs, and print what the copy contains"
    )
    backup.add_argument("path", type=Path, help="file to write the copy to")
    backup.add_argument("--force", action="store_true", help="overwrite PATH when it exists")
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
    # APScheduler logs every job run at INFO, about 4 lines a minute with the announcer. Its
    # warnings and errors still show, and the jobs log their own starts and results.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))


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
        if command == "sync-commands":
            return asyncio.run(sync_commands(settings))
        if command == "backup":
            return back_up(settings, arguments.path, force=arguments.force)
        return asyncio.run(run_bot(settings))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as error:
        print(f"error: {describe_database_error(settings.database_path, error)}", file=sys.stderr)
        return 1


def describe_database_error(path: Path, error: sqlite3.DatabaseError) -> str:
    """Return one line that describes the problem with the database file and what to do about it."""
    name = getattr(error, "sqlite_errorname", "")
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return (f"{path} is not a valid SQLite database ({error}). Restore it from a backup, or move it "
                f"aside so that the bot creates a new one (`python -m bot sync` fills it again).")
    return f"the database {path} cannot be used ({error}); check its permissions and the free disk space."


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
    # The connection closes before the rest of the shutdown ends; wait for all of it.
    await bot.close()
    log.info("Stopped")
    return 0


def _stop(bot: ExpeditionBot, signal_name: str) -> None:
    log.info("Received %s; closing", signal_name)
    task = asyncio.get_running_loop().create_task(bot.close())
    # The loop keeps only weak references to tasks.
    _SHUTDOWN_TASKS.add(task)
    task.add_done_callback(_SHUTDOWN_TASKS.discard)


_SHUTDOWN_TASKS: set[asyncio.Task[None]] = set()


async def sync_commands(settings: Settings) -> int:
    """Send the command tree to Discord now over REST (no gateway), print what was synced, return the exit code."""
    token = settings.require_discord_token()
    apply_discord_endpoints(settings.discord_api_base, settings.discord_gateway_url)

    bot = ExpeditionBot(settings, start_jobs=False)
    try:
        async with bot:
            # login() runs setup_hook, which loads the command extensions.
            await bot.login(token)
            await bot.sync_commands_if_changed(force=True)
    except discord.LoginFailure:
        print("error: Discord rejected the token: check DISCORD_TOKEN in .env", file=sys.stderr)
        return 1
    except discord.HTTPException as error:
        print(f"error: Discord rejected the commands ({error.status}): {error.text}", file=sys.stderr)
        return 1

    assert bot.last_command_sync is not None
    scope, synced = bot.last_command_sync
    where = "globally (they can take up to an hour to appear)" if scope == "global" else f"to {scope.replace(':', ' ')}"
    print(f"Synced {len(synced)} commands {where}:")
    for command in synced:
        print(f"  {describe_synced_command(command)}")
    return 0


def describe_synced_command(command: discord.app_commands.AppCommand) -> str:
    """Return `/name` with its subcommands, e.g. `/expedition: search, show, status`."""
    nested = (discord.AppCommandOptionType.subcommand, discord.AppCommandOptionType.subcommand_group)
    children = [option.name for option in command.options if option.type in nested]
    return f"/{command.name}: {', '.join(children)}" if children else f"/{command.name}"


def back_up(settings: Settings, path: Path, *, force: bool) -> int:
    """Copy the database to `path` with SQLite's online backup, print what the copy contains, return the exit code."""
    try:
        report = backup_database(settings.database_path, path, force=force)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(describe_report(report))
    return 0


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

    if not settings.database_path.exists():
        print(
            f"error: there is no database at {settings.database_path}: run `python -m bot sync` first, "
            "or set DATABASE_PATH to the bot's database.",
            file=sys.stderr,
        )
        return 1

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
