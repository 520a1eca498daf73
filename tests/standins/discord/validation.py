"""Discord's limits on message bodies and autocomplete choices, checked the way the API rejects them.

Each check returns Discord's nested `errors` object (empty when the body is valid), which the
server sends back as `400 {"code": 50035, "message": "Invalid Form Body", "errors": ...}`.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_NONCE = 25
MAX_ACTION_ROWS = 5
MAX_ROW_BUTTONS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_STRING = 100

# Embed text fields counted in the 6000-character total, with their own maximum length.
_EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
_FIELD_LIMITS = {"name": 256, "value": 1024}
MAX_FIELDS = 25
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256

Errors = dict[str, Any]


def _error(code: str, message: str) -> Errors:
    return {"_errors": [{"code": code, "message": message}]}


def _too_long(limit: int) -> Errors:
    return _error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _put(errors: Errors, path: list[str], leaf: Errors) -> None:
    node = errors
    for key in path:
        node = node.setdefault(key, {})
    node.update(leaf)


def message_body_errors(body: dict[str, Any], *, require_content: bool = True) -> Errors:
    """Return the errors of a create/edit message body: content, nonce, embeds and components."""
    errors: Errors = {}

    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        _put(errors, ["content"], _too_long(MAX_CONTENT))

    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > MAX_NONCE:
        _put(errors, ["nonce"], _too_long(MAX_NONCE))

    embeds = body.get("embeds") or []
    errors.update(_embeds_errors(embeds))
    errors.update(_components_errors(body.get("components") or []))

    has_something = bool(content) or bool(embeds) or bool(body.get("components")) or bool(body.get("sticker_ids"))
    if require_content and not has_something and not body.get("attachments"):
        _put(errors, ["content"], _error("BASE_TYPE_REQUIRED", "Cannot send an empty message"))
    return errors


def _embeds_errors(embeds: list[dict[str, Any]]) -> Errors:
    errors: Errors = {}
    if len(embeds) > MAX_EMBEDS:
        _put(errors, ["embeds"], _error("BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_EMBEDS} in length."))
        return errors

    total = 0
    for index, embed in enumerate(embeds):
        total += _check_embed(errors, ["embeds", str(index)], embed)

    if total > MAX_EMBED_TOTAL:
        message = f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
        _put(errors, ["embeds"], _error("MAX_EMBED_SIZE_EXCEEDED", message))
    return errors


def _check_embed(errors: Errors, path: list[str], embed: dict[str, Any]) -> int:
    """Record the embed's length errors and return the characters it adds to the message total."""
    total = 0
    for key, limit in _EMBED_TEXT_LIMITS.items():
        text = embed.get(key) or ""
        total += len(text)
        if len(text) > limit:
            _put(errors, [*path, key], _too_long(limit))

    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        _put(errors, [*path, "fields"], _error("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FIELDS} or fewer in length."))
    for index, item in enumerate(fields):
        for key, limit in _FIELD_LIMITS.items():
            text = item.get(key) or ""
            total += len(text)
            if not text:
                required = _error("BASE_TYPE_REQUIRED", "This field is required")
                _put(errors, [*path, "fields", str(index), key], required)
            elif len(text) > limit:
                _put(errors, [*path, "fields", str(index), key], _too_long(limit))

    footer = (embed.get("footer") or {}).get("text") or ""
    total += len(footer)
    if len(footer) > MAX_FOOTER:
        _put(errors, [*path, "footer", "text"], _too_long(MAX_FOOTER))

    author = (embed.get("author") or {}).get("name") or ""
    total += len(author)
    if len(author) > MAX_AUTHOR_NAME:
        _put(errors, [*path, "author", "name"], _too_long(MAX_AUTHOR_NAME))
    return total


def _components_errors(rows: list[dict[str, Any]]) -> Errors:
    errors: Errors = {}
    # Components V2 layouts (containers, sections) have other limits that this check leaves alone.
    action_rows = [row for row in rows if row.get("type") == 1]
    if len(action_rows) > MAX_ACTION_ROWS:
        _put(errors, ["components"], _too_long(MAX_ACTION_ROWS))

    for row_index, row in enumerate(rows):
        if row.get("type") != 1:
            continue
        children = row.get("components") or []
        if len(children) > MAX_ROW_BUTTONS:
            _put(errors, ["components", str(row_index), "components"], _too_long(MAX_ROW_BUTTONS))
        for index, component in enumerate(children):
            _check_component(errors, ["components", str(row_index), "components", str(index)], component)
    return errors


def _check_component(errors: Errors, path: list[str], component: dict[str, Any]) -> None:
    custom_id = component.get("custom_id")
    if custom_id is not None and len(custom_id) > MAX_CUSTOM_ID:
        _put(errors, [*path, "custom_id"], _too_long(MAX_CUSTOM_ID))

    label = component.get("label")
    if label is not None and len(label) > MAX_BUTTON_LABEL:
        _put(errors, [*path, "label"], _too_long(MAX_BUTTON_LABEL))

    options = component.get("options")
    if options is not None and len(options) > MAX_SELECT_OPTIONS:
        _put(errors, [*path, "options"], _too_long(MAX_SELECT_OPTIONS))


def choices_errors(choices: list[dict[str, Any]]) -> Errors:
    """Return the errors of an autocomplete result: at most 25 choices, names of 1 to 100 characters."""
    errors: Errors = {}
    if len(choices) > MAX_CHOICES:
        _put(errors, ["data", "choices"], _too_long(MAX_CHOICES))

    for index, choice in enumerate(choices):
        name = choice.get("name") or ""
        if not 1 <= len(name) <= MAX_CHOICE_NAME:
            _put(errors, ["data", "choices", str(index), "name"],
                 _error("BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CHOICE_NAME} in length."))
        value = choice.get("value")
        if isinstance(value, str) and len(value) > MAX_CHOICE_STRING:
            _put(errors, ["data", "choices", str(index), "value"], _too_long(MAX_CHOICE_STRING))
    return errors
