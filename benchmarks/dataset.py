"""Data sets and mirrors at benchmark scale, built once and cached under a temporary folder.

`build_dataset` extends the stand-in LL2's `generate_dataset`: when the recorded astronauts
file is present beside the repository, the astronauts take real names, agencies and
nationalities from it, and every expedition gets a crew of 1 to 13 seats. `mirror_path`
returns an SQLite mirror of that data set, written straight through `ExpeditionStore`
with the bot's own converter, so the query benchmarks need no sync.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.ll2.convert import to_expedition
from bot.ll2.models import ExpeditionModel
from storage.database import ExpeditionStore
from storage.records import Expedition
from tests.standins.ll2 import payloads
from tests.standins.ll2.dataset import LL2Dataset, generate_dataset
from tests.standins.ll2.generated import SPECIAL_ASTRONAUTS

log = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
ASTRONAUTS_FILE = "astronauts_trimmed_2026-07-24.json"

# Bump when the shape of the data set changes, so cached mirrors are rebuilt.
DATASET_VERSION = 1

# Real size: LL2 lists about 170 expeditions.
REAL_SIZE = 170
LARGE_SIZE = 100_000

# Relative weights of crew sizes 1 to 13: most expeditions carry two to six people, a few
# long-duration or handover periods list many more.
CREW_SIZE_WEIGHTS = (4, 10, 25, 15, 8, 14, 8, 5, 3, 3, 2, 2, 1)

SAVE_BATCH = 1000

# Source files whose changes invalidate cached records (how payloads are converted) and
# cached mirrors (how records are stored, too).
RECORD_SOURCES = ("bot/ll2/convert.py", "bot/ll2/models.py", "storage/records.py")
MIRROR_SOURCES = (*RECORD_SOURCES, "storage/rows.py", "storage/schema.py", "storage/search.py",
                  "storage/lookups.py", "storage/database.py")


def shared_ll2_dir() -> Path:
    """Return the folder of recorded LL2 data beside the repository (EXPEDITION_BOT_SHARED_DIR overrides)."""
    configured = os.environ.get("EXPEDITION_BOT_SHARED_DIR")
    shared = Path(configured) if configured else REPOSITORY_ROOT.parent / "shared"
    return shared / "ll2"


def recorded_astronauts() -> list[dict[str, Any]]:
    """Return the recorded astronauts, or an empty list when the file is not there."""
    path = shared_ll2_dir() / "recorded" / ASTRONAUTS_FILE
    if not path.is_file():
        log.info("no recorded astronauts at %s; using the generator's invented names", path)
        return []
    return [item for item in json.loads(path.read_text(encoding="utf-8")) if item.get("name")]


def dataset_source() -> str:
    """Return "recorded" when real astronaut names are available, else "generated"."""
    path = shared_ll2_dir() / "recorded" / ASTRONAUTS_FILE
    return "recorded" if path.is_file() else "generated"


def build_dataset(count: int, seed: int = 0) -> LL2Dataset:
    """Return `count` schema-valid expeditions, the same for the same seed and recorded file."""
    started = time.perf_counter()
    dataset = generate_dataset(count, seed=seed)
    rng = random.Random(seed * 1_000_003 + 17)

    pool = _astronaut_pool(dataset)
    _apply_real_people(pool, recorded_astronauts())
    _rebuild_crews(dataset, pool, rng)

    log.info("built a data set of %d expeditions in %.1f s", count, time.perf_counter() - started)
    return dataset


def _astronaut_pool(dataset: LL2Dataset) -> list[dict[str, Any]]:
    # The generator shares one dict per astronaut between all of their seats.
    by_id: dict[int, dict[str, Any]] = {}
    for expedition in dataset.expeditions:
        for member in expedition["crew"]:
            by_id.setdefault(member["astronaut"]["id"], member["astronaut"])
    return [by_id[key] for key in sorted(by_id)]


def _apply_real_people(pool: list[dict[str, Any]], people: list[dict[str, Any]]) -> None:
    """Give pool astronauts real names, agencies and nationalities, keeping the generator's null ones.

    The first pool entries (markdown and mention test names) keep their names. Beyond the
    number of recorded people, names mix one person's first name with another's surname.
    """
    if not people:
        return

    special = len(SPECIAL_ASTRONAUTS)
    for index, astronaut in enumerate(pool[special:]):
        person = people[index % len(people)]
        if index < len(people):
            name = person["name"]
        else:
            other = people[(index * 7919 + index // len(people)) % len(people)]
            name = f"{person['name'].split()[0]} {other['name'].split()[-1]}"

        astronaut["name"] = name
        if astronaut["agency"] is not None and person.get("agency") is not None:
            astronaut["agency"] = person["agency"]
        if astronaut["nationality"] and person.get("nationality"):
            astronaut["nationality"] = person["nationality"]


def _rebuild_crews(dataset: LL2Dataset, pool: list[dict[str, Any]], rng: random.Random) -> None:
    """Give every expedition 1 to 13 seats drawn from `pool`, commander first."""
    sizes = list(range(1, len(CREW_SIZE_WEIGHTS) + 1))
    special = pool[:len(SPECIAL_ASTRONAUTS)]
    flight_id = 900_001
    for expedition in dataset.expeditions:
        size = rng.choices(sizes, CREW_SIZE_WEIGHTS)[0]
        picks = {}
        if expedition["id"] <= len(special) * 3:
            first = special[(expedition["id"] - 1) % len(special)]
            picks[first["id"]] = first
        while len(picks) < size:
            astronaut = pool[int(rng.random() * len(pool))]
            picks.setdefault(astronaut["id"], astronaut)

        uses_operators = "Xinghe" in expedition["spacestation"]["name"]
        crew = []
        for position, astronaut in enumerate(picks.values()):
            if position == 0:
                role = payloads.ROLE_COMMANDER
            elif uses_operators:
                role = payloads.ROLE_OPERATOR
            else:
                role = payloads.ROLE_FLIGHT_ENGINEER if position < 6 else payloads.ROLE_PARTICIPANT
            crew.append(payloads.crew_member(flight_id, role, astronaut))
            flight_id += 1
            if expedition["end"] is None:
                astronaut["in_space"] = True
        expedition["crew"] = crew


def to_records(dataset: LL2Dataset) -> list[Expedition]:
    """Convert the payloads to records with the bot's own models and converter."""
    return [to_expedition(ExpeditionModel.model_validate(payload)) for payload in dataset.expeditions]


