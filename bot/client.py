"""The bot: owns the mirror, the LL2 client and the scheduler, and loads the command cogs."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
from datetime import timedelta

import aiohttp
import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot import __version__
from bot.errors import install_error_handler
from bot.jobs.announce import Announcer, discord_sender
from bot.jobs.sync import create_scheduler, load_request_budget
from bot.jobs.watchdog import SyncWatchdog, add_watchdog_job
from bot.ll2.client import LL2Client
from bot.process_lock import ProcessLock, lock_path_for
from bot.settings import Settings
from bot.shutdown import RunningJobs, stop_scheduler
from storage.database import ExpeditionStore

log = logging.getLogger(__name__)

# bot.commands.status adds a subcommand to the /expedition group, so it loads after that group.
EXTENSIONS = ("bot.commands.expedition", "bot.commands.status", "bot.commands.subscription")

USER_AGENT = f"expedition-bot/{__version__} (Discord bot; LL2 mirror)"

# The watchdog checks this often, or every sync interval when that is shorter.
WATCHDOG_CHECK_EVERY = timedelta(minutes=5)


def command_payload_hash(payload: list[dict]) -> str:
    """Return a stable hash of the application-command payload that `tree.sync()` would send."""
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


class ExpeditionBot(commands.Bot):
    """A bot that serves commands from the local mirror and keeps the mirror in sync with LL2."""

    def __init__(self, settings: Settings, *, start_jobs: bool = True) -> None:
        """Open the mirror; `start_jobs=False` loads the commands only (for `python -m bot sync-commands`)."""
        # The bot never joins voice channels, so discord.py's start-up warnings about the
        # missing voice libraries (PyNaCl, davey) would only alarm operators. discord.py logs
        # them from Client.__init__, so the flags must be cleared before it runs.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False

        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
        )

        self.settings = settings
        self.store: ExpeditionStore = ExpeditionStore.open(settings.database_path)
        self.sync_store: ExpeditionStore | None = None
        self.http_session: aiohttp.ClientSession | None = None
        self.ll2: LL2Client | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.announce_store: ExpeditionStore | None = None
        self.announcer: Announcer | None = None
        self.process_lock = ProcessLock(lock_path_for(settings.database_path))
        self.start_jobs = start_jobs
        self.running_jobs = RunningJobs()
        self.watchdog: SyncWatchdog | None = None
        self._shutdown: asyncio.Task[None] | None = None
        # What the last tree sync sent: its scope ("global" or "guild:<id>") and Discord's response.
        self.last_command_sync: tuple[str, list[discord.app_commands.AppCommand]] | None = None

    async def setup_hook(self) -> None:
        install_error_handler(self.tree)
        for extension in EXTENSIONS:
            await self.load_extension(extension)

        # The modules and objects loaded so far live as long as the process. Freezing them keeps
        # the garbage collector's full passes, which pause every thread, from rescanning them
        # (in benchmarks/loop_lag.py the worst event-loop pause fell from 33 to 14 ms at 20k).
        gc.freeze()
        if not self.start_jobs:
            return

        self._start_sync_job()
        await self.sync_commands_if_changed()

    def _start_sync_job(self) -> None:
        # Two processes running the jobs on one database would announce everything twice.
        if not self.process_lock.acquire():
            log.error("another expedition-bot process is running on %s, so this one serves commands "
                      "but does not run sync or announcements; stop the other process to run them here",
                      self.settings.database_path)
            return

        # The sync job writes from a worker thread through its own connection, so commands keep
        # reading from `self.store` on the event loop while a sync is running (WAL mode). The
        # announcer has a connection of its own too, because its passes may run during a sync.
        self.sync_store = ExpeditionStore.open(self.settings.database_path, check_same_thread=False)
        self.announce_store = ExpeditionStore.open(self.settings.database_path, check_same_thread=False)
        self.http_session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        self.ll2 = create_ll2_client(self.settings, self.http_session, self.sync_store)
        self.announcer = Announcer(self.announce_store, discord_sender(self.http))
        self.scheduler = create_scheduler(self.ll2, self.sync_store, self.settings, announcer=self.announcer)
        self.running_jobs.attach(self.scheduler)
        interval = timedelta(minutes=self.settings.sync_interval_minutes)
        self.watchdog = SyncWatchdog(self.store, interval=interval)
        add_watchdog_job(self.scheduler, self.watchdog, every=min(interval, WATCHDOG_CHECK_EVERY))
        self.scheduler.start()
        log.info("Scheduler started: sync every %d minutes, announcements every %d seconds",
                 self.settings.sync_interval_minutes, self.settings.announce_interval_seconds)

    async def sync_commands_if_changed(self, *, force: bool = False) -> bool:
        """Sync the command tree when its payload differs from the last one synced; return whether it did.

        Discord rate-limits command updates, so an unchanged tree is never sent again.
        """
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)

        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        scope = f"guild:{guild.id}" if guild else "global"
        state_key = f"command_payload_hash:{scope}"
        payload_hash = command_payload_hash(payload)
        if not force and self.store.get_state(state_key) == payload_hash:
            log.info("Application commands unchanged (%s); not syncing", scope)
            return False

        synced = await self.tree.sync(guild=guild)
        self.last_command_sync = (scope, synced)
        self.store.set_state(state_key, payload_hash)
        log.info("Synced %d application commands (%s)", len(synced), scope)
        return True

    async def on_ready(self) -> None:
        log.info("Connected as %s (id %s) in %d guilds", self.user, self.user and self.user.id, len(self.guilds))

    async def close(self) -> None:
        """Shut down once, however often it is called: jobs, Discord, LL2 session, database."""
        if self._shutdown is None:
            self._shutdown = asyncio.create_task(self._shut_down())
        # Shielded: a caller that gets cancelled must not cut the shutdown short.
        await asyncio.shield(self._shutdown)

    async def _shut_down(self) -> None:
        log.info("Shutting down")
        # Jobs stop first: a delivery still running needs the Discord connection.
        if self.scheduler is not None and self.scheduler.running:
            await stop_scheduler(self.scheduler, self.running_jobs)

        await super().close()
        log.info("Discord connection closed")

        if self.http_session is not None:
            await self.http_session.close()
            log.info("LL2 session closed")
        if self.sync_store is not None:
            await asyncio.to_thread(self.sync_store.close)
        if self.announce_store is not None:
            await asyncio.to_thread(self.announce_store.close)
        self.store.close()
        self.process_lock.release()
        log.info("Database closed")


def create_ll2_client(
    settings: Settings, session: aiohttp.ClientSession, store: ExpeditionStore
) -> LL2Client:
    """Build the LL2 client, with the request budget's spent times read back from the store.

    Reading them back keeps a restart, or a `python -m bot sync` beside the bot, from
    spending a fresh hourly budget.
    """
    api_key = settings.ll2_api_key.get_secret_value() if settings.ll2_api_key else None
    budget = load_request_budget(store, settings.ll2_requests_per_hour)
    return LL2Client(session, settings.ll2_base_url, api_key=api_key, budget=budget)
