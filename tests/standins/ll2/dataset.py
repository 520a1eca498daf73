"""The expedition data the stand-in LL2 server serves, and its response modes.

`generate_dataset` invents data and needs no files, so the suite runs in any clone.
`load_recorded_dataset` builds a larger, realistic dataset from the recorded LL2 responses
that sit beside the repository in the project's own workspace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import generated, recorded

log = logging.getLogger(__name__)

# ExpeditionMini's fields: what the list mode returns.
LIST_MODE_KEYS = ("id", "url", "name", "start", "end")
# SpaceStationDetailed without `owners` is SpaceStationNormal, nested in the normal mode.
NORMAL_STATION_KEYS = ("id", "url", "name", "image", "status", "founded", "deorbited",
                       "description", "orbit", "type")


@dataclass
class LL2Dataset:
    """What the stand-in serves.

    expeditions: `ExpeditionDetailed` payload dicts. stations: `SpaceStationDetailedEndpoint`
    dicts. Nested dicts may be shared between records: copy a record before editing it.
    """

    expeditions: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)

    def expedition(self, expedition_id: int) -> dict[str, Any] | None:
        """Return the detailed payload with this id, or None."""
        for expedition in self.expeditions:
            if expedition["id"] == expedition_id:
                return expedition
        return None


def generate_dataset(count: int = 180, *, seed: int = 0) -> LL2Dataset:
    """Generate `count` invented, schema-valid expeditions (ids 1..count), the same for the same seed."""
    expeditions, stations = generated.generate(count, seed)
    return LL2Dataset(expeditions=expeditions, stations=stations)


def load_recorded_dataset(shared_ll2_dir: Path, *, snapshot: str = "2026-07-23") -> LL2Dataset:
    """Build the realistic dataset from the recorded LL2 files of one station snapshot.

    `snapshot` picks `space_stations_detailed_<snapshot>.json`; raises FileNotFoundError
    when a recorded file is missing.
    """
    expeditions, stations = recorded.build_recorded(Path(shared_ll2_dir), snapshot)
    return LL2Dataset(expeditions=expeditions, stations=stations)


def to_normal(expedition: dict[str, Any]) -> dict[str, Any]:
    """Derive the `ExpeditionNormal` payload (no crew, station without owners) from a detailed one."""
    station = expedition["spacestation"]
    return {
        "id": expedition["id"],
        "url": expedition["url"],
        "name": expedition["name"],
        "start": expedition["start"],
        "end": expedition["end"],
        "response_mode": "normal",
        "spacestation": {key: station[key] for key in NORMAL_STATION_KEYS},
        "mission_patches": expedition["mission_patches"],
        "spacewalks": expedition["spacewalks"],
    }


def to_list(expedition: dict[str, Any]) -> dict[str, Any]:
    """Derive the list-mode payload from a detailed one.

    NOTE: LL2's schema documents only the normal and detailed modes for expeditions; this
    shape (ExpeditionMini plus `response_mode`) is an assumption.
    """
    payload = {key: expedition[key] for key in LIST_MODE_KEYS}
    payload["response_mode"] = "list"
    return payload


def to_mode(expedition: dict[str, Any], mode: str) -> dict[str, Any]:
    """Return the payload for `mode` ("detailed", "normal" or "list")."""
    if mode == "detailed":
        return expedition
    if mode == "list":
        return to_list(expedition)
    return to_normal(expedition)
