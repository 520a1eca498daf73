"""Assertions on embed payloads, shared by the embed and search answer tests.

Each check reads the JSON that discord.py would send, never the builder's own intermediate values.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# A mention that Discord would render: a mass mention, or a user, role or channel id in angle brackets.
RAW_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>", re.IGNORECASE)

LIMITS = {
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "author": 256,
    "message_total": 6000,
    "embeds": 10,
}


def embed_texts(data: dict[str, Any]) -> list[str]:
    """Return every text of an embed payload that Discord renders."""
    texts = [data.get("title") or "", data.get("description") or ""]
    texts.append((data.get("footer") or {}).get("text") or "")
    texts.append((data.get("author") or {}).get("name") or "")
    for embed_field in data.get("fields") or ():
        texts.extend([embed_field["name"], embed_field["value"]])
    return texts


def counted_length(data: dict[str, Any]) -> int:
    """Return the length Discord counts toward the 6000-character message total."""
    return sum(len(text) for text in embed_texts(data))


def assert_embed_within_limits(data: dict[str, Any]) -> None:
    """Assert every per-embed limit of Discord on one embed payload."""
    assert len(data.get("title") or "") <= LIMITS["title"]
    assert len(data.get("description") or "") <= LIMITS["description"]
    assert len(data.get("fields") or ()) <= LIMITS["fields"]
    for embed_field in data.get("fields") or ():
        assert 0 < len(embed_field["name"]) <= LIMITS["field_name"]
        assert 0 < len(embed_field["value"]) <= LIMITS["field_value"]
    assert len((data.get("footer") or {}).get("text") or "") <= LIMITS["footer"]
    assert len((data.get("author") or {}).get("name") or "") <= LIMITS["author"]
    assert counted_length(data) <= LIMITS["message_total"]


def assert_message_within_limits(payloads: list[dict[str, Any]]) -> None:
    """Assert Discord's limits on the embeds of one message, together and one by one."""
    assert len(payloads) <= LIMITS["embeds"]
    assert sum(counted_length(data) for data in payloads) <= LIMITS["message_total"]
    for data in payloads:
        assert_embed_within_limits(data)


def assert_safe_text(text: str, *, allow_newlines: bool = False) -> None:
    """Assert that `text` has no renderable mention, no control character and encodes as UTF-8."""
    assert RAW_MENTION.search(text) is None, f"raw mention in {text[:200]!r}"

    allowed = {"\n"} if allow_newlines else set()
    controls = [character for character in text if unicodedata.category(character) == "Cc" and character not in allowed]
    assert controls == [], f"control characters {controls!r} in {text[:200]!r}"

    text.encode("utf-8")


def assert_payload_sendable(data: dict[str, Any]) -> None:
    """Assert that the payload serializes to JSON and then to UTF-8, as discord.py sends it."""
    json.dumps(data, ensure_ascii=False).encode("utf-8")
