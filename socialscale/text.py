"""Untrusted text from the web: HTML to plain text, accent folding, canonical URLs, redaction."""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urljoin, urlsplit, urlunsplit

from socialscale.errors import ParseError
from socialscale.problems import json_problem

MAX_TITLE = 2_000  # characters; longer titles are truncated with a note in `extra`
MAX_TEXT = 100_000
_WS = re.compile(r"\s+")
_TAG_HINT = re.compile(r"<[A-Za-z!/?]|&[#A-Za-z0-9]+;")
_BLOCK = {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr",
          "table", "section", "article", "header", "footer", "hr"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "math"}
_TRACKING_PREFIXES = ("utm_",)
_SAFE_SCHEMES = ("http", "https")
_SECRET_KEYS = re.compile(r"(token|key|secret|password|passwd|sig|signature|auth|session|access)", re.IGNORECASE)
# Control characters with no use in stored text: C0 (tab and newlines are folded instead), DEL and
# C1 (0x9b is a terminal's CSI). Bidi marks stay (right-to-left text needs them); renderers strip them.
_STORE_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_MESSAGE_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CSV_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A lone UTF-16 surrogate ("\ud800" in JSON, &#55296; in XML) is not a character: UTF-8 cannot
# encode it, so one in a title would fail every write and every output of the item.
_SURROGATES = re.compile("[\ud800-\udfff]")


@cache
def _text_extractor() -> type:
    """The HTML-to-text parser's class, made on first use: html.parser is imported only by what reads HTML
    (a pull, tagging), not by every command that imports this module (a report's renderer does)."""
    from html.parser import HTMLParser

    class _TextExtractor(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in _SKIP:
                self.skip += 1
            elif tag in _BLOCK:
                self.parts.append(" ")

        def handle_endtag(self, tag: str) -> None:
            if tag in _SKIP and self.skip:
                self.skip -= 1
            elif tag in _BLOCK:
                self.parts.append(" ")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    return _TextExtractor


def fold_ws(text: str) -> str:
    return _WS.sub(" ", text).strip()


def html_to_text(value: str | None) -> str:
    """Plain text from HTML: tags dropped (script/style contents too), entities decoded, whitespace folded."""
    if not value:
        return ""
    if not _TAG_HINT.search(value):
        return plain_text(value)
    parser = _text_extractor()()
    try:
        parser.feed(_STORE_CONTROLS.sub("", value))
        parser.close()
        text = "".join(parser.parts)
    except (AssertionError, ValueError):  # HTMLParser gives up on some malformed markup
        import html

        text = html.unescape(re.sub(r"<[^>]*>", " ", value))
    # Again after decoding: "&#27;" is an escape character once unescaped.
    return plain_text(text)


def plain_text(value: object) -> str:
    """Untrusted plain text for storage: control characters dropped, lone surrogates replaced by
    U+FFFD, whitespace folded to single spaces."""
    if value is None:
        return ""
    return fold_ws(_STORE_CONTROLS.sub("", valid_text(str(value))))


def valid_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it can be encoded as UTF-8."""
    return _SURROGATES.sub("\ufffd", text)


def stored_mapping(value: dict[str, Any]) -> dict[str, Any]:
    """`stored_value` of a mapping of payload fields (an item's `extra`)."""
    return {str(stored_value(k)): stored_value(v) for k, v in value.items()}


def stored_value(value: object) -> object:
    """A value from a payload (extra fields, ids) fit for storage: strings valid and free of C0/C1
    controls, containers cleaned all the way down (bounded: such payloads are depth-limited)."""
    if isinstance(value, str):
        return _STORE_CONTROLS.sub("", valid_text(value))
    if isinstance(value, dict):
        return {stored_value(k): stored_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stored_value(v) for v in value]
    return value


def clip(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters (with an ellipsis) and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[: limit - 1] + "…", True


def strip_controls(text: str, *, keep_cr: bool = False) -> str:
    """No ANSI/OSC escape sequences, C0/C1 control characters (tab and newline kept; carriage
    return too with keep_cr, for CSV, which quotes it) or bidi overrides: what must never reach a
    terminal, a spreadsheet, a chat message or a mail from untrusted text."""
    return (_CSV_CONTROLS if keep_cr else _MESSAGE_CONTROLS).sub("", _ESCAPES.sub("", valid_text(text)))


def one_line(value: object, limit: int = 200) -> str:
    """Untrusted text for a message outside the terminal (alerts, HTML): controls stripped,
    whitespace folded to one line, clipped. render.clean does the same for rich."""
    if value is None:
        return ""
    return clip(fold_ws(strip_controls(str(value))), limit)[0]


_MENTION = re.compile(r"(?<![\w.+-])[@＠](?=\w)")  # @everyone, @here, @room, @channel, @someone
_TAG_OPEN = re.compile(r"<(?=[@!#&/:a-zA-Z])")  # <@123>, <!channel>, <#chan>, <at>, <a href=…>, <http://x|y>
_LINK_TEXT_END = re.compile(r"\](?=\s*[(\[])")  # [text](url) and [text][ref]: the masked links of Markdown
ZWSP = "\u200b"


def inert_in_chat(text: str) -> str:
    """Untrusted text for a chat message: no mention pings and no masked link renders.

    Discord, Slack, Teams, Matrix and Telegram read `@everyone`/`@here`/`@room`, `<@id>`,
    `<!channel>`, `<at>` and Markdown `[text](url)` in a message body as mentions and links.
    A zero-width space after the `@` or `<`, and between `]` and `(`, leaves the text as it reads
    and makes it inert in every one of them (and harmless in mail or JSON)."""
    text = _MENTION.sub(lambda m: m.group() + ZWSP, text)
    text = _TAG_OPEN.sub("<" + ZWSP, text)
    return _LINK_TEXT_END.sub("]" + ZWSP, text)


def inert_link(url: str) -> str:
    """A bare http(s) URL for a chat message, with the characters that could open a mention or
    close a Markdown link percent-encoded (the URL still leads to the same place)."""
    return url.translate({ord(c): f"%{ord(c):02X}" for c in "@<>[]()|"})
UNTITLED = "(no title or text)"


def headline(title: object, text: object, limit: int = 80) -> str:
    """What stands where a title goes, in every output (tables, alerts, digests, the HTML report).

    The title when there is one; for an untitled item (most social posts) the start of its text, in
    quotation marks and cut at a word with `…`, so it reads as a quotation, not as a title.
    """
    name = fold_ws(strip_controls(str(title or "")))
    if name:
        return name
    body = fold_ws(strip_controls(str(text or "")))
    if not body:
        return UNTITLED
    if len(body) > limit:
        cut = body[:limit]
        space = cut.rfind(" ")
        body = (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.-") + "…"
    return f"“{body}”"


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def canonical_url(url: str | None) -> str | None:
    """docs/json.md (`canonical_url`): scheme and host lower-cased, fragment and utm_* parameters removed.

    Idempotent: canonical_url(canonical_url(u)) == canonical_url(u). None for non-http(s) URLs.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _SAFE_SCHEMES or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING_PREFIXES)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def resolve_link(base: str, link: str) -> str:
    """`link` made absolute against `base`; a link too malformed to resolve ('http://[oops') is
    kept as published rather than failing the whole feed."""
    try:
        return urljoin(base, link)
    except ValueError:
        return link


def safe_link(url: str | None) -> str | None:
    """The URL if it may be rendered as a link (http/https only); javascript:, data: and others are not."""
    if not url:
        return None
    scheme = url.strip().split(":", 1)[0].lower() if ":" in url else ""
    return url.strip() if scheme in _SAFE_SCHEMES else None


def redact_url(url: str) -> str:
    """A URL fit for messages and logs: no user:password, secret-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = [(k, "***" if _SECRET_KEYS.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), ""))


def is_secret_key(name: str) -> bool:
    """Whether a query parameter's name says its value is a credential (token, key, sig, ...)."""
    return _SECRET_KEYS.search(name) is not None


MIN_SECRET = 4  # shorter values are not masked: "***" for every "abc" would garble ordinary text
_FRAGMENT = 12  # a run this long of a secret's characters is masked: an API echoing a cut token


def secret_forms(secret: str) -> list[str]:
    """The spellings in which a service may echo a secret back: as is, URL-encoded, base64 (also
    of `user:secret` Basic credentials is out of reach), and as Python's repr shows a control."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret), base64.b64encode(raw).decode(),
             base64.urlsafe_b64encode(raw).decode(), repr(secret)[1:-1], repr(raw)[2:-1]}
    forms |= {f.rstrip("=") for f in forms}
    return sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True)


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `***`: in any of `secret_forms`, in any letter case,
    and any run of 12 or more of its characters, as is or in one letter case (a token cut short
    still leaks most of itself; shorter runs would mask ordinary words in text)."""
    if not text:
        return text
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET:
            continue
        for form in secret_forms(secret):
            text = re.sub(re.escape(form), "***", text, flags=re.IGNORECASE)
        for variant in {secret, secret.lower(), secret.upper()}:
            text = _mask_fragments(text, variant)
    return text


def _mask_fragments(text: str, secret: str) -> str:
    if len(secret) <= _FRAGMENT:
        return text
    lowered = text
    covered = bytearray(len(text))
    for i in range(len(secret) - _FRAGMENT + 1):
        gram = secret[i:i + _FRAGMENT]
        at = lowered.find(gram)
        while at != -1:
            covered[at:at + _FRAGMENT] = b"\x01" * _FRAGMENT
            at = lowered.find(gram, at + 1)
    if not any(covered):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append("***")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


_HTTP_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


def http_url_problem(value: object) -> str | None:
    """Why `value` is not an http(s) URL that can be fetched (scheme, host, port 1-65535), or None."""
    if not isinstance(value, str) or not _HTTP_URL.match(value):
        return "expected an http(s) URL"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:  # "Port out of range 0-65535", a malformed IPv6 literal ...
        return f"not a URL that can be fetched ({exc})"
    if not parts.hostname:
        return "expected an http(s) URL with a host name"
    if port == 0:
        return "not a URL that can be fetched (port 0)"
    return None


def has_secrets(url: str) -> bool:
    """Whether `url` carries credentials redact_url would hide (user:password, token-like query keys)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return True
    if "@" in parts.netloc:
        return True
    return any(is_secret_key(k) for k, _ in parse_qsl(parts.query, keep_blank_values=True))


def load_json(body: bytes, where: str) -> Any:
    """Decode a JSON payload; invalid or absurdly nested JSON is a ParseError naming `where`."""
    if not body.strip():
        raise ParseError(f"{where}: empty response where JSON was expected")
    try:
        return json.loads(body)
    except RecursionError:
        raise ParseError(f"{where}: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{where}: invalid JSON: {json_problem(exc)}") from None