def cache_dir() -> Path:
    """Return the folder for built mirrors (EXPEDITION_BENCH_CACHE overrides the temp folder)."""
    configured = os.environ.get("EXPEDITION_BENCH_CACHE")
    folder = Path(configured) if configured else Path(tempfile.gettempdir()) / "expedition-bot-benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cache_key(count: int, seed: int, sources: tuple[str, ...]) -> str:
    """Return a name that changes with the size, seed, data source and the `sources` files."""
    digest = hashlib.sha256()
    for relative in sources:
        path = REPOSITORY_ROOT / relative
        digest.update(path.read_bytes() if path.is_file() else b"")
    return f"{count}-s{seed}-{dataset_source()}-v{DATASET_VERSION}-{digest.hexdigest()[:12]}"


def cached_records(count: int, seed: int = 0) -> list[Expedition]:
    """Return the converted records of `build_dataset(count, seed)`, from the cache when present."""
    path = cache_dir() / f"records-{cache_key(count, seed, RECORD_SOURCES)}.pickle"
    if path.is_file():
        with path.open("rb") as handle:
            return pickle.load(handle)

    records = to_records(build_dataset(count, seed))
    _remove_stale(path, count, seed)
    _write_atomically(path, lambda target: target.write_bytes(pickle.dumps(records, protocol=5)))
    return records


def mirror_path(count: int, seed: int = 0) -> Path:
    """Return a built mirror of `build_dataset(count, seed)`; treat it as read-only (see `working_copy`)."""
    path = cache_dir() / f"mirror-{cache_key(count, seed, MIRROR_SOURCES)}.sqlite3"
    if path.is_file():
        return path
    _remove_stale(path, count, seed)

    records = cached_records(count, seed)
    started = time.perf_counter()
    _write_atomically(path, lambda target: _fill_mirror(target, records))
    log.info("built the mirror of %d expeditions at %s in %.1f s", count, path, time.perf_counter() - started)
    return path


def _remove_stale(path: Path, count: int, seed: int) -> None:
    """Delete cached files of the same kind, size and seed built from older code: they are large."""
    kind = path.name.split("-", 1)[0]
    for old in path.parent.glob(f"{kind}-{count}-s{seed}-*{path.suffix}"):
        if old != path:
            old.unlink(missing_ok=True)


def _fill_mirror(target: Path, records: list[Expedition]) -> None:
    store = ExpeditionStore.open(target)
    try:
        for batch in batches(records, SAVE_BATCH):
            store.save_expeditions(batch)
        store.set_state("last_sync_finished_at", "2026-07-01T00:00:00+00:00")
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()


def working_copy(source: Path, folder: Path) -> Path:
    """Copy a cached mirror into `folder` for a run that may write to it."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "expeditions.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Yield consecutive slices of `items` of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _write_atomically(path: Path, write: Any) -> None:
    # Two benchmarks may build the same file at once: each writes its own temporary file and
    # the last rename wins with a complete file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        if temporary.suffix == ".tmp" and path.suffix == ".sqlite3":
            _check_mirror(temporary)
        os.replace(temporary, path)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(temporary) + suffix).unlink(missing_ok=True)


def _check_mirror(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("SELECT count(*) FROM expeditions").fetchone()
    finally:
        connection.close()
