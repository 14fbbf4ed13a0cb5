"""`type: github` — issues and pull requests from the search API, and a repository's issue comments.

Issues come from `/search/issues` (a `query:`, a `repo:`, or both), oldest first from a
`created:>=` bound: the newest creation time seen (less a few minutes for the search index), or
`backfill:` ago on a first pull. With `repo:`, the repository's issue comments are pulled too
(`/repos/{repo}/issues/comments?since=`), so a team member's comment answers its issue.
With `discussions: true` (and a token), discussions and their comments come from the GraphQL
API (`github_discussions`). X-RateLimit-Remaining/Reset and secondary-limit Retry-After are honoured.
"""

from __future__ import annotations

import re
from typing import Any

from socialscale.insight import reach
from socialscale.models import Item
from socialscale.sources import api, github_discussions
from socialscale.sources.base import Collected, make_item
from socialscale.sources.github_api import call, since_bound
from socialscale.text import redact_url

DEFAULT_API = "https://api.github.com"
PAGE = 100
SEARCH_LIMIT = 1000  # the search API never returns more than this many results for one query
OPTION_KEYS: tuple[str, ...] = (*api.COMMON_KEYS, "query", "repo", "comments", "discussions", "token_env")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def validate(url: str | None, options: dict[str, Any]) -> list[tuple[str, str]]:
    problems = api.validate_common(options, token=True)
    problems += api.optional_string(options, "query")
    repo = options.get("repo")
    if repo is not None and not (isinstance(repo, str) and _REPO.match(repo)):
        problems.append(("repo", f"expected owner/name, such as acme/widgets, got {repo!r}"))
    if not options.get("query") and not repo:
        problems.append(("query", "give a search query, a repo (owner/name), or both"))
    if options.get("comments") not in (None, True, False):
        problems.append(("comments", "expected true or false"))
    if options.get("comments") and not repo:
        problems.append(("comments", "needs `repo` (comments are listed per repository)"))
    if options.get("discussions") not in (None, True, False):
        problems.append(("discussions", "expected true or false"))
    return problems


@api.collector(token=True)
async def collect(run: api.Run, token: str | None) -> Collected:
    ctx = run.ctx
    opts = ctx.source.options
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    base = api.base_url(ctx, DEFAULT_API)
    repo = str(opts["repo"]) if opts.get("repo") else None
    with_comments = bool(repo) and opts.get("comments", True) is not False
    fp = api.fingerprint("github", opts.get("query"), repo, with_comments)
    prev = run.previous(fp) or {}
    cursor: dict[str, Any] = {"query": fp}
    created = await _issues(run, base, headers, opts.get("query"), repo, since_bound(run, prev.get("created")))
    if created or isinstance(prev.get("created"), str):
        cursor["created"] = created or prev["created"]
    if with_comments and repo and run.not_before is None:
        newest = await _comments(run, base, headers, repo, since_bound(run, prev.get("comments")))
        if newest or isinstance(prev.get("comments"), str):
            cursor["comments"] = newest or prev["comments"]
    elif isinstance(prev.get("comments"), str):
        cursor["comments"] = prev["comments"]
    if opts.get("discussions") is True:
        # GraphQL has its own budget: a spent REST search limit does not hold discussions back.
        rest_pending, run.pending = run.pending, None
        found = await github_discussions.pull(run, base, token, opts.get("query"), repo, prev.get("discussions"))
        if found is not None:
            cursor["discussions"] = found
        if rest_pending is not None and (run.pending is None or rest_pending[0] > run.pending[0]):
            run.pending = rest_pending
    return run.finish(cursor)


