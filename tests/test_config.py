"""Config validation: every problem at once, each with file, key path and what was expected."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import yaml
from doctools import uncomment_examples

from socialscale.config import ConfigLoader, FastConfigLoader, load_config, parse_size, parse_yaml
from socialscale.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_every_problem_is_named_with_its_key_path(cli, tmp_path):
    (tmp_path / "socialscale.yaml").write_text("""
databse: x.db
timezone: Mars/Olympus
fetch: {concurrency: 0, timeout: soon, max_bytes: lots}
lanes:
  support: {sla: 2h, owner: zed, colour: red}
sources:
  - {name: a, type: feed, url: "ftp://example.com/feed"}
  - {name: a, type: feed, url: "https://example.com/x", evry: 30m}
  - {type: gopher}
  - just a string
rules:
  - {name: r1, lane: nowhere, any: [x]}
  - {name: r2, lane: support, regex: ["(unclosed"]}
""")
    result = cli("check")
    assert result.exit_code == 2
    err = result.stderr
    f = "socialscale.yaml"
    for expected in [
        f"{f}: databse: unknown key (did you mean 'database'?)",
        f"{f}: timezone: unknown time zone 'Mars/Olympus'",
        f"{f}: fetch.concurrency: expected a whole number >= 1, got 0",
        f"{f}: fetch.timeout: expected a duration such as 30m, 2h or 3d, got 'soon'",
        f"{f}: fetch.max_bytes: expected a size such as 10MiB or 512KiB, got 'lots'",
        f"{f}: lanes.support.owner: unknown team member 'zed'",
        f"{f}: lanes.support.colour: unknown key",
        f"{f}: default_lane: unknown lane 'listening'",
        f"{f}: sources[0].url: expected an http(s) URL, got 'ftp://example.com/feed'",
        f"{f}: sources[1].name: duplicate source name 'a'",
        f"{f}: sources[1].evry: unknown key (did you mean 'every'?)",
        f"{f}: sources[2].type: unknown source type 'gopher'",
        f"{f}: sources[2].name: is required",
        f"{f}: sources[3]: expected a mapping",
        f"{f}: rules[0] (r1).lane: unknown lane 'nowhere'",
        f"{f}: rules[1] (r2).regex[0]: invalid regular expression '(unclosed'",
    ]:
        assert expected in err, f"missing: {expected}\n--- got:\n{err}"
    assert "Traceback" not in err


@pytest.mark.parametrize("text, message", [
    ("sources: [ {name: a", "invalid YAML"),
    ("!!python/object/apply:os.system ['echo pwned']", "invalid YAML"),  # safe_load refuses object tags
    ("- a\n- b\n", "expected a mapping"),
    ("sources: {name: a}", "sources: expected a list of sources, got a mapping"),
])
def test_malformed_yaml_and_wrong_types_exit_2(cli, tmp_path, text, message):
    (tmp_path / "socialscale.yaml").write_text(text)
    result = cli("check")
    assert result.exit_code == 2
    assert message in result.stderr and "socialscale.yaml" in result.stderr
    assert "pwned" not in result.stdout


def test_missing_config_file_named(cli, tmp_path):
    result = cli("--config", str(tmp_path / "nope.yaml"), "check")
    assert result.exit_code == 2 and "nope.yaml: no such file" in result.stderr


def test_example_config_is_valid_and_documents_every_top_level_key(monkeypatch):
    config = load_config(REPO / "config.example.yaml")
    assert config.sources and config.rules and config.lanes
    text = (REPO / "config.example.yaml").read_text()
    for key in ("database:", "timezone:", "default_lane:", "fetch:", "business_hours:", "team:", "lanes:",
                "sources:", "rules:", "notify:"):
        assert key in text


def test_starter_config_from_init_is_valid_private_and_never_overwritten(cli, tmp_path):
    result = cli("init")
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "socialscale.yaml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "socialscale.db").exists()
    assert oct((tmp_path / "socialscale.db").stat().st_mode & 0o777) == "0o600"
    path.write_text(path.read_text() + "\n# mine\n")
    again = cli("init")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert path.read_text().endswith("# mine\n")
    assert cli("check").exit_code == 0


def test_config_from_env_and_db_override(cli, tmp_path, monkeypatch):
    cfg = tmp_path / "elsewhere.yaml"
    cfg.write_text("database: from-config.db\n")
    monkeypatch.setenv("SOCIALSCALE_CONFIG", str(cfg))
    result = cli("check")
    assert result.exit_code == 0 and "from-config.db" in result.stdout
    monkeypatch.setenv("SOCIALSCALE_DB", str(tmp_path / "override.db"))
    assert "override.db" in cli("check").stdout


def test_database_is_relative_to_the_config_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "s.yaml").write_text("database: data/s.db\n")
    assert load_config(sub / "s.yaml").database == sub / "data" / "s.db"


def test_sizes():
    assert parse_size("10MiB") == 10 * 2**20 and parse_size("512k") == 512 * 1024 and parse_size(42) == 42
    with pytest.raises(ValueError):
        parse_size("ten")


def test_config_error_lists_all(tmp_path):
    (tmp_path / "c.yaml").write_text("fetch: {retries: -1, per_host: x}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.yaml")
    assert len(info.value.problems) == 2
    assert os.path.basename(str(tmp_path / "c.yaml")) in info.value.problems[0]


@pytest.mark.parametrize(("text", "messages"), [
    ('team:\n  "bad name!": {}\n  alice: {nope: 1}\nbrands: [1]\n',
     ["team.bad name!: a member name is letters, digits, '-', '_' or '.'",
      "team.alice.nope: unknown key (expected one of: handles)",
      "brands: expected a mapping of brand names, got a list"]),
    ('team: [a]\nbrands:\n  "x y": {terms: [a]}\n',
     ["team: expected a mapping of member names, got a list",
      "brands.x y: a brand name is letters, digits, '-', '_' or '.'"]),
])
def test_named_entries_of_team_and_brands_are_checked_alike(cli, tmp_path, text, messages):
    (tmp_path / "socialscale.yaml").write_text(text, encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 2
    for message in messages:
        assert message in result.stderr


# --- libyaml's parser (issue 14): the same data as PyYAML's pure one, the same errors ---

def _pure(text: str) -> object:
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def _outcome(load, text: str) -> tuple[str, object]:
    try:
        return "data", load(text)
    except yaml.YAMLError as exc:
        return "error", str(exc)
    except RecursionError:
        return "error", "nested too deeply"


def test_the_fast_loader_is_libyaml_with_the_configs_own_rules():
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml: the pure loader reads the config")
    assert issubclass(FastConfigLoader, yaml.CSafeLoader)
    # A key is a name, never a boolean, on both parsers (notify's `on:`); values read as usual.
    text = "notify:\n  - name: chat\n    url_env: HOOK\n    on: [new]\nlanes:\n  listening: {respond: no}\n"
    assert yaml.load(text, Loader=FastConfigLoader) == _pure(text) == {  # noqa: S506
        "notify": [{"name": "chat", "url_env": "HOOK", "on": ["new"]}], "lanes": {"listening": {"respond": False}}}


def test_config_example_reads_the_same_on_both_parsers():
    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    for variant in (text, uncomment_examples(text)):
        data = parse_yaml(variant)
        assert data == _pure(variant) and data["sources"] and data["rules"]
    assert any("on" in target for target in parse_yaml(uncomment_examples(text))["notify"])


def test_damaged_configs_read_as_the_pure_parser_reads_them():
    """Seeded edits of config.example.yaml: whatever the pure parser read, parse_yaml reads the same
    data, and every error it raises is the pure parser's (wording, line and column). libyaml does
    accept a few texts PyYAML's scanner refused (a tab before a value, `?` in a flow mapping): those
    are valid YAML, and load (docs/design.md)."""
    lines = uncomment_examples((REPO / "config.example.yaml").read_text(encoding="utf-8")).splitlines(keepends=True)
    rng = random.Random(14)
    marks = list(" \t\n:-[]{},#&*!|>'\"%@`?\x07\x85\ufeffab1\r\\.")
    for _ in range(500):
        start = rng.randrange(len(lines) - 40)  # a stretch of the file, so that each parse is quick
        chars = list("".join(lines[start:start + 40]))
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(chars))
            if rng.random() < 0.5:
                chars.insert(at, rng.choice(marks))
            else:
                del chars[at]
        text = "".join(chars)
        pure, fast = _outcome(_pure, text), _outcome(parse_yaml, text)
        if pure[0] == "data" or fast[0] == "error":
            assert fast == pure, text
