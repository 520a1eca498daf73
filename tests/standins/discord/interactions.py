"""Interaction payloads the stand-in dispatches, and the record of how the bot responded to each one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from tests.standins.discord.models import Channel, Role, User

log = logging.getLogger(__name__)

# Interaction types.
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4

# Option types.
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
NUMBER = 10

# Callback types.
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MESSAGE_CALLBACK_TYPES = (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE)

EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Component types.
ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3


class InteractionNotAnswered(AssertionError):
    """The bot sent no accepted callback before the interaction's deadline."""


@dataclass(frozen=True)
class OptionValue:
    """An option with an explicit Discord option type, for types the value alone does not show."""

    type: int
    value: Any


def option_object(name: str, value: Any, *, focused: bool = False) -> dict[str, Any]:
    """Return a command option: str, int, float, bool, Channel, Role, User or OptionValue."""
    option_type, raw = _option_type_and_value(value)
    payload: dict[str, Any] = {"name": name, "type": option_type, "value": raw}
    if focused:
        payload["focused"] = True
    return payload


def _option_type_and_value(value: Any) -> tuple[int, Any]:
    # bool is checked before int because bool is a subclass of int.
    if isinstance(value, OptionValue):
        return value.type, value.value
    if isinstance(value, bool):
        return BOOLEAN, value
    if isinstance(value, int):
        return INTEGER, value
    if isinstance(value, float):
        return NUMBER, value
    if isinstance(value, str):
        return STRING, value
    if isinstance(value, Channel):
        return CHANNEL, str(value.id)
    if isinstance(value, Role):
        return ROLE, str(value.id)
    if isinstance(value, User):
        return USER, str(value.id)
    raise TypeError(
        f"unsupported option value {value!r}: pass str, int, float, bool, Channel, Role, User or OptionValue"
    )


def command_options(subcommand: str | None, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest option objects under the subcommand; "group sub" means a subcommand group then a subcommand."""
    if not subcommand:
        return options

    names = subcommand.split()
    if len(names) > 2:
        raise ValueError(f"subcommand {subcommand!r} has more than two levels")
    if len(names) == 2:
        inner = {"name": names[1], "type": SUB_COMMAND, "options": options}
        return [{"name": names[0], "type": SUB_COMMAND_GROUP, "options": [inner]}]
    return [{"name": names[0], "type": SUB_COMMAND, "options": options}]


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """Return the component with this custom_id anywhere in a message's component tree."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        nested = list(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            nested.append(component["accessory"])
        found = find_component(nested, custom_id)
        if found is not None:
            return found
    return None


@dataclass
class InteractionReply:
    """How the bot responded to one interaction: the callback, then edits and follow-ups as they arrive.

    `message` is the stand-in's live copy of the response message (the clicked message for callback
    types 6 and 7), so its fields show the state after every edit made so far.
    """

    interaction_id: int
    token: str
    interaction_type: int
    callback_type: int | None = None
    callback_data: dict[str, Any] = field(default_factory=dict)
    message: dict[str, Any] | None = None
    allowed_mentions: dict[str, Any] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)

    @property
    def content(self) -> str:
        """Text of the response message, or of the callback when there is no message."""
        source = self.message if self.message is not None else self.callback_data
        return source.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Embeds of the response message as they are now."""
        source = self.message if self.message is not None else self.callback_data
        return list(source.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        """Components of the response message as they are now."""
        source = self.message if self.message is not None else self.callback_data
        return list(source.get("components") or [])

    @property
    def flags(self) -> int:
        """Message flags of the response message (64 is ephemeral, 128 is still loading)."""
        source = self.message if self.message is not None else self.callback_data
        return int(source.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees the response."""
        return bool(self.flags & EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices of a type-8 callback."""
        return list(self.callback_data.get("choices") or [])

    async def wait_for_edit(self, *, count: int | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the original response has `count` edits (default: one more than now); return the message."""
        target = len(self.edits) + 1 if count is None else count
        await self._wait_until(lambda: len(self.edits) >= target, timeout, f"edit number {target}")
        assert self.message is not None
        return self.message

    async def wait_for_followup(self, *, count: int | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until `count` follow-up messages exist (default: one more than now); return the latest."""
        target = len(self.followups) + 1 if count is None else count
        await self._wait_until(lambda: len(self.followups) >= target, timeout, f"follow-up number {target}")
        return self.followups[target - 1]

    async def _wait_until(self, predicate: Any, timeout: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"interaction {self.interaction_id}: no {what} within {timeout} s"
                ) from None

    async def notify(self) -> None:
        """Wake every waiter so it checks its condition again."""
        async with self._changed:
            self._changed.notify_all()


@dataclass
class PendingInteraction:
    """An interaction the stand-in dispatched and the state of its acknowledgement."""

    reply: InteractionReply
    payload: dict[str, Any]
    guild_id: int | None
    channel_id: int
    dispatched_at: float
    acknowledged: asyncio.Event = field(default_factory=asyncio.Event)
    original_message_id: int | None = None
