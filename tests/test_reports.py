"""Reports over the fixed dataset of tests/reportdata.py; every expected figure is worked out by hand there."""

from __future__ import annotations

import csv
import io
import json

import pytest
from reportdata import CONFIG, F_TITLE, NOW, add_item, build, report

ZERO_BUCKETS = {"<1h": 0, "1-4h": 0, "4-24h": 0, "1-3d": 0, "3-7d": 0, ">7d": 0}


@pytest.fixture
def ids(cli, write_config, tmp_path, monkeypatch, database):
    """The dataset, on each backend (`database`: an SQLite file, then a PostgreSQL database)."""
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    write_config({**CONFIG, "database": database})
    return build(cli, tmp_path, database)


def buckets(**counts: int) -> dict[str, int]:
    names = {"lt1h": "<1h", "h1_4": "1-4h", "h4_24": "4-24h", "d1_3": "1-3d", "d3_7": "3-7d", "gt7d": ">7d"}
    return {**ZERO_BUCKETS, **{names[k]: v for k, v in counts.items()}}


def test_backlog_by_lane(cli, ids):
    data = report(cli, "backlog")
    assert data["now"] == NOW and data["by"] == "lane"
    groups = {g["group"]: g for g in data["groups"]}
    # listening expects no answer: not a group. Empty lanes are listed with zeros.
    assert [g["group"] for g in data["groups"]] == ["customer_service", "client_relations", "sales_prospecting",
                                                    "publishing"]
    cs = groups["customer_service"]  # A, B, C, K (I is a duplicate, J ours, L M N answered, P ignored)
    assert (cs["open"], cs["unassigned"], cs["breached"], cs["oldest_age_s"]) == (4, 3, 2, 16 * 3600)
    assert cs["buckets"] == buckets(lt1h=1, h1_4=2, h4_24=1)  # K is exactly 2h: 1-4h and not breached
    assert [o["id"] for o in cs["oldest"]] == [ids["C"], ids["B"], ids["K"]]
    assert cs["oldest"][1] == {"id": ids["B"], "source": "blog", "lane": "customer_service", "owner": "alice",
                                    "title": "item b", "text": "", "url": "https://example.com/b", "author": None,
                                    "start_at": "2024-03-06T09:00:00Z", "age_s": 3 * 3600, "sla_s": 7200,
                                    "breached": True, "sentiment": None, "reach": None, "followup": False,
                                    "priority": 120.0}  # breached 100 + time 40 x (1h past / 2h)
    assert cs["oldest"][2]["breached"] is False  # age 2h is not more than the 2h SLA
    sp = groups["sales_prospecting"]  # D, E, F, G (O closed)
    assert (sp["open"], sp["unassigned"], sp["breached"], sp["oldest_age_s"]) == (4, 3, 3, 15 * 86400)
    assert sp["buckets"] == buckets(h1_4=1, d1_3=1, d3_7=1, gt7d=1)  # G exactly 1h, D exactly 2d
    for empty in ("client_relations", "publishing"):
        assert groups[empty] == {"group": empty, "open": 0, "unassigned": 0, "buckets": ZERO_BUCKETS,
                                 "oldest_age_s": None, "breached": 0, "followups": 0, "oldest": []}
    assert data["total"] == {"open": 8, "unassigned": 6, "buckets": buckets(lt1h=1, h1_4=3, h4_24=1, d1_3=1, d3_7=1,
                                                                             gt7d=1),
                             "oldest_age_s": 15 * 86400, "breached": 5, "followups": 0}


