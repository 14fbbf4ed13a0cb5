"""Source kinds: one module per `type:`, each a small adapter over the shared fetch engine.

A kind fulfils `socialscale.sources.base.SourceKind`: `OPTION_KEYS`, `validate(url, options)` and
`async collect(ctx)`. Every kind, built in or not, is registered the same way: an entry point in
the group `socialscale.sources` whose name is the `type:` and whose value is the module (the built-in
ones are in socialscale's own pyproject.toml). A third-party package adds a kind by declaring one;
docs/extending.md shows how. Modules are imported on first use so that `--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING

from socialscale.errors import SocialscaleError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from socialscale.sources import (
        appstore,
        bluesky,
        discourse,
        feed,
        github,
        hackernews,
        jsonapi,
        lemmy,
        lobsters,
        mastodon,
        reddit,
        stackexchange,
        youtube,
    )
    from socialscale.sources.base import SourceKind

    # mypy checks every built-in kind against the contract (they are loaded by name at run time).
    _BUILT_IN: tuple[SourceKind, ...] = (feed, mastodon, reddit, hackernews, stackexchange, github, jsonapi, bluesky,
                                         appstore, discourse, youtube, lemmy, lobsters)

GROUP = "socialscale.sources"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points  # ~15 ms to import: only when a kind is looked up

    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        # socialscale's own kinds win a name clash: a plugin cannot replace `feed` by accident.
        if ep.name not in found or (ep.dist is not None and ep.dist.name == "socialscale"):
            found[ep.name] = ep
    if "feed" not in found:
        raise SocialscaleError(f"no source kinds are registered (entry points {GROUP!r}): socialscale's install "
                               "is incomplete or out of date; reinstall it (pip install -e . in a source checkout)")
    return found


class _Kinds(Mapping[str, "SourceKind"]):
    def __getitem__(self, kind: str) -> SourceKind:
        kind_module: SourceKind = _entry_points()[kind].load()
        return kind_module

    def __iter__(self) -> Iterator[str]:
        return iter(_entry_points())

    def __len__(self) -> int:
        return len(_entry_points())


KINDS: Mapping[str, SourceKind] = _Kinds()
