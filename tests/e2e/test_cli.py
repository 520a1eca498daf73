"""The command line (`python -m bot sync` and `search`) and answers given while a sync runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from storage.database import ExpeditionStore
from tests.bot.embed_checks import assert_embed_within_limits, assert_message_within_limits
from tests.e2e.bot_process import BotProcess, run_cli
from tests.e2e.conftest import DISCORD_TOKEN, bot_settings
from tests.standins.discord import StandInDiscord
from tests.standins.ll2.dataset import generate_dataset, load_recorded_dataset
from tests.standins.ll2.server import StandInLL2

SYNC_SUMMARY = re.compile(r"Stored (\d+) new and (\d+) changed expeditions .* using (\d+) LL2 requests")


def cli_settings(ll2: StandInLL2, database_path: Path) -> dict[str, str]:
    """Return the environment for a command-line run against the stand-in LL2 only."""
    return {"LL2_BASE_URL": ll2.base_url, "DATABASE_PATH": str(database_path), "LOG_LEVEL": "INFO"}


def mirrored_ids(database_path: Path) -> list[int]:
    store = ExpeditionStore.open(database_path)
    try:
        return store.expedition_ids()
    finally:
        store.close()


async def test_sync_mirrors_everything_once(tmp_path: Path, shared_ll2_dir: Path) -> None:
    dataset = load_recorded_dataset(shared_ll2_dir)
    database_path = tmp_path / "mirror.sqlite3"

    async with StandInLL2(dataset) as ll2:
        settings = cli_settings(ll2, database_path)
        first_code, first_output, first_log = await run_cli(["sync"], settings, tmp_path)
        second_code, second_output, second_log = await run_cli(["sync"], settings, tmp_path)

    first = SYNC_SUMMARY.search(first_output)
    second = SYNC_SUMMARY.search(second_output)
    assert first_code == 0, first_log
    assert second_code == 0, second_log
    assert first is not None and second is not None, first_output + second_output
    assert int(first.group(1)) == len(dataset.expeditions)
    assert second.group(1, 2) == ("0", "0")
    assert sorted(mirrored_ids(database_path)) == sorted(expedition["id"] for expedition in dataset.expeditions)


async def test_sync_reports_requests_spent(tmp_path: Path) -> None:
    dataset = generate_dataset(250, seed=3)
    database_path = tmp_path / "mirror.sqlite3"

    async with StandInLL2(dataset) as ll2:
        exit_code, output, log = await run_cli(["sync"], cli_settings(ll2, database_path), tmp_path)
        page_requests = [request for request in ll2.requests if request.path.endswith("/expeditions/")]

    summary = SYNC_SUMMARY.search(output)
    assert exit_code == 0, log
    assert summary is not None, output
    assert int(summary.group(3)) == len(page_requests) == 3


async def test_sync_stopped_by_throttle_exits_nonzero(tmp_path: Path) -> None:
    dataset = generate_dataset(250, seed=3)
    database_path = tmp_path / "mirror.sqlite3"

    async with StandInLL2(dataset, throttle_after=1) as ll2:
        exit_code, output, log = await run_cli(["sync"], cli_settings(ll2, database_path), tmp_path)

    assert exit_code == 1, log
    assert "Sync incomplete" in output
    assert "resumes" in output
    assert len(mirrored_ids(database_path)) == 100


async def test_search_json_within_discord_limits(tmp_path: Path, shared_ll2_dir: Path) -> None:
    database_path = tmp_path / "mirror.sqlite3"
    async with StandInLL2(load_recorded_dataset(shared_ll2_dir)) as ll2:
        settings = cli_settings(ll2, database_path)
        sync_code, _, sync_log = await run_cli(["sync"], settings, tmp_path)
        exit_code, output, log = await run_cli(["search", "Kelly", "--json"], settings, tmp_path)

    embeds = json.loads(output)
    assert sync_code == 0, sync_log
    assert exit_code == 0, log
    assert embeds, "expected at least one embed for Kelly"
    for embed in embeds:
        assert_embed_within_limits(embed)
    assert_message_within_limits(embeds)
    assert "Kelly" in embeds[0]["title"]
    assert "Expedition" in embeds[0]["description"]


async def test_search_plain_lists_matches(tmp_path: Path, shared_ll2_dir: Path) -> None:
    database_path = tmp_path / "mirror.sqlite3"
    async with StandInLL2(load_recorded_dataset(shared_ll2_dir)) as ll2:
        settings = cli_settings(ll2, database_path)
        await run_cli(["sync"], settings, tmp_path)
        exit_code, output, log = await run_cli(["search", "Kelly"], settings, tmp_path)
        expected = set(ll2.search_ids("Kelly"))

    listed = {int(line.split("\t")[0]) for line in output.splitlines()}
    assert exit_code == 0, log
    assert listed == expected


async def test_answers_while_sync_waits_on_ll2(tmp_path: Path) -> None:
    dataset = generate_dataset(180, seed=11)
    database_path = tmp_path / "mirror.sqlite3"
    query = dataset.expeditions[0]["spacestation"]["name"]

    async with StandInLL2(dataset) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        await run_cli(["sync"], cli_settings(ll2, database_path), tmp_path)
        # Each LL2 answer now takes longer than Discord's 3-second window.
        ll2.latency = 4.0
        process = BotProcess(bot_settings(ll2, discord_standin, database_path), cwd=tmp_path)
        await process.start()
        try:
            await process.wait_for_log(r"full sync started", timeout=30)
            await process.wait_for_log(r"Connected as", timeout=30)
            requests_before = len(ll2.requests)

            reply = await discord_standin.slash_command("expedition", "search", {"query": query})

            sync_still_running = not any("full sync finished" in line for line in process.log_lines)
        finally:
            exit_code = await process.stop()

    assert requests_before >= 1
    assert sync_still_running
    assert reply.embeds, reply.content
    assert exit_code == 0, "\n".join(process.log_lines)


async def test_wrong_token_exits_without_leaking(tmp_path: Path) -> None:
    wrong_token = "wrong-token.that-must-never-be-logged"
    api_key = "ll2-key-that-must-never-be-logged"

    async with StandInLL2(generate_dataset(20, seed=5)) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        settings = bot_settings(ll2, discord_standin, tmp_path / "mirror.sqlite3")
        settings.update({"DISCORD_TOKEN": wrong_token, "LL2_API_KEY": api_key, "LOG_LEVEL": "DEBUG"})
        process = BotProcess(settings, cwd=tmp_path)
        await process.start()
        exit_code = await process.wait_for_exit(timeout=30)

    log = "\n".join(process.log_lines)
    assert exit_code == 1, log
    assert "Discord rejected the token" in log
    assert wrong_token not in log
    assert api_key not in log


async def test_search_rejects_empty_query(tmp_path: Path) -> None:
    settings = {"DATABASE_PATH": str(tmp_path / "mirror.sqlite3")}

    exit_code, output, log = await run_cli(["search", "  "], settings, tmp_path)

    assert exit_code == 2
    assert output == ""
    assert "Type something to search for" in log


async def test_search_on_empty_database_says_sync(tmp_path: Path) -> None:
    database_path = tmp_path / "mirror.sqlite3"
    ExpeditionStore.open(database_path).close()
    settings = {"DATABASE_PATH": str(database_path)}

    exit_code, output, log = await run_cli(["search", "Kelly"], settings, tmp_path)

    assert exit_code == 0
    assert output == ""
    assert "run `python -m bot sync` first" in log


async def test_search_without_database_creates_nothing(tmp_path: Path) -> None:
    database_path = tmp_path / "data" / "mirror.sqlite3"
    settings = {"DATABASE_PATH": str(database_path)}

    exit_code, output, log = await run_cli(["search", "Kelly"], settings, tmp_path)

    assert exit_code == 1
    assert output == ""
    assert "there is no database" in log
    assert not database_path.parent.exists()


async def test_sync_after_throttle_says_when(tmp_path: Path) -> None:
    database_path = tmp_path / "mirror.sqlite3"
    async with StandInLL2(generate_dataset(250, seed=3), throttle_after=1) as ll2:
        settings = cli_settings(ll2, database_path)
        await run_cli(["sync"], settings, tmp_path)
        requests_after_throttle = len(ll2.requests)
        exit_code, output, log = await run_cli(["sync"], settings, tmp_path)

    assert exit_code == 1, log
    assert "Sync skipped" in output
    assert "Try again after" in output
    assert len(ll2.requests) == requests_after_throttle