def test_backlog_by_owner_and_source(cli, ids):
    owners = {g["group"]: g for g in report(cli, "backlog", "--by", "owner")["groups"]}
    assert list(owners) == ["alice", "bob", None]
    assert (owners["alice"]["open"], owners["alice"]["breached"], owners["alice"]["buckets"]) == (1, 1, buckets(h1_4=1))
    assert (owners["bob"]["open"], owners["bob"]["oldest_age_s"], owners["bob"]["buckets"]) == (1, 2 * 86400,
                                                                                             buckets(d1_3=1))
    nobody = owners[None]  # A, C, K, E, F, G
    assert (nobody["open"], nobody["unassigned"], nobody["breached"]) == (6, 6, 3)
    assert nobody["buckets"] == buckets(lt1h=1, h1_4=2, h4_24=1, d3_7=1, gt7d=1)
    assert [o["id"] for o in nobody["oldest"]] == [ids["F"], ids["E"], ids["C"]]
    sources = {g["group"]: g for g in report(cli, "backlog", "--by", "source")["groups"]}
    assert list(sources) == ["blog", "forum"]
    assert (sources["blog"]["open"], sources["blog"]["unassigned"], sources["blog"]["breached"]) == (5, 4, 3)
    assert sources["blog"]["buckets"] == buckets(lt1h=1, h1_4=2, d3_7=1, gt7d=1)
    assert (sources["forum"]["open"], sources["forum"]["breached"], sources["forum"]["oldest_age_s"]) == (3, 2, 172800)


def test_backlog_filters_and_fail_on_breach(cli, ids):
    data = report(cli, "backlog", "--owner", "alice")
    assert data["total"]["open"] == 1 and [g["group"] for g in data["groups"]][:2] == ["customer_service",
                                                                                      "client_relations"]
    assert report(cli, "backlog", "--lane", "sales_prospecting", "--by", "source")["total"]["open"] == 4
    assert report(cli, "backlog", "--source", "forum")["total"]["breached"] == 2
    assert report(cli, "backlog", "--lane", "listening")["groups"] == []  # a lane that expects no answer
    assert cli("report", "backlog", "--now", NOW, "--fail-on-breach").exit_code == 3
    quiet = cli("report", "backlog", "--now", NOW, "--fail-on-breach", "--lane", "publishing")
    assert quiet.exit_code == 0
    # Earlier, on 1 March at 14:00, only F was late (E was 2 hours old).
    early = cli("report", "backlog", "--now", "2024-03-01T14:00:00Z", "--fail-on-breach", "--json")
    assert early.exit_code == 3 and json.loads(early.stdout)["total"]["breached"] == 1
    typo = cli("report", "backlog", "--lane", "custmer_service")
    assert typo.exit_code == 2 and "did you mean 'customer_service'" in typo.stderr


def test_backlog_table_csv_ndjson(cli, ids):
    table = cli("report", "backlog", "--now", NOW).stdout
    assert "customer_service" in table and "15d" in table and "16h" in table and "oldest waiting" in table
    rows = list(csv.DictReader(io.StringIO(cli("report", "backlog", "--now", NOW, "--format", "csv").stdout)))
    assert rows[0] == {"group": "customer_service", "open": "4", "unassigned": "3", "<1h": "1", "1-4h": "2",
                       "4-24h": "1", "1-3d": "0", "3-7d": "0", ">7d": "0", "oldest_age_s": "57600", "breached": "2",
                       "followups": "0"}
    lines = cli("report", "backlog", "--now", NOW, "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["group"] for line in lines] == ["customer_service", "client_relations",
                                                             "sales_prospecting", "publishing"]


def latency_row(responded, median, p90, max_s, within, handoff, lag, negative=None):
    # The report dataset has no conversations: every answer is to a first contact, none to a follow-up.
    return {"responded": responded, "median_s": median, "p90_s": p90, "max_s": max_s, "within_sla": within,
            "handoff_share": handoff, "median_detection_lag_s": lag, "next_responded": 0, "next_median_s": None,
            "next_p90_s": None, "next_within_sla": None, "negative_share": negative}


EMPTY = latency_row(0, None, None, None, None, None, None)


