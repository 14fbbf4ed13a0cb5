"""What every source kind shares: the context it runs in, what it returns, and item normalising."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from socialscale.insight.reach import engagement
from socialscale.insight.sentiment import source_language
from socialscale.models import Config, Item, Source
from socialscale.text import (
    MAX_TEXT,
    MAX_TITLE,
    canonical_url,
    clip,
    html_to_text,
    plain_text,
    stored_mapping,
    stored_value,
)

if TYPE_CHECKING:
    from socialscale.fetch import Budget, Fetcher, FetchResult
    from socialscale.parsepool import ParsePool

MAX_AUTHOR = 300


@dataclass
class Collected:
    """What one source produced in one pull."""

    items: list[Item] = field(default_factory=list)
    http_status: int | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    cursor: Any = None  # None leaves the stored cursor as it is
    permanent_redirect: str | None = None
    warnings: list[str] = field(default_factory=list)
    waited_s: float = 0.0
    # Sentiment already computed in the parser processes, by what it reads: (title, text, lang) -> score.
    # The tagger takes a score from here only for exactly these inputs (sentiment.Vader.item_score).
    sentiments: dict[tuple[str, str, str | None], float | None] = field(default_factory=dict)
    # The rules deciding each item, decided in the parser processes, by what the matcher reads:
    # rules.matcher.item_fields -> rule indices (Matcher.decide_many). Used only for exactly these inputs.
    decided: dict[tuple[Any, ...], tuple[int, ...]] = field(default_factory=dict)


@dataclass
class SourceContext:
    """Everything a kind's `collect()` may use; `budget` is the source's total time budget (it starts
    with the first request sent). `secrets` are the credentials the source uses: the pipeline masks
    them in everything the source returns, errors and items alike."""

    source: Source
    config: Config
    fetcher: Fetcher
    parser: ParsePool
    state: dict[str, Any]  # the source's row in `sources` (etag, last_modified, cursor, redirected_to ...)
    now: datetime
    budget: Budget
    secrets: list[str] = field(default_factory=list)
    last_status: int | None = None  # of the latest response: a failure after it reports it

    @property
    def max_bytes(self) -> int:
        return self.source.max_bytes or self.config.fetch.max_bytes

    async def get(self, url: str, **kwargs: Any) -> FetchResult:
        kwargs.setdefault("max_bytes", self.max_bytes)
        res = await self.fetcher.get(url, budget=self.budget, **kwargs)
        self.last_status = res.status
        return res

    async def post(self, url: str, **kwargs: Any) -> FetchResult:
        """POST a JSON body (`json=`): a read-only query such as GitHub GraphQL, same engine as `get`."""
        kwargs.setdefault("max_bytes", self.max_bytes)
        res = await self.fetcher.post(url, budget=self.budget, **kwargs)
        self.last_status = res.status
        return res

    async def parse(self, target: str, *args: Any) -> Any:
        """Run `module:function(*args)` in the parser pool (memory and time limited)."""
        return await self.parser.run(target, *args)

    @property
    def cursor(self) -> Any:
        raw = self.state.get("cursor")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None


class SourceKind(Protocol):
    """The contract of a source kind (`type:` in the config); a module with these three names fulfils it.

    Kinds are found through the entry-point group `socialscale.sources` (see docs/extending.md).
    """

    #: The config keys the kind accepts besides name, type, url, every, timeout and max_bytes.
    OPTION_KEYS: tuple[str, ...]

    def validate(self, url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
        """Config problems as (key relative to the source, message); empty when the source is usable."""
        ...

    def collect(self, ctx: SourceContext) -> Awaitable[Collected]:
        """Fetch and parse one source (an `async def`); raise FetchError/ParseError to fail it."""
        ...


def make_item(source: str, *, guid: Any, title: Any = "", text: Any = "", url: Any = None, author: Any = None,
              published_at: str | None = None, in_reply_to: Any = None, extra: dict[str, Any] | None = None,
              html: bool = True, lang: Any = None, reach: int | None = None) -> Item:
    """An Item from raw strings: plain text, bounded lengths, canonical URL, a guid that is never empty;
    `lang` as the source gives it ("en-US"), `reach` as the kind computes it (docs/insight.md)."""
    extra = stored_mapping(extra) if extra else {}
    to_text = html_to_text if html else plain_text
    clean_title, cut_title = clip(to_text(str(title)) if title else "", MAX_TITLE)
    clean_text, cut_text = clip(to_text(str(text)) if text else "", MAX_TEXT)
    if cut_title or cut_text:
        extra["truncated"] = [name for name, cut in (("title", cut_title), ("text", cut_text)) if cut]
    link = plain_text(url) or None if url else None
    name = clip(plain_text(author), MAX_AUTHOR)[0] or None if author else None
    guid_text = str(stored_value(str(guid))).strip() if guid not in (None, "") else ""
    if not guid_text:
        guid_text = link or "sha1:" + hashlib.sha1(f"{clean_title}\n{published_at}".encode(),
                                                   usedforsecurity=False).hexdigest()
    return Item(source=source, guid=guid_text[:2000], title=clean_title, text=clean_text, url=link, author=name,
                published_at=published_at,
                in_reply_to=str(stored_value(str(in_reply_to))) if in_reply_to not in (None, "") else None,
                extra=extra, canonical_url=canonical_url(link), lang=source_language(lang),
                reach=reach if reach is not None else engagement(extra.get("counts") or {}))


def dedupe(items: list[Item]) -> tuple[list[Item], int]:
    """Keep the first item of each guid; return how many repeats were dropped."""
    seen: set[str] = set()
    out: list[Item] = []
    for item in items:
        if item.guid in seen:
            continue
        seen.add(item.guid)
        out.append(item)
    return out, len(items) - len(out)
