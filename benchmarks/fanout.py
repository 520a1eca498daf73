"""Benchmark 4: one change event announced to 1,000 subscribed channels through the stand-in Discord.

The announcer is the bot's own `Announcer` with `discord_sender` over discord.py's HTTP client,
logged in to the stand-in Discord. The stand-in limits message posts to 5 per 5 s per channel
and all requests to 50 per second (Discord's global limit). The figures: every channel got
exactly one message, and the throughput against the 50 per second allowed.

    python -m benchmarks.fanout --channels 1000 --runs 1
"""

from __future__ import annotations

import asyncio
import re
import dataclasses
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord

from benchmarks import common
from benchmarks.dataset import REAL_SIZE, cached_records
from bot.discord_endpoints import apply_discord_endpoints
from bot.jobs.announce import Announcer, discord_sender
from storage.database import ExpeditionStore
from storage.events import EVENT_KINDS
from tests.standins.discord import Channel, StandInDiscord, build_guild
from tests.standins.discord.models import TEXT
from tests.standins.discord.rest import RateLimit

log = logging.getLogger(__name__)

TOKEN = "stand-in-token.fanout"
GLOBAL_PER_SECOND = 50
CHANNEL_LIMIT, CHANNEL_PERIOD = 5, 5.0
MESSAGE_PATH = r"/channels/\d+/messages"
FIRST_CHANNEL_OFFSET = 1000
DELIVERY_TIMEOUT_SECONDS = 300.0
MAX_PASSES = 50


class GlobalRateLimit(RateLimit):
    """One bucket shared by every matching path, as Discord's global limit per bot is.

    The stand-in's own buckets count each path separately (per channel), so the global limit
    is modelled here.
    """

    def take(self, path: str, now: float) -> tuple[bool, dict[str, str]]:
        return super().take("global", now)


def guild_with_channels(count: int) -> Any:
    """Return the stand-in's default guild with `count` more text channels."""
    guild = build_guild()
    extra = [Channel(id=guild.id + FIRST_CHANNEL_OFFSET + index, name=f"station-news-{index}", type=TEXT,
                     position=10 + index) for index in range(count)]
    return dataclasses.replace(guild, channels=[*guild.channels, *extra]), [channel.id for channel in extra]


def prepared_store(path: Path, channel_ids: list[int], guild_id: int) -> tuple[ExpeditionStore, int]:
    """Mirror the real-size data set, subscribe every channel, then change one on-going expedition."""
    records = cached_records(REAL_SIZE)
    store = ExpeditionStore.open(path, check_same_thread=False)
    store.save_expeditions(records)
    subscribed_at = datetime.now(UTC) - timedelta(hours=1)
    store.mark_baseline(subscribed_at)
    for channel_id in channel_ids:
        store.add_subscription(guild_id=guild_id, channel_id=channel_id, station_id=None, events=EVENT_KINDS,
                               mention_role_id=None, created_by=1, now=subscribed_at)

    ongoing = next(record for record in reversed(records) if record.end is None)
    changed = dataclasses.replace(ongoing, end=datetime(2026, 12, 24, 10, 0, tzinfo=UTC))
    store.save_expeditions([changed])
    return store, ongoing.id


