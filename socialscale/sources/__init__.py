"""Source kinds: one module per `type:`, each a small adapter over the shared fetch engine.

A kind module defines:
- `OPTION_KEYS`: the config keys it accepts besides name/type/url/every/timeout/max_bytes;
- `validate(url, options) -> list[(key, message)]`: config problems, keys relative to the source;
- `async collect(ctx: SourceContext) -> Collected`: fetch and parse (see `socialscale.sources.base`).
Modules are imported on first use so that `--help` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType

_MODULES = {
    "feed": "socialscale.sources.feed",
    "mastodon": "socialscale.sources.mastodon",
    "reddit": "socialscale.sources.reddit",
    "hackernews": "socialscale.sources.hackernews",
    "stackexchange": "socialscale.sources.stackexchange",
    "github": "socialscale.sources.github",
    "json": "socialscale.sources.jsonapi",
    "bluesky": "socialscale.sources.bluesky",
    "appstore": "socialscale.sources.appstore",
    "discourse": "socialscale.sources.discourse",
    "youtube": "socialscale.sources.youtube",
    "lemmy": "socialscale.sources.lemmy",
    "lobsters": "socialscale.sources.lobsters",
}


class _Kinds(Mapping[str, ModuleType]):
    def __getitem__(self, kind: str) -> ModuleType:
        return importlib.import_module(_MODULES[kind])

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


KINDS: Mapping[str, ModuleType] = _Kinds()
