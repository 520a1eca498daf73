"""Operating the bot: `/expedition status`, clean shutdown, deliberate command sync, backup, deployment files."""

from __future__ import annotations

import re
import signal
import sqlite3
from pathlib import Path

from tests.conftest import REPOSITORY_ROOT
from tests.e2e.bot_process import BotProcess, run_cli
from tests.e2e.conftest import DISCORD_TOKEN, RunningBot, bot_settings
from tests.standins.discord import StandInDiscord
from tests.standins.discord.models import MANAGE_CHANNELS, SEND_MESSAGES, VIEW_CHANNEL
from tests.standins.ll2.dataset import generate_dataset
from tests.standins.ll2.server import StandInLL2

SHUTDOWN_STEPS = (
    r"Shutting down",
    r"Scheduler paused: no new jobs start",
    r"Scheduler stopped",
    r"Discord connection closed",
    r"Database closed",
    r"Stopped",
)


class SignalledBot(BotProcess):
    """A bot process that the test stops with a signal of its choice."""

    async def stop_with(self, signal_number: signal.Signals) -> int:
        """Send `signal_number`, wait for the exit (SIGKILL after 15 s), and return the exit code."""
        assert self._process is not None
        self._process.send_signal(signal_number)
        return await self.stop()


def positions(log_lines: list[str], patterns: tuple[str, ...]) -> list[int]:
    """Return the index of the first log line matching each pattern, in pattern order (-1 when missing)."""
    found = []
    for pattern in patterns:
        expression = re.compile(pattern)
        found.append(next((index for index, line in enumerate(log_lines) if expression.search(line)), -1))
    return found


def assert_in_order(log_lines: list[str], patterns: tuple[str, ...]) -> None:
    found = positions(log_lines, patterns)
    log = "\n".join(log_lines)
    assert -1 not in found, f"missing {[p for p, i in zip(patterns, found) if i == -1]} in:\n{log}"
    assert found == sorted(found), f"out of order {list(zip(patterns, found))} in:\n{log}"


# /expedition status


async def test_status_reports_sync_and_mirror(generated_bot: RunningBot) -> None:
    moderator = VIEW_CHANNEL | SEND_MESSAGES | MANAGE_CHANNELS
    reply = await generated_bot.discord.slash_command("expedition", "status", {}, permissions=moderator)
    member_reply = await generated_bot.discord.slash_command(
        "expedition", "status", {}, permissions=VIEW_CHANNEL | SEND_MESSAGES
    )

    assert reply.ephemeral
    (embed,) = reply.embeds
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert re.match(r"Last successful: <t:\d+:R>", fields["Sync"]), fields["Sync"]
    assert re.search(r"Next: <t:\d+:R>", fields["Sync"]), fields["Sync"]
    assert fields["Mirror"].startswith(f"{len(generated_bot.dataset.expeditions)} expeditions, ")
    page_requests = [request for request in generated_bot.ll2.requests if request.path.endswith("/expeditions/")]
    assert fields["LL2 requests"] == f"{len(page_requests)} of 8 spent in the last hour"
    assert fields["Subscriptions in this server"] == "All delivering normally."
    assert "Last LL2 error" not in fields
    assert embed["footer"]["text"].startswith("expedition-bot ")
    member_fields = {field["name"] for field in member_reply.embeds[0]["fields"]}
    assert "Subscriptions in this server" not in member_fields
    assert "Mirror" in member_fields


# Shutdown


async def test_sigterm_lets_running_sync_finish(tmp_path: Path) -> None:
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    dataset = generate_dataset(250, seed=5)
    async with StandInLL2(dataset, latency=0.7) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        bot = SignalledBot(bot_settings(ll2, discord_standin, database_path), cwd=tmp_path)
        await bot.start()
        await bot.wait_for_log(r"full sync started", timeout=60)

        exit_code = await bot.stop_with(signal.SIGTERM)

    assert exit_code == 0, "\n".join(bot.log_lines)
    assert_in_order(bot.log_lines, (
        r"Received SIGTERM",
        r"Shutting down",
        r"Scheduler paused: no new jobs start",
        r"Waiting up to \d+ s for running jobs to finish: ll2-full-sync",
        r"full sync finished",
        r"Running jobs finished",
        r"Scheduler stopped",
        r"Discord connection closed",
        r"Database closed",
        r"Stopped",
    ))
    assert bot.error_lines() == []
    connection = sqlite3.connect(database_path)
    try:
        assert connection.execute("SELECT count(*) FROM expeditions").fetchone()[0] == len(dataset.expeditions)
    finally:
        connection.close()


async def test_sigint_stops_idle_bot_cleanly(tmp_path: Path) -> None:
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    async with StandInLL2(generate_dataset(60, seed=2)) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        bot = SignalledBot(bot_settings(ll2, discord_standin, database_path), cwd=tmp_path)
        await bot.start()
        await bot.wait_for_log(r"full sync finished", timeout=60)
        await bot.wait_for_log(r"Connected as", timeout=30)

        exit_code = await bot.stop_with(signal.SIGINT)

    assert exit_code == 0, "\n".join(bot.log_lines)
    assert_in_order(bot.log_lines, (r"Received SIGINT", *SHUTDOWN_STEPS))
    assert not any("Waiting up to" in line for line in bot.log_lines)
    assert bot.error_lines() == []


# Command sync


