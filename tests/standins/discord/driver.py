"""Interaction driving for StandInDiscord: build INTERACTION_CREATE payloads, dispatch them, await callbacks."""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
from typing import TYPE_CHECKING, Any

from tests.standins.discord import interactions as ix
from tests.standins.discord.models import THREAD_TYPES, Channel, Guild, Member, Role, User, channel_permissions
from tests.standins.discord.payloads import interaction_channel_object, member_object, role_object, user_object

if TYPE_CHECKING:
    from tests.standins.discord.server import StandInDiscord

log = logging.getLogger(__name__)

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class InteractionDriver:
    """Mixin of StandInDiscord that sends interactions to the bot and returns its responses."""

    async def slash_command(
        self: StandInDiscord,
        group: str,
        subcommand: str | None,
        options: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
        wait_for_deferred: float = 5.0,
    ) -> ix.InteractionReply:
        """Send a chat-input command and return the bot's response once its callback arrives.

        `group` is the top-level command, `subcommand` its subcommand ("group sub" for a
        subcommand group) or None. `permissions` overrides the member's permissions, which are
        otherwise computed from the guild layout. After a deferred response (callback type 5) this
        waits up to `wait_for_deferred` seconds for the first edit or follow-up.
        Raises InteractionNotAnswered when no callback is accepted before the deadline.
        """
        guild, channel, member = self._context(user, guild_id, channel_id)
        option_list = [ix.option_object(name, value) for name, value in (options or {}).items()]
        data = self._command_data(guild, group, subcommand, option_list, options or {}, member)
        payload = self._interaction_payload(
            ix.APPLICATION_COMMAND, data, guild, channel, member,
            permissions=permissions, app_permissions=app_permissions, locale=locale,
        )
        reply = await self._send_interaction(payload, guild, channel)

        if reply.callback_type == ix.DEFERRED_CHANNEL_MESSAGE and wait_for_deferred > 0:
            await self._wait_for_deferred_answer(reply, wait_for_deferred)
        return reply

    async def autocomplete(
        self: StandInDiscord,
        group: str,
        subcommand: str | None,
        options: dict[str, Any],
        focused: str,
        *,
        user: User | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> list[dict[str, Any]]:
        """Send an autocomplete interaction with `focused` as the option being typed; return the choices."""
        if focused not in options:
            raise ValueError(f"focused option {focused!r} is not among the options {sorted(options)}")

        guild, channel, member = self._context(user, guild_id, channel_id)
        option_list = [ix.option_object(name, value, focused=name == focused) for name, value in options.items()]
        data = self._command_data(guild, group, subcommand, option_list, options, member)
        payload = self._interaction_payload(
            ix.AUTOCOMPLETE, data, guild, channel, member, permissions=None, app_permissions=None, locale=locale
        )
        reply = await self._send_interaction(payload, guild, channel)
        return reply.choices

    async def click(
        self: StandInDiscord,
        message: dict[str, Any],
        custom_id: str,
        *,
        user: User | None = None,
        values: list[str] | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> ix.InteractionReply:
        """Click a button, or choose `values` in a string select, on a message the bot sent.

        The message is looked up by id so the click gets its current components. Raises
        ValueError when the message has no enabled component with this custom_id.
        """
        current = self.messages.get(int(message["id"]), message)
        component = ix.find_component(current.get("components") or [], custom_id)
        if component is None:
            raise ValueError(f"message {current['id']} has no component with custom_id {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} on message {current['id']} is disabled and cannot be clicked")

        guild, channel, member = self._context(user, None, int(current["channel_id"]))
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(component["type"])}
        if values is not None:
            data["values"] = list(values)

        payload = self._interaction_payload(
            ix.MESSAGE_COMPONENT, data, guild, channel, member,
            permissions=permissions, app_permissions=None, locale=locale,
        )
        payload["message"] = copy.deepcopy(current)
        return await self._send_interaction(payload, guild, channel, clicked_message_id=int(current["id"]))

    def _context(
        self: StandInDiscord, user: User | None, guild_id: int | None, channel_id: int | None
    ) -> tuple[Guild, Channel, Member]:
        if channel_id is not None:
            found = self.find_channel(channel_id)
            if found is None:
                raise KeyError(f"no channel {channel_id} is configured")
            guild, channel = found
        else:
            guild = self.guild(guild_id)
            channel = next(item for item in guild.channels if item.type not in THREAD_TYPES)

        if user is None:
            member = next(item for item in guild.members if not item.user.bot)
        else:
            member = guild.member(user.id) or Member(user=user)
        return guild, channel, member

    def _command_data(
        self: StandInDiscord, guild: Guild, name: str, subcommand: str | None, option_list: list[dict[str, Any]],
        values: dict[str, Any], member: Member,
    ) -> dict[str, Any]:
        guild_command = self._synced_command(guild.id, name)
        command = guild_command or self._synced_command(None, name)
        command_id = int(command["id"]) if command else self._command_id(None, 1, name)

        data: dict[str, Any] = {
            "id": str(command_id),
            "name": name,
            "type": 1,
            "options": ix.command_options(subcommand, option_list),
        }
        # discord.py looks a command up among guild commands only when data carries guild_id.
        if guild_command is not None:
            data["guild_id"] = str(guild.id)

        resolved = self._resolved(guild, values, member)
        if resolved:
            data["resolved"] = resolved
        return data

    def _resolved(self: StandInDiscord, guild: Guild, values: dict[str, Any], member: Member) -> dict[str, Any]:
        resolved: dict[str, dict[str, Any]] = {}
        for value in values.values():
            if isinstance(value, Channel):
                entry = interaction_channel_object(guild, value, member)
                resolved.setdefault("channels", {})[str(value.id)] = entry
            elif isinstance(value, Role):
                resolved.setdefault("roles", {})[str(value.id)] = role_object(value)
            elif isinstance(value, User):
                resolved.setdefault("users", {})[str(value.id)] = user_object(value)
                target = guild.member(value.id)
                if target is not None:
                    member_data = member_object(target)
                    member_data.pop("user")
                    resolved.setdefault("members", {})[str(value.id)] = member_data
        return resolved

    def _interaction_payload(
        self: StandInDiscord, interaction_type: int, data: dict[str, Any],
        guild: Guild, channel: Channel, member: Member,
        *, permissions: int | None, app_permissions: int | None, locale: str,
    ) -> dict[str, Any]:
        if permissions is None:
            permissions = channel_permissions(guild, member, channel)
        if app_permissions is None:
            app_permissions = channel_permissions(guild, self.bot_member(guild), channel)

        return {
            "id": str(self._ids()),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "guild_locale": "en-US",
            "channel_id": str(channel.id),
            "channel": interaction_channel_object(guild, channel, member),
            "member": member_object(member, permissions=permissions),
            "token": "stand-in-interaction-" + secrets.token_urlsafe(32),
            "version": 1,
            "app_permissions": str(app_permissions),
            "locale": locale,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }

    async def _send_interaction(
        self: StandInDiscord, payload: dict[str, Any], guild: Guild, channel: Channel,
        *, clicked_message_id: int | None = None,
    ) -> ix.InteractionReply:
        loop = asyncio.get_running_loop()
        reply = ix.InteractionReply(
            interaction_id=int(payload["id"]), token=payload["token"], interaction_type=payload["type"]
        )
        pending = ix.PendingInteraction(
            reply=reply, payload=payload, guild_id=guild.id, channel_id=channel.id,
            dispatched_at=loop.time(), original_message_id=clicked_message_id,
        )
        self.interactions[reply.interaction_id] = pending
        self._tokens[reply.token] = pending

        await self._gateway.dispatch("INTERACTION_CREATE", payload)
        log.info("dispatched interaction %s of type %s", reply.interaction_id, payload["type"])

        # A small margin lets a callback that the server accepted just before the deadline finish.
        remaining = self.callback_deadline - (loop.time() - pending.dispatched_at) + 0.05
        try:
            await asyncio.wait_for(pending.acknowledged.wait(), max(remaining, 0.0))
        except TimeoutError:
            raise ix.InteractionNotAnswered(
                f"interaction {reply.interaction_id}: no accepted callback within {self.callback_deadline} s"
            ) from None
        return reply

    async def _wait_for_deferred_answer(self: StandInDiscord, reply: ix.InteractionReply, timeout: float) -> None:
        try:
            await reply._wait_until(lambda: bool(reply.edits or reply.followups), timeout, "answer after deferring")
        except TimeoutError:
            log.warning("interaction %s deferred but sent nothing within %s s", reply.interaction_id, timeout)
