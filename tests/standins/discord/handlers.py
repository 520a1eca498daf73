"""REST handlers of StandInDiscord: log-in, commands, channels, messages, interaction callbacks, webhooks."""

from __future__ import annotations

import asyncio
import copy
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.standins.discord import interactions as ix
from tests.standins.discord.gateway import GUILD_MESSAGES_INTENT
from tests.standins.discord.models import (
    ANNOUNCEMENT,
    EMBED_LINKS,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    THREAD_TYPES,
    VIEW_CHANNEL,
    Channel,
    Guild,
    User,
    channel_permissions,
)
from tests.standins.discord.payloads import apply_message_edit, channel_object, message_object, user_object
from tests.standins.discord.rest import error_response, json_response, no_content
from tests.standins.discord.validation import choices_errors, message_body_errors

if TYPE_CHECKING:
    from tests.standins.discord.server import StandInDiscord

log = logging.getLogger(__name__)

CHAT_INPUT_COMMAND_MESSAGE = 20
INTERACTION_TOKEN_LIFETIME = 15 * 60.0
# Discord documents nonce checks as covering "the past few minutes"; five is this stand-in's guess.
NONCE_WINDOW = 5 * 60.0


@dataclass
class RestCall:
    """One routed REST request: the request, its path match and its parsed JSON body."""

    request: web.Request
    match: re.Match[str]
    body: Any

    def id(self, name: str) -> int:
        """Return a numeric path parameter."""
        return int(self.match.group(name))