def test_latency_by_lane(cli, ids):
    data = report(cli, "latency")
    assert (data["now"], data["by"], data["since"]) == (NOW, "lane", "2024-02-05T12:00:00Z")
    groups = {g.pop("group"): g for g in data["groups"]}
    assert list(groups) == ["listening", "customer_service", "client_relations", "sales_prospecting", "publishing"]
    # customer_service: L 1h, M 3h (dm), N 30m (email); P ignored, I duplicate, R before --since.
    # median 3600; p90 = (3600*2 + 10800*8) / 10 = 9360; lags 300, 1200, 0.
    assert groups["customer_service"] == latency_row(3, 3600, 9360, 10800, 0.6667, 0.6667, 300)
    assert groups["listening"] == latency_row(1, 7200, 7200, 7200, None, 0.0, 0)  # no SLA: within is null
    assert groups["client_relations"] == latency_row(1, 1800, 1800, 1800, 1.0, 0.0, 0)
    assert groups["sales_prospecting"] == latency_row(1, 108000, 108000, 108000, 0.0, 0.0, 0)
    assert groups["publishing"] == EMPTY
    # all six: 1800 1800 3600 7200 10800 108000 -> median 5400, p90 (10800*5 + 108000*5)/10 = 59400;
    # within 3 of the 5 with an SLA; 2 handoffs of 6.
    assert data["total"] == latency_row(6, 5400, 59400, 108000, 0.6, 0.3333, 0)
    longer = report(cli, "latency", "--since", "60d", "--lane", "customer_service")
    assert [g["group"] for g in longer["groups"]] == ["customer_service"]
    assert longer["total"]["responded"] == 4 and longer["total"]["median_s"] == 3600  # R (1h) counts now


def test_latency_by_owner_source_week(cli, ids):
    owners = {g.pop("group"): g for g in report(cli, "latency", "--by", "owner")["groups"]}
    assert owners == {"alice": latency_row(2, 7200, 10080, 10800, 0.5, 0.5, 750),
                      "bob": latency_row(2, 54900, 97380, 108000, 0.5, 0.5, 0),
                      None: latency_row(2, 4500, 6660, 7200, 1.0, 0.0, 0)}
    sources = {g.pop("group"): g for g in report(cli, "latency", "--by", "source")["groups"]}
    assert sources == {"blog": latency_row(4, 5400, 77760, 108000, 0.6667, 0.0, 0),
                       "forum": latency_row(2, 6300, 9900, 10800, 0.5, 1.0, 600)}
    weeks = report(cli, "latency", "--by", "week")
    assert [g["group"] for g in weeks["groups"]] == ["2024-W06", "2024-W07", "2024-W08", "2024-W09", "2024-W10"]
    by_week = {g.pop("group"): g for g in weeks["groups"]}
    assert by_week["2024-W06"] == by_week["2024-W07"] == by_week["2024-W08"] == EMPTY
    assert by_week["2024-W09"] == latency_row(2, 54900, 97380, 108000, 0.5, 0.0, 0)  # S (Mon) and O (Sun)
    assert by_week["2024-W10"] == latency_row(4, 5400, 9720, 10800, 0.6667, 0.5, 150)
    assert weeks["total"] == report(cli, "latency")["total"]


def test_latency_business_hours(cli, ids):
    # Mon-Fri 09:00-12:30 and 13:30-17:30. L 09:00-10:00 = 1h; M 10:00-13:00 = 2h30 (lunch);
    # N Mon 08:00-08:30 = 0; O Sat 12:00 - Sun 18:00 = 0; Q 12:00-14:00 = 1h; S 10:00-10:30.
    data = report(cli, "latency", "--business-hours")
    groups = {g.pop("group"): g for g in data["groups"]}
    assert groups["customer_service"] == latency_row(3, 3600, 7920, 9000, 0.6667, 0.6667, 300)
    assert groups["sales_prospecting"] == latency_row(1, 0, 0, 0, 1.0, 0.0, 0)  # the weekend does not count
    assert groups["listening"]["median_s"] == 3600
    assert data["total"] == latency_row(6, 2700, 6300, 9000, 0.8, 0.3333, 0)
    table = cli("report", "latency", "--now", NOW, "--business-hours").stdout
    assert "business hours" in table and "2h 12m" in table  # the p90 7920 s


