"""Shared fixtures: the real public AIS samples in ../shared/data (see its SOURCES.md)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests with a fixed seed, so a red CI always reproduces; local runs keep
# exploring new examples (and hypothesis's database replays any failure they find). Neither has
# hypothesis's per-example deadline: it is a wall-clock limit, which a loaded machine fails
# without any fault in the code (speed is measured in benchmarks/, never asserted in tests).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("local", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "local")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STSDETECT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real AIS dumps; tests using it skip with a clear message when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real AIS samples not found at {SHARED_DATA}: check out ../shared beside the repo "
            "or set STSDETECT_SHARED_DATA"
        )
    return SHARED_DATA


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test interrupts as a terminal's Ctrl-C would: SIGINT
    back to its default action, so that Python in the child raises KeyboardInterrupt on it.
    A test runner started with SIGINT ignored (a background job of a non-interactive shell,
    ``cmd &`` in a script) passes that on to every child, and Python keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
