"""CSV cells hold lists as `lead;urgent`, the way a spreadsheet user filters them (docs/json.md)."""

from __future__ import annotations

import csv
import io

from conftest import rss


def test_csv_lists_are_joined_with_semicolons(cli, write_config, server):
    url = server.add("/f", rss([{"title": "Need a quote for 20 seats, urgent", "guid": "q"}]))
    write_config({"sources": [{"name": "f", "url": url}],
                  "rules": [{"name": "buying", "lane": "sales_prospecting", "any": ["quote"], "tags": ["lead", "urgent"]},
                            {"name": "hurry", "lane": "customer_service", "any": ["urgent"]}]})
    assert cli("pull").exit_code == 0
    row = next(csv.DictReader(io.StringIO(cli("items", "--format", "csv").stdout)))
    assert row["tags"] == "lead;urgent"
    assert row["lanes"] == "sales_prospecting;customer_service"
    assert row["extra"].startswith("{")  # nested values stay JSON