def test_latency_table_and_csv(cli, ids):
    table = cli("report", "latency", "--now", NOW).stdout
    assert "2h 36m" in table and "30h" not in table and "1d 6h" in table  # p90 9360 s, max 108000 s
    rows = list(csv.DictReader(io.StringIO(cli("report", "latency", "--now", NOW, "--format", "csv").stdout)))
    assert rows[1] == {"group": "customer_service", "responded": "3", "median_s": "3600", "p90_s": "9360",
                       "max_s": "10800", "within_sla": "0.6667", "handoff_share": "0.6667",
                       "median_detection_lag_s": "300", "next_responded": "0", "next_median_s": "", "next_p90_s": "",
                       "next_within_sla": "", "negative_share": ""}  # no item has a sentiment


def test_latency_across_dst_and_holiday(cli, write_config, tmp_path, monkeypatch, database):
    monkeypatch.setenv("SOCIALSCALE_USER", "alice")
    write_config({**CONFIG, "business_hours": {**CONFIG["business_hours"], "holidays": ["2024-04-01"]},
                  "database": database})
    db = database
    # Fri 29 Mar 16:00 GMT -> Mon 1 Apr 10:00 BST (clocks went forward on Sunday; Monday is a holiday):
    # 1h30 on Friday, nothing on the holiday.
    spring = add_item(db, "blog", "spring", seen="2024-03-29T16:00:00Z", published=None, lane="customer_service")
    # Fri 25 Oct 16:00 BST -> Mon 28 Oct 10:00 GMT (clocks went back): 1h30 + 1h.
    autumn = add_item(db, "blog", "autumn", seen="2024-10-25T15:00:00Z", published=None, lane="customer_service")
    assert cli("respond", str(spring), "--at", "2024-04-01T10:00").exit_code == 0  # local time: 09:00Z
    assert cli("respond", str(autumn), "--at", "2024-10-28T10:00:00Z").exit_code == 0
    args = ("report", "latency", "--now", "2024-10-30T12:00:00Z", "--since", "2024-03-01", "--json")
    wall = json.loads(cli(*args).stdout)["total"]
    assert (wall["median_s"], wall["max_s"]) == ((65 * 3600 + 67 * 3600) // 2, 67 * 3600)
    business = json.loads(cli(*args, "--business-hours").stdout)["total"]
    assert (business["responded"], business["median_s"], business["p90_s"], business["max_s"]) == (2, 7200, 8640, 9000)


def test_breaches(cli, ids):
    rows = report(cli, "breaches")
    assert [r["id"] for r in rows] == [ids["F"], ids["E"], ids["D"], ids["C"], ids["B"]]
    assert rows[0] == {"id": ids["F"], "source": "blog", "lane": "sales_prospecting", "owner": None, "title": F_TITLE,
                       "text": "", "url": "https://example.com/f", "author": None, "start_at": "2024-02-20T12:00:00Z",
                       "age_s": 15 * 86400, "sla_s": 86400, "over_s": 14 * 86400, "sentiment": None, "reach": None,
                       "followup": False,
                       "priority": 140.0}  # breached 100 + time 40 x 1 (14 days past a 1-day SLA, at most 1)
    assert rows[-1]["over_s"] == 3600
    assert [r["id"] for r in report(cli, "breaches", "--owner", "alice")] == [ids["B"]]
    assert [r["id"] for r in report(cli, "breaches", "--lane", "customer_service")] == [ids["C"], ids["B"]]
    assert [r["id"] for r in report(cli, "breaches", "--limit", "2")] == [ids["F"], ids["E"]]
    assert report(cli, "breaches", "--lane", "publishing") == []
    table = cli("report", "breaches", "--now", NOW).stdout
    assert "5 past their SLA" in table and "14d" in table


def test_volume(cli, ids):
    data = report(cli, "volume", "--since", "7d")
    assert (data["by"], data["since"]) == ("day", "2024-02-28T00:00:00Z")  # moved back to the day's start
    per_day = {p["period"]: p["lanes"] for p in data["periods"]}
    assert list(per_day) == ["2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04",
                             "2024-03-05", "2024-03-06"]
    zero = {"listening": 0, "customer_service": 0, "client_relations": 0, "sales_prospecting": 0, "publishing": 0}
    assert per_day["2024-03-06"] == {**zero, "listening": 1, "customer_service": 3, "sales_prospecting": 1}
    assert per_day["2024-03-05"] == {**zero, "listening": 1, "customer_service": 4}  # P counts: it was said
    assert per_day["2024-03-04"] == {**zero, "customer_service": 1, "sales_prospecting": 1}
    assert per_day["2024-03-03"] == per_day["2024-02-28"] == zero
    weeks = report(cli, "volume", "--by", "week", "--since", "14d")
    assert weeks["since"] == "2024-02-19T00:00:00Z"
    assert [(p["period"], p["lanes"]) for p in weeks["periods"]] == [
        ("2024-W08", {**zero, "sales_prospecting": 1}),
        ("2024-W09", {**zero, "client_relations": 1, "sales_prospecting": 2}),
        ("2024-W10", {**zero, "listening": 2, "customer_service": 8, "sales_prospecting": 2})]
    only = report(cli, "volume", "--since", "1d", "--lane", "customer_service")
    assert only["periods"] == [{"period": "2024-03-05", "lanes": {"customer_service": 4}},
                               {"period": "2024-03-06", "lanes": {"customer_service": 3}}]
    rows = list(csv.reader(io.StringIO(cli("report", "volume", "--now", NOW, "--since", "1d", "-f", "csv").stdout)))
    assert rows == [["period", "listening", "customer_service", "client_relations", "sales_prospecting", "publishing"],
                    ["2024-03-05", "1", "4", "0", "0", "0"], ["2024-03-06", "1", "3", "0", "1", "0"]]
    chart = cli("report", "volume", "--now", NOW, "--since", "1d").stdout
    assert "2024-03-05" in chart and "█" in chart and "customer_service 7" in chart


def test_summary_figures_and_looking_changes_nothing(cli, ids, database):
    first = report(cli, "summary")
    assert (first["last_digest_at"], first["since"]) == (None, "2024-03-05T12:00:00Z")  # no digest yet: 24 hours
    # First seen after the 24 hours began: A B C K, G, H (not I, a duplicate; not J, ours; Q exactly at the start).
    assert first["new"] == {"total": 6, "lanes": {"listening": 1, "customer_service": 4, "client_relations": 0,
                                                  "sales_prospecting": 1, "publishing": 0},
                            "negative_share": {"total": None,  # no item has a sentiment
                                               "lanes": dict.fromkeys(first["new"]["lanes"])}}
    assert first["backlog"] == report(cli, "backlog")
    current, previous = first["latency"]["current"], first["latency"]["previous"]
    assert current["since"] == "2024-02-28T12:00:00Z" and current["total"]["responded"] == 5
    assert previous["until"] == "2024-02-28T12:00:00Z"
    # S, in client_relations; the monitoring-only listening lane had no answers that week, so it is not listed
    assert [(g["group"], g["responded"]) for g in previous["groups"]] == [
        ("customer_service", 0), ("client_relations", 1), ("sales_prospecting", 0), ("publishing", 0)]
    assert [o["id"] for o in first["oldest"]] == [ids["F"], ids["E"], ids["D"], ids["C"], ids["B"]]
    # Looking (in any format, as often as anyone likes) never moves the "new since" mark.
    add_item(database, "blog", "later", seen="2024-03-06T12:30:00Z", published=None,
             lane="customer_service")
    later = ("report", "summary", "--now", "2024-03-06T13:00:00Z")
    for fmt in ("table", "markdown", "csv", "json"):
        assert cli(*later, "--format", fmt).exit_code == 0
    again = json.loads(cli(*later, "--json").stdout)
    assert again["last_digest_at"] is None and again["new"]["total"] == 7  # the 24 hours before 13:00: the six and `later`
    from socialscale.store.db import open_db

    db = open_db(database)
    assert db.execute("SELECT COUNT(*) FROM state").fetchone()[0] == 0
    db.conn.close()


def test_summary_markdown_and_csv(cli, ids):
    text = cli("report", "summary", "--now", NOW, "--format", "markdown").stdout
    assert text.startswith("# socialscale summary, 2024-03-06 12:00 UTC")  # the configured timezone
    assert "**New in the 24 hours since 2024-03-05 12:00 UTC (no digest sent since):** 6" in text
    assert "| customer\\_service | 4 | 3 | 2 | 16h |" in text
    # Untrusted titles cannot make links, emphasis or HTML.
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\) \\*bold\\* \\<b\\>" in text and "<b>" not in text
    assert "past SLA" in text
    rows = list(csv.DictReader(io.StringIO(cli("report", "summary", "--now", NOW, "-f", "csv").stdout)))
    cs = next(r for r in rows if r["lane"] == "customer_service")
    assert (cs["new"], cs["open"], cs["breached"], cs["responded_7d"], cs["median_s_7d"]) == ("4", "4", "2", "3", "3600")
    assert "oldest waiting" in cli("report", "summary", "--now", NOW).stdout


