"""Shell completion of values: lane, source, owner and status names, from the config in use.

Completion runs on every <TAB>, so it only reads the config (never the database) and stays quiet:
a broken or missing config completes nothing rather than printing an error into the prompt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from socialscale.models import STATUSES

if TYPE_CHECKING:
    from socialscale.models import Config


def _config(ctx: Any) -> Config | None:
    from socialscale.config import find_config, load_config
    from socialscale.errors import SocialscaleError

    root = ctx.find_root() if ctx is not None else None
    explicit = (root.params or {}).get("config") if root is not None else None
    try:
        return load_config(find_config(explicit))
    except (SocialscaleError, OSError):
        return None


def _matching(names: Any, incomplete: str) -> list[str]:
    return [n for n in names if n.startswith(incomplete)]


def lanes(ctx: Any, incomplete: str) -> list[str]:
    config = _config(ctx)
    return _matching(config.lanes if config else (), incomplete)


def sources(ctx: Any, incomplete: str) -> list[str]:
    config = _config(ctx)
    return _matching([s.name for s in config.sources] if config else (), incomplete)


def members(ctx: Any, incomplete: str) -> list[str]:
    config = _config(ctx)
    return _matching(config.team if config else (), incomplete)


def statuses(incomplete: str) -> list[str]:
    return _matching(STATUSES, incomplete)
