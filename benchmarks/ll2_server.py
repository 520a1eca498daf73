"""The stand-in LL2 in a child process, so that serving large pages does not load the measured process.

`python -m benchmarks.ll2_server --size N` builds the benchmark data set, listens on
127.0.0.1, prints `BASE_URL <url>` on standard output and serves until standard input closes
or `--max-seconds` pass. `LL2ServerProcess` starts and stops it from a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys

from benchmarks.dataset import build_dataset
from tests.standins.ll2.server import StandInLL2

log = logging.getLogger(__name__)

READY_PREFIX = "BASE_URL "
START_TIMEOUT_SECONDS = 180.0
# A server left behind by a crashed benchmark stops by itself after this long.
DEFAULT_MAX_SECONDS = 1800.0


async def serve(size: int, seed: int, max_seconds: float) -> None:
    """Serve the data set until standard input reaches end of file or `max_seconds` pass."""
    server = StandInLL2(build_dataset(size, seed))
    await server.start()
    print(READY_PREFIX + server.base_url, flush=True)

    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.buffer.read)
    try:
        await asyncio.wait_for(stdin_closed, max_seconds)
    except TimeoutError:
        log.warning("stand-in LL2 timed out after %.0f s without a stop request; stopping", max_seconds)
    finally:
        await server.stop()


class LL2ServerProcess:
    """A running `python -m benchmarks.ll2_server`; `base_url` is set once it serves."""

    def __init__(self, size: int, seed: int = 0, *, max_seconds: float = DEFAULT_MAX_SECONDS) -> None:
        self.size = size
        self.seed = seed
        self.max_seconds = max_seconds
        self.base_url = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> LL2ServerProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.ll2_server", "--size", str(self.size), "--seed", str(self.seed),
            "--max-seconds", str(self.max_seconds),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT_SECONDS)
        text = line.decode().strip()
        if not text.startswith(READY_PREFIX):
            await self.__aexit__()
            raise RuntimeError(f"the stand-in LL2 process did not start: {text!r}")
        self.base_url = text[len(READY_PREFIX):]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the benchmark data set from a stand-in LL2.")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.size, arguments.seed, arguments.max_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