def test_report_options_are_checked(cli, ids):
    assert cli("report", "latency", "--by", "day").exit_code == 2
    bad_now = cli("report", "backlog", "--now", "someday")
    assert bad_now.exit_code == 2 and "--now 'someday'" in bad_now.stderr
    bad_since = cli("report", "latency", "--since", "a while")
    assert bad_since.exit_code == 2 and "--since" in bad_since.stderr
    relative = cli("report", "backlog", "--now", "yesterday 12:00", "--json")  # 12:00 in London: 11:00Z or 12:00Z
    assert relative.exit_code == 0 and json.loads(relative.stdout)["now"][-9:] in ("11:00:00Z", "12:00:00Z")


def test_fail_on_breach_on_breaches_and_summary(cli, ids):
    late = cli("report", "breaches", "--now", NOW, "--fail-on-breach", "--json")
    assert late.exit_code == 3 and len(json.loads(late.stdout)) == 5  # the output is still printed
    assert cli("report", "breaches", "--now", NOW, "--fail-on-breach", "--lane", "publishing").exit_code == 0
    assert cli("report", "breaches", "--now", NOW).exit_code == 0  # only with the flag
    summary = cli("report", "summary", "--now", NOW, "--fail-on-breach", "--format", "markdown")
    assert summary.exit_code == 3 and "5 past SLA" in summary.stdout
    assert cli("report", "summary", "--now", "2024-02-01T00:00:00Z", "--fail-on-breach",
               "--json").exit_code == 0  # before anything was late


def test_latency_by_responder_is_who_answered_not_whose_item(cli, ids):
    responders = {g["group"]: g for g in report(cli, "latency", "--by", "responder")["groups"]}
    owners = {g["group"]: g for g in report(cli, "latency", "--by", "owner")["groups"]}
    # Answered in the 30 days: L M (alice's items), N O (bob's), Q S (nobody's); alice answered all but N and O.
    assert {k: g["responded"] for k, g in responders.items()} == {"alice": 4, "bob": 2}
    assert {k: g["responded"] for k, g in owners.items()} == {"alice": 2, "bob": 2, None: 2}
    assert responders["bob"]["median_s"] == (30 * 60 + 30 * 3600) // 2  # N in 30m, O in 30h
    table = cli("report", "latency", "--by", "responder", "--now", NOW).stdout
    assert "first response by responder" in table and "alice" in table
