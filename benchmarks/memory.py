"""Benchmark 5: resident memory of the bot process with the whole data set mirrored.

The bot runs as `python -m bot run` in a child process, over a copy of the cached mirror, with
a stand-in LL2 (another child process) serving the same data set and the stand-in Discord in
this process. The child's first scheduled sync pages through every expedition (the request
budget is raised so it can); then 1,000 commands and autocompletes are sent. VmRSS (now)
and VmHWM (peak) are read from /proc/<pid>/status after the start, the sync and the commands.

    python -m benchmarks.memory --size 100000 --runs 1
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.dataset import LARGE_SIZE, REPOSITORY_ROOT, mirror_path, working_copy
from benchmarks.latency import build_requests, pick_inputs
from benchmarks.ll2_server import LL2ServerProcess
from bot.settings import Settings
from tests.standins.discord import StandInDiscord

log = logging.getLogger(__name__)

TOKEN = "stand-in-token.memory"
SYNC_TIMEOUT_SECONDS = 1200.0
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


class BotChild:
    """`python -m bot run` with its log lines collected from standard error."""

    def __init__(self, environment: dict[str, str], cwd: Path) -> None:
        self.environment = environment
        self.cwd = cwd
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Event()

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.cwd, env=self.environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    async def wait_for_line(self, pattern: str, timeout: float) -> str:
        """Wait until a log line matches `pattern`; raise RuntimeError if the bot exits first."""
        expression = re.compile(pattern)

        async def scan() -> str:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if expression.search(line):
                        return line
                seen = len(self.lines)
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"the bot exited before logging {pattern!r}:\n" + "\n".join(self.lines[-20:]))
                self._new_line.clear()
                await self._new_line.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await self._reader
        return self.process.returncode


def child_environment(settings: dict[str, str]) -> dict[str, str]:
    """Return this environment without bot settings (a developer's .env values), plus `settings`."""
    names = {name.upper() for name in Settings.model_fields}
    environment = {name: value for name, value in os.environ.items() if name not in names}
    environment.update(settings, PYTHONPATH=str(REPOSITORY_ROOT), PYTHONUNBUFFERED="1")
    return environment


async def measure_once(size: int, commands: int) -> dict[str, Any]:
    """Start the bot over a mirror of `size`, let it sync, send `commands`; return its memory figures."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        database_path = working_copy(mirror_path(size), Path(folder) / "data")
        inputs = pick_inputs(database_path)
        async with LL2ServerProcess(size) as ll2, StandInDiscord(token=TOKEN) as standin:
            child = BotChild(child_environment({
                "DISCORD_TOKEN": TOKEN,
                "LL2_BASE_URL": ll2.base_url,
                "DATABASE_PATH": str(database_path),
                "DISCORD_API_BASE": standin.api_base,
                "DISCORD_GATEWAY_URL": standin.gateway_url,
                "LL2_REQUESTS_PER_HOUR": "10000",
                "SYNC_INTERVAL_MINUTES": "1440",
                "LOG_LEVEL": "INFO",
            }), Path(folder))
            await child.start()
            try:
                assert child.process is not None
                pid = child.process.pid
                await standin.wait_for_identify(timeout=START_TIMEOUT_SECONDS)
                await child.wait_for_line(r"Connected as", START_TIMEOUT_SECONDS)
                figures["after_start"] = common.rss_mib(pid)

                finished = await child.wait_for_line(r"full sync (finished|stopped)", SYNC_TIMEOUT_SECONDS)
                if "finished" not in finished:
                    raise RuntimeError(f"the sync did not finish: {finished}")
                figures["after_sync"] = common.rss_mib(pid)

                requests = list(build_requests(standin, inputs, include_noop=False).values())
                for number in range(commands):
                    await requests[number % len(requests)](number // len(requests))
                figures["after_commands"] = common.rss_mib(pid)
                figures["commands"] = commands
                figures["errors_logged"] = len([line for line in child.lines if " ERROR " in line])
            finally:
                await child.stop()
    return figures


async def measure(size: int, runs: int, commands: int) -> dict[str, Any]:
    results = [await measure_once(size, commands) for _ in range(runs)]
    return {
        "rss_after_start_mib": common.spread([item["after_start"]["VmRSS"] for item in results]),
        "rss_after_sync_mib": common.spread([item["after_sync"]["VmRSS"] for item in results]),
        "rss_after_commands_mib": common.spread([item["after_commands"]["VmRSS"] for item in results]),
        "peak_rss_mib": common.spread([item["after_commands"]["VmHWM"] for item in results]),
        "commands": commands,
        "errors_logged": max(item["errors_logged"] for item in results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.build_parser(__doc__.splitlines()[0], size=LARGE_SIZE, runs=1)
    parser.add_argument("--commands", type=int, default=1000, help="commands sent after the sync")
    arguments = parser.parse_args(argv)
    common.configure_logging(arguments.verbose)

    load_before = common.load_average()
    figures = asyncio.run(measure(arguments.size, arguments.runs, arguments.commands))
    lines = [
        f"bot process over {arguments.size} expeditions (MiB, median of {arguments.runs}):",
        f"  VmRSS after start {figures['rss_after_start_mib']['median']:.1f}, after sync "
        f"{figures['rss_after_sync_mib']['median']:.1f}, after {arguments.commands} commands "
        f"{figures['rss_after_commands_mib']['median']:.1f}; peak (VmHWM) {figures['peak_rss_mib']['median']:.1f}",
    ]
    common.emit("memory", lines, {"size": arguments.size, "runs": arguments.runs, **figures,
                                  "load_average_before": load_before, "load_average_after": common.load_average()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
