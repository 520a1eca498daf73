"""Run `python -m bot` as a child process and follow its log lines."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.settings import Settings
from tests.conftest import REPOSITORY_ROOT

# Settings that a developer's shell or .env could hold; the child gets only what a test sets.
BOT_SETTING_NAMES = tuple(name.upper() for name in Settings.model_fields)


def child_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """Return this process's environment without bot settings, plus `settings`."""
    environment = {name: value for name, value in os.environ.items() if name not in BOT_SETTING_NAMES}
    environment["PYTHONPATH"] = str(REPOSITORY_ROOT)
    environment["PYTHONUNBUFFERED"] = "1"
    environment.update(settings)
    return environment


async def run_cli(arguments: Sequence[str], settings: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run `python -m bot ARGUMENTS` to completion and return exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *arguments,
        cwd=cwd,
        env=child_environment(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stdout.decode(), stderr.decode()


class BotProcess:
    """A running `python -m bot` whose standard error (its log) is collected line by line."""

    def __init__(self, settings: Mapping[str, str], cwd: Path) -> None:
        self.settings = dict(settings)
        self.cwd = cwd
        self.log_lines: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Event()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.cwd,
            env=child_environment(self.settings),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read_log())

    async def _read_log(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        async for raw in self._process.stderr:
            self.log_lines.append(raw.decode(errors="replace").rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    async def wait_for_log(self, pattern: str, *, timeout: float = 30.0) -> str:
        """Wait until a log line matches the regular expression `pattern` and return that line."""
        expression = re.compile(pattern)
        seen = 0

        async def scan() -> str:
            nonlocal seen
            while True:
                for line in self.log_lines[seen:]:
                    if expression.search(line):
                        return line
                seen = len(self.log_lines)
                if self.returncode is not None:
                    raise AssertionError(f"bot exited with {self.returncode} before logging {pattern!r}")
                self._new_line.clear()
                await self._new_line.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"no log line matched {pattern!r} within {timeout} s; log:\n" + "\n".join(self.log_lines)
            ) from None

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    def error_lines(self) -> list[str]:
        """Return logged errors and tracebacks."""
        return [line for line in self.log_lines if " ERROR " in line or "Traceback" in line]

    async def wait_for_exit(self, *, timeout: float = 30.0) -> int:
        """Wait until the process exits by itself and return its exit code."""
        assert self._process is not None
        await asyncio.wait_for(self._process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return self._process.returncode

    async def kill(self) -> int:
        """Send SIGKILL, as a crash or an out-of-memory kill would, and return the exit code."""
        if self._process is None:
            return 0
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()
        if self._reader is not None:
            await self._reader
        return self._process.returncode

    async def stop(self) -> int:
        """Send SIGTERM, wait for the exit and return the exit code (SIGKILL after 15 s)."""
        if self._process is None:
            return 0
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 15)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._reader is not None:
            await self._reader
        return self._process.returncode
