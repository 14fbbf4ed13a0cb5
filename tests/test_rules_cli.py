"""`tag`, `why`, `rules test`, `rules list` and rule config errors, through the CLI on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import rss

from socialscale.models import Item
from socialscale.store.db import open_db, transaction
from socialscale.store.items import upsert_items
from socialscale.timeutil import now_utc, utc_iso

TEAM = {"alice": {}, "bob": {}, "carol": {}}
LANES = {
    "listening": {"respond": False},
    "customer_service": {"sla": "2h", "owner": "alice"},
    "sales_prospecting": {"sla": "1d", "owner": "bob"},
}
SOURCES = [{"name": "blog", "url": "https://example.com/feed"}, {"name": "hn", "url": "https://example.com/hn"}]
RULES = [
    {"name": "jobs", "lane": "listening", "any": ["we're hiring"]},
    {"name": "complaints", "lane": "customer_service", "any": ["refund*", "broken", "doesn't work"],
     "none": ["just kidding"], "tags": ["complaint"]},
    {"name": "buying", "lane": "sales_prospecting", "any": ["looking for", "alternative to"], "all": ["acme"],
     "owner": "carol", "tags": ["lead"]},
    {"name": "never", "lane": "sales_prospecting", "any": ["zyzzyva"]},
]
TEXTS = {
    "g1": ("Refund please", "the app doesn’t   work"),  # complaints
    "g2": ("Question", "Looking for an alternative to ACME"),  # buying
    "g3": ("Hello", "nice weather"),  # nothing: listening
    "g4": ("Refund?", "just kidding, all good"),  # complaints blocked by none
    "g5": ("We’re hiring", "refund specialist wanted"),  # jobs first, complaints too
}


def config(write_config, rules: list[dict[str, Any]] | None = None) -> Path:
    return write_config({"team": TEAM, "lanes": LANES, "sources": SOURCES, "rules": rules or RULES})


def store_items(tmp_path: Path, texts: dict[str, tuple[str, str]], source: str = "blog",
                when: str | None = None) -> dict[str, int]:
    db = open_db(tmp_path / "test.db")
    with transaction(db):
        upsert_items(db, source, [Item(source=source, guid=g, title=t, text=x) for g, (t, x) in texts.items()],
                     when or utc_iso(now_utc()))
    ids = dict(db.execute("SELECT guid, id FROM items").fetchall())
    db.conn.close()
    return ids


def rows(tmp_path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "test.db") as conn:
        return conn.execute(sql, args).fetchall()


def state(tmp_path: Path) -> dict[str, tuple[Any, ...]]:
    return {r[0]: tuple(r[1:]) for r in rows(
        tmp_path, "SELECT guid, lane, lanes, tags, rules, owner, owner_set_by, status, rules_version FROM items")}


def test_tag_tags_untagged_items_and_logs_an_event_with_the_rule_names(cli, write_config, tmp_path):
    config(write_config)
    store_items(tmp_path, TEXTS)
    result = cli("tag", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["checked"], data["changed"], data["moved"], data["dry_run"]) == (5, 5, 5, False)
    assert {(m["from"], m["to"], m["count"]) for m in data["moves"]} == {
        (None, "customer_service", 1), (None, "sales_prospecting", 1), (None, "listening", 3)}
    got = state(tmp_path)
    assert got["g1"][:6] == ("customer_service", '["customer_service"]', '["complaint"]', '["complaints"]', "alice",
                             "lane")
    assert got["g2"][:6] == ("sales_prospecting", '["sales_prospecting"]', '["lead"]', '["buying"]', "carol", "rule")
    assert got["g3"][:6] == ("listening", '["listening"]', "[]", "[]", None, None)
    assert got["g4"][0] == "listening"  # "just kidding" blocks the complaint
    assert got["g5"][:4] == ("listening", '["listening", "customer_service"]', '["complaint"]',
                             '["jobs", "complaints"]')
    assert len({v[7] for v in got.values()}) == 1 and None not in {v[7] for v in got.values()}
    events = rows(tmp_path, "SELECT i.guid, e.detail FROM events e JOIN items i ON i.id = e.item_id "
                            "WHERE e.kind = 'tagged'")
    assert len(events) == 5
    detail = json.loads(dict(events)["g5"])
    assert detail["rules"] == ["jobs", "complaints"] and detail["lane"] == "listening"
    # Nothing changed since: a second run has nothing to do, and --all re-checks without writing events.
    assert "Nothing to re-tag" in cli("tag").stdout
    again = json.loads(cli("tag", "--all", "--json").stdout)
    assert (again["checked"], again["changed"]) == (5, 0)
    assert len(rows(tmp_path, "SELECT id FROM events WHERE kind = 'tagged'")) == 5


def test_dry_run_writes_nothing_and_predicts_the_real_run(cli, write_config, tmp_path):
    config(write_config)
    store_items(tmp_path, TEXTS)
    assert cli("tag").exit_code == 0
    # Complaints now outrank job posts, and buying signals no longer need "acme".
    new_rules = [RULES[1], RULES[0], {**RULES[2], "all": []}, RULES[3]]
    config(write_config, new_rules)
    db_file = tmp_path / "test.db"
    before = (state(tmp_path), rows(tmp_path, "SELECT * FROM events"))
    mtime = db_file.stat().st_mtime_ns
    dry = cli("tag", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    predicted = json.loads(dry.stdout)
    assert (state(tmp_path), rows(tmp_path, "SELECT * FROM events")) == before
    assert db_file.stat().st_mtime_ns == mtime
    ids = dict(rows(tmp_path, "SELECT guid, id FROM items"))
    assert predicted["dry_run"] is True
    assert predicted["moves"] == [{"from": "listening", "to": "customer_service", "count": 1,
                                   "examples": [ids["g5"]]}]
    # The table says the same for people.
    table = cli("tag", "--dry-run").stdout
    assert "listening" in table and "customer_service" in table and "nothing was written" in table
    real = json.loads(cli("tag", "--json").stdout)
    assert {k: v for k, v in real.items() if k != "dry_run"} == {k: v for k, v in predicted.items() if k != "dry_run"}
    assert state(tmp_path)["g5"][0] == "customer_service"


def test_retag_keeps_a_persons_owner_and_status_but_moves_lane_and_tags(cli, write_config, tmp_path):
    config(write_config)
    ids = store_items(tmp_path, TEXTS)
    assert cli("tag").exit_code == 0
    assert cli("assign", str(ids["g1"]), "--to", "bob", "--by", "bob").exit_code == 0
    assert cli("respond", str(ids["g2"]), "--by", "alice").exit_code == 0
    # Both items now belong elsewhere by the rules.
    new_rules = [{**RULES[2], "lane": "customer_service", "all": [], "tags": ["moved"]},
                 {**RULES[1], "lane": "sales_prospecting", "owner": "carol"}]
    config(write_config, new_rules)
    result = cli("tag", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["kept_owner"] == 2
    got = state(tmp_path)
    # g1: moved lane, but bob (a person's choice) stays its owner.
    assert got["g1"][0] == "sales_prospecting" and got["g1"][4:6] == ("bob", "bob")
    # g2: answered, so owner and status stay as they were; lane and tags follow the rules.
    assert got["g2"][:3] == ("customer_service", '["customer_service"]', '["moved"]')
    assert got["g2"][4:7] == ("carol", "rule", "responded")
    # g3 has no person's decision: the rules decide its owner.
    assert got["g3"][0] == "listening"
    detail = json.loads(rows(tmp_path, "SELECT detail FROM events WHERE item_id = ? AND kind = 'tagged' "
                                       "ORDER BY id DESC LIMIT 1", ids["g1"])[0][0])
    assert detail["previous_lane"] == "customer_service" and detail["lane"] == "sales_prospecting"
    assert detail["owner_kept"] == "assigned by bob" and detail["owner"] == "bob"


def test_why_shows_matches_in_context_the_winner_the_owner_and_near_misses(cli, write_config, tmp_path):
    config(write_config)
    ids = store_items(tmp_path, TEXTS)
    cli("tag")
    out = cli("why", str(ids["g5"])).stdout
    assert "#1 jobs → listening  (winner)" in out
    assert "the first matching rule in config order (rule 1 of 4); also matched: complaints" in out
    assert "any \"we're hiring\" in title: “We’re hiring”" in out
    assert "any 'refund*' in text: “refund specialist wanted”" in out
    assert "owner: nobody" in out
    blocked = cli("why", str(ids["g4"])).stdout
    assert "no rule matched, so the default lane (listening)" in blocked
    assert "near misses\n  #2 complaints → customer_service: blocked by a `none` term" in blocked
    assert "blocked by none 'just kidding' in text: “just kidding, all good”" in blocked
    assert "3 other rule(s) did not come close (--all lists them)" in blocked
    assert "no term found" in cli("why", str(ids["g4"]), "--all").stdout
    data = json.loads(cli("why", str(ids["g2"]), "--json").stdout)
    assert data["winner"] == "buying" and data["result"]["owner"] == "carol"
    assert data["result"]["owner_from"] == "rule buying names carol"
    assert data["stored"]["current"] is True
    by_name = {r["name"]: r for r in data["rules"]}
    assert by_name["buying"]["matched"] and {f["term"] for f in by_name["buying"]["found"]} == {
        "looking for", "alternative to", "acme"}
    assert by_name["never"]["outcome"] == "nothing"
    missing = cli("why", "999")
    assert missing.exit_code == 2 and "no item with id 999" in missing.stderr


def test_why_tells_when_stored_tags_are_from_older_rules(cli, write_config, tmp_path):
    config(write_config)
    ids = store_items(tmp_path, TEXTS)
    cli("tag")
    config(write_config, [{**RULES[1], "lane": "sales_prospecting"}])
    out = cli("why", str(ids["g1"])).stdout
    assert "stored now: lane customer_service, tagged by other rules" in out
    assert "lane sales_prospecting" in out


def test_rules_test_json_has_the_design_shape(cli, write_config):
    config(write_config)
    result = cli("rules", "test", "Looking for an alternative to Acme; the old one is broken", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "lane": "customer_service", "lanes": ["customer_service", "sales_prospecting"], "owner": "alice",
        "tags": ["complaint", "lead"],
        "rules": [{"name": "complaints", "lane": "customer_service", "terms": ["broken"]},
                  {"name": "buying", "lane": "sales_prospecting", "terms": ["looking for", "alternative to", "acme"]}],
        "sentiment": -0.4767,  # VADER: "broken" (-1.9) after "the old one is", nothing else rated
    }
    none = json.loads(cli("rules", "test", "hello", "--json").stdout)
    assert none == {"lane": "listening", "lanes": ["listening"], "owner": None, "tags": [], "rules": [],
                    "sentiment": 0.0}


def test_rules_test_sources_stdin_and_table(cli, write_config):
    config(write_config, [{**RULES[1], "sources": ["hn"]}])
    assert json.loads(cli("rules", "test", "refund", "--json").stdout)["rules"] == []
    assert json.loads(cli("rules", "test", "refund", "--source", "hn", "--json").stdout)["lane"] == "customer_service"
    bad = cli("rules", "test", "refund", "--source", "nope")
    assert bad.exit_code == 2 and "--source 'nope': unknown source (sources: blog, hn)" in bad.stderr
    piped = cli("rules", "test", "-", "--source", "hn", "--json", input="it is broken\n")
    assert json.loads(piped.stdout)["rules"][0]["terms"] == ["broken"]
    table = cli("rules", "test", "Refunds? [bold]no[/bold] \x1b[31mred", "--source", "hn").stdout
    assert "text: Refunds? [bold]no[/bold] [31mred" not in table  # the escape sequence is stripped...
    assert "text: Refunds? [bold]no[/bold] red" in table  # ...and markup is printed as typed
    assert "complaints" in table and "refund*" in table
    assert "lane customer_service (the first matching rule)" in table


def test_matched_terms_are_highlighted_on_the_cleaned_text():
    from socialscale.models import Rule
    from socialscale.output.rules import HIGHLIGHT
    from socialscale.output.rules import highlighted as _highlighted

    rule = Rule(name="c", lane="l", any=("doesn't work", "refund*"), regex=(r"\d+ seats",))
    hits = [{"name": "c", "terms": ["doesn't work", "refund*", r"/\d+ seats/"]}]
    text = _highlighted("\x1b[31mIt doesn’t  work; Refunds for 20 seats", hits, {"c": rule}, "text")
    assert text.plain == "It doesn’t work; Refunds for 20 seats"
    styled = sorted(text.plain[s.start:s.end] for s in text.spans if s.style == HIGHLIGHT)
    assert styled == ["20 seats", "Refunds", "doesn’t work"]


def test_rules_list_counts_recent_matches_and_flags_silent_rules(cli, write_config, tmp_path):
    config(write_config)
    store_items(tmp_path, {"old1": ("refund", ""), "old2": ("broken", "")},
                when=utc_iso(now_utc() - timedelta(days=10)))
    store_items(tmp_path, TEXTS)
    cli("tag")
    data = json.loads(cli("rules", "list", "--json").stdout)
    assert [(r["name"], r["matches"]) for r in data] == [("jobs", 1), ("complaints", 2), ("buying", 1), ("never", 0)]
    assert data[2]["owner"] == "carol" and data[1]["owner"] == "alice"
    month = json.loads(cli("rules", "list", "--since", "30d", "--json").stdout)
    assert month[1]["matches"] == 4
    table = cli("rules", "list").stdout
    never_line = next(line for line in table.splitlines() if " never " in line)
    assert "no matches" in never_line
    assert "any: refund*, broken, doesn't work; none: just kidding; tags: complaint" in table


@pytest.mark.parametrize("rule, message", [
    ({"name": "r", "lane": "customer_service", "regex": ["(unclosed"]},
     "rules[0] (r).regex[0]: invalid regular expression '(unclosed'"),
    ({"name": "r", "lane": "support", "any": ["x"]}, "rules[0] (r).lane: unknown lane 'support'"),
    ({"name": "r", "lane": "listening", "any": ["x"], "sources": ["hnn"]},
     "rules[0] (r).sources[0]: unknown source 'hnn' (did you mean 'hn'?)"),
    ({"name": "r", "lane": "listening", "any": ["x"], "owner": "alicia"},
     "rules[0] (r).owner: unknown team member 'alicia' (did you mean 'alice'?)"),
    ({"name": "r", "lane": "listening"}, "rules[0] (r): an empty rule: give at least one of any, all, regex or sentiment"),
    ({"name": "r", "lane": "listening", "none": ["spam"]}, "rules[0] (r): an empty rule"),
    ({"name": "r", "lane": "listening", "any": ["!!!"]}, "rules[0] (r).any[0]: '!!!' has no letters or digits"),
    ({"name": "r", "lane": "listening", "all": ["re*fund"]},
     "rules[0] (r).all[0]: 're*fund': '*' is only allowed at the end"),
    ({"name": "r", "lane": "listening", "any": ["x"], "fields": ["body"]}, "rules[0] (r).fields[0]: unknown field"),
    ({"lane": "listening", "any": ["x"]}, "rules[0].name: is required"),
])
def test_every_rule_config_error_names_the_rule(cli, write_config, rule, message):
    write_config({"team": TEAM, "lanes": LANES, "sources": SOURCES, "rules": [rule]})
    for command in (("rules", "list"), ("tag",), ("rules", "test", "x")):
        result = cli(*command)
        assert result.exit_code == 2
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_lane_owner_must_be_a_team_member(cli, write_config):
    write_config({"team": TEAM, "lanes": {"listening": {"owner": "zed"}}, "rules": []})
    result = cli("tag")
    assert result.exit_code == 2 and "lanes.listening.owner: unknown team member 'zed'" in result.stderr


def test_pull_tags_new_items_into_their_lanes(server, cli, write_config, tmp_path):
    """End to end: a feed on 127.0.0.1, pulled, tagged by the rules in the same transaction."""
    feed = rss([{"title": "Refund please", "guid": "a1", "description": "the app doesn&#8217;t work"},
                {"title": "Alternatives?", "guid": "a2", "description": "Looking for an alternative to Acme"},
                {"title": "We're hiring", "guid": "a3", "description": "refund specialist"},
                {"title": "Nice", "guid": "a4", "description": "lovely weather"}])
    write_config({"team": TEAM, "lanes": LANES, "rules": RULES,
                  "sources": [{"name": "blog", "url": server.add("/feed", feed)}]})
    result = cli("pull", "--json")
    assert result.exit_code == 0, result.stderr
    items = {i["guid"]: i for i in json.loads(cli("items", "--json").stdout)}
    assert {g: (i["lane"], i["owner"], i["tags"]) for g, i in items.items()} == {
        "a1": ("customer_service", "alice", ["complaint"]),
        "a2": ("sales_prospecting", "carol", ["lead"]),
        "a3": ("listening", None, ["complaint"]),
        "a4": ("listening", None, []),
    }
    tagged = rows(tmp_path, "SELECT COUNT(*) FROM events WHERE kind = 'tagged'")[0][0]
    assert tagged == 4
    assert "Nothing to re-tag" in cli("tag").stdout  # pull stamped the current rules version
    # A changed item is re-tagged on the next pull; an unchanged one is left alone.
    feed2 = feed.replace("lovely weather", "lovely weather, but it is broken")
    server.add("/feed", feed2)
    cli("pull")
    items = {i["guid"]: i for i in json.loads(cli("items", "--json").stdout)}
    assert items["a4"]["lane"] == "customer_service"
    assert rows(tmp_path, "SELECT COUNT(*) FROM events WHERE kind = 'tagged'")[0][0] == 5


STARTER = Path(__file__).resolve().parent.parent / "docs" / "starter-rules.yaml"


@pytest.mark.parametrize("source, text, lane, rules", [
    ("hn", "We're hiring a support engineer, refunds experience a plus", "listening", ["job-posts", "complaints"]),
    ("hn", "Acme doesn’t work since the update, I want a refund", "customer_service", ["complaints"]),
    ("hn", "BigBean crashed again, cancelling my plan", "sales_prospecting",
     ["competitor-trouble", "complaints", "competitor-mentions"]),
    ("hn", "Acme crashed, so did BigBean", "customer_service", ["complaints", "competitor-mentions"]),
    ("hn", "Looking for an alternative to Bean Box", "sales_prospecting", ["buying-signals", "competitor-mentions"]),
    ("hn", "is acme down for anyone else?", "customer_service", ["outage"]),
    ("hn", "We need 40 seats, what does it cost?", "sales_prospecting", ["pricing-questions"]),
    ("hn", "Love the new acme dashboard, thanks team!", "social_marketing", ["praise"]),
    ("hn", "Please send our invoice for the renewal", "client_relations", ["client-admin"]),
    ("blog-comments", "Great post!", "publishing", ["blog-comments"]),
    ("hn", "I'm a journalist writing about coffee subscriptions", "publishing", ["press"]),
    ("hn", "nice weather", "listening", []),
])
def test_starter_rules_validate_and_route_the_documented_examples(cli, tmp_path, source, text, lane, rules):
    import yaml

    data = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    data["sources"] = [{"name": "blog-comments", "url": "https://example.com/c"},
                       {"name": "hn", "url": "https://example.com/h"}]
    (tmp_path / "socialscale.yaml").write_text(yaml.safe_dump({"database": "test.db", **data}), encoding="utf-8")
    result = cli("rules", "test", text, "--source", source, "--json")
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert (got["lane"], [r["name"] for r in got["rules"]]) == (lane, rules)
