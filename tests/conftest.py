"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent

# Timings on shared machines vary too much for Hypothesis's per-example deadline, and the
# embed tests draw multi-kilobyte records on purpose. CI runs the same examples every time,
# so a failure there reproduces on a developer's machine with CI=true.
settings.register_profile(
    "suite",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
)
settings.load_profile("suite")

# CI sets this so that tests which need the recorded LL2 data fail instead of skipping.
REQUIRE_SHARED_VARIABLE = "EXPEDITION_BOT_REQUIRE_SHARED"


def _shared_ll2_dir() -> Path:
    configured = os.environ.get("EXPEDITION_BOT_SHARED_DIR")
    shared = Path(configured) if configured else REPOSITORY_ROOT.parent / "shared"
    return shared / "ll2"


@pytest.fixture(scope="session")
def shared_ll2_dir() -> Path:
    """Return the folder of recorded LL2 responses and the OpenAPI schema.

    It sits beside the repository in the project's own workspace and is absent from an
    outside clone, where the tests that need it skip.
    """
    folder = _shared_ll2_dir()
    if (folder / "recorded").is_dir() and (folder / "schema").is_dir():
        return folder

    reason = (
        f"recorded LL2 data not found at {folder}; set EXPEDITION_BOT_SHARED_DIR to the folder "
        "that contains ll2/"
    )
    if os.environ.get(REQUIRE_SHARED_VARIABLE) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SHARED_VARIABLE}=1 requires it)")
    pytest.skip(reason)
