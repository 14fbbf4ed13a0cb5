"""Hostile rules and config values: catastrophic regexes, what RE2 cannot express, escape
sequences in names and tags, megabyte values."""

from __future__ import annotations

import json

import pytest
from conftest import rss
from hostiletools import FAST_FETCH, FORBIDDEN_OUTPUT, pull

EVIL = "a" * 34 + "!"  # (a+)+$ against this takes Python's backtracking `re` longer than the universe


def rules_config(write_config, rules, sources=()):  # type: ignore[no-untyped-def]
    return write_config({"fetch": FAST_FETCH,
                         "sources": list(sources), "rules": rules})


def test_a_catastrophic_regex_cannot_hang_pull_why_or_rules_test(server, cli, write_config):
    server.add("/f.rss", rss([{"title": EVIL, "guid": "evil"}, {"title": "refund aaa", "guid": "ok"}]))
    rules_config(write_config, [{"name": "evil", "lane": "customer_service", "regex": ["(a+)+$"], "fields": ["title"]},
                                {"name": "refunds", "lane": "customer_service", "regex": [r"\brefund\b"]}],
                 [{"name": "f", "url": server.url("/f.rss")}])
    assert cli("check").exit_code == 0  # RE2 can run it: it is accepted, and it is linear
    result, by_name = pull(cli)
    assert result.exit_code == 0 and by_name["f"]["new"] == 2
    items = {i["guid"]: i for i in json.loads(cli("items", "--json").stdout)}
    assert items["ok"]["lane"] == "customer_service"
    why = cli("why", str(items["evil"]["id"]), "--all")
    assert why.exit_code == 0 and "evil" in why.stdout
    tested = cli("rules", "test", EVIL, "--title", EVIL)
    assert tested.exit_code == 0 and "No rule matches." in tested.stdout
    assert "lane customer_service" in cli("rules", "test", "x", "--title", "aaaa").stdout  # (a+)+$ matches


@pytest.mark.parametrize("pattern, reason", [
    (r"(a)\1", "backreferences"),
    (r"(?P<x>a)(?P=x)", "backreferences"),
    (r"refund(?=s)", "lookahead and lookbehind"),
    (r"(?<!no )refund", "lookahead and lookbehind"),
    (r"(?>a+)b", "atomic groups"),
    (r"a++b", "possessive quantifiers"),
    (r"end\Z", r"\Z is not supported"),
    (r"(unclosed", "missing )"),
    ("x{1000}{1000}", "bad repetition"),
])
def test_check_refuses_what_re2_cannot_run_naming_the_rule_and_the_reason(cli, write_config, pattern, reason):
    rules_config(write_config, [{"name": "fine", "lane": "customer_service", "any": ["refund"]},
                                {"name": "bad", "lane": "customer_service", "regex": ["ok", pattern]}])
    for command in (("check",), ("rules", "test", "refund"), ("pull",)):
        result = cli(*command)
        assert result.exit_code == 2, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert "rules[1] (bad).regex[1]: invalid regular expression" in lines[0] and reason in lines[0], lines[0]
    from socialscale.rules.regex import regex_problem

    assert regex_problem(pattern) is not None


def test_re2_keeps_what_rules_rely_on():
    from socialscale.rules.regex import compile_regex

    rx = compile_regex(r"\bv\d+\.\d+\b")
    assert rx.search("Release V2.10 is out") is not None  # case-insensitive, like the rest of the rules
    assert compile_regex(r"caf\pL").search("CAFÉ au lait") is not None  # Unicode letters and case folding
    assert [m.span() for m in compile_regex("ö+").finditer("zöö und öl")] == [(1, 3), (8, 9)]  # character offsets
    assert compile_regex(r"\++").search("c++") is not None  # a literal + repeated is no possessive quantifier


def test_escape_sequences_in_config_names_and_tags_are_refused_where_they_enter(cli, write_config):
    rules_config(write_config, [{"name": "r", "lane": "customer_service", "any": ["refund"],
                                 "tags": ["ok", "\x1b[31mred\x1b]0;pwned\x07"]},
                                {"name": "\u202eevil", "lane": "customer_service", "any": ["x\x9by"]}])
    for command in (("check",), ("why", "1"), ("rules", "test", "refund")):
        result = cli(*command)
        assert result.exit_code == 2
        assert "rules[0] (r).tags[1]: holds the control or bidi character U+001B" in result.stderr
        assert "U+202E" in result.stderr and "any[0]: holds the control or bidi character U+009B" in result.stderr
        assert not FORBIDDEN_OUTPUT.search(result.stdout + result.stderr.replace("\n", ""))


def test_a_megabyte_value_makes_a_short_error_line(cli, tmp_path):
    huge = "x" * 1_000_000  # the 10 MB behaves the same; 1 MB keeps the (pure-Python) YAML parse short
    (tmp_path / "socialscale.yaml").write_text(
        f'database: test.db\nfetch: {{timeout: "{huge}"}}\nsources: [{{name: s, url: "{huge}"}}]\n'
        f'rules: [{{name: r, lane: listening, regex: ["({huge}"]}}]\n', encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 3 and all(len(line) < 1000 for line in lines), [len(line) for line in lines]
    assert any("fetch.timeout" in line and "1,000,002 characters" in line for line in lines)
