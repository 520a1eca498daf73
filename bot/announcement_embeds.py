"""The embeds of one announcement: a pure function of change events, their expeditions and two times.

Each event gets one embed in the look of `/expedition show`, its kind as the author line and a
"What changed" field first. The embeds of one message share the 6,000 characters fairly, so
no event is ever left out of its message; crew fields are dropped first when space runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import discord

from bot.detail_embeds import NAME_LIMIT, build_expedition_embeds, format_moment
from bot.embeds import (
    DATA_SOURCE,
    ELLIPSIS,
    EMBED_COLOUR,
    FIELD_VALUE_LIMIT,
    MESSAGE_EMBED_COUNT_LIMIT,
    MESSAGE_EMBEDS_TOTAL_LIMIT,
    embed_length,
    enforce_limits,
    escape_and_truncate,
    fit_message,
    truncate,
)
from storage.events import EVENT_LABELS, ChangeEvent
from storage.records import Expedition

log = logging.getLogger(__name__)

WHAT_CHANGED = "What changed"
ARROW = "→"
NO_DATE = "no date"
NO_END_DATE = "no end date"
LIST_NAME_LIMIT = 80
MAX_NAMES_LISTED = 25

AnnouncementItem = tuple[ChangeEvent, Expedition | None]


def build_announcement_embeds(
    items: Sequence[AnnouncementItem], *, synced_at: datetime | None, now: datetime
) -> list[discord.Embed]:
    """Build one embed per event, at most 10, within the limits of one Discord message.

    `items` pairs each event with its expedition as stored now, or None when the expedition is
    no longer in the mirror; the embed is then built from the event's own values.
    """
    chosen = list(items)[:MESSAGE_EMBED_COUNT_LIMIT]
    if len(items) > len(chosen):
        log.warning("announcement of %d events cut to %d embeds (first event id %d)",
                    len(items), len(chosen), items[0][0].id)
    if not chosen:
        return []

    budget = MESSAGE_EMBEDS_TOTAL_LIMIT // len(chosen)
    embeds = [_event_embed(event, expedition, synced_at=synced_at, now=now, budget=budget)
              for event, expedition in chosen]
    return fit_message(embeds)


def describe_change(event: ChangeEvent, expedition: Expedition | None) -> str:
    """Return the "What changed" text of one event: old → new values, names added or removed."""
    old = event.old or {}
    new = event.new or {}
    describe = _DESCRIBERS.get(event.kind, _describe_generic)
    text = describe(old, new, expedition)
    return text or "Details changed in Launch Library 2."


def _event_embed(
    event: ChangeEvent, expedition: Expedition | None, *, synced_at: datetime | None, now: datetime, budget: int
) -> discord.Embed:
    if expedition is not None:
        embed = build_expedition_embeds(expedition, synced_at=synced_at, now=now)[0]
    else:
        embed = _removed_expedition_embed(event, synced_at)

    label = EVENT_LABELS.get(event.kind, event.kind.replace("_", " ").capitalize())
    embed.set_author(name=label)
    embed.insert_field_at(0, name=WHAT_CHANGED, value=describe_change(event, expedition), inline=False)
    enforce_limits(embed)
    return _fit_budget(embed, budget)


def _removed_expedition_embed(event: ChangeEvent, synced_at: datetime | None) -> discord.Embed:
    values = {**(event.old or {}), **(event.new or {})}
    name = values.get("name")
    title = escape_and_truncate(name, NAME_LIMIT) if isinstance(name, str) and name.strip() else ""
    embed = discord.Embed(
        title=title or f"Expedition {event.expedition_id}",
        colour=EMBED_COLOUR,
        description="This expedition is no longer listed by Launch Library 2.",
        timestamp=synced_at,
    )
    freshness = "last sync" if synced_at is not None else "not synced yet"
    embed.set_footer(text=f"{DATA_SOURCE} · {freshness}")
    return embed


def _fit_budget(embed: discord.Embed, budget: int) -> discord.Embed:
    """Shrink the embed to `budget` counted characters: crew fields first, then the description."""
    while embed_length(embed) > budget and len(embed.fields) > 1:
        embed.remove_field(len(embed.fields) - 1)

    excess = embed_length(embed) - budget
    if excess > 0 and embed.description:
        keep = len(embed.description) - excess
        embed.description = truncate(embed.description, keep) if keep > len(ELLIPSIS) else None

    excess = embed_length(embed) - budget
    if excess > 0 and embed.fields:
        first = embed.fields[0]
        keep = max(len(first.value or "") - excess, len(ELLIPSIS) + 1)
        embed.set_field_at(0, name=first.name, value=truncate(first.value or ELLIPSIS, keep), inline=False)
    return embed


# What changed, per kind. Each describer reads the event's JSON values and falls back to the
# stored expedition for what the event does not carry.

def _describe_dates(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    lines = []
    for key, label, missing in (("start", "Start", NO_DATE), ("end", "End", NO_END_DATE)):
        if key not in old and key not in new:
            continue
        before, after = _moment(old.get(key)), _moment(new.get(key))
        if before == after:
            continue
        lines.append(f"**{label}:** {_show_moment(before, missing)} {ARROW} {_show_moment(after, missing)}")
    return "\n".join(lines)


def _describe_crew(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    before = _crew_roles(old.get("crew"))
    after = _crew_roles(new.get("crew"))
    added = [name for name in after if name not in before]
    removed = [name for name in before if name not in after]
    role_changes = [
        f"{_escaped_name(name)} ({_role(before[name])} {ARROW} {_role(after[name])})"
        for name in after if name in before and before[name] != after[name]
    ]

    lines = []
    if added:
        lines.append(f"**Added:** {_name_list(added)}")
    if removed:
        lines.append(f"**Removed:** {_name_list(removed)}")
    if role_changes:
        lines.append(f"**Roles:** {', '.join(role_changes[:MAX_NAMES_LISTED])}")
    lines.append(f"**Crew:** {len(before)} {ARROW} {len(after)}")
    return "\n".join(lines)


def _describe_added_items(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    lines = []
    for key, label in (("mission_patches", "Mission patch added"), ("spacewalks", "Spacewalk added")):
        before = set(_names(old.get(key)))
        added = [name for name in _names(new.get(key)) if name not in before]
        if added:
            lines.append(f"**{label}:** {_name_list(added)}")
    return "\n".join(lines)


def _describe_started(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    moment = _moment(new.get("start")) or (expedition.start if expedition is not None else None)
    return f"**Started:** {_show_moment(moment, NO_DATE)}"


def _describe_ended(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    moment = _moment(new.get("end")) or (expedition.end if expedition is not None else None)
    return f"**Ended:** {_show_moment(moment, NO_END_DATE)}"


def _describe_new(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    start = _moment(new.get("start")) or (expedition.start if expedition is not None else None)
    lines = ["**New in Launch Library 2.**"]
    if start is not None:
        lines.append(f"**Start:** {format_moment(start)}")
    return "\n".join(lines)


def _describe_generic(old: dict[str, Any], new: dict[str, Any], expedition: Expedition | None) -> str:
    keys = sorted(set(old) | set(new))
    return "\n".join(f"**{escape_and_truncate(str(key), 40)}** changed" for key in keys)


_DESCRIBERS = {
    "new_expedition": _describe_new,
    "crew_changed": _describe_crew,
    "dates_changed": _describe_dates,
    "started": _describe_started,
    "ended": _describe_ended,
    "patch_or_spacewalk_added": _describe_added_items,
}


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _show_moment(moment: datetime | None, missing: str) -> str:
    return discord.utils.format_dt(moment, "F") if moment is not None else missing


def _crew_roles(value: object) -> dict[str, str | None]:
    """Map each crew member's name to its role, from the event's crew list."""
    roles: dict[str, str | None] = {}
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            role = item.get("role")
            roles[item["name"]] = role if isinstance(role, str) else None
        elif isinstance(item, str):
            roles[item] = None
    return roles


def _names(value: object) -> list[str]:
    names = []
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"])
    return names


def _escaped_name(name: str) -> str:
    return escape_and_truncate(name, LIST_NAME_LIMIT) or "Unnamed"


def _role(role: str | None) -> str:
    return escape_and_truncate(role, LIST_NAME_LIMIT) if role else "no role"


def _name_list(names: Iterable[str]) -> str:
    """Join escaped names with commas, within a quarter of a field, counting the names left out."""
    escaped = [_escaped_name(name) for name in names]
    limit = FIELD_VALUE_LIMIT // 4
    listed: list[str] = []
    for index, name in enumerate(escaped):
        if len(", ".join([*listed, name])) > limit or index == MAX_NAMES_LISTED:
            return ", ".join(listed) + f" {ELLIPSIS} and {len(escaped) - index} more"
        listed.append(name)
    return ", ".join(listed)
