"""Sentiment: the fast VADER equals the reference, its rules, the language guard, the labelled set,
and scores stored by tagging, kept by `tag --all` and scored again by `tag --all --rescore` (real SQLite
file, through the CLI; tests/test_sentiment_model.py: when a stored score is scored again)."""

from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path

import pytest
from test_rules_cli import config, store_items
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from socialscale.insight.sentiment import Vader, guess_language, label, source_language

LABELLED = Path(__file__).parent / "fixtures" / "sentiment" / "labelled.jsonl"
DOCS = Path(__file__).parent.parent / "docs" / "insight.md"


@pytest.fixture(scope="module")
def vader() -> Vader:
    return Vader()


@pytest.fixture(scope="module")
def reference() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def posts() -> list[dict[str, str | None]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]


def test_labelled_set_covers_the_six_lanes():
    english = [p for p in posts() if p["label"]]
    assert len(english) >= 200
    lanes = {p["lane"] for p in english}
    assert lanes == {"listening", "customer_service", "client_relations", "social_marketing",
                     "sales_prospecting", "publishing"}
    assert all(sum(p["lane"] == lane for p in english) >= 30 for lane in lanes)
    assert {p["label"] for p in english} == {"negative", "neutral", "positive"}


def generated(n: int, seed: int, reference: SentimentIntensityAnalyzer) -> list[str]:
    """Random posts that exercise every rule: lexicon words, boosters, negations, "but", idioms,
    ALL CAPS, punctuation, emoticons and emoji."""
    rng = random.Random(seed)
    vocabulary = sorted(reference.lexicon)[::5] + (
        "not never no but very kinda kind of sort the a least at so this without doubt nor or isn't "
        "GOOD BAD HATE LOVE VERY ! ? !! ??? :) :( :D 😍 😡 👍 🔛 the bomb yeah right bad ass kiss death "
        "to die for just enough beating heart support refund broken great awful").split()
    vocabulary += [f"word{i}" for i in range(80)]
    return [" ".join(rng.choice(vocabulary) + rng.choice(["", "", "", ",", ".", "!", "?"])
                     for _ in range(rng.randint(1, 40))) for _ in range(n)]


def test_fast_vader_gives_the_reference_compound_score(vader, reference):
    texts = [str(p["text"]) for p in posts()] + generated(4000, 16, reference)
    assert [vader.compound(t) for t in texts] == [reference.polarity_scores(t)["compound"] for t in texts]


@pytest.mark.parametrize(("plain", "changed", "what"), [
    ("The delivery was good.", "The delivery was not good.", "negation flips"),
    ("The new release is good.", "The new release is very good.", "an intensifier raises"),
    ("The new release is good.", "The new release is kinda good.", "a dampener lowers"),
    ("The new release is good.", "The new release is GOOD.", "ALL CAPS among lower case raises"),
    ("The new release is here", "The new release is here 😍", "a smiling emoji raises"),
    ("The new release is good.", "The new release is good!!!", "exclamation marks raise"),
])
def test_rules_that_must_count(vader, plain, changed, what):
    before, after = vader.item_score(None, plain), vader.item_score(None, changed)
    assert before is not None and after is not None
    if what == "negation flips":
        assert before > 0 > after
    elif what == "a dampener lowers":
        assert 0 < after < before
    else:
        assert after > before, what
    assert vader.item_score(None, "The delivery is late 😠") < 0  # "angry face"


def test_no_text_and_other_languages_get_no_score(vader):
    assert vader.item_score("", "") is None
    assert vader.item_score(None, "   ") is None
    assert vader.item_score(None, "Das Update ist wirklich schlecht und die App stürzt ab.") is None
    assert vader.item_score(None, "注文した商品がまだ届きません。") is None
    # the source's language decides when it gives one
    assert vader.item_score(None, "This is great", lang="de") is None
    assert vader.item_score(None, "Danke, great work", lang="en") == vader.compound("Danke, great work")
    assert source_language("en-US") == "en" and source_language("pt_BR") == "pt" and source_language("") is None
    assert guess_language("this is not what we ordered".split(), "this is not what we ordered") == "en"


def documented_figure() -> tuple[int, int]:
    found = re.search(r"agrees\s+with\s+the\s+label\s+on\s+\*\*(\d+)\s+of\s+(\d+)\*\*", DOCS.read_text(encoding="utf-8"))
    assert found, "docs/insight.md states the agreement figure"
    return int(found[1]), int(found[2])


def test_agreement_on_the_labelled_set_is_the_documented_figure(reference):
    """Computed here with the reference VADER and design.md's bounds, independently of our code."""
    english = [p for p in posts() if p["label"]]

    def bucket(score: float) -> str:
        return "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"

    agree = sum(bucket(reference.polarity_scores(p["text"])["compound"]) == p["label"] for p in english)
    assert (agree, len(english)) == documented_figure()


def test_the_language_guard_keeps_english_and_drops_the_rest(vader):
    rows = posts()
    assert all(vader.item_score(None, str(p["text"])) is not None for p in rows if p["label"])
    foreign = [p for p in rows if not p["label"]]
    dropped = sum(vader.item_score(None, str(p["text"])) is None for p in foreign)
    assert dropped == len(foreign)


