"""Hostile configuration: malformed YAML, object-building tags, alias bombs, wrong types and
unknown keys. Each: exit 2, every problem on its own line with the file and key path, no traceback,
and nothing executed or created."""

from __future__ import annotations

import pytest


def run(cli, tmp_path, text: str, *args: str):
    (tmp_path / "socialscale.yaml").write_text(text, encoding="utf-8")
    result = cli(*(args or ("check",)))
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: socialscale.yaml: ") or
                         line.startswith(f"error: {tmp_path / 'socialscale.yaml'}: ") for line in lines), lines
    return lines


@pytest.mark.parametrize("text, fragment", [
    ("sources: [unclosed\n", "invalid YAML"),
    ("sources:\n  - name: a\n\turl: http://x/\n", "invalid YAML"),
    ("database: a.db\ndatabase: b.db\nfetch: {timeout: 1s\n", "invalid YAML"),
    ("key: 'unterminated\n", "invalid YAML"),
    ("\x00\x01binary", "invalid YAML"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("- just\n- a\n- list\n", "expected a mapping"),
    ("just a string\n", "expected a mapping"),
])
def test_malformed_yaml(cli, tmp_path, text, fragment):
    lines = run(cli, tmp_path, text)
    assert len(lines) == 1 and fragment in lines[0], lines


def test_malformed_yaml_names_line_and_column(cli, tmp_path):
    lines = run(cli, tmp_path, "database: x.db\nsources:\n  - {name: a, url: http://x/\n", "pull")
    assert lines[0].endswith("socialscale.yaml: line 4, column 1: invalid YAML (expected ',' or '}', but got "
                             "'<stream end>')"), lines


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch PWNED']",
    "!!python/object/new:os.system ['touch PWNED']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:subprocess.Popen {args: ['touch', 'PWNED']}",
    "!custom {a: 1}",
])
def test_object_building_tags_are_refused(cli, tmp_path, tag):
    lines = run(cli, tmp_path, f"database: t.db\nfetch:\n  timeout: {tag}\n", "pull")
    assert "invalid YAML" in lines[0] and "constructor" in lines[0], lines
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "t.db").exists()  # refused before anything was created


def test_alias_bomb_is_refused_quickly(cli, tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "x:\n" + "\n".join("  " + line for line in lines) + "\nfetch:\n  concurrency: *a9\n"
    out = run(cli, tmp_path, text)
    assert len(out) == 1
    assert out[0].endswith("socialscale.yaml: YAML aliases expand to more than 1,000,000 values (an alias bomb?); refused")


def test_ordinary_aliases_still_work(cli, tmp_path):
    (tmp_path / "socialscale.yaml").write_text(
        "database: t.db\nterms: &words [refund, broken]\n", encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 2 and "terms: unknown key" in result.stderr  # aliases load; the key is what's wrong
    (tmp_path / "socialscale.yaml").write_text(
        "database: t.db\nlanes:\n  customer_service: {sla: 2h}\n  listening: {respond: false}\n"
        "rules:\n  - {name: a, lane: customer_service, any: &words [refund, broken]}\n"
        "  - {name: b, lane: customer_service, all: *words}\n", encoding="utf-8")
    assert cli("check").exit_code == 0


def test_wrong_types_and_unknown_keys_are_all_named(cli, tmp_path):
    text = """
database: [not, a, path]
timezone: Mars/Olympus_Mons
sourcse: []
fetch:
  concurrency: lots
  timeout: [1]
  max_bytes: -5
  retries: true
  timeot: 5s
lanes:
  customer_service: {sla: soon, respond: "yes", colour: red}
  listening: {respond: false}
default_lane: nowhere
sources:
  - name: ok
    url: http://example.com/feed
    every: true
  - name: 'bad name!'
    url: ftp://example.com/feed
    urll: http://example.com/
  - just a string
  - {name: ok, type: carrier-pigeon}
rules: {not: a list}
"""
    lines = run(cli, tmp_path, text)
    expected = {
        "database: expected a non-empty string, got a list",
        "timezone: unknown time zone 'Mars/Olympus_Mons'",
        "sourcse: unknown key (did you mean 'sources'?)",
        "fetch.concurrency: expected a whole number >= 1, got 'lots'",
        "fetch.timeout: expected a duration",
        "fetch.max_bytes: expected a size",
        "fetch.retries: expected a whole number >= 0, got True",
        "fetch.timeot: unknown key (did you mean 'timeout'?)",
        "lanes.customer_service.sla: expected a duration",
        "lanes.customer_service.respond: expected true or false",
        "lanes.customer_service.colour: unknown key",
        "default_lane: unknown lane 'nowhere'",
        "sources[0].every: expected a duration",
        "sources[1].name: a source name is letters",
        "sources[1].url: expected an http(s) URL",
        "sources[1].urll: unknown key (did you mean 'url'?)",
        "sources[2]: expected a mapping",
        "sources[3].type: unknown source type 'carrier-pigeon'",
        "rules: expected a list",
    }
    text_out = "\n".join(lines)
    missing = [e for e in expected if e not in text_out]
    assert not missing, (missing, lines)
    assert len(lines) >= len(expected)
    assert not (tmp_path / "t.db").exists() and not (tmp_path / "socialscale.db").exists()


def test_every_command_refuses_a_bad_config_the_same_way(cli, tmp_path):
    for args in (("pull",), ("items",), ("sources",), ("check",)):
        lines = run(cli, tmp_path, "fetch: {timeout: forever}\n", *args)
        assert len(lines) == 1
        assert lines[0].endswith("socialscale.yaml: fetch.timeout: expected a duration such as 30m, 2h or 3d, got 'forever'")