async def _issues(run: api.Run, base: str, headers: dict[str, str], query: Any, repo: str | None,
                  since: str) -> str | None:
    q = " ".join(x for x in (str(query) if query else None, f"repo:{repo}" if repo else None,
                              f"created:>={since}") if x)
    newest: str | None = None
    pages = api.max_pages(run.ctx)
    for page in range(1, pages + 1):
        got = await call(run, base + "/search/issues",
                         {"q": q, "sort": "created", "order": "asc", "per_page": PAGE, "page": page}, headers)
        if got is None:
            break
        res, doc = got
        where = redact_url(res.final_url)
        body = api.expect_dict(doc, where, "search results")
        entries = api.expect_list(body.get("items"), where, "`items`")
        if body.get("incomplete_results") is True:
            run.warn("GitHub search timed out and returned incomplete results; the next pull asks again")
        for entry in entries:
            item = _issue(run.ctx.source.name, entry)
            if item is not None:
                run.items.append(item)
                if item.published_at and (newest is None or item.published_at > newest):
                    newest = item.published_at
        total = api.n(body, "total_count") or 0
        if len(entries) < PAGE or page * PAGE >= min(total, SEARCH_LIMIT):
            break
        run.page_limit(page, pages, "the next pull continues from here")
    return newest


async def _comments(run: api.Run, base: str, headers: dict[str, str], repo: str, since: str) -> str | None:
    newest: str | None = None
    pages = api.max_pages(run.ctx)
    for page in range(1, pages + 1):
        got = await call(run, f"{base}/repos/{repo}/issues/comments",
                         {"since": since, "sort": "created", "direction": "asc", "per_page": PAGE, "page": page},
                         headers)
        if got is None:
            break
        res, doc = got
        entries = api.expect_list(doc, redact_url(res.final_url), "a list of issue comments")
        for entry in entries:
            item = _comment(run.ctx.source.name, entry, repo)
            if item is not None:
                run.items.append(item)
                if item.published_at and (newest is None or item.published_at > newest):
                    newest = item.published_at
        if len(entries) < PAGE:
            break
        run.page_limit(page, pages, "the next pull continues from here", "pages of comments")
    return newest


def _issue(source: str, entry: Any) -> Item | None:
    html_url = api.s(entry, "html_url")
    if not html_url:
        return None
    labels = entry.get("labels") if isinstance(entry.get("labels"), list) else []
    extra: dict[str, Any] = {"number": api.s(entry, "number"), "repo": _repo_of(api.s(entry, "repository_url")),
                             "kind": "pull_request" if api.d(entry, "pull_request") else "issue",
                             "labels": [x for x in (api.s(label, "name") for label in labels[:50]) if x],
                             "counts": reach.counts(reactions=reach.count(entry, "reactions", "total_count"),
                                                    comments=reach.count(entry, "comments"))}
    return make_item(source, guid=html_url, url=html_url, title=api.s(entry, "title") or "",
                     text=api.s(entry, "body") or "", author=api.s(api.d(entry, "user"), "login"),
                     published_at=api.from_text(api.s(entry, "created_at")),
                     extra={k: v for k, v in extra.items() if v not in (None, "", [], {})}, html=False,
                     reach=reach.total(extra["counts"]))


def _comment(source: str, entry: Any, repo: str) -> Item | None:
    html_url = api.s(entry, "html_url")
    if not html_url:
        return None
    parent = html_url.split("#", 1)[0]  # .../issues/5#issuecomment-1 answers .../issues/5 (or /pull/5)
    found = reach.counts(reactions=reach.count(entry, "reactions", "total_count"))
    extra = {"repo": repo, "comment_id": api.s(entry, "id"), "kind": "comment", "counts": found}
    return make_item(source, guid=html_url, url=html_url, title="", text=api.s(entry, "body") or "",
                     author=api.s(api.d(entry, "user"), "login"),
                     published_at=api.from_text(api.s(entry, "created_at")), in_reply_to=parent,
                     extra={k: v for k, v in extra.items() if v not in (None, {})}, html=False,
                     reach=reach.total(found))


def _repo_of(repository_url: str | None) -> str | None:
    if not repository_url or "/repos/" not in repository_url:
        return None
    return repository_url.split("/repos/", 1)[1]
