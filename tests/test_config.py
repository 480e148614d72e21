"""The brand configuration: the Telekom default loads, mistakes fail fast."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from carewatch.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_default_configuration_is_the_telekom_story():
    config = load_config()
    telekom = config.own_brand
    assert telekom.name == "Deutsche Telekom"
    assert telekom.support_handles == ("telekom_hilft",)
    assert {a.handle for a in telekom.accounts} == {"telekom_hilft", "deutschetelekom"}
    assert set(telekom.watch_terms) == {"Telekom", "T-Online", "Entertain", "MagentaTV"}
    assert telekom.exclusions == ("Telekom Baskets",)
    assert telekom.timezone == "Europe/Berlin"
    assert telekom.sla_target_minutes == 60
    assert telekom.response_window_days == 7
    assert [(w.iso_weekday, w.opens_minute, w.closes_minute) for w in telekom.service_hours] == [
        (day, 8 * 60, 20 * 60) for day in range(1, 6)
    ]
    competitors = {b.key: b for b in config.brands if not b.own}
    assert {b.support_handles[0] for b in competitors.values()} == {
        "1und1",
        "vodafone_de",
        "comcastcares",
    }
    assert competitors["comcast"].timezone == "America/New_York"


def test_german_holidays_come_from_the_holidays_package():
    holidays = load_config().own_brand.holidays(range(2026, 2027))
    names = {day.isoformat(): name for day, name in holidays.items()}
    assert "2026-04-03" in names  # Good Friday
    assert "2026-05-25" in names  # Whit Monday


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "carewatch.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "key", "problem"),
    [
        (
            lambda r: r["brands"][0].update(timezone="Mars/Olympus"),
            "brands[telekom].timezone",
            "IANA",
        ),
        (
            lambda r: r["defaults"]["service_hours"].update(mon="20:00-08:00"),
            "service_hours.mon",
            "close after it opens",
        ),
        (
            lambda r: r["defaults"]["service_hours"].update(funday="08:00-20:00"),
            "funday",
            "weekday",
        ),
        (
            lambda r: r["defaults"]["sla"].update(first_response_target_minutes=-5),
            "first_response_target_minutes",
            "positive integer",
        ),
        (lambda r: r["brands"][0]["accounts"][0].update(role="boss"), "role", "support, corporate"),
        (lambda r: r["brands"][1].update(key="telekom"), "brands[1].key", "repeats"),
        (lambda r: r["brands"][0].update(own=False), "own", "exactly one"),
        (lambda r: r["brands"][0].update(holidays={"country": "XX"}), "holidays.country", "XX"),
        (lambda r: r.update(brand=[]), "brand", "not a known top-level key"),
        (
            lambda r: r["brands"][2]["accounts"].append(
                {"handle": "telekom_hilft", "role": "support"}
            ),
            "accounts",
            "already belongs to telekom",
        ),
    ],
)
def test_invalid_configuration_names_the_key_and_the_problem(tmp_path, mutate, key, problem):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message
    assert key in message
    assert problem in message


def test_missing_configuration_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml")
