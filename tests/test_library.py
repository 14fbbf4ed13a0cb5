"""`socialscale.open()`: the config and database a script or notebook gets, the same the CLI uses."""

from __future__ import annotations

import sqlite3

import pytest

import socialscale
from socialscale.errors import ConfigError


def test_open_reads_the_config_and_opens_its_database_on_first_use(write_config, tmp_path):
    path = write_config({"lanes": {"support": {"sla": "4h"}}, "default_lane": "support"})
    session = socialscale.open(path)
    assert list(session.config.lanes) == ["support"]
    assert not (tmp_path / "test.db").exists()  # reading the config touches no database
    with session:
        assert session.db.execute("SELECT name, sla_s FROM lanes").fetchall() == [("support", 14400)]
    # Closed with the block; `db` opens it again.
    assert session.db.execute("SELECT COUNT(*) FROM items").fetchone() == (0,)
    session.close()


def test_open_finds_the_config_as_the_cli_does_and_db_overrides_database(write_config, tmp_path, monkeypatch):
    write_config({"default_lane": "listening"})
    monkeypatch.chdir(tmp_path)
    with socialscale.open(db=tmp_path / "other.db") as session:
        assert session.config.path == tmp_path / "socialscale.yaml"
        session.db.execute("SELECT 1")
    assert (tmp_path / "other.db").exists() and not (tmp_path / "test.db").exists()
    with sqlite3.connect(tmp_path / "other.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM lanes").fetchone()[0] > 0  # the lanes are synced


def test_open_refuses_a_bad_config_with_every_problem(write_config):
    path = write_config({"timezone": "Mars/Olympus", "default_lane": "nowhere"})
    with pytest.raises(ConfigError) as caught:
        socialscale.open(path)
    assert len(caught.value.problems) == 2
