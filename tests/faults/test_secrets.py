"""The Discord token and the LL2 key never reach a log line, sync state or the command line's output."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.client import ExpeditionBot
from bot.discord_endpoints import apply_discord_endpoints
from bot.jobs.sync import ERROR_KEY, run_full_sync
from bot.ll2.client import LL2Client
from storage.database import ExpeditionStore
from tests.e2e.bot_process import BotProcess, run_cli
from tests.faults.conftest import DISCORD_TOKEN, FaultyDiscord, bot_settings
from tests.standins.ll2.dataset import LL2Dataset
from tests.standins.ll2.server import Fault, StandInLL2

StartLL2 = Callable[..., Any]
MakeClient = Callable[..., LL2Client]

WRONG_TOKEN = "MTIzNDU2Nzg5.wrong-token.must-never-be-logged"
API_KEY = "ll2-key-7f3a9c-must-never-be-logged"

# LL2 error responses that echo the key back, as an error page of a misconfigured proxy might.
KEY_ECHOING_FAULTS = {
    401: Fault(kind="status", status=401, detail=f"Invalid token {API_KEY}."),
    403: Fault(kind="status", status=403, detail=f"Token {API_KEY} may not read this."),
    500: Fault(kind="status", status=500, html=True, detail=f"Traceback: Authorization: Token {API_KEY}"),
}


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Return every captured message, its arguments and any traceback, as one text."""
    parts = [caplog.text]
    for record in caplog.records:
        parts.extend([record.getMessage(), repr(record.args), record.exc_text or ""])
    return "\n".join(parts)


async def test_failed_login_logs_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, discord_endpoints: None, dataset: LL2Dataset,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with StandInLL2(dataset) as ll2, FaultyDiscord(token=DISCORD_TOKEN) as discord_standin:
        apply_discord_endpoints(discord_standin.api_base, discord_standin.gateway_url)
        settings = bot_settings(ll2, discord_standin, tmp_path / "mirror.sqlite3", ll2_api_key=API_KEY)
        bot = ExpeditionBot(settings)
        try:
            with pytest.raises(discord.LoginFailure):
                await bot.start(WRONG_TOKEN)
        finally:
            await bot.close()

    logged = logged_text(caplog)
    assert "401" in logged
    assert discord_standin.requests and not any(request.status == 200 for request in discord_standin.requests)
    assert WRONG_TOKEN not in logged
    assert API_KEY not in logged


@pytest.mark.parametrize("status", sorted(KEY_ECHOING_FAULTS))
async def test_ll2_error_leaks_no_key(
    status: int, store: ExpeditionStore, dataset: LL2Dataset, start_ll2: StartLL2, make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    standin = await start_ll2(dataset)
    fault = KEY_ECHOING_FAULTS[status]
    fault.times = 2
    standin.inject_fault(fault)

    report = await run_full_sync(make_client(standin, api_key=API_KEY, max_attempts=2), store)

    assert report.complete is False
    assert report.error is not None and str(status) in report.error
    assert all(request.headers.get("Authorization") == f"Token {API_KEY}" for request in standin.requests)
    assert API_KEY not in report.error
    assert API_KEY not in (store.get_state(ERROR_KEY) or "")
    assert API_KEY not in logged_text(caplog)


@pytest.mark.parametrize("status", sorted(KEY_ECHOING_FAULTS))
async def test_sync_command_prints_no_key(status: int, tmp_path: Path, dataset: LL2Dataset) -> None:
    async with StandInLL2(dataset) as ll2:
        # One failure, then LL2 serves pages again: a 500 is retried after a real two-second backoff.
        ll2.inject_fault(KEY_ECHOING_FAULTS[status])
        settings = {
            "LL2_BASE_URL": ll2.base_url,
            "LL2_API_KEY": API_KEY,
            "DATABASE_PATH": str(tmp_path / "mirror.sqlite3"),
            "LOG_LEVEL": "DEBUG",
        }
        exit_code, output, log = await run_cli(["sync"], settings, tmp_path)

    assert ll2.requests and ll2.requests[0].headers.get("Authorization") == f"Token {API_KEY}"
    assert str(status) in log
    assert (exit_code == 0) == (status == 500), output + log
    assert API_KEY not in output
    assert API_KEY not in log


async def test_bot_process_log_has_no_secret(tmp_path: Path, dataset: LL2Dataset) -> None:
    async with StandInLL2(dataset) as ll2, FaultyDiscord(token=DISCORD_TOKEN) as discord_standin:
        ll2.inject_fault(KEY_ECHOING_FAULTS[401])
        process = BotProcess({
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "LL2_BASE_URL": ll2.base_url,
            "LL2_API_KEY": API_KEY,
            "DATABASE_PATH": str(tmp_path / "mirror.sqlite3"),
            "DISCORD_API_BASE": discord_standin.api_base,
            "DISCORD_GATEWAY_URL": discord_standin.gateway_url,
            "LOG_LEVEL": "DEBUG",
        }, cwd=tmp_path)
        await process.start()
        try:
            await discord_standin.wait_for_identify(timeout=30)
            await process.wait_for_log(r"full sync stopped", timeout=60)
        finally:
            exit_code = await process.stop()

    log = "\n".join(process.log_lines)
    assert exit_code == 0, log
    assert "status 401" in log
    assert DISCORD_TOKEN not in log
    assert API_KEY not in log