class RestHandlers:
    """Mixin of StandInDiscord with one handler per REST route."""

    async def _get_current_user(self: StandInDiscord, call: RestCall) -> web.Response:
        return json_response(200, {**user_object(self.bot_user), "verified": True, "mfa_enabled": False})

    async def _get_application(self: StandInDiscord, call: RestCall) -> web.Response:
        owner = self.guilds[0].owner_id if self.guilds else self.bot_user_id
        return json_response(200, {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "description": "Stand-in application",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user_object(User(id=owner, username="owner")),
            "team": None,
            "verify_key": secrets.token_hex(32),
            "flags": 0,
            "bot": user_object(self.bot_user),
        })

    async def _get_gateway(self: StandInDiscord, call: RestCall) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response(200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _check_application(self: StandInDiscord, call: RestCall) -> web.Response | None:
        if call.id("app") != self.application_id:
            return error_response(404, 10002, "Unknown Application")
        return None

    async def _get_commands(self: StandInDiscord, call: RestCall) -> web.Response:
        failure = self._check_application(call)
        if failure is not None:
            return failure
        guild_id = call.id("guild") if "guild" in call.match.groupdict() else None
        return json_response(200, self._commands.get(guild_id, []))

    async def _put_commands(self: StandInDiscord, call: RestCall) -> web.Response:
        failure = self._check_application(call)
        if failure is not None:
            return failure
        if not isinstance(call.body, list):
            return error_response(400, 50035, "Invalid Form Body", errors={"_errors": [
                {"code": "LIST_TYPE_CONVERT", "message": "Must be a list."}]})

        guild_id = call.id("guild") if "guild" in call.match.groupdict() else None
        self.command_syncs.append({"guild_id": guild_id, "commands": copy.deepcopy(call.body)})
        stored = [self._stored_command(guild_id, command) for command in call.body]
        self._commands[guild_id] = stored
        log.info("synced %d commands for %s", len(stored), f"guild {guild_id}" if guild_id else "global scope")
        return json_response(200, stored)

    def _stored_command(self: StandInDiscord, guild_id: int | None, command: dict[str, Any]) -> dict[str, Any]:
        command_type = int(command.get("type", 1))
        stored = {
            "type": command_type,
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            **copy.deepcopy(command),
            "id": str(self._command_id(guild_id, command_type, command["name"])),
            "application_id": str(self.application_id),
            "version": str(self._ids()),
        }
        stored.setdefault("description", "")
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def _command_id(self: StandInDiscord, guild_id: int | None, command_type: int, name: str) -> int:
        # Discord keeps a command's id when an overwrite names it again.
        key = (guild_id, command_type, name)
        if key not in self._command_ids:
            self._command_ids[key] = self._ids()
        return self._command_ids[key]

    def _synced_command(self: StandInDiscord, guild_id: int | None, name: str) -> dict[str, Any] | None:
        for command in self._commands.get(guild_id, []):
            if command["name"] == name and command["type"] == 1:
                return command
        return None

    # REST handlers: channels and messages.

    def _visible_channel(self: StandInDiscord, channel_id: int) -> tuple[Guild, Channel] | web.Response:
        found = self.find_channel(channel_id)
        if found is None:
            return error_response(404, 10003, "Unknown Channel")
        guild, channel = found
        if not channel_permissions(guild, self.bot_member(guild), channel) & VIEW_CHANNEL:
            return error_response(403, 50001, "Missing Access")
        return guild, channel

    async def _get_guild_channels(self: StandInDiscord, call: RestCall) -> web.Response:
        guild_id = call.id("guild")
        guild = next((item for item in self.guilds if item.id == guild_id), None)
        if guild is None:
            return error_response(404, 10004, "Unknown Guild")
        channels = [channel_object(guild, item) for item in guild.channels if item.type not in THREAD_TYPES]
        return json_response(200, channels)

    async def _get_channel(self: StandInDiscord, call: RestCall) -> web.Response:
        found = self._visible_channel(call.id("channel"))
        if isinstance(found, web.Response):
            return found
        guild, channel = found
        return json_response(200, channel_object(guild, channel))

    async def _post_message(self: StandInDiscord, call: RestCall) -> web.Response:
        found = self._visible_channel(call.id("channel"))
        if isinstance(found, web.Response):
            return found
        guild, channel = found
        body = call.body if isinstance(call.body, dict) else {}

        denied = self._missing_send_permission(guild, channel, body)
        if denied is not None:
            return denied
        errors = message_body_errors(body)
        if errors:
            return error_response(400, 50035, "Invalid Form Body", errors=errors)

        duplicate = self._nonce_duplicate(channel.id, body)
        if duplicate is not None:
            log.info(
                "nonce %s repeated in channel %d: returning message %s", body.get("nonce"), channel.id, duplicate["id"]
            )
            return json_response(200, duplicate)

        message = self._store_message(guild, channel, body)
        self.channel_messages.setdefault(channel.id, []).append(message)
        await self._gateway.dispatch("MESSAGE_CREATE", message, intent=GUILD_MESSAGES_INTENT)
        return json_response(200, message)

    def _missing_send_permission(
        self: StandInDiscord, guild: Guild, channel: Channel, body: dict[str, Any]
    ) -> web.Response | None:
        permissions = channel_permissions(guild, self.bot_member(guild), channel)
        needed = SEND_MESSAGES_IN_THREADS if channel.type in THREAD_TYPES else SEND_MESSAGES
        if not permissions & needed:
            return error_response(403, 50013, "Missing Permissions")
        # NOTE: assumed from Discord's documented permission table: rich embeds from a bot need Embed Links.
        if body.get("embeds") and not permissions & EMBED_LINKS:
            return error_response(403, 50013, "Missing Permissions")
        return None

    def _nonce_duplicate(self: StandInDiscord, channel_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        # NOTE: nonces are keyed per channel here; Discord documents the check per author without a scope.
        seen = self._nonces.get((channel_id, str(nonce)))
        now = asyncio.get_running_loop().time()
        if seen is None or now - seen[0] > NONCE_WINDOW or seen[1] not in self.messages:
            return None
        return self.messages[seen[1]]

    def _store_message(
        self: StandInDiscord, guild: Guild, channel: Channel, body: dict[str, Any], *, message_type: int = 0
    ) -> dict[str, Any]:
        message_id = self._ids()
        message = message_object(
            message_id=message_id, channel_id=channel.id, guild_id=guild.id, author=self.bot_user,
            body=body, message_type=message_type,
        )
        self.messages[message_id] = message
        if body.get("nonce") is not None and body.get("enforce_nonce"):
            self._nonces[(channel.id, str(body["nonce"]))] = (asyncio.get_running_loop().time(), message_id)
        return message

    def _channel_message(self: StandInDiscord, call: RestCall) -> dict[str, Any] | web.Response:
        found = self._visible_channel(call.id("channel"))
        if isinstance(found, web.Response):
            return found
        message = self.messages.get(call.id("message"))
        if message is None or int(message["channel_id"]) != call.id("channel"):
            return error_response(404, 10008, "Unknown Message")
        return message

    async def _get_message(self: StandInDiscord, call: RestCall) -> web.Response:
        message = self._channel_message(call)
        if isinstance(message, web.Response):
            return message
        return json_response(200, message)

    async def _patch_message(self: StandInDiscord, call: RestCall) -> web.Response:
        message = self._channel_message(call)
        if isinstance(message, web.Response):
            return message
        body = call.body if isinstance(call.body, dict) else {}
        errors = message_body_errors(body, require_content=False)
        if errors:
            return error_response(400, 50035, "Invalid Form Body", errors=errors)
        apply_message_edit(message, body)
        return json_response(200, message)

    async def _delete_message(self: StandInDiscord, call: RestCall) -> web.Response:
        message = self._channel_message(call)
        if isinstance(message, web.Response):
            return message
        self._forget_message(message)
        return no_content()

    async def _crosspost(self: StandInDiscord, call: RestCall) -> web.Response:
        message = self._channel_message(call)
        if isinstance(message, web.Response):
            return message
        found = self.find_channel(call.id("channel"))
        if found is None or found[1].type != ANNOUNCEMENT:
            return error_response(400, 40033, "This message has already been crossposted or cannot be crossposted.")
        message["flags"] = int(message["flags"]) | 1
        return json_response(200, message)

    def _forget_message(self: StandInDiscord, message: dict[str, Any]) -> None:
        message_id = int(message["id"])
        self.messages.pop(message_id, None)
        posted = self.channel_messages.get(int(message["channel_id"]), [])
        self.channel_messages[int(message["channel_id"])] = [item for item in posted if item is not message]

    # REST handlers: interaction callbacks and webhooks.

    async def _post_callback(self: StandInDiscord, call: RestCall) -> web.Response:
        pending = self.interactions.get(call.id("interaction"))
        if pending is None or not hmac.compare_digest(pending.reply.token, call.match.group("token")):
            return error_response(404, 10062, "Unknown interaction")
        if pending.acknowledged.is_set():
            return error_response(400, 40060, "Interaction has already been acknowledged.")
        elapsed = asyncio.get_running_loop().time() - pending.dispatched_at
        if elapsed > self.callback_deadline:
            log.info(
                "callback for interaction %s came %.3f s after dispatch: 10062", pending.reply.interaction_id, elapsed
            )
            return error_response(404, 10062, "Unknown interaction")

        body = call.body if isinstance(call.body, dict) else {}
        callback_type = int(body.get("type", 0))
        data = body.get("data") or {}
        invalid = self._callback_errors(pending, callback_type, data)
        if invalid is not None:
            return invalid

        message = self._acknowledge(pending, callback_type, data)
        await pending.reply.notify()
        log.info("interaction %s acknowledged with callback type %d", pending.reply.interaction_id, callback_type)

        wants_response = call.request.query.get("with_response", "").lower() in ("1", "true")
        if not wants_response or callback_type not in ix.MESSAGE_CALLBACK_TYPES or message is None:
            return no_content()
        return json_response(200, self._callback_response(pending, callback_type, message))

    def _callback_errors(
        self: StandInDiscord, pending: ix.PendingInteraction, callback_type: int, data: dict[str, Any]
    ) -> web.Response | None:
        interaction_type = pending.reply.interaction_type
        allowed = {
            ix.APPLICATION_COMMAND: (ix.CHANNEL_MESSAGE, ix.DEFERRED_CHANNEL_MESSAGE, 9),
            ix.MESSAGE_COMPONENT: (ix.CHANNEL_MESSAGE, ix.DEFERRED_CHANNEL_MESSAGE, ix.DEFERRED_UPDATE_MESSAGE,
                                   ix.UPDATE_MESSAGE, 9),
            ix.AUTOCOMPLETE: (ix.AUTOCOMPLETE_RESULT,),
        }[interaction_type]
        if callback_type not in allowed:
            return error_response(400, 50035, "Invalid Form Body", errors={"type": {"_errors": [
                {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "Invalid interaction response type"}]}})

        errors: dict[str, Any] = {}
        if callback_type == ix.CHANNEL_MESSAGE:
            errors = message_body_errors(data)
        elif callback_type == ix.UPDATE_MESSAGE:
            errors = message_body_errors(data, require_content=False)
        elif callback_type == ix.AUTOCOMPLETE_RESULT:
            errors = choices_errors(data.get("choices") or [])
            return error_response(400, 50035, "Invalid Form Body", errors=errors) if errors else None
        if errors:
            return error_response(400, 50035, "Invalid Form Body", errors={"data": errors})
        return None

    def _acknowledge(
        self: StandInDiscord, pending: ix.PendingInteraction, callback_type: int, data: dict[str, Any]
    ) -> dict[str, Any] | None:
        reply = pending.reply
        reply.callback_type = callback_type
        reply.callback_data = copy.deepcopy(data)
        reply.allowed_mentions = data.get("allowed_mentions")
        pending.acknowledged.set()

        guild, channel = self._pending_channel(pending)
        if callback_type in (ix.CHANNEL_MESSAGE, ix.DEFERRED_CHANNEL_MESSAGE):
            body = dict(data)
            if callback_type == ix.DEFERRED_CHANNEL_MESSAGE:
                body = {"flags": (int(data.get("flags") or 0) & ix.EPHEMERAL) | ix.LOADING}
            message_type = CHAT_INPUT_COMMAND_MESSAGE if reply.interaction_type == ix.APPLICATION_COMMAND else 0
            message = self._store_message(guild, channel, body, message_type=message_type)
            message["interaction_metadata"] = self._interaction_metadata(pending)
            pending.original_message_id = int(message["id"])
        elif pending.original_message_id is not None:
            message = self.messages.get(pending.original_message_id)
            if callback_type == ix.UPDATE_MESSAGE and message is not None:
                apply_message_edit(message, data)
        else:
            message = None

        reply.message = message
        return message

    def _pending_channel(self: StandInDiscord, pending: ix.PendingInteraction) -> tuple[Guild, Channel]:
        found = self.find_channel(pending.channel_id)
        if found is not None:
            return found
        # The channel was removed after dispatch; the response still belongs to the interaction's channel id.
        guild = self.guild(pending.guild_id)
        return guild, Channel(id=pending.channel_id, name="deleted-channel")

    def _interaction_metadata(self: StandInDiscord, pending: ix.PendingInteraction) -> dict[str, Any]:
        payload = pending.payload
        user = payload["member"]["user"]
        return {
            "id": payload["id"],
            "type": payload["type"],
            "user": user,
            "authorizing_integration_owners": payload["authorizing_integration_owners"],
        }

    def _callback_response(
        self: StandInDiscord, pending: ix.PendingInteraction, callback_type: int, message: dict[str, Any]
    ) -> dict[str, Any]:
        flags = int(message.get("flags") or 0)
        return {
            "interaction": {
                "id": str(pending.reply.interaction_id),
                "type": pending.reply.interaction_type,
                "response_message_id": message["id"],
                "response_message_loading": bool(flags & ix.LOADING),
                "response_message_ephemeral": bool(flags & ix.EPHEMERAL),
            },
            "resource": {"type": callback_type, "message": message},
        }

    def _webhook_interaction(self: StandInDiscord, call: RestCall) -> ix.PendingInteraction | web.Response:
        pending = self._tokens.get(call.match.group("token"))
        if pending is None or call.id("app") != self.application_id:
            return error_response(404, 10015, "Unknown Webhook")
        age = asyncio.get_running_loop().time() - pending.dispatched_at
        if age > INTERACTION_TOKEN_LIFETIME:
            return error_response(401, 50027, "Invalid Webhook Token")
        # NOTE: assumed: Discord does not document the error for a webhook call before the acknowledgement.
        if not pending.acknowledged.is_set():
            return error_response(404, 10015, "Unknown Webhook")
        return pending

    def _webhook_message(
        self: StandInDiscord, call: RestCall, pending: ix.PendingInteraction
    ) -> dict[str, Any] | web.Response:
        wanted = call.match.group("message")
        followup_ids = {int(item["id"]) for item in pending.reply.followups}
        if wanted == "@original":
            message_id = pending.original_message_id
        else:
            message_id = int(wanted)
            if message_id != pending.original_message_id and message_id not in followup_ids:
                message_id = None
        message = self.messages.get(message_id) if message_id is not None else None
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        return message

    async def _post_followup(self: StandInDiscord, call: RestCall) -> web.Response:
        pending = self._webhook_interaction(call)
        if isinstance(pending, web.Response):
            return pending
        body = call.body if isinstance(call.body, dict) else {}
        errors = message_body_errors(body)
        if errors:
            return error_response(400, 50035, "Invalid Form Body", errors=errors)

        original = self.messages.get(pending.original_message_id) if pending.original_message_id else None
        if original is not None and int(original["flags"]) & ix.LOADING:
            # The first follow-up after a deferred response replaces the loading message.
            apply_message_edit(original, body)
            original["flags"] = int(original["flags"]) & ~ix.LOADING
            message = original
        else:
            guild, channel = self._pending_channel(pending)
            flags = int(body.get("flags") or 0) & ix.EPHEMERAL
            message = self._store_message(guild, channel, {**body, "flags": flags})
            message["webhook_id"] = str(self.application_id)

        pending.reply.followups.append(message)
        await pending.reply.notify()
        wait = call.request.query.get("wait", "").lower() in ("1", "true")
        return json_response(200, message) if wait else no_content()

    async def _get_webhook_message(self: StandInDiscord, call: RestCall) -> web.Response:
        pending = self._webhook_interaction(call)
        if isinstance(pending, web.Response):
            return pending
        message = self._webhook_message(call, pending)
        if isinstance(message, web.Response):
            return message
        return json_response(200, message)

    async def _patch_webhook_message(self: StandInDiscord, call: RestCall) -> web.Response:
        pending = self._webhook_interaction(call)
        if isinstance(pending, web.Response):
            return pending
        message = self._webhook_message(call, pending)
        if isinstance(message, web.Response):
            return message
        body = call.body if isinstance(call.body, dict) else {}
        errors = message_body_errors(body, require_content=False)
        if errors:
            return error_response(400, 50035, "Invalid Form Body", errors=errors)

        apply_message_edit(message, body)
        message["flags"] = int(message["flags"]) & ~ix.LOADING
        if int(message["id"]) == pending.original_message_id:
            pending.reply.edits.append(copy.deepcopy(body))
            if "allowed_mentions" in body:
                pending.reply.allowed_mentions = body["allowed_mentions"]
        await pending.reply.notify()
        return json_response(200, message)

    async def _delete_webhook_message(self: StandInDiscord, call: RestCall) -> web.Response:
        pending = self._webhook_interaction(call)
        if isinstance(pending, web.Response):
            return pending
        message = self._webhook_message(call, pending)
        if isinstance(message, web.Response):
            return message
        self._forget_message(message)
        await pending.reply.notify()
        return no_content()
