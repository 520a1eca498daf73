"""Discord faults met by the real discord.py stack in an ExpeditionBot: callback errors and gateway closes."""

from __future__ import annotations

import logging

import pytest

from tests.faults.conftest import BotHarness
from tests.standins.discord import InteractionNotAnswered, InteractionReply

CALLBACK = r"/interactions/\d+/[^/]+/callback"


def station_word(harness: BotHarness) -> str:
    """Return a word that the search finds: the first word of the first expedition's station."""
    return harness.dataset.expeditions[0]["spacestation"]["name"].split()[0]


async def search(harness: BotHarness) -> InteractionReply:
    return await harness.discord.slash_command("expedition", "search", {"query": station_word(harness)})


def assert_search_answered(reply: InteractionReply) -> None:
    assert reply.embeds, reply.content
    assert reply.embeds[0]["title"].startswith("Expeditions matching")


def assert_callback_retried_once(harness: BotHarness, first_status: int) -> None:
    """Assert that the callback failed once with `first_status`, then was sent again and accepted."""
    statuses = [request.status for request in harness.discord.requests_to("POST", CALLBACK)]
    assert len(statuses) == 2, statuses
    assert statuses[0] == first_status
    assert statuses[1] is not None and 200 <= statuses[1] < 300, statuses


async def test_global_rate_limit_on_callback_waited(bot_harness: BotHarness) -> None:
    bot_harness.discord.fail_next("POST", CALLBACK, 429, {"retry_after": 0.2, "global": True})

    reply = await search(bot_harness)

    assert_search_answered(reply)
    assert_callback_retried_once(bot_harness, 429)


@pytest.mark.parametrize("status", [500, 502])
async def test_server_error_on_callback_retried(bot_harness: BotHarness, status: int) -> None:
    bot_harness.discord.fail_next("POST", CALLBACK, status, {"message": "Internal Server Error", "code": 0})

    reply = await search(bot_harness)

    assert_search_answered(reply)
    assert_callback_retried_once(bot_harness, status)


@pytest.mark.parametrize(("status", "code", "message"), [
    (404, 10062, "Unknown interaction"),
    (403, 50001, "Missing Access"),
])
async def test_refused_callback_logged_with_id(
    bot_harness: BotHarness, caplog: pytest.LogCaptureFixture, status: int, code: int, message: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    # Twice: the response, then the error note that the error handler tries to send instead.
    bot_harness.discord.fail_next("POST", CALLBACK, status, {"message": message, "code": code}, times=2)
    interactions_before = set(bot_harness.discord.interactions)

    with pytest.raises(InteractionNotAnswered):
        await search(bot_harness)

    (interaction_id,) = set(bot_harness.discord.interactions) - interactions_before
    problems = [record.getMessage() for record in caplog.records
                if record.levelno >= logging.WARNING and record.name.startswith("bot")]
    assert any(str(interaction_id) in problem for problem in problems), problems
    assert not bot_harness.bot.is_closed()
    assert_search_answered(await search(bot_harness))


async def test_resumable_gateway_close_resumes(bot_harness: BotHarness) -> None:
    await bot_harness.discord.drop_gateway(4000)
    await bot_harness.discord.wait_for_resume(timeout=30)

    reply = await search(bot_harness)

    assert_search_answered(reply)
    assert bot_harness.discord.identify_count == 1
    assert bot_harness.discord.resume_count == 1


@pytest.mark.parametrize("code", [4009])
async def test_ended_gateway_session_reidentifies(bot_harness: BotHarness, code: int) -> None:
    await bot_harness.discord.drop_gateway_session(code)
    await bot_harness.discord.wait_for_identify(timeout=30, count=2)

    reply = await search(bot_harness)

    assert_search_answered(reply)
    assert bot_harness.discord.identify_count == 2