async def measure_once(channels: int) -> dict[str, Any]:
    """Announce one event to `channels` channels; return delivery counts and throughput."""
    guild, channel_ids = guild_with_channels(channels)
    async with StandInDiscord(token=TOKEN, guilds=[guild]) as standin:
        standin.set_rate_limit("POST", MESSAGE_PATH, limit=CHANNEL_LIMIT, per=CHANNEL_PERIOD)
        # NOTE: this reaches into the stand-in's bucket list, which has no public global bucket.
        standin._rate_limits.append(GlobalRateLimit(method="*", path_pattern=re.compile(r".*"),
                                                    limit=GLOBAL_PER_SECOND, per=1.0, bucket="global"))
        apply_discord_endpoints(standin.api_base, standin.gateway_url)
        discord.VoiceClient.warn_nacl = False
        client = discord.Client(intents=discord.Intents(guilds=True))
        runner = asyncio.create_task(client.start(TOKEN))
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
            store, _ = prepared_store(Path(folder) / "mirror.sqlite3", channel_ids, guild.id)
            try:
                await standin.wait_for_identify(timeout=30)
                before = len(standin.requests)
                announcer = Announcer(store, discord_sender(client.http))
                started = time.perf_counter()
                passes, sent = await _deliver_all(announcer, store, channels)
                elapsed = time.perf_counter() - started
            finally:
                await client.close()
                await asyncio.wait_for(runner, 10)
                store.close()

        posts = [request for request in standin.requests[before:] if request.method == "POST"]
        per_channel = [len(standin.channel_messages.get(channel_id, [])) for channel_id in channel_ids]
        throttled = sum(1 for request in posts if getattr(request, "status", None) == 429)
    throughput = sent / elapsed if elapsed > 0 else 0.0
    return {
        "channels": channels,
        "sent": sent,
        "delivered_channels": sum(1 for count in per_channel if count == 1),
        "channels_with_duplicates": sum(1 for count in per_channel if count > 1),
        "channels_missing": sum(1 for count in per_channel if count == 0),
        "post_requests": len(posts),
        "throttled_posts": throttled,
        "passes": passes,
        "seconds": elapsed,
        "messages_per_second": throughput,
        "share_of_allowed": throughput / GLOBAL_PER_SECOND,
    }


async def _deliver_all(announcer: Announcer, store: ExpeditionStore, expected: int) -> tuple[int, int]:
    """Run announce passes until `expected` messages are sent, a bounded number of times."""
    deadline = time.perf_counter() + DELIVERY_TIMEOUT_SECONDS
    sent = passes = 0
    while sent < expected and passes < MAX_PASSES and time.perf_counter() < deadline:
        report = await announcer.run_pass(trigger="benchmark")
        passes += 1
        sent += report.sent
        if report.due == 0 and report.planned == 0 and sent < expected:
            await asyncio.sleep(1.0)
    return passes, sent


async def measure(channels: int, runs: int) -> dict[str, Any]:
    results = [await measure_once(channels) for _ in range(runs)]
    worst = {key: max(item[key] for item in results)
             for key in ("channels_with_duplicates", "channels_missing", "throttled_posts")}
    return {
        "channels": channels,
        "delivered_channels": min(item["delivered_channels"] for item in results),
        **worst,
        "post_requests": [item["post_requests"] for item in results],
        "seconds": common.spread([item["seconds"] for item in results]),
        "messages_per_second": common.spread([item["messages_per_second"] for item in results]),
        "share_of_allowed": common.spread([item["share_of_allowed"] for item in results]),
        "limits": {"global_per_second": GLOBAL_PER_SECOND, "per_channel": f"{CHANNEL_LIMIT} per {CHANNEL_PERIOD:g} s"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(__doc__.splitlines()[0], size=REAL_SIZE, runs=1)
    parser.add_argument("--channels", type=int, default=1000, help="subscribed channels")
    arguments = parser.parse_args(argv)
    common.configure_logging(arguments.verbose)
    # discord.py logs every 429 it waits out at WARNING; hitting the limits is the point here.
    logging.getLogger("discord.http").setLevel(logging.INFO if arguments.verbose else logging.ERROR)

    load_before = common.load_average()
    figures = asyncio.run(measure(arguments.channels, arguments.runs))
    lines = [
        f"{figures['channels']} channels: {figures['delivered_channels']} got exactly one message, "
        f"{figures['channels_with_duplicates']} more than one, {figures['channels_missing']} none",
        f"took {figures['seconds']['median']:.1f} s: {figures['messages_per_second']['median']:.1f} messages/s = "
        f"{figures['share_of_allowed']['median']:.0%} of the {GLOBAL_PER_SECOND}/s allowed "
        f"({figures['post_requests']} POST requests)",
    ]
    common.emit("fanout", lines, {"runs": arguments.runs, **figures,
                                  "load_average_before": load_before, "load_average_after": common.load_average()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
