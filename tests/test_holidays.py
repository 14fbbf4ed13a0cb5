"""Business hours know a country's public holidays (the `holidays` package) beside explicit dates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from socialscale.config import load_config
from socialscale.timeutil import BusinessClock

WEEKDAY_9_TO_5 = {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["09:00-17:00"]}


def clock(tmp_path: Path, holidays: object) -> BusinessClock:
    import yaml

    path = tmp_path / "socialscale.yaml"
    path.write_text(yaml.safe_dump({"timezone": "Europe/London",
                                    "business_hours": {**WEEKDAY_9_TO_5, "holidays": holidays}}), encoding="utf-8")
    config = load_config(path)
    return BusinessClock(config.business_hours, config.timezone)


def day_seconds(c: BusinessClock, day: str) -> int:
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    return c.seconds(start, start.replace(hour=23, minute=59))


def test_a_countrys_public_holidays_do_not_count_in_any_year(tmp_path: Path):
    england = clock(tmp_path, {"country": "GB", "subdivision": "ENG", "dates": ["2026-12-24"]})
    assert day_seconds(england, "2026-08-31") == 0  # Late Summer Bank Holiday (England), a Monday
    assert day_seconds(england, "2027-08-30") == 0  # and next year's, with no edit
    assert day_seconds(england, "2026-12-24") == 0  # the shop's own day off, listed beside
    assert day_seconds(england, "2026-08-03") == 8 * 3600  # Scotland's summer holiday is a workday here
    scotland = clock(tmp_path, {"country": "GB", "subdivision": "SCT"})
    assert day_seconds(scotland, "2026-08-03") == 0
    assert day_seconds(scotland, "2026-08-31") == 8 * 3600
    plain = clock(tmp_path, ["2026-08-31"])  # the list of dates still works as before
    assert day_seconds(plain, "2026-08-31") == 0 and day_seconds(plain, "2027-08-30") == 8 * 3600


def test_check_names_an_unknown_country_or_subdivision(cli, write_config, tmp_path: Path):
    write_config({"business_hours": {"holidays": {"country": "XY"}}})
    result = cli("check")
    assert result.exit_code == 2
    assert "business_hours.holidays.country: unknown country 'XY' (expected an ISO 3166 code" in result.stderr
    write_config({"business_hours": {"holidays": {"country": "gb", "subdivision": "Kent", "date": []}}})
    result = cli("check")
    assert result.exit_code == 2
    assert ("business_hours.holidays.subdivision: unknown subdivision 'Kent' of GB (known: ENG, NIR, SCT, WLS)"
            in result.stderr)
    assert "business_hours.holidays.date: unknown key (did you mean 'dates'?)" in result.stderr
    write_config({"business_hours": {"holidays": {"country": "de", "subdivision": "by"}}})
    assert cli("check").exit_code == 0  # codes in any case
