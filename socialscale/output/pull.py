"""`pull` in a terminal: one row per source, notes for the reader, and failures on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialscale.output.render import Column

if TYPE_CHECKING:
    from socialscale.pipeline import PullSummary

PULL_COLUMNS = (
    Column("name", "source", "plain"),
    Column("status", "status", "plain"),
    Column("http_status", "http", "number"),
    Column("new", "new", "number"),
    Column("updated", "updated", "number"),
    Column("unchanged", "unchanged", "number"),
    Column("time", "time", "plain", justify="right"),
)


def print_table(summary: PullSummary, verbose: bool = False) -> None:
    from socialscale.output.render import Paragraph, out_console, table
    from socialscale.problems import brief

    shown = (lambda message: message) if verbose else brief  # the parser's raw words only with --verbose

    rows = []
    notes = []
    for s in summary.sources:
        rows.append({"name": s.name, "status": s.status, "http_status": s.http_status, "new": s.new,
                     "updated": s.updated, "unchanged": max(0, s.seen - s.new - s.updated),
                     "time": f"{s.duration_ms / 1000:.1f}s" if s.status != "skipped" else ""})
        if s.status == "skipped" and s.error:
            notes.append(f"{s.name}: {shown(s.error)}")
        notes += [f"{s.name}: {shown(w)}" for w in s.warnings]
    t = summary.totals()
    title = (f"{t['sources']} sources: {t['ok']} ok, {t['errors']} failed · {t['new']} new, "
             f"{t['updated']} updated")
    console = out_console()
    console.print(table(rows, PULL_COLUMNS, title=title))
    for note in notes:  # errors follow on stderr; notes (warnings, skips) are for the person reading
        console.print(Paragraph("note: " + note))


def print_errors(summary: PullSummary, verbose: bool = False) -> None:
    """Failures go to stderr as one line each, also with --quiet (cron mails stderr); the parser's raw
    words only with --verbose."""
    from socialscale.output.render import clean, err_console
    from socialscale.problems import brief

    console = err_console()
    for s in summary.sources:
        if s.status == "error":
            message = (s.error or "") if verbose else brief(s.error or "")
            console.print(f"error: {clean(s.name)}: {clean(message)}", markup=False, highlight=False)
    for message in summary.notify_errors:
        console.print(f"error: notify: {clean(message)}", markup=False, highlight=False)
    for message in summary.warnings:
        console.print(f"warning: {clean(message)}", markup=False, highlight=False)