def test_label_bounds():
    assert [label(x) for x in (-0.05, -0.0499, 0.0, 0.0499, 0.05, None)] == [
        "negative", "neutral", "neutral", "neutral", "positive", None]


def scores(tmp_path: Path) -> dict[str, float | None]:
    with sqlite3.connect(tmp_path / "test.db") as conn:
        return dict(conn.execute("SELECT guid, sentiment FROM items").fetchall())


def test_tagging_stores_the_score_tag_all_keeps_it_and_rescore_scores_again(cli, write_config, tmp_path, vader):
    """A score the current model made from the current text is kept by `tag --all` (corrupted on purpose
    here, it survives); `tag --all --rescore` scores every item again."""
    config(write_config)
    texts = {"a": ("Refund please", "the app is broken and support is awful"), "b": ("", "Love it, great work 😍"),
             "c": ("", ""), "d": ("", "Das ist nicht gut")}
    store_items(tmp_path, texts)
    assert cli("tag").exit_code == 0
    expected = {g: vader.item_score(t, x) for g, (t, x) in texts.items()}
    assert scores(tmp_path) == expected
    assert expected["a"] < 0 < expected["b"] and expected["c"] is None and expected["d"] is None
    with sqlite3.connect(tmp_path / "test.db") as conn:
        conn.execute("UPDATE items SET sentiment = 0.5")
    cli("tag")  # the rules did not change: nothing to do
    assert set(scores(tmp_path).values()) == {0.5}
    out = json.loads(cli("tag", "--all", "--json").stdout)
    assert (out["checked"], out["scored"], out["rescored"], out["changed"]) == (4, 0, 0, 0)
    assert set(scores(tmp_path).values()) == {0.5}  # read, not scored again
    out = json.loads(cli("tag", "--all", "--rescore", "--json").stdout)
    assert (out["checked"], out["scored"], out["rescored"], out["changed"]) == (4, 4, 4, 0)
    assert scores(tmp_path) == expected
    items = json.loads(cli("items", "--json").stdout)
    assert {i["id"]: i["sentiment"] for i in items} == {i["id"]: expected[g] for i, g in
                                                        zip(items, [i["guid"] for i in items], strict=True)}


def test_a_rule_may_ask_for_a_sentiment(cli, write_config, tmp_path):
    config(write_config, [{"name": "angry", "lane": "customer_service", "sentiment": "negative", "tags": ["angry"]},
                          {"name": "fans", "lane": "sales_prospecting", "any": ["acme"],
                           "sentiment": ["positive", "neutral"]}])
    ids = store_items(tmp_path, {"a": ("", "Acme broke my order, awful"), "b": ("", "Acme is great"),
                                 "c": ("", "acme"), "d": ("", "Nothing to see")})
    assert cli("tag").exit_code == 0
    with sqlite3.connect(tmp_path / "test.db") as conn:
        lanes = dict(conn.execute("SELECT id, lane FROM items").fetchall())
    assert lanes == {ids["a"]: "customer_service", ids["b"]: "sales_prospecting", ids["c"]: "sales_prospecting",
                     ids["d"]: "listening"}
    out = json.loads(cli("rules", "test", "Acme is awful", "--json").stdout)
    assert out["lane"] == "customer_service" and out["sentiment"] < 0
    bad = config(write_config, [{"name": "x", "lane": "listening", "sentiment": "grumpy"}])
    result = cli("--config", str(bad), "check")
    assert result.exit_code == 2 and "rules[0] (x).sentiment[0]: unknown sentiment 'grumpy'" in result.stderr


def test_tag_all_with_the_sentiment_worker_gives_the_same_scores(write_config, tmp_path, vader, monkeypatch):
    """The worker path (forced on, small batches) stores what the in-process path stores, and an item
    whose text changed between the read-ahead and its batch is scored from its new text."""
    from socialscale.config import load_config
    from socialscale.rules import tagging
    from socialscale.store.db import open_db

    config(write_config)
    texts = {f"g{n}": ("", f"post {n}: " + ["great work", "this is awful", "meh", "not bad at all"][n % 4])
             for n in range(230)}
    store_items(tmp_path, texts)
    cfg = load_config(tmp_path / "socialscale.yaml")
    db = open_db(cfg.database)
    real_read = tagging._Ahead.read

    def read_then_edit(db_, after, batch, stale_for, pool, rescore=False):
        ahead = real_read(db_, after, batch, stale_for, pool, rescore)
        if after == 0:  # a pull changes an item after the worker got its text
            db_.conn.execute("UPDATE items SET text = 'absolutely wonderful' WHERE guid = 'g1'")
        return ahead

    monkeypatch.setattr(tagging._Ahead, "read", staticmethod(read_then_edit))
    summary = tagging.Tagger(cfg).retag(db, now="2026-01-01T00:00:00Z", all_items=True, batch=50, worker=True)
    db.conn.close()
    assert summary.checked == 230
    want = {g: vader.item_score(t, x) for g, (t, x) in texts.items()}
    assert scores(tmp_path) == want | {"g1": vader.item_score("", "absolutely wonderful")}
