"""`report html`: the self-contained HTML report with SVG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from socialscale.cli.state import NowOption, resolve_now, state


def register(report_app: typer.Typer) -> None:
    report_app.command("html")(html_cmd)


def html_cmd(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")] = None,
    mode: Annotated[str, typer.Option("--mode", help="Permissions of the -o file, in octal: 600 (the default) is "
                                                     "owner-only, since reports hold customer text; 644 lets "
                                                     "everyone on the machine read it.")] = "600",
    since: Annotated[str, typer.Option("--since", help="Activity window for volume and latency: a duration (30d) "
                                                       "or an ISO-8601 date.")] = "30d",
    now: NowOption = None,
) -> None:
    """Write one self-contained HTML file: volume, backlog by age, first response against the SLA, breaches.

    No scripts, fonts or images from elsewhere: it works offline and as a mail attachment, on a phone, and on paper.

    \b
    Example:
      socialscale report html -o report.html --since 30d
      socialscale report html -o report.html --mode 644
    """
    import os
    import sys
    import tempfile

    from socialscale.errors import UsageError
    from socialscale.output.html import render
    from socialscale.output.render import err_console

    st = state(ctx)
    try:
        permissions = int(mode, 8)
    except ValueError:
        permissions = -1
    if not 0 <= permissions <= 0o777:
        raise UsageError(f"--mode {mode!r}: expected octal permissions such as 600 or 644")
    text = render(st.db(), st.config(), now=resolve_now(st, now), since=since)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    # Written beside the target and renamed over it, so a mail job never attaches half a report.
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, permissions)  # mkstemp made it 0600 whatever the umask; widened only when asked
        os.replace(tmp, output)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc})") from None
    if not st.quiet:
        err_console().print(f"wrote {output}", markup=False, highlight=False)
