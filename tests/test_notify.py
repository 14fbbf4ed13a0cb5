"""Alerts through Apprise's `json://` target, received by the local test server: what is sent, when, and once."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from conftest import rss

import socialscale
from socialscale.models import Item
from socialscale.store import alerts as ledger
from socialscale.store.db import transaction
from socialscale.store.items import upsert_items

PASSWORD = "pw5ecretQ7"  # the secret parts of the Apprise URL: they must never be printed or stored
TOKEN = "tok3nZX9"
LANES = {"listening": {"respond": False}, "customer_service": {"sla": "2h", "owner": "alice"},
         "sales_prospecting": {"sla": "1d", "owner": "bob"}}
START = "2024-05-01T10:00:00Z"  # the seeded items' start; customer_service breaches after 12:00:00


def hook(server: Any, name: str = "ops", status: int = 200) -> str:
    """A route on the test server and the Apprise URL that posts to it (with a password and a token)."""
    path = f"/{name}/{TOKEN}"
    server.add(path, "{}", status=status, content_type="application/json")
    return f"json://alice:{PASSWORD}@127.0.0.1:{server.httpd.server_address[1]}{path}"


def received(server: Any, name: str = "ops") -> list[dict[str, Any]]:
    return [json.loads(body) for path, body in server.posts if path == f"/{name}/{TOKEN}"]


def configure(write_config: Any, targets: list[dict[str, Any]], sources: list[dict[str, Any]] | None = None,
              **extra: Any) -> Path:
    return write_config({"timezone": "UTC", "default_lane": "customer_service", "team": {"alice": {}, "bob": {}},
                         "lanes": LANES, "sources": sources or [], "notify": targets, **extra})


def seed(tmp_path: Path, rows: list[tuple[str, str | None, str | None, str]]) -> list[int]:
    """Items stored as a pull would, then put in a lane: (title, lane, owner, start)."""
    db = socialscale.open(tmp_path / "socialscale.yaml").db
    items = [Item(source="seed", guid=f"g{i}", title=title, url=f"https://example.com/{i}", published_at=start)
             for i, (title, _, _, start) in enumerate(rows)]
    with transaction(db):
        ids = upsert_items(db, "seed", items, "2024-05-01T10:00:05Z").new_ids
        for item_id, (_, lane, owner, _) in zip(ids, rows, strict=True):
            db.execute("UPDATE items SET lane = ?, owner = ? WHERE id = ?", (lane, owner, item_id))
    db.conn.close()
    return ids


def alert_rows(tmp_path: Path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "test.db") as conn:
        return conn.execute("SELECT target, kind, key, status FROM alerts ORDER BY id").fetchall()


def test_pull_sends_one_message_per_target_with_titles_links_owners_and_the_rest_counted(
        server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    entries = [{"title": f"Refund please {n}", "link": f"https://example.com/p{n}", "guid": f"p{n}"}
               for n in range(12)]
    entries.append({"title": "Evil \u202etitle", "link": "javascript:alert(1)", "guid": "evil"})
    feed = server.add("/feed", rss(entries))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["new"]}], [{"name": "f", "url": feed}])

    result = cli("pull")
    assert result.exit_code == 0, result.stderr
    messages = received(server)
    assert len(messages) == 1  # one message for the whole pull, not one per item
    msg = messages[0]
    assert msg["title"] == "socialscale: 13 new items"
    body = msg["message"]
    assert body.count("\n  - #") == 10  # MAX_LISTED per lane
    assert "and 3 more" in body
    assert "Refund please 0 | https://example.com/p0 | owner: " in body
    assert "\u202e" not in body and "javascript:" not in body

    # The same feed again: nothing new, so nothing sent; the ledger holds each item once.
    assert cli("pull").exit_code == 0
    assert len(received(server)) == 1
    assert [r[3] for r in alert_rows(tmp_path)] == ["sent"] * 13


def test_alerts_and_the_digest_show_an_untitled_post_by_the_start_of_its_text(
        server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    # An RSS item with no <title>, as Mastodon and Reddit comment feeds have (RSS 2.0: title or description).
    feed = server.add("/feed", rss([{"guid": "m1", "link": "https://example.com/m1",
                                     "description": "the croissants were stale again this morning"}]))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["new", "digest"]}],
              [{"name": "f", "url": feed}])
    assert cli("pull").exit_code == 0
    (alert,) = received(server)
    assert "“the croissants were stale again this morning”" in alert["message"]
    assert cli("notify", "--digest").exit_code == 0
    assert "“the croissants were stale again this morning”" in received(server)[-1]["message"]


def test_failed_target_is_reported_recorded_and_retried_next_run_without_repeating_the_other(
        server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OK_URL", hook(server, "ok"))
    monkeypatch.setenv("BAD_URL", hook(server, "bad", status=500))
    feed = server.add("/feed", rss([{"title": "First", "guid": "a"}, {"title": "Second", "guid": "b"}]))
    configure(write_config, [{"name": "ok", "url_env": "OK_URL", "on": ["new"]},
                             {"name": "bad", "url_env": "BAD_URL", "on": ["new"]}], [{"name": "f", "url": feed}])

    result = cli("pull")
    assert result.exit_code == 1  # stored, but an alert failed: partial
    assert "notify: target 'bad': sending new alerts failed" in result.stderr
    assert "error=500" in result.stderr and "will retry" in result.stderr
    assert len(received(server, "ok")) == 1 and len(received(server, "bad")) == 1
    assert sorted(set(alert_rows(tmp_path))) == sorted(
        [("ok", "new", "1", "sent"), ("ok", "new", "2", "sent"), ("bad", "new", "1", "failed"),
         ("bad", "new", "2", "failed")])

    # Still failing: `notify` retries it, reports it, exit 1.
    result = cli("notify")
    assert result.exit_code == 1 and "bad" in result.stderr
    assert len(received(server, "bad")) == 2

    hook(server, "bad", status=200)  # the target recovers
    result = cli("notify")
    assert result.exit_code == 0, result.stderr
    bad = received(server, "bad")
    assert len(bad) == 3 and "First" in bad[-1]["message"] and "Second" in bad[-1]["message"]
    assert len(received(server, "ok")) == 1  # the working target never got a repeat
    assert {r[3] for r in alert_rows(tmp_path)} == {"sent"}
    assert cli("notify").exit_code == 0 and len(received(server, "bad")) == 3


def test_breach_alert_goes_out_once_the_sla_has_passed_and_only_once(server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["breach"]}])
    seed(tmp_path, [("Broken checkout", "customer_service", "alice", START),
                    ("Want a quote", "sales_prospecting", "bob", START),
                    ("Just chatter", "listening", None, "2024-04-01T00:00:00Z")])

    assert cli("notify", "--now", "2024-05-01T12:00:00Z").exit_code == 0  # age == SLA: not yet past it
    assert received(server) == []
    result = cli("notify", "--now", "2024-05-01T12:00:01Z", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"] == [
        {"target": "ops", "kind": "breach", "status": "sent", "items": 1, "error": None, "note": None}]
    (msg,) = received(server)
    assert msg["title"] == "socialscale: 1 item past the SLA"
    assert "customer_service (1)" in msg["message"] and "Broken checkout" in msg["message"]
    assert "waiting 2h (SLA 2h)" in msg["message"] and "owner: alice" in msg["message"]
    assert "Want a quote" not in msg["message"]

    # Reruns, later runs: the same breach is never sent again; the sales item breaches a day in.
    assert cli("notify", "--now", "2024-05-01T13:00:00Z").exit_code == 0
    assert len(received(server)) == 1
    assert cli("notify", "--now", "2024-05-02T10:00:01Z").exit_code == 0
    assert len(received(server)) == 2
    assert "Want a quote" in received(server)[1]["message"] and "Broken" not in received(server)[1]["message"]


def test_targets_get_only_their_lanes_and_owners(server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("SALES_URL", hook(server, "sales"))
    monkeypatch.setenv("ALICE_URL", hook(server, "alice"))
    configure(write_config, [{"name": "sales", "url_env": "SALES_URL", "on": ["breach"], "lanes": ["sales_prospecting"]},
                             {"name": "alice", "url_env": "ALICE_URL", "on": ["breach"], "owners": ["alice"]}])
    seed(tmp_path, [("CS one", "customer_service", "alice", START), ("CS two", "customer_service", "bob", START),
                    ("Sales one", "sales_prospecting", "alice", START)])
    assert cli("notify", "--now", "2024-05-03T00:00:00Z").exit_code == 0
    (sales,) = received(server, "sales")
    (alice,) = received(server, "alice")
    assert "Sales one" in sales["message"] and "CS " not in sales["message"]
    assert "CS one" in alice["message"] and "Sales one" in alice["message"] and "CS two" not in alice["message"]


def test_quiet_hours_hold_breaches_until_they_end(server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["breach"], "quiet_hours": "22:00-07:00"}],
              timezone="Europe/London")
    seed(tmp_path, [("Broken checkout", "customer_service", "alice", START)])
    # 23:30 and 06:59 London time (BST, UTC+1): quiet; nothing sent, nothing recorded as sent.
    for now in ("2024-05-01T22:30:00Z", "2024-05-02T05:59:00Z"):
        result = cli("notify", "--now", now, "--json")
        assert result.exit_code == 0
        assert json.loads(result.stdout)["results"][0]["status"] == "held"
        assert json.loads(result.stdout)["results"][0]["note"] == "quiet hours until 07:00"
    assert received(server) == []
    assert cli("notify", "--now", "2024-05-02T06:00:00Z").exit_code == 0  # 07:00 London: quiet hours over
    assert len(received(server)) == 1


def test_quiet_hours_hold_new_item_alerts_from_pull_and_a_later_run_sends_them(
        server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    minute = datetime.now(timezone.utc).hour * 60 + datetime.now(timezone.utc).minute
    quiet = f"{(minute - 90) % 1440 // 60:02d}:{(minute - 90) % 60:02d}-{(minute + 90) % 1440 // 60:02d}:" \
            f"{(minute + 90) % 60:02d}"  # the next 90 minutes of real time, as a pull has no --now
    feed = server.add("/feed", rss([{"title": "Refund now", "guid": "a"}]))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["new"], "quiet_hours": quiet}],
              [{"name": "f", "url": feed}])
    assert cli("pull").exit_code == 0
    assert received(server) == []
    assert alert_rows(tmp_path) == [("ops", "new", "1", "queued")]
    later = (datetime.now(timezone.utc) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cli("notify", "--now", later).exit_code == 0
    (msg,) = received(server)
    assert "Refund now" in msg["message"]
    assert alert_rows(tmp_path) == [("ops", "new", "1", "sent")]


def test_digest_once_a_day(server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["digest"]}])
    seed(tmp_path, [("Broken checkout", "customer_service", "alice", START)])
    assert cli("notify", "--now", "2024-05-01T15:00:00Z").exit_code == 0  # no --digest: nothing
    assert received(server) == []
    assert cli("notify", "--digest", "--now", "2024-05-01T15:00:00Z").exit_code == 0
    (msg,) = received(server)
    assert msg["title"] == "socialscale summary, Wed 01 May 2024"
    assert "Waiting: 1 open, 1 past the SLA, 0 unassigned, oldest 5h" in msg["message"]
    assert "Broken checkout" in msg["message"]
    assert cli("notify", "--digest", "--now", "2024-05-01T18:00:00Z").exit_code == 0
    assert len(received(server)) == 1  # already sent today
    assert cli("notify", "--digest", "--now", "2024-05-02T08:00:00Z").exit_code == 0
    assert len(received(server)) == 2


def test_only_a_sent_digest_moves_the_summary_mark(server, cli, write_config, monkeypatch, tmp_path):
    monkeypatch.setenv("OPS_URL", hook(server))
    configure(write_config, [{"name": "ops", "url_env": "OPS_URL", "on": ["digest"]}])
    seed(tmp_path, [("Broken checkout", "customer_service", "alice", START)])

    def summary(now: str) -> dict[str, Any]:
        return json.loads(cli("report", "summary", "--now", now, "--json").stdout)

    for _ in range(2):  # looking twice changes nothing
        looked = summary("2024-05-01T15:00:00Z")
        assert (looked["last_digest_at"], looked["new"]["total"]) == (None, 1)
    assert cli("notify", "--digest", "--now", "2024-05-01T15:00:00Z").exit_code == 0
    assert "New since" in received(server)[0]["message"] and ": 1" in received(server)[0]["message"]
    after = summary("2024-05-01T16:00:00Z")
    assert (after["last_digest_at"], after["since"], after["new"]["total"]) == (
        "2024-05-01T15:00:00Z", "2024-05-01T15:00:00Z", 0)
    text = cli("report", "summary", "--now", "2024-05-01T16:00:00Z").stdout
    assert "new since the last digest sent" in text


def test_test_message_says_which_targets_work(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("OK_URL", hook(server, "ok"))
    monkeypatch.setenv("BAD_URL", hook(server, "bad", status=500))
    configure(write_config, [{"name": "ok", "url_env": "OK_URL"}, {"name": "bad", "url_env": "BAD_URL"},
                             {"name": "unset", "url_env": "NOT_SET_URL"}])
    result = cli("notify", "--test", "--json")
    assert result.exit_code == 1
    status = {r["target"]: r["status"] for r in json.loads(result.stdout)["results"]}
    assert status == {"ok": "sent", "bad": "failed", "unset": "failed"}
    assert "environment variable NOT_SET_URL is not set" in result.stderr
    assert received(server, "ok")[0]["title"] == "socialscale: test message"


def test_secrets_are_never_printed_logged_or_stored(server, cli, write_config, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    good, bad = hook(server, "ok"), hook(server, "bad", status=500)
    monkeypatch.setenv("OK_URL", good)
    monkeypatch.setenv("BAD_URL", bad)
    # A target that cannot connect: Apprise's error names the host, which must be masked too.
    monkeypatch.setenv("DOWN_URL", f"json://alice:{PASSWORD}@127.0.0.1:9/{TOKEN}")
    monkeypatch.setenv("JUNK_URL", f"nosuchscheme://{PASSWORD}@{TOKEN}")
    feed = server.add("/feed", rss([{"title": "Refund", "guid": "a"}]))
    configure(write_config, [{"name": n, "url_env": f"{n.upper()}_URL"} for n in ("ok", "bad", "down", "junk")],
              [{"name": "f", "url": feed}])
    seed(tmp_path, [("Broken", "customer_service", "alice", START)])
    outputs = []
    for args in (("--verbose", "pull"), ("--verbose", "notify", "--digest"), ("notify", "--test", "--json"),
                 ("notify", "--format", "csv")):
        result = cli(*args)
        assert result.exit_code == 1
        outputs += [result.stdout, result.stderr]
    assert "127.0.0.1:9" not in "".join(outputs) and "sending JSON notification to ***" in "".join(outputs)
    assert any("error=500" in o for o in outputs)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("test.db*"))
    for secret in (PASSWORD, TOKEN):
        for text in (*outputs, caplog.text):
            assert secret not in text
        assert secret.encode() not in stored
    assert received(server, "ok")  # the working target did get its messages


def test_claims_make_overlapping_runs_send_once_and_a_dead_run_is_taken_over(write_config, tmp_path):
    configure(write_config, [])
    db = socialscale.open(tmp_path / "socialscale.yaml").db
    now = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert ledger.claim(db, "t", "breach", now, ["1", "2"]) == ["1", "2"]
    # A second run while the first is still sending: nothing to claim.
    assert ledger.claim(db, "t", "breach", now + timedelta(minutes=1), ["1", "2", "3"]) == ["3"]
    ledger.finish(db, "t", "breach", ["1"], now, None)
    # The first run died before recording "2": after the lease, "2" is claimed again; "1" never is.
    later = now + timedelta(seconds=ledger.CLAIM_LEASE_S + 1)
    assert ledger.claim(db, "t", "breach", later, ["1", "2"]) == ["2"]
    ledger.finish(db, "t", "breach", ["2"], later, "HTTP 500")
    assert ledger.claim(db, "t", "breach", later, None) == ["2"]  # failed: retried by the next run
    db.conn.close()


def test_pull_alerts_group_by_lane_and_skip_monitoring_lanes(server, cli, write_config, monkeypatch):
    monkeypatch.setenv("OPS_URL", hook(server))
    monkeypatch.setenv("SALES_URL", hook(server, "sales"))
    feed = server.add("/feed", rss([{"title": "My refund is late", "guid": "a"},
                                    {"title": "Looking for a quote", "guid": "b"},
                                    {"title": "Nice weather", "guid": "c"}]))
    write_config({"timezone": "UTC", "default_lane": "listening", "team": {"alice": {}, "bob": {}}, "lanes": LANES,
                  "sources": [{"name": "f", "url": feed}],
                  "rules": [{"name": "refunds", "lane": "customer_service", "any": ["refund"]},
                            {"name": "quotes", "lane": "sales_prospecting", "any": ["quote"]}],
                  "notify": [{"name": "ops", "url_env": "OPS_URL", "on": ["new"]},
                             {"name": "sales", "url_env": "SALES_URL", "on": ["new"], "lanes": ["sales_prospecting"]}]})
    assert cli("pull").exit_code == 0
    (ops,) = received(server)
    assert ops["title"] == "socialscale: 2 new items"
    assert ops["message"].index("customer_service (1)") < ops["message"].index("sales_prospecting (1)")
    assert "Nice weather" not in ops["message"]  # listening expects no reply: not alerted by default
    (sales,) = received(server, "sales")
    assert "Looking for a quote" in sales["message"] and "refund" not in sales["message"]


def test_notify_without_targets_is_a_usage_error(cli, write_config):
    configure(write_config, [])
    result = cli("notify")
    assert result.exit_code == 2
    assert "no notify targets configured" in result.stderr and "Traceback" not in result.stderr
