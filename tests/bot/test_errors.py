"""Tests of the central application-command error handler."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import discord
import pytest
from discord import app_commands

from bot.errors import (
    describe_error,
    install_error_handler,
    is_handled,
    mark_handled,
    on_app_command_error,
    permission_label,
)

NOW = datetime(2026, 7, 23, 12, 0, tzinfo=timezone.utc)
SEARCH_COMMAND = SimpleNamespace(name="search", qualified_name="expedition search")


def fake_interaction(*, responded: bool = False, interaction_id: int = 4242) -> Any:
    """Return an object with the parts of `discord.Interaction` that the error handler uses."""
    return SimpleNamespace(
        id=interaction_id,
        user=SimpleNamespace(id=7),
        guild_id=99,
        command=SEARCH_COMMAND,
        data={"name": "expedition"},
        response=SimpleNamespace(send_message=AsyncMock(), is_done=lambda: responded),
        followup=SimpleNamespace(send=AsyncMock()),
    )


def test_cooldown_shows_relative_time() -> None:
    error = app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30.0), 12.5)
    message = describe_error(error, now=NOW) or ""

    ready_at = int((NOW + timedelta(seconds=12.5)).timestamp())
    assert f"<t:{ready_at}:R>" in message


def test_missing_permissions_named_in_words() -> None:
    error = app_commands.MissingPermissions(["manage_guild", "embed_links"])
    message = describe_error(error, now=NOW) or ""

    assert "You need the Manage Server and Embed Links permissions" in message


def test_bot_missing_permission_named_in_words() -> None:
    error = app_commands.BotMissingPermissions(["send_messages_in_threads"])
    message = describe_error(error, now=NOW) or ""

    assert message.startswith("I need the Send Messages in Threads permission")


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (app_commands.NoPrivateMessage(), "only in a server"),
        (app_commands.MissingRole("Moderator"), "You need the Moderator role"),
        (app_commands.MissingRole(1234), "a role that this command requires"),
        (app_commands.MissingAnyRole(["Crew", 5]), "a role that this command requires"),
        (app_commands.CheckFailure(), "can't use this command here"),
    ],
)
def test_check_failures_have_messages(error: app_commands.AppCommandError, fragment: str) -> None:
    assert fragment in (describe_error(error, now=NOW) or "")


def test_invoke_error_is_unexpected() -> None:
    error = app_commands.CommandInvokeError(SEARCH_COMMAND, RuntimeError("boom"))  # type: ignore[arg-type]
    assert describe_error(error, now=NOW) is None


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("manage_guild", "Manage Server"),
        ("embed_links", "Embed Links"),
        ("send_messages_in_threads", "Send Messages in Threads"),
        ("read_message_history", "Read Message History"),
        ("moderate_members", "Timeout Members"),
    ],
)
def test_permission_label(name: str, label: str) -> None:
    assert permission_label(name) == label


async def test_expected_error_answered_ephemerally() -> None:
    interaction = fake_interaction()

    await on_app_command_error(interaction, app_commands.NoPrivateMessage())

    interaction.response.send_message.assert_awaited_once()
    call = interaction.response.send_message.await_args
    assert "only in a server" in call.args[0]
    assert call.kwargs["ephemeral"] is True
    assert call.kwargs["allowed_mentions"].to_dict() == {"parse": []}


async def test_unexpected_error_logged_with_reference(caplog: pytest.LogCaptureFixture) -> None:
    interaction = fake_interaction(interaction_id=31337)
    error = app_commands.CommandInvokeError(SEARCH_COMMAND, RuntimeError("boom"))  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await on_app_command_error(interaction, error)

    message = interaction.response.send_message.await_args.args[0]
    reference = re.search(r"`([0-9A-F]{8})`", message)
    assert reference is not None
    assert len(caplog.records) == 1
    record = caplog.records[0]
    assert reference.group(1) in record.getMessage()
    assert "31337" in record.getMessage()
    assert "/expedition search" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert "boom" not in message


async def test_handled_error_left_alone() -> None:
    interaction = fake_interaction()
    error = app_commands.CheckFailure()
    mark_handled(error)

    await on_app_command_error(interaction, error)

    assert is_handled(error)
    interaction.response.send_message.assert_not_awaited()
    interaction.followup.send.assert_not_awaited()


async def test_after_response_uses_followup() -> None:
    interaction = fake_interaction(responded=True)

    await on_app_command_error(interaction, app_commands.CheckFailure())

    interaction.response.send_message.assert_not_awaited()
    interaction.followup.send.assert_awaited_once()
    assert interaction.followup.send.await_args.kwargs["ephemeral"] is True


async def test_send_failure_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    interaction = fake_interaction(interaction_id=5150)
    response = SimpleNamespace(status=404, reason="Not Found")
    interaction.response.send_message.side_effect = discord.NotFound(
        response, {"code": 10062, "message": "Unknown interaction"}
    )

    with caplog.at_level(logging.WARNING, logger="bot.errors"):
        await on_app_command_error(interaction, app_commands.CheckFailure())

    assert "5150" in caplog.text
    assert "10062" in caplog.text


def test_install_sets_tree_handler() -> None:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))

    install_error_handler(tree)

    assert tree.on_error is on_app_command_error