async def test_commands_sync_only_when_changed_or_forced(tmp_path: Path) -> None:
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    async with StandInLL2(generate_dataset(30, seed=4)) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        settings = bot_settings(ll2, discord_standin, database_path)
        for _ in range(2):
            bot = BotProcess(settings, cwd=tmp_path)
            await bot.start()
            await bot.wait_for_log(r"Connected as", timeout=30)
            await bot.wait_for_log(r"Application commands unchanged|Synced \d+ application commands", timeout=30)
            assert await bot.stop() == 0, "\n".join(bot.log_lines)
        syncs_after_two_starts = len(discord_standin.command_syncs)
        second_start_log = bot.log_lines

        exit_code, output, log = await run_cli(["sync-commands"], settings, tmp_path)

    assert syncs_after_two_starts == 1
    assert any("Application commands unchanged (global)" in line for line in second_start_log)
    assert exit_code == 0, log
    assert len(discord_standin.command_syncs) == 2
    forced = discord_standin.command_syncs[-1]
    assert forced["guild_id"] is None
    assert output.startswith(f"Synced {len(forced['commands'])} commands globally")
    expedition_line = next(line for line in output.splitlines() if line.strip().startswith("/expedition:"))
    assert "status" in expedition_line
    assert "search" in expedition_line
    sent = {command["name"] for command in forced["commands"]}
    assert {line.strip().split(":")[0].lstrip("/") for line in output.splitlines()[1:]} == sent


async def test_sync_commands_to_dev_guild(tmp_path: Path) -> None:
    database_path = tmp_path / "data" / "expeditions.sqlite3"
    async with StandInLL2(generate_dataset(10, seed=4)) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        guild_id = discord_standin.guilds[0].id
        settings = {**bot_settings(ll2, discord_standin, database_path), "DEV_GUILD_ID": str(guild_id)}

        exit_code, output, log = await run_cli(["sync-commands"], settings, tmp_path)

    assert exit_code == 0, log
    assert [sync["guild_id"] for sync in discord_standin.command_syncs] == [guild_id]
    assert f"to guild {guild_id}" in output
    assert ll2.requests == [], "sync-commands must not call LL2"


async def test_sync_commands_with_rejected_token(tmp_path: Path) -> None:
    async with StandInLL2(generate_dataset(10, seed=4)) as ll2, StandInDiscord(token=DISCORD_TOKEN) as discord_standin:
        settings = {**bot_settings(ll2, discord_standin, tmp_path / "db.sqlite3"), "DISCORD_TOKEN": "wrong"}

        exit_code, output, log = await run_cli(["sync-commands"], settings, tmp_path)

    assert exit_code == 1
    assert "DISCORD_TOKEN" in log
    assert discord_standin.command_syncs == []
    assert "wrong" not in log


# Backup


async def test_backup_of_running_bot(generated_bot: RunningBot, tmp_path: Path) -> None:
    settings = {"DATABASE_PATH": str(generated_bot.database_path), "LOG_LEVEL": "WARNING"}
    target = tmp_path / "backups" / "expeditions.sqlite3"

    exit_code, output, log = await run_cli(["backup", str(target)], settings, tmp_path)
    again_code, _, again_log = await run_cli(["backup", str(target)], settings, tmp_path)
    forced_code, forced_output, forced_log = await run_cli(["backup", str(target), "--force"], settings, tmp_path)

    assert exit_code == 0, log
    assert f"{len(generated_bot.dataset.expeditions)} expeditions" in output
    assert re.search(r": \d+(\.\d)? (bytes|KB|MB)", output), output
    assert again_code == 1
    assert "--force" in again_log
    assert forced_code == 0, forced_log
    assert forced_output.startswith(f"Backed up to {target}")
    connection = sqlite3.connect(target)
    try:
        stored = connection.execute("SELECT count(*) FROM expeditions").fetchone()[0]
    finally:
        connection.close()
    assert stored == len(generated_bot.dataset.expeditions)


# Deployment files (Docker cannot run here, so their key properties are checked as text)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = (REPOSITORY_ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_dockerfile_runs_as_non_root_with_data_volume() -> None:
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]

    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert keywords.index("USER") < keywords.index("CMD")
    assert ("VOLUME", '["/data"]') in instructions
    assert ("ENV", "DATABASE_PATH=/data/expeditions.sqlite3") in instructions
    assert instructions[-1] == ("CMD", '["python", "-m", "bot"]')
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any(re.search(r"\bpip install \.(\s|$)", arguments) for arguments in runs)


def test_docker_image_leaves_out_secrets_and_data() -> None:
    copied = [arguments for keyword, arguments in dockerfile_instructions() if keyword in ("COPY", "ADD")]
    ignored = (REPOSITORY_ROOT / ".dockerignore").read_text(encoding="utf-8").split()

    assert all(".env" not in arguments for arguments in copied)
    assert ".env" in ignored
    assert any(entry.rstrip("/") == "data" for entry in ignored)
    assert any(entry.rstrip("/") == ".venv" for entry in ignored)


def unit_file() -> dict[str, dict[str, list[str]]]:
    """Return the systemd unit as section -> key -> values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (REPOSITORY_ROOT / "deploy" / "expedition-bot.service").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_keys() -> None:
    service = unit_file()["Service"]

    assert service["User"][0] not in ("root", "0")
    assert service["WorkingDirectory"][0].startswith("/")
    assert service["EnvironmentFile"][0].endswith(".env")
    assert service["ExecStart"][0].endswith("-m bot run")
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["NoNewPrivileges"] == ["true"]
    assert service["ProtectSystem"] == ["strict"]
    (database_path,) = [value.partition("=")[2] for value in service["Environment"] if value.startswith("DATABASE_PATH=")]
    data_folder = database_path.rsplit("/", 1)[0]
    assert data_folder and data_folder in service["ReadWritePaths"][0].split()
    assert "multi-user.target" in unit_file()["Install"]["WantedBy"][0]
