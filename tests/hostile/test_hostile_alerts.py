"""Alerts carry untrusted titles into chat services that render mentions and Markdown links even
in a plain-text message. Each service's payload is captured by a local server: Matrix is pointed
at it by its URL; Discord, Slack, Teams (Power Automate workflows) and Telegram have fixed public
hosts, so their HTTPS requests are sent to the local server instead (the public internet is the
one thing mocked, as everywhere in the suite)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import LocalServer, Route, rss

EVIL = "refund @everyone @here @room <@&12345> <!channel> <at>boss</at> [click](http://evil.example) [x][1]"
PUBLIC = {"discord.com", "hooks.slack.com", "api.telegram.org", "prod-01.westus.logic.azure.com"}
TARGETS = {
    # name: (Apprise URL, path prefix the payload arrives at); formats from each service's webhook docs
    "discord": ("discord://1234567890/abcdefghijklmnop", "/discord.com/api/webhooks/1234567890/"),
    "slack": ("slack://T1ABCDEFG/B1ABCDEFG/abcdefghijklmnopqrstuvwx", "/hooks.slack.com/services/"),
    "teams": ("workflow://prod-01.westus.logic.azure.com:443/abcdef0123456789/Sig-abc_123", "/prod-01.westus.logic.azure.com"),
    "telegram": ("tgram://123456789:AAbbccddeeffgghhiijjkkllmmnnooppqqr/-1001234567890", "/api.telegram.org/bot"),
    "matrix": ("matrix://bot:hooktoken123@127.0.0.1:{port}/#alerts?mode=matrix", "/api/v1/matrix/hook/"),
}


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A local server standing in for every chat service, answering as they do on success."""
    import requests

    srv = LocalServer()

    class Everything(dict[str, Route]):
        def get(self, key: str, default: Any = None) -> Route:  # type: ignore[override]
            if key.startswith("/hooks.slack.com"):  # Slack's incoming webhooks answer a bare "ok"
                return Route(body=b"ok", headers={"Content-Type": "text/plain"})
            # Telegram's Bot API answers {"ok": true, "result": <Message>}; the others ignore the body
            return Route(body=b'{"ok": true, "result": {"message_id": 1}}', headers={"Content-Type": "application/json"})

    srv.routes = Everything()
    srv.start()
    real = requests.sessions.Session.request

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(url)
        if parts.hostname in PUBLIC:
            url = f"{srv.base}/{parts.hostname}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.sessions.Session, "request", request)
    try:
        yield srv
    finally:
        srv.stop()


def payload_text(body: bytes) -> str:
    """Every string in a captured payload (JSON, or a form), joined."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = dict(parse_qsl(body.decode()))
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(data)
    return "\n".join(found)


LIVE = [
    re.compile(r"(?<![\w.])@(everyone|here|room|channel)\b"),  # a mention that pings
    re.compile(r"<[@!#]"),  # Discord/Slack mention and channel syntax
    re.compile(r"<at>"),  # Teams mention
    re.compile(r"\]\s*\(http"),  # a Markdown masked link
    re.compile(r"\]\["),  # a Markdown reference link
]


def test_alerts_reach_every_chat_service_with_mentions_and_masked_links_inert(services, server, cli, write_config,
                                                                                 monkeypatch):
    port = services.httpd.server_address[1]
    notify = []
    for name, (url, _) in TARGETS.items():
        monkeypatch.setenv(f"{name.upper()}_URL", url.format(port=port))
        notify.append({"name": name, "url_env": f"{name.upper()}_URL", "on": ["new"]})
    feed = server.add("/f.rss", rss([{"title": EVIL, "guid": "e", "link": "https://social.example/@alice/1(2)"}]))
    write_config({"timezone": "UTC", "default_lane": "customer_service", "sources": [{"name": "f", "url": feed}],
                  "notify": notify})
    result = cli("pull")
    assert result.exit_code == 0, result.stderr
    for name, (_, prefix) in TARGETS.items():
        bodies = [body for path, body in services.posts if path.startswith(prefix)]
        assert bodies, (name, [p for p, _ in services.posts])
        raw = "\n".join(payload_text(b) for b in bodies)
        text = raw.replace("\\", "")  # Teams' Markdown escapes punctuation (\. \[): read it as shown
        assert "refund" in text and "everyone" in text and "click" in text and "evil.example" in text, (name, text)
        for live in LIVE:
            assert not live.search(text) and not live.search(raw), (name, live.pattern, raw)
        assert "https://social.example/%40alice/1%282%29" in text, (name, text)  # the link still leads there
