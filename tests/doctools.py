"""Read the examples out of docs/*.md, README.md, config.example.yaml and --help, at test time.

The tests built on these scan the files each run, so an example someone adds later is checked
without anyone touching a test.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC_FILES = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
_EXAMPLE_START = re.compile(r"^(\s*)# (- .*)$")


@dataclass(frozen=True)
class Block:
    file: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line}"


def code_blocks(files: list[Path] | None = None) -> list[Block]:
    out = []
    for path in files or DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            out.append(Block(path, text[:m.start()].count("\n") + 1, m.group(1), m.group(2)))
    return out


def uncomment_examples(text: str) -> str:
    """config.example.yaml with its commented-out entries switched on.

    An example starts at a comment whose text is a list item (`  # - name: x`) and goes on over the
    comment lines indented deeper than its dash; `# ` is removed from each, as a user would.
    """
    lines = text.splitlines()
    out = []
    inside: int | None = None  # the column of the current example's dash
    for line in lines:
        start = _EXAMPLE_START.match(line)
        if start:
            inside = len(start.group(1))
            out.append(start.group(1) + start.group(2))
            continue
        if inside is not None:
            m = re.match(r"^(\s*)# ?(\s*)(.*)$", line)
            if m and len(m.group(1)) == inside and len(m.group(2)) > 0 and m.group(3):
                out.append(m.group(1) + m.group(2) + m.group(3))
                continue
            inside = None
        out.append(line)
    return "\n".join(out) + "\n"


# Command lines --------------------------------------------------------------------------------

_SEPARATORS = {"|", "||", "&&", ";", "&", "(", ")"}
_REDIRECTS = {">", ">>", "<", "2>", "&>"}


def socialscale_commands(line: str) -> list[list[str]]:
    """The `socialscale ...` commands in one shell line, as argv lists (program name dropped).

    Pipes, `&&`, `;`, redirections and comments end a command; a segment counts when one of its
    words is exactly `socialscale` (after cron fields or `cd … &&`).
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: not a shell line
        return []
    commands: list[list[str]] = []
    segment: list[str] = []
    skip_next = False
    for token in tokens + [";"]:
        if skip_next:
            skip_next = False
            continue
        if token in _REDIRECTS:
            skip_next = True  # the file name
            continue
        if token in _SEPARATORS:
            start = _command_start(segment)
            if start is not None:
                commands.append(segment[start + 1:])
            segment = []
            continue
        segment.append(token)
    return commands


_CRON_FIELD = re.compile(r"^(@\w+|[0-9*][0-9*/,-]*|[0-9*/,-]*[a-z]{3}[a-z,-]*)$")


def _command_start(segment: list[str]) -> int | None:
    """Where `socialscale` starts a segment: first, or after a crontab line's five time fields."""
    if segment[:1] == ["socialscale"]:
        return 0
    if len(segment) > 5 and segment[5] == "socialscale" and all(_CRON_FIELD.match(f) for f in segment[:5]):
        return 5
    return None


def shell_lines(block: Block) -> list[str]:
    """The command lines of a code block: every line of a sh/cron block, `$ ` lines of a transcript."""
    text = re.sub(r"\\\n\s*", " ", block.text)
    if block.lang in ("sh", "bash", "shell", "cron", "console"):
        lines = [ln.removeprefix("$ ") for ln in text.splitlines()]
    elif block.lang == "":
        lines = [ln[2:] for ln in text.splitlines() if ln.startswith("$ ")]
    else:
        return []
    return [ln for ln in lines if "<TAB>" not in ln]  # what a user types before pressing tab


def is_synopsis(line: str) -> bool:
    """A usage summary such as `socialscale close ID... [--at T]`, not a runnable line."""
    return "[--" in line or "..." in line


def help_examples(help_text: str) -> list[str]:
    """The lines under `Example:` in a --help text, a line ending in `|` joined with the next."""
    lines: list[str] = []
    taking = False
    for raw in help_text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("Example"):
            taking = True
            continue
        if taking:
            if not stripped or not raw.startswith(" "):
                taking = False
                continue
            if lines and lines[-1].endswith("|"):
                lines[-1] += " " + stripped
            else:
                lines.append(stripped)
    return lines
